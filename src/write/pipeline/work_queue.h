// WorkQueue: a fixed pool of threads running posted jobs in FIFO order.
//
// Command handling (reading a stream, deciding) runs here, so HTTP I/O
// threads never wait on the disk. post() is thread-safe. Jobs should not
// throw: one that does is logged (rate-limited) and the queue goes on.
// Destruction runs every job already posted, then joins the threads.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ordersd::write {

class WorkQueue {
 public:
  explicit WorkQueue(unsigned threads);
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void post(std::function<void()> job);

 private:
  void run();
  static void run_one(const std::function<void()>& job);

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;  // guarded by mu_
  bool stopping_ = false;                   // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace ordersd::write
