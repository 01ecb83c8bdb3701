// Subscription: a reader that tails the log from a named checkpoint on a
// thread of its own — the shape of every projector and of the saga.
//
// It reads the events after its checkpoint in batches and hands each batch to
// its handler, which returns what to commit for it: side writes (a view's
// rows) and/or events to append (the saga's decisions). The subscription
// commits those together with the new checkpoint, atomically, so a crash
// never applies a batch twice or skips one: after a restart it resumes at the
// first event it had not committed.
//
// States: running -> stopped (stop() or destruction), or running -> failed
// (the handler refused an event, or a commit failed). A failed subscription
// keeps its checkpoint before the batch and never skips the event: failure()
// names the position. Thread-safe; the handler runs on the subscription's
// thread only.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "events/event_log.h"

namespace ordersd::events {

class Subscription {
 public:
  // The writes for a batch; an error Status, which should name the position
  // of the event that could not be applied, stops the subscription as failed.
  using Handler = std::function<Result<AppendRequest>(const std::vector<RecordedEvent>& batch)>;

  // Starts reading after `name`'s checkpoint (from the start of the log when
  // it has none). `log` must outlive the subscription.
  Subscription(EventLog& log, std::string name, Handler handler, size_t batch_size = 512);
  ~Subscription();  // stop()s
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

  // Stops after the batch in hand, if any; idempotent.
  void stop();

  // The last position committed (0 before the first).
  uint64_t position() const;
  // Why the subscription stopped on its own, naming the position; nullopt while healthy.
  std::optional<Status> failure() const;
  // Blocks until position() >= `position`, the subscription fails, or the
  // timeout passes; returns whether the position was reached.
  bool wait_for(uint64_t position, std::chrono::milliseconds timeout) const;

 private:
  void run(std::stop_token stop);
  Status commit(AppendRequest writes, uint64_t through);
  void fail(Status status);

  EventLog& log_;
  const std::string name_;
  const Handler handler_;
  const size_t batch_size_;

  mutable std::mutex mu_;
  mutable std::condition_variable progress_;
  uint64_t position_ = 0;          // guarded by mu_
  std::optional<Status> failure_;  // guarded by mu_

  std::jthread thread_;  // last: starts after everything above is ready
};

}  // namespace ordersd::events
