#include "events/subscription.h"

#include "events/thread_name.h"

namespace ordersd::events {

namespace {
constexpr int kMaxConflictRetries = 16;
constexpr auto kLazyCheckpointEvery = std::chrono::seconds(1);
}  // namespace

Subscription::Subscription(EventLog& log, std::string name, Handler handler, Options options)
    : log_(log), name_(std::move(name)), handler_(std::move(handler)), options_(std::move(options)) {
  paused_ = options_.start_paused;
  launch();
}

Subscription::~Subscription() { stop(); }

void Subscription::launch() {
  auto saved = log_.checkpoint(name_);
  if (!saved) return fail(saved.status());
  {
    std::lock_guard lk(mu_);
    failure_.reset();
    position_ = checkpointed_ = saved->value_or(0);
  }
  checkpointed_at_ = std::chrono::steady_clock::now();
  thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

void Subscription::restart() {
  stop();
  launch();
}

void Subscription::stop() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
}

void Subscription::pause() {
  std::lock_guard lk(mu_);
  paused_ = true;
}

void Subscription::resume() {
  {
    std::lock_guard lk(mu_);
    paused_ = false;
  }
  unpaused_.notify_all();
}

bool Subscription::paused() const {
  std::lock_guard lk(mu_);
  return paused_;
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

void Subscription::wait_while_paused(std::stop_token stop) {
  std::unique_lock lk(mu_);
  unpaused_.wait(lk, stop, [&] { return !paused_; });
}

Status Subscription::commit(AppendRequest writes) {
  if (writes.streams.empty()) return log_.write_derived(writes.side_writes);
  return log_.append(std::move(writes)).status();
}

Status Subscription::handle(const std::vector<RecordedEvent>& batch, uint64_t through) {
  for (int attempt = 0;; ++attempt) {
    auto writes = handler_(batch);
    // The handler's own status names the event it could not apply.
    if (!writes) {
      if (options_.abandoned) options_.abandoned();
      return writes.status();
    }
    auto now = std::chrono::steady_clock::now();
    bool writes_nothing = writes->streams.empty() && writes->side_writes.empty();
    if (writes_nothing && now - checkpointed_at_ < kLazyCheckpointEvery) {
      if (options_.committed) options_.committed();  // nothing to commit: what it read stands
      return Status::ok();
    }
    if (through > checkpointed_) writes->side_writes.set_checkpoint(name_, through);
    if (writes->streams.empty() && writes->side_writes.empty()) {
      if (options_.committed) options_.committed();
      return Status::ok();
    }
    Status s = commit(std::move(writes).value());
    if (s) {
      checkpointed_ = std::max(checkpointed_, through);
      checkpointed_at_ = now;
      if (options_.committed) options_.committed();
      return s;
    }
    if (options_.abandoned) options_.abandoned();
    if (s.code() != Status::Code::kWrongExpectedVersion || attempt == kMaxConflictRetries) return s;
  }
}

void Subscription::reached(uint64_t position) {
  {
    std::lock_guard lk(mu_);
    position_ = position;
  }
  progress_.notify_all();
  if (options_.progressed) options_.progressed(position);
}

Status Subscription::handle_one_by_one(const std::vector<RecordedEvent>& batch) {
  for (const RecordedEvent& e : batch) {
    if (Status s = handle({e}, e.position()); !s) return s;
    reached(e.position());
  }
  return Status::ok();
}

void Subscription::run(std::stop_token stop) {
  name_this_thread(name_);
  using Clock = std::chrono::steady_clock;
  uint64_t next = position() + 1;
  const std::vector<RecordedEvent> no_events;
  while (!stop.stop_requested()) {
    wait_while_paused(stop);
    if (stop.stop_requested()) break;
    // Parked until the log passes `next`, the handler's wake-up time, or a
    // second passes (to look at `stop`, the pause and a lazy checkpoint).
    auto wake = options_.wake_at ? options_.wake_at() : Clock::time_point::max();
    auto until = std::min(Clock::now() + std::chrono::seconds(1), wake);
    if (!log_.wait_for(next, until, stop)) {
      if (stop.stop_requested()) break;
      if (Clock::now() >= wake || (next - 1 > checkpointed_ && Clock::now() - checkpointed_at_ >= kLazyCheckpointEvery)) {
        if (Status s = handle(no_events, next - 1); !s) return fail(s);
      }
      continue;
    }
    if (paused()) continue;  // paused while it waited
    auto batch = log_.read_all(next, options_.batch_size);
    if (!batch) return fail(batch.status());
    if (batch->empty()) continue;
    uint64_t through = batch->back().position();
    if (Status s = handle(*batch, through); !s) {
      if (batch->size() == 1) return fail(s);
      if (Status one = handle_one_by_one(*batch); !one) return fail(one);
    }
    reached(through);
    next = through + 1;
  }
  // Stopping: a lazy checkpoint is written now, so a restart need not handle
  // those batches again (handling them again would change nothing).
  if (next - 1 > checkpointed_) {
    SideWrites checkpoint;
    checkpoint.set_checkpoint(name_, next - 1);
    (void)log_.write_derived(checkpoint);
  }
}

}  // namespace ordersd::events
