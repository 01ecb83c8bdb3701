#include "read/replay.h"

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace ordersd::read {

namespace {

// Events per committed batch. Large, so that a row many batches would touch
// is written a few times instead of many; small enough that progress moves
// often and a batch's writes stay a few megabytes.
constexpr size_t kBatch = 65536;

// Reads the log ahead of the replay, on a thread of its own, so that reading
// one batch and applying the one before overlap. Holds at most kAhead
// batches; stops at the first error, which next() then returns.
class ReadAhead {
 public:
  static constexpr size_t kAhead = 2;

  ReadAhead(const events::EventLog& log, uint64_t from, uint64_t head)
      : thread_([this, &log, from, head](std::stop_token stop) { run(stop, log, from, head); }) {}
  // The jthread's stop request wakes a reader waiting for room (room_ is a
  // condition_variable_any waiting on the stop token), then joins it.
  ~ReadAhead() = default;

  // The next batch; empty once the head is reached.
  Result<std::vector<events::RecordedEvent>> next() {
    std::unique_lock lk(mu_);
    ready_.wait(lk, [&] { return !batches_.empty(); });
    Result<std::vector<events::RecordedEvent>> out = std::move(batches_.front());
    batches_.pop_front();
    room_.notify_one();
    return out;
  }

 private:
  void run(std::stop_token stop, const events::EventLog& log, uint64_t next, uint64_t head) {
    for (;;) {
      Result<std::vector<events::RecordedEvent>> batch = std::vector<events::RecordedEvent>{};
      if (next <= head) batch = log.read_all(next, static_cast<size_t>(std::min<uint64_t>(kBatch, head - next + 1)));
      bool last = !batch || batch->empty();
      if (!last) next = batch->back().position() + 1;
      std::unique_lock lk(mu_);
      if (!room_.wait(lk, stop, [&] { return batches_.size() < kAhead; })) return;  // stopped
      batches_.push_back(std::move(batch));
      ready_.notify_one();
      if (last) return;
    }
  }

  std::mutex mu_;
  std::condition_variable ready_;
  std::condition_variable_any room_;
  std::deque<Result<std::vector<events::RecordedEvent>>> batches_;  // guarded by mu_
  std::jthread thread_;  // last: started once the rest exists
};

}  // namespace

Status replay(events::EventLog& log, const std::vector<const ViewSpec*>& views,
              const std::function<void(const ReplayProgress&)>& progress) {
  auto start = std::chrono::steady_clock::now();
  // Forget the views: their checkpoints and their rows, together.
  {
    events::SideWrites reset;
    for (const ViewSpec* view : views) {
      reset.set_checkpoint(view->name, 0);
      reset.erase_space(view->space);
    }
    if (Status s = log.write_derived(reset); !s) return s;
  }

  std::vector<Projector::Apply> applies;
  for (const ViewSpec* view : views) applies.push_back(view->make_apply());
  uint64_t head = log.head();
  ReadAhead reader(log, 1, head);
  for (;;) {
    auto batch = reader.next();
    if (!batch) return batch.status();
    if (batch->empty()) break;
    // Each view on a thread of its own (the first on this one): views share
    // nothing but the batch, which they only read.
    std::vector<events::SideWrites> writes(views.size());
    std::vector<Status> applied(views.size());
    auto apply_one = [&](size_t i) {
      ViewBatch rows(log, views[i]->space);
      applied[i] = applies[i](*batch, rows);
      if (applied[i]) writes[i] = rows.take_writes();
    };
    std::vector<std::future<void>> others;
    for (size_t i = 1; i < views.size(); ++i) others.push_back(std::async(std::launch::async, apply_one, i));
    if (!views.empty()) apply_one(0);
    for (auto& f : others) f.get();
    events::SideWrites all;
    for (size_t i = 0; i < views.size(); ++i) {
      if (!applied[i]) {
        // Several views in one pass: say which could not apply the event.
        if (applied[i].code() != Status::Code::kCorruption) return applied[i];
        return Status::corruption(views[i]->name + ": " + applied[i].message(), applied[i].position());
      }
      all.append(std::move(writes[i]));
      all.set_checkpoint(views[i]->name, batch->back().position());
    }
    if (Status s = log.write_derived(all); !s) return s;
    progress({batch->back().position(), head,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()});
  }
  if (head == 0) progress({0, 0, 0});
  return Status::ok();
}

Status replay(events::EventLog& log, const ViewSpec& view, const std::function<void(const ReplayProgress&)>& progress) {
  return replay(log, std::vector<const ViewSpec*>{&view}, progress);
}

}  // namespace ordersd::read
