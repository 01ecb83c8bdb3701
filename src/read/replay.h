// Replay: rebuilds a view from the start of the log, with the server stopped.
// The view's rows are erased, then every event is applied again in batches,
// each committed with the view's checkpoint, so an interrupted replay resumes
// where it stopped when the server (or another replay) starts.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

#include "events/event_log.h"
#include "read/views.h"

namespace ordersd::read {

struct ReplayProgress {
  uint64_t position = 0;  // applied up to here
  uint64_t head = 0;      // of the log when the replay began
  double seconds = 0;     // since the replay began
};

// `progress` is called after each batch.
Status replay(events::EventLog& log, const ViewSpec& view, const std::function<void(const ReplayProgress&)>& progress);

}  // namespace ordersd::read
