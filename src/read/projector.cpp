#include "read/projector.h"

#include "events/thread_name.h"

#include <algorithm>
#include <vector>

namespace ordersd::read {

Result<std::optional<std::string>> ViewBatch::get(const std::string& key) {
  if (auto it = latest_.find(key); it != latest_.end()) return it->second;
  return log_.get(space_, key);
}

void ViewBatch::put(const std::string& key, std::string value) { latest_.insert_or_assign(key, std::move(value)); }

void ViewBatch::erase(const std::string& key) { latest_.insert_or_assign(key, std::nullopt); }

events::SideWrites ViewBatch::take_writes() {
  std::vector<decltype(latest_)::value_type*> writes;
  writes.reserve(latest_.size());
  for (auto& w : latest_) writes.push_back(&w);
  std::sort(writes.begin(), writes.end(), [](const auto* a, const auto* b) { return a->first < b->first; });
  events::SideWrites out;
  for (auto* w : writes) {
    if (w->second) out.put(space_, w->first, std::move(*w->second));
    else out.erase(space_, w->first);
  }
  latest_.clear();
  return out;
}

Projector::Projector(events::EventLog& log, std::string name, std::string space, Apply apply,
                     std::function<Apply()> make_apply, ProjectorGroup* group)
    : log_(log), name_(std::move(name)), space_(std::move(space)), apply_(std::move(apply)),
      make_apply_(std::move(make_apply)), group_(group) {}

Projector::~Projector() { stop(); }

void Projector::start() {
  if (group_) {
    start_timer();
    if (Status s = load_checkpoint(); !s) return fail(s);
    reached(position());
    group_->join(this);
    joined_ = true;
    return;
  }
  events::Subscription::Options options;
  options.progressed = [this](uint64_t position) { reached(position); };
  // A batch the projection applied but that did not commit left its rows in
  // the projection's memory: the next try (one event at a time, or after a
  // restart) starts from a fresh one, which reads the rows from the log. (A
  // batch the projection refused, it has already forgotten.)
  options.committed = [this] { applied_uncommitted_ = false; };
  options.abandoned = [this] {
    if (applied_uncommitted_ && make_apply_) apply_ = make_apply_();
    applied_uncommitted_ = false;
  };
  subscription_ = std::make_unique<events::Subscription>(
      log_, name_,
      [this](const std::vector<events::RecordedEvent>& batch) -> Result<events::AppendRequest> {
        ViewBatch view(log_, space_);
        if (Status s = apply_(batch, view); !s) return s;
        applied_uncommitted_ = true;
        events::AppendRequest writes;
        writes.side_writes = view.take_writes();
        return writes;
      },
      options);
  reached(subscription_->position());
  start_timer();
}

void Projector::start_timer() {
  timer_ = std::jthread([this](std::stop_token stop) {
    events::name_this_thread("timer-" + name_);
    run_timer(stop);
  });
}

Status Projector::load_checkpoint() {
  auto saved = log_.checkpoint(name_);
  if (!saved) return saved.status();
  {
    std::lock_guard lk(state_mu_);
    position_ = saved->value_or(0);
    failure_.reset();
  }
  progress_cv_.notify_all();
  return Status::ok();
}

Result<events::SideWrites> Projector::apply_batch(const std::vector<events::RecordedEvent>& batch) {
  ViewBatch view(log_, space_);
  if (Status s = apply_(batch, view); !s) return s;
  applied_uncommitted_ = true;
  return view.take_writes();
}

void Projector::committed_through(uint64_t position) {
  applied_uncommitted_ = false;
  {
    std::lock_guard lk(state_mu_);
    position_ = position;
  }
  progress_cv_.notify_all();
  reached(position);
}

// As a subscription's `abandoned` hook: rows applied but not committed are
// forgotten, and the next try reads them from the log.
void Projector::abandoned() {
  if (applied_uncommitted_ && make_apply_) apply_ = make_apply_();
  applied_uncommitted_ = false;
}

void Projector::fail(Status status) {
  {
    std::lock_guard lk(state_mu_);
    failure_ = std::move(status);
  }
  progress_cv_.notify_all();
}

void Projector::stop() {
  if (subscription_) subscription_->stop();
  if (joined_) {
    group_->leave(this);
    joined_ = false;
  }
  if (timer_.joinable()) {
    timer_.request_stop();
    timer_.join();
  }
  std::list<Waiter> left;
  {
    std::lock_guard lk(mu_);
    left.swap(waiters_);
  }
  for (auto& w : left) w.done(false);
}

Status Projector::restart() {
  if (group_) {
    if (!timer_.joinable()) return Status::invalid_argument("projector '" + name_ + "' was never started");
    if (joined_) group_->leave(this);
    joined_ = false;
    if (make_apply_) apply_ = make_apply_();
    applied_uncommitted_ = false;
    if (Status s = load_checkpoint(); !s) {
      fail(s);
      return s;
    }
    group_->join(this);
    joined_ = true;
    return Status::ok();
  }
  if (!subscription_) return Status::invalid_argument("projector '" + name_ + "' was never started");
  subscription_->stop();
  if (make_apply_) apply_ = make_apply_();
  subscription_->restart();
  if (auto failed = subscription_->failure()) return *failed;
  return Status::ok();
}

uint64_t Projector::position() const {
  if (subscription_) return subscription_->position();
  std::lock_guard lk(state_mu_);
  return position_;
}

std::optional<Status> Projector::failure() const {
  if (subscription_) return subscription_->failure();
  std::lock_guard lk(state_mu_);
  return failure_;
}

bool Projector::wait_for(uint64_t position, std::chrono::milliseconds timeout) const {
  if (subscription_) return subscription_->wait_for(position, timeout);
  if (!group_) return false;
  std::unique_lock lk(state_mu_);
  progress_cv_.wait_for(lk, timeout, [&] { return position_ >= position || failure_.has_value(); });
  return position_ >= position;
}

void Projector::when_reached(uint64_t position, std::chrono::milliseconds wait, std::function<void(bool)> done) {
  {
    std::lock_guard lk(mu_);
    if (reached_ < position) {
      waiters_.push_back({position, std::chrono::steady_clock::now() + wait, std::move(done)});
      ++added_;
      timer_cv_.notify_all();
      return;
    }
  }
  done(true);
}

void Projector::reached(uint64_t position) {
  std::list<Waiter> ready;
  {
    std::lock_guard lk(mu_);
    reached_ = std::max(reached_, position);
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      auto next = std::next(it);
      if (it->position <= reached_) ready.splice(ready.end(), waiters_, it);
      it = next;
    }
  }
  for (auto& w : ready) w.done(true);
}

void Projector::run_timer(std::stop_token stop) {
  std::unique_lock lk(mu_);
  while (!stop.stop_requested()) {
    auto next = std::chrono::steady_clock::time_point::max();
    for (const auto& w : waiters_) next = std::min(next, w.deadline);
    if (next == std::chrono::steady_clock::time_point::max()) {
      timer_cv_.wait(lk, stop, [&] { return !waiters_.empty(); });
      continue;
    }
    uint64_t added = added_;  // a new waiter may have an earlier deadline
    timer_cv_.wait_until(lk, stop, next, [&] { return added_ != added; });
    std::list<Waiter> expired;
    auto now = std::chrono::steady_clock::now();
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      auto following = std::next(it);
      if (it->deadline <= now) expired.splice(expired.end(), waiters_, it);
      it = following;
    }
    lk.unlock();
    for (auto& w : expired) w.done(false);
    lk.lock();
  }
}

}  // namespace ordersd::read
