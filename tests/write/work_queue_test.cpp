// WorkQueue: jobs run in order on its threads, and one that throws fails
// alone instead of ending the process.
#include "write/pipeline/work_queue.h"

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <vector>

using namespace ordersd;
using namespace std::chrono_literals;

namespace {

// Counts jobs that ran; wait() blocks until `n` did (or 10 s pass).
struct Ran {
  std::mutex mu;
  std::condition_variable cv;
  int count = 0;
  void one() {
    {
      std::lock_guard lk(mu);
      ++count;
    }
    cv.notify_all();
  }
  bool wait(int n) {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, 10s, [&] { return count >= n; });
  }
};

}  // namespace

TEST_CASE("a job that throws does not stop the queue: the jobs after it run") {
  Ran ran;
  write::WorkQueue work(1);  // one thread: the job after the throw runs on the thread that saw it
  work.post([] { throw std::runtime_error("a damaged record"); });
  work.post([] { throw 42; });  // not even an exception class
  work.post([&] { ran.one(); });
  CHECK(ran.wait(1));
  for (int i = 0; i < 100; ++i) work.post([] { throw std::logic_error("again"); });
  for (int i = 0; i < 10; ++i) work.post([&] { ran.one(); });
  CHECK(ran.wait(11));
}

TEST_CASE("destroying the queue runs every job already posted, throwing ones included") {
  Ran ran;
  {
    write::WorkQueue work(2);
    for (int i = 0; i < 20; ++i) {
      work.post([] { throw std::runtime_error("x"); });
      work.post([&] { ran.one(); });
    }
  }
  CHECK(ran.count == 20);
}
