#include "events/subscription.h"

namespace ordersd::events {

Subscription::Subscription(EventLog& log, std::string name, Handler handler, size_t batch_size)
    : log_(log), name_(std::move(name)), handler_(std::move(handler)), batch_size_(std::max<size_t>(batch_size, 1)) {
  auto saved = log_.checkpoint(name_);
  if (!saved) {
    failure_ = saved.status();
    return;
  }
  position_ = saved->value_or(0);
  thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

Subscription::~Subscription() { stop(); }

void Subscription::stop() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
}

uint64_t Subscription::position() const {
  std::lock_guard lk(mu_);
  return position_;
}

std::optional<Status> Subscription::failure() const {
  std::lock_guard lk(mu_);
  return failure_;
}

bool Subscription::wait_for(uint64_t position, std::chrono::milliseconds timeout) const {
  std::unique_lock lk(mu_);
  progress_.wait_for(lk, timeout, [&] { return position_ >= position || failure_.has_value(); });
  return position_ >= position;
}

void Subscription::fail(Status status) {
  {
    std::lock_guard lk(mu_);
    failure_ = std::move(status);
  }
  progress_.notify_all();
}

Status Subscription::commit(AppendRequest writes, uint64_t through) {
  writes.side_writes.set_checkpoint(name_, through);
  if (writes.streams.empty()) return log_.write(writes.side_writes);
  auto appended = log_.append(std::move(writes));
  return appended.status();
}

void Subscription::run(std::stop_token stop) {
  uint64_t next = position() + 1;
  while (!stop.stop_requested()) {
    // Parked until the log passes `next` (or a second passes, to look at `stop`).
    if (!log_.wait_for(next, std::chrono::steady_clock::now() + std::chrono::seconds(1), stop)) continue;
    auto batch = log_.read_all(next, batch_size_);
    if (!batch) return fail(batch.status());
    if (batch->empty()) continue;
    auto writes = handler_(*batch);
    if (!writes) {
      // The handler's own status, which names the event it could not apply.
      return fail(writes.status());
    }
    uint64_t through = batch->back().position();
    if (Status s = commit(std::move(writes).value(), through); !s) return fail(s);
    {
      std::lock_guard lk(mu_);
      position_ = through;
    }
    progress_.notify_all();
    next = through + 1;
  }
}

}  // namespace ordersd::events
