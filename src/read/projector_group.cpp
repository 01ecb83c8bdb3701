#include "read/projector_group.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include "events/thread_name.h"
#include "read/projector.h"

namespace ordersd::read {

ProjectorGroup::ProjectorGroup(events::EventLog& log, size_t batch_size)
    : log_(log), batch_size_(std::max<size_t>(1, batch_size)) {}

ProjectorGroup::~ProjectorGroup() { stop(); }

void ProjectorGroup::stop() {
  std::jthread thread;
  {
    std::lock_guard lk(mu_);
    stopped_ = true;
    thread = std::move(thread_);
  }
  if (thread.joinable()) {
    thread.request_stop();
    thread.join();
  }
}

void ProjectorGroup::join(Projector* member) {
  {
    std::lock_guard lk(mu_);
    members_.push_back(member);
    ++changes_;
    joined_.request_stop();
    if (!thread_.joinable() && !stopped_) {
      thread_ = std::jthread([this](std::stop_token stop) {
        events::name_this_thread("projector");
        run(stop);
      });
    }
  }
  members_cv_.notify_all();
}

void ProjectorGroup::leave(Projector* member) {
  {
    std::lock_guard lk(mu_);
    members_.erase(std::remove(members_.begin(), members_.end(), member), members_.end());
    ++changes_;
  }
  std::lock_guard wait_for_step(step_mu_);
}

void ProjectorGroup::run(std::stop_token stop) {
  std::stop_callback on_stop(stop, [this] {
    std::lock_guard lk(mu_);
    joined_.request_stop();
  });
  while (!stop.stop_requested()) {
    std::vector<Projector*> members;
    uint64_t lowest = std::numeric_limits<uint64_t>::max();
    std::stop_token woken;
    {
      std::unique_lock lk(mu_);
      if (joined_.stop_requested()) joined_ = std::stop_source();
      woken = joined_.get_token();
      for (Projector* m : members_) {
        if (m->failure()) continue;  // a member until restarted or stopped
        members.push_back(m);
        lowest = std::min(lowest, m->position());
      }
      if (members.empty()) {  // none, or every one failed: until one joins
        uint64_t seen = changes_;
        members_cv_.wait(lk, stop, [&] { return changes_ != seen; });
        continue;
      }
    }
    // Parked until the log passes the lowest member, a member joins (it
    // may be behind: restarted from its checkpoint) or the group stops.
    if (!log_.wait_for(lowest + 1, std::chrono::steady_clock::now() + std::chrono::minutes(1), woken)) continue;
    std::lock_guard stepping(step_mu_);
    // Members may have left while the thread waited.
    {
      std::lock_guard lk(mu_);
      std::erase_if(members, [&](Projector* m) { return std::find(members_.begin(), members_.end(), m) == members_.end(); });
    }
    if (!members.empty()) step(members);
  }
}

void ProjectorGroup::step(const std::vector<Projector*>& members) {
  uint64_t lowest = std::numeric_limits<uint64_t>::max();
  for (Projector* m : members) lowest = std::min(lowest, m->position());
  auto batch = log_.read_all(lowest + 1, batch_size_);
  if (!batch) {
    for (Projector* m : members) m->fail(batch.status());
    return;
  }
  if (batch->empty()) return;
  const uint64_t through = batch->back().position();
  events::SideWrites all;
  std::vector<Projector*> applied;
  for (Projector* m : members) {
    const uint64_t at = m->position();
    if (at >= through) continue;
    // Most members are at the same position: the whole batch, uncopied.
    std::vector<events::RecordedEvent> rest;
    if (at >= batch->front().position()) {
      auto first = std::find_if(batch->begin(), batch->end(), [&](const auto& e) { return e.position() > at; });
      rest.assign(first, batch->end());
    }
    const std::vector<events::RecordedEvent>& events = at >= batch->front().position() ? rest : *batch;
    auto writes = m->apply_batch(events);
    if (!writes) {
      m->abandoned();
      if (events.size() == 1) m->fail(writes.status());
      else one_by_one(m, events);
      continue;
    }
    all.append(std::move(writes).value());
    all.set_checkpoint(m->name(), through);
    applied.push_back(m);
  }
  if (applied.empty()) return;
  if (Status s = log_.write_derived(all); !s) {
    for (Projector* m : applied) {
      m->abandoned();
      m->fail(s);
    }
    return;
  }
  for (Projector* m : applied) m->committed_through(through);
}

void ProjectorGroup::one_by_one(Projector* member, const std::vector<events::RecordedEvent>& events) {
  for (const events::RecordedEvent& e : events) {
    auto writes = member->apply_batch({e});
    if (!writes) {
      member->abandoned();
      return member->fail(writes.status());
    }
    writes->set_checkpoint(member->name(), e.position());
    if (Status s = log_.write_derived(*writes); !s) {
      member->abandoned();
      return member->fail(s);
    }
    member->committed_through(e.position());
  }
}

}  // namespace ordersd::read
