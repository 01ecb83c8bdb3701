// StreamTurns: one writer at a time per stream, within this process.
//
// Every writer that appends to a stream at an exact version (the HTTP
// command pipelines, the payment and inventory participants) takes the
// stream's turn before it reads the stream and gives it back only once its
// append has completed, which is after the append is published to readers.
// So the next holder's read always includes the previous holder's write and
// its append cannot meet a conflict from another writer of this process:
// contention on a hot wallet queues, it never fails. (Writers that append at
// any version, such as the saga recording an order's outcome, take no turn;
// a conflict with one of those is retried by the pipeline after it is
// readable.) Each stream kind is written by exactly one role, so one process
// holds every writer of a stream.
//
// Turns are granted in the order they were asked for. A holder may hold
// several streams' turns (a participant's batch); only such holders ever
// wait while holding, and no two of them write the same kind of stream, so
// there is no cycle and no deadlock. Memory is one entry per stream
// currently held. Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ordersd::write {

class StreamTurns {
 public:
  // Takes `stream`'s turn at once and returns true when it is free (without
  // calling `granted`); else queues and returns false, and `granted` runs
  // later on the thread whose release() hands the turn over: it must be
  // quick (post real work elsewhere) and must not throw.
  bool take_or_queue(std::string_view stream, std::function<void()> granted);
  // Blocks the calling thread until it is `stream`'s turn.
  void take(std::string_view stream);
  // Gives the turn to the next in line, if any. Only the holder calls it.
  void release(std::string_view stream);

  size_t held() const;     // streams whose turn someone holds now
  uint64_t waits() const;  // turns that had to queue, ever

 private:
  struct Blocked {
    std::mutex mu;
    std::condition_variable cv;
    bool granted = false;
  };
  struct Waiter {
    std::function<void()> granted;    // async
    std::shared_ptr<Blocked> blocked;  // or a blocked thread
  };

  mutable std::mutex mu_;
  // A stream is present while its turn is held; its queue lists who waits.
  std::unordered_map<std::string, std::deque<Waiter>> held_;
  uint64_t waits_ = 0;
};

}  // namespace ordersd::write
