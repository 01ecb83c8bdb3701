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
// A batch that leads to no writes moves the checkpoint lazily (at most once a
// second, or with the next batch that writes): handling such a batch again
// after a crash changes nothing.
//
// After each batch, exactly one of two hooks runs: `committed` when its
// writes committed (or it had none), `abandoned` when they did not (the
// handler refused, or the commit failed). When a commit meets another writer
// (kWrongExpectedVersion: the handler appended at exact versions and someone
// else appended first), the handler is called again with the same batch, a
// bounded number of times.
//
// States: running -> stopped (stop() or destruction), or running -> failed
// (the handler refused an event, or a commit failed). When a batch of
// several events fails, the subscription hands them to the handler one at a
// time, committing each, so that it fails exactly at the event that cannot
// be handled: position() + 1. A failed subscription keeps its checkpoint
// before that event and never skips it; restart() starts it again from its
// checkpoint (a supervisor's job). pause() holds it between batches until
// resume().
// Thread-safe; the handler and the hooks run on the subscription's thread only.
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

  struct Options {
    size_t batch_size = 512;
    // After a batch's writes commit, or it had none.
    std::function<void()> committed;
    // After a batch's writes did not commit (before the handler sees it again
    // after a conflict, or before the subscription fails).
    std::function<void()> abandoned;
    // When the handler wants to run even if no event arrives: it is then
    // called with an empty batch. time_point::max() for never.
    std::function<std::chrono::steady_clock::time_point()> wake_at;
    // Starts paused: nothing is handled before resume().
    bool start_paused = false;
    // After each batch is handled (and its writes, if any, committed), with
    // the position now reached.
    std::function<void(uint64_t)> progressed;
  };

  // Starts reading after `name`'s checkpoint (from the start of the log when
  // it has none). `log` must outlive the subscription.
  Subscription(EventLog& log, std::string name, Handler handler, Options options);
  Subscription(EventLog& log, std::string name, Handler handler, size_t batch_size = 512)
      : Subscription(log, std::move(name), std::move(handler), Options{batch_size, {}, {}, {}, false, {}}) {}
  ~Subscription();  // stop()s
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

  // Stops after the batch in hand, if any; idempotent.
  void stop();
  // Stops (if it runs) and starts again after its checkpoint, as if new:
  // the failure is cleared, the pause kept. The caller makes sure the
  // handler's own memory is fresh first.
  void restart();

  // Holds the subscription until resume(): once pause() returns, no batch
  // begins (the one in hand, if any, completes). Events wait in the log
  // meanwhile. Idempotent.
  void pause();
  void resume();
  bool paused() const;

  // The last position handled (0 before the first): its writes are
  // committed; its checkpoint may lag, see above.
  uint64_t position() const;
  // Why the subscription stopped on its own, naming the position; nullopt while healthy.
  std::optional<Status> failure() const;
  // Blocks until position() >= `position`, the subscription fails, or the
  // timeout passes; returns whether the position was reached.
  bool wait_for(uint64_t position, std::chrono::milliseconds timeout) const;

 private:
  void launch();
  void run(std::stop_token stop);
  // Handles `batch` one event at a time, after it failed as a whole.
  Status handle_one_by_one(const std::vector<RecordedEvent>& batch);
  void reached(uint64_t position);
  // Handles `batch` (empty for a wake-up) and commits what it leads to.
  Status handle(const std::vector<RecordedEvent>& batch, uint64_t through);
  Status commit(AppendRequest writes);
  void wait_while_paused(std::stop_token stop);
  void fail(Status status);

  EventLog& log_;
  const std::string name_;
  const Handler handler_;
  const Options options_;

  mutable std::mutex mu_;
  mutable std::condition_variable progress_;
  mutable std::condition_variable_any unpaused_;
  uint64_t position_ = 0;          // guarded by mu_
  bool paused_ = false;            // guarded by mu_
  std::optional<Status> failure_;  // guarded by mu_

  // Thread-only: the checkpoint last committed, and when.
  uint64_t checkpointed_ = 0;
  std::chrono::steady_clock::time_point checkpointed_at_{};

  std::jthread thread_;  // last: starts after everything above is ready
};

}  // namespace ordersd::events
