#include "write/pipeline/work_queue.h"

#include "events/thread_name.h"

#include <exception>
#include <string>

#include "events/logging.h"

namespace ordersd::write {

WorkQueue::WorkQueue(unsigned threads) {
  for (unsigned i = 0; i < std::max(1u, threads); ++i) threads_.emplace_back([this, i] {
    events::name_this_thread("worker-" + std::to_string(i + 1));
    run();
  });
}

WorkQueue::~WorkQueue() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void WorkQueue::post(std::function<void()> job) {
  {
    std::lock_guard lk(mu_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void WorkQueue::run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return !jobs_.empty() || stopping_; });
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    run_one(job);
  }
}

void WorkQueue::run_one(const std::function<void()>& job) {
  // A job that throws (a damaged stored value parsed with a throwing call,
  // say) fails alone: the thread logs it and goes on with the next one.
  // The job's request, if it had one, gets no answer from it: code that
  // answers requests must turn what can throw into an answer itself.
  std::string what;
  try {
    job();
    return;
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
    what = "an exception that is not a std::exception";
  }
  logging::log_limited(logging::Level::kError, "work/exception", "work", "a job threw; the work queue goes on",
                       {{"what", what}});
}

}  // namespace ordersd::write
