#include "read/view_slot.h"

#include "read/replay.h"

#include <chrono>
#include <string>
#include <vector>

namespace ordersd::read {

namespace {

std::string suffix(uint64_t generation) { return generation == 0 ? "" : "#" + std::to_string(generation); }

}  // namespace

Result<std::unique_ptr<ViewSlot>> ViewSlot::open(events::EventLog& log, const ViewSpec& spec) {
  std::unique_ptr<ViewSlot> slot(new ViewSlot(log, spec));
  auto recorded = log.get(kViewGenerationsSpace, spec.name);
  if (!recorded) return recorded.status();
  if (*recorded) slot->generation_ = std::stoull(**recorded);
  slot->current_ = slot->make(slot->generation_);
  slot->current_.owner->start();
  return slot;
}

ViewSlot::~ViewSlot() { stop(); }

ViewSlot::Generation ViewSlot::make(uint64_t generation) const {
  Generation g;
  g.owner = std::make_shared<Projector>(log_, spec_.name + suffix(generation), spec_.space + suffix(generation),
                                        spec_.make_apply(), spec_.make_apply);
  g.released = std::make_shared<Generation::Released>();
  g.lease = std::shared_ptr<Projector>(g.owner.get(), [released = g.released](Projector*) {
    {
      std::lock_guard lk(released->mu);
      released->done = true;
    }
    released->cv.notify_all();
  });
  return g;
}

std::shared_ptr<Projector> ViewSlot::current() const {
  std::lock_guard lk(mu_);
  return current_.lease;
}

uint64_t ViewSlot::generation() const {
  std::lock_guard lk(mu_);
  return generation_;
}

std::optional<ViewSlot::Rebuild> ViewSlot::rebuilding() const {
  std::lock_guard lk(mu_);
  if (!next_.owner) return std::nullopt;
  return Rebuild{next_generation_, next_.owner->position()};
}

Result<uint64_t> ViewSlot::rebuild() {
  std::lock_guard lk(mu_);
  if (next_.owner) return Status::busy("view " + spec_.name + " is being rebuilt already (generation " +
                                 std::to_string(next_generation_) + ")");
  if (builder_.joinable()) builder_.join();  // the previous rebuild's clean-up
  next_generation_ = generation_ + 1;
  uint64_t generation = next_generation_;
  // A rebuild interrupted by a restart left its rows and checkpoint: start clean.
  events::SideWrites reset;
  reset.set_checkpoint(spec_.name + suffix(generation), 0);
  reset.erase_space(spec_.space + suffix(generation));
  if (Status s = log_.write_derived(reset); !s) return s;
  next_ = make(generation);
  next_.owner->start();
  builder_ = std::jthread(
      [this, next = next_.owner, generation](std::stop_token stop) { build(stop, next, generation); });
  return generation;
}

void ViewSlot::build(std::stop_token stop, std::shared_ptr<Projector> next, uint64_t generation) {
  using namespace std::chrono_literals;
  // Caught up: the new generation has applied what the log held a moment ago.
  for (;;) {
    if (stop.stop_requested() || next->failure()) return;
    if (next->wait_for(log_.head(), 200ms)) break;
  }
  events::SideWrites record;
  record.put(kViewGenerationsSpace, spec_.name, std::to_string(generation));
  if (!log_.write_derived(record)) return;
  Generation old;
  uint64_t old_generation;
  {
    std::lock_guard lk(mu_);
    old = std::move(current_);
    old_generation = generation_;
    current_ = std::move(next_);
    next_ = {};
    generation_ = generation;
  }
  // Queries still reading the old generation hold leases on it; let them finish.
  old.lease.reset();
  {
    std::unique_lock lk(old.released->mu);
    old.released->cv.wait(lk, stop, [&] { return old.released->done; });
  }
  old.owner->stop();
  std::string old_space = old.owner->space();
  old.owner.reset();
  events::SideWrites forget;
  forget.erase_space(old_space);
  forget.set_checkpoint(spec_.name + suffix(old_generation), 0);
  (void)log_.write_derived(forget);
}

void ViewSlot::stop() {
  if (builder_.joinable()) {
    builder_.request_stop();
    builder_.join();
  }
  std::lock_guard lk(mu_);
  if (next_.owner) next_.owner->stop();
  if (current_.owner) current_.owner->stop();
}

}  // namespace ordersd::read
