// Replay: rebuilds views from the start of the log, with the server stopped.
// The views' rows are erased, then every event is applied again in batches,
// each committed with the views' checkpoints, so an interrupted replay
// resumes where it stopped when the server (or another replay) starts.
// Several views are rebuilt in one pass: the log is read once (a batch
// ahead, on a thread of its own), each batch is applied to the views side
// by side, one thread per view, and their rows go out in one write.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

#include "events/event_log.h"
#include "read/views.h"

namespace ordersd::read {

struct ReplayProgress {
  uint64_t position = 0;  // applied up to here
  uint64_t head = 0;      // of the log when the replay began
  double seconds = 0;     // since the replay began
};

// `progress` is called after each batch.
Status replay(events::EventLog& log, const std::vector<const ViewSpec*>& views,
              const std::function<void(const ReplayProgress&)>& progress);
Status replay(events::EventLog& log, const ViewSpec& view, const std::function<void(const ReplayProgress&)>& progress);

}  // namespace ordersd::read
