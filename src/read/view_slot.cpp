#include "read/view_slot.h"

#include "events/thread_name.h"

#include "events/logging.h"
#include "read/replay.h"

#include <charconv>
#include <chrono>
#include <string>
#include <vector>

namespace ordersd::read {

namespace {

std::string suffix(uint64_t generation) { return generation == 0 ? "" : "#" + std::to_string(generation); }

}  // namespace

Result<std::unique_ptr<ViewSlot>> ViewSlot::open(events::EventLog& log, const ViewSpec& spec, ProjectorGroup* group) {
  std::unique_ptr<ViewSlot> slot(new ViewSlot(log, spec));
  auto recorded = log.get(kViewGenerationsSpace, spec.name);
  if (!recorded) return recorded.status();
  if (*recorded) {
    const std::string& text = **recorded;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), slot->generation_);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
      return Status::corruption("stored record is damaged: the generation of view " + spec.name + " is '" + text +
                                    "', not a number",
                                0);
    }
  }
  slot->current_ = slot->make(slot->generation_, group);
  slot->current_.owner->start();
  return slot;
}

ViewSlot::~ViewSlot() { stop(); }

ViewSlot::Generation ViewSlot::make(uint64_t generation, ProjectorGroup* group) const {
  Generation g;
  g.owner = std::make_shared<Projector>(log_, spec_.name + suffix(generation), spec_.space + suffix(generation),
                                        spec_.make_apply(), spec_.make_apply, group);
  g.released = std::make_shared<Generation::Released>();
  // Each lease shares the projector: a query (or a job it queued) that still
  // holds one keeps it alive, even past a swap and a shutdown. The projector
  // is stopped before the slot lets go of it, so whichever thread drops the
  // last lease never joins a thread of the projector's own.
  g.lease = std::shared_ptr<Projector>(g.owner.get(), [owner = g.owner, released = g.released](Projector*) {
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

std::optional<ViewSlot::FailedRebuild> ViewSlot::failed_rebuild() const {
  std::lock_guard lk(mu_);
  return failed_;
}

Result<uint64_t> ViewSlot::rebuild() {
  // builder_mu_ alone is held across the join below; current() never takes it.
  std::lock_guard building(builder_mu_);
  uint64_t generation;
  {
    std::lock_guard lk(mu_);
    if (stopped_) return Status::shutting_down();
    if (next_.owner) {
      return Status::busy("view " + spec_.name + " is being rebuilt already (generation " +
                          std::to_string(next_generation_) + ")");
    }
    if (draining_) {
      return Status::busy("view " + spec_.name + ": generation " + std::to_string(generation_ - 1) +
                          " is still read by queries and is let go once they finish; retry shortly");
    }
    generation = generation_ + 1;
  }
  // The previous builder, if any, is done with its work (nothing pending,
  // nothing draining): this join does not wait.
  if (builder_.joinable()) builder_.join();
  // A rebuild interrupted by a restart left its rows and checkpoint: start clean.
  events::SideWrites reset;
  reset.set_checkpoint(spec_.name + suffix(generation), 0);
  reset.erase_space(spec_.space + suffix(generation));
  if (Status s = log_.write_derived(reset); !s) return s;
  Generation next = make(generation);
  next.owner->start();
  {
    std::lock_guard lk(mu_);
    next_ = next;
    next_generation_ = generation;
    failed_.reset();
  }
  builder_ = std::jthread(
      [this, owner = next.owner, generation](std::stop_token stop) {
        events::name_this_thread("rebuild-" + spec_.name);
        build(stop, owner, generation);
      });
  return generation;
}

void ViewSlot::abandon(std::shared_ptr<Projector> next, uint64_t generation, std::string reason) {
  uint64_t at = next->position();
  next->stop();
  logging::warn(spec_.name, "rebuild failed; the live generation keeps serving",
                {{"generation", std::to_string(generation)}, {"position", std::to_string(at)}, {"reason", reason}});
  events::SideWrites forget;
  forget.erase_space(next->space());
  forget.set_checkpoint(next->name(), 0);
  (void)log_.write_derived(forget);
  std::lock_guard lk(mu_);
  next_ = {};
  failed_ = FailedRebuild{generation, at, std::move(reason)};
}

void ViewSlot::build(std::stop_token stop, std::shared_ptr<Projector> next, uint64_t generation) {
  using namespace std::chrono_literals;
  // Caught up: the new generation has applied what the log held a moment ago.
  for (;;) {
    if (stop.stop_requested()) return;  // stop() stops the projector
    if (auto failure = next->failure()) return abandon(std::move(next), generation, failure->to_string());
    if (next->wait_for(log_.head(), 200ms)) break;
  }
  events::SideWrites record;
  record.put(kViewGenerationsSpace, spec_.name, std::to_string(generation));
  if (Status s = log_.write_derived(record); !s) {
    return abandon(std::move(next), generation, "recording the new generation: " + s.to_string());
  }
  Generation old;
  uint64_t old_generation;
  {
    std::lock_guard lk(mu_);
    old = std::move(current_);
    old_generation = generation_;
    current_ = std::move(next_);
    next_ = {};
    generation_ = generation;
    draining_ = true;
  }
  // Queries still reading the old generation hold leases on it; let them finish.
  old.lease.reset();
  {
    std::unique_lock lk(old.released->mu);
    old.released->cv.wait(lk, stop, [&] { return old.released->done; });
  }
  old.owner->stop();
  std::string old_space = old.owner->space();
  old.owner.reset();  // a lease still held (at shutdown) keeps the stopped projector alive
  events::SideWrites forget;
  forget.erase_space(old_space);
  forget.set_checkpoint(spec_.name + suffix(old_generation), 0);
  (void)log_.write_derived(forget);
  std::lock_guard lk(mu_);
  draining_ = false;
}

void ViewSlot::stop() {
  std::lock_guard building(builder_mu_);
  {
    std::lock_guard lk(mu_);
    stopped_ = true;
  }
  if (builder_.joinable()) {
    builder_.request_stop();
    builder_.join();
  }
  std::shared_ptr<Projector> next, current;
  {
    std::lock_guard lk(mu_);
    next = next_.owner;
    current = current_.owner;
  }
  // Outside the lock: stopping answers waiting queries, whose answers ask for current().
  if (next) next->stop();
  if (current) current->stop();
}

}  // namespace ordersd::read
