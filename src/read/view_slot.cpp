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
  slot->current_->start();
  return slot;
}

ViewSlot::~ViewSlot() { stop(); }

std::shared_ptr<Projector> ViewSlot::make(uint64_t generation) const {
  return std::make_shared<Projector>(log_, spec_.name + suffix(generation), spec_.space + suffix(generation),
                                     spec_.apply);
}

std::shared_ptr<Projector> ViewSlot::current() const {
  std::lock_guard lk(mu_);
  return current_;
}

uint64_t ViewSlot::generation() const {
  std::lock_guard lk(mu_);
  return generation_;
}

std::optional<ViewSlot::Rebuild> ViewSlot::rebuilding() const {
  std::lock_guard lk(mu_);
  if (!next_) return std::nullopt;
  return Rebuild{next_generation_, next_->position()};
}

Result<uint64_t> ViewSlot::rebuild() {
  std::lock_guard lk(mu_);
  if (next_) return Status::busy("view " + spec_.name + " is being rebuilt already (generation " +
                                 std::to_string(next_generation_) + ")");
  if (builder_.joinable()) builder_.join();  // the previous rebuild's clean-up
  next_generation_ = generation_ + 1;
  uint64_t generation = next_generation_;
  // A rebuild interrupted by a restart left its rows and checkpoint: start clean.
  events::SideWrites reset;
  reset.set_checkpoint(spec_.name + suffix(generation), 0);
  if (Status s = log_.write(reset); !s) return s;
  if (Status s = erase_space(log_, spec_.space + suffix(generation)); !s) return s;
  next_ = make(generation);
  next_->start();
  builder_ = std::jthread([this, next = next_, generation](std::stop_token stop) { build(stop, next, generation); });
  return generation;
}

void ViewSlot::build(std::stop_token stop, std::shared_ptr<Projector> next, uint64_t generation) {
  using namespace std::chrono_literals;
  // Caught up: the new generation has applied what the log held a moment ago.
  for (;;) {
    if (stop.stop_requested() || next->failure()) return;
    uint64_t head = log_.head();
    bool reached = false;
    std::mutex m;
    std::condition_variable cv;
    bool answered = false;
    next->when_reached(head, 200ms, [&](bool ok) {
      std::lock_guard lk(m);
      reached = ok;
      answered = true;
      cv.notify_all();
    });
    std::unique_lock lk(m);
    cv.wait(lk, [&] { return answered; });
    if (reached) break;
  }
  events::SideWrites record;
  record.put(kViewGenerationsSpace, spec_.name, std::to_string(generation));
  if (!log_.write(record)) return;
  std::shared_ptr<Projector> old;
  uint64_t old_generation;
  {
    std::lock_guard lk(mu_);
    old = std::move(current_);
    old_generation = generation_;
    current_ = next;
    generation_ = generation;
    next_.reset();
  }
  // Queries still reading the old generation hold it; let them finish.
  while (old.use_count() > 1 && !stop.stop_requested()) std::this_thread::sleep_for(5ms);
  old->stop();
  std::string old_space = old->space();
  old.reset();
  (void)erase_space(log_, old_space);
  events::SideWrites forget;
  forget.set_checkpoint(spec_.name + suffix(old_generation), 0);
  (void)log_.write(forget);
}

void ViewSlot::stop() {
  if (builder_.joinable()) {
    builder_.request_stop();
    builder_.join();
  }
  std::lock_guard lk(mu_);
  if (next_) next_->stop();
  if (current_) current_->stop();
}

}  // namespace ordersd::read
