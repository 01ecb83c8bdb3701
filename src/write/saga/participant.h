// Participant: a service taking part in the saga. It reads the log through a
// checkpointed subscription of its own, picks the step requests addressed to
// it, decides them against its own streams, and appends its answers together
// with its checkpoint, atomically: a crash never answers a request twice or
// skips one. Participants never read each other's streams; they meet only in
// the log, so each could run in a process of its own.
//
// Subclasses implement handle() (and may use committed()/abandoned() to
// keep an AggregateCache in step) and call stop() first in their destructor.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "events/event_log.h"
#include "events/subscription.h"
#include "write/pipeline/stream_turns.h"

namespace ordersd::write {

class Participant {
 public:
  Participant(events::EventLog& log, std::string name) : log_(log), name_(std::move(name)) {}
  virtual ~Participant() = default;
  Participant(const Participant&) = delete;
  Participant& operator=(const Participant&) = delete;

  const std::string& name() const { return name_; }

  // Starts reading after the participant's checkpoint (held until resume()
  // when `paused`).
  void start(bool paused = false, size_t batch_size = 512);
  void stop();
  // After a failure: forgets what it holds in memory (recover()) and starts
  // again after its checkpoint, paused if it was. For the supervisor.
  Status restart();

  // Holds the participant between batches: requests wait in the log.
  void pause();
  void resume();
  bool paused() const;

  uint64_t position() const;  // the last position handled
  std::optional<Status> failure() const;
  bool wait_for(uint64_t position, std::chrono::milliseconds timeout) const;

 protected:
  virtual Result<events::AppendRequest> handle(const std::vector<events::RecordedEvent>& batch) = 0;
  virtual void committed() {}
  virtual void abandoned() {}
  // Rebuilds the participant's memory from the log before a restart.
  virtual Status recover() { return Status::ok(); }
  // When handle() wants to run with no new event (an empty batch).
  virtual std::chrono::steady_clock::time_point wake_at() { return std::chrono::steady_clock::time_point::max(); }

  events::EventLog& log_;

 private:
  const std::string name_;
  std::unique_ptr<events::Subscription> subscription_;
};

}  // namespace ordersd::write
