// Projector: keeps one view up to date with the log, on a thread of its own
// or as a member of a ProjectorGroup, which drives several on one thread.
//
// It reads the log from the view's checkpoint and applies each event to the
// view's rows through a ViewBatch; the rows a batch changed and the new
// checkpoint commit in one WriteBatch, so a crash never applies an event twice
// or skips one. An event the view cannot apply stops the projector as failed,
// naming the position; it never skips one.
//
// when_reached() is how a query reads its own writes: it answers once the
// view has reached a position, or when the wait runs out.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "events/event_log.h"
#include "events/subscription.h"
#include "read/projector_group.h"

namespace ordersd::read {

// A view's rows as one batch sees them: what the log holds under the view's
// space, overlaid with what the batch has written so far.
class ViewBatch {
 public:
  ViewBatch(const events::EventLog& log, std::string space) : log_(log), space_(std::move(space)) {}

  Result<std::optional<std::string>> get(const std::string& key);
  void put(const std::string& key, std::string value);
  void erase(const std::string& key);
  // The batch's writes: the last one to each key, in key order (a memtable
  // takes keys in order much faster than scattered). Leaves the batch empty.
  events::SideWrites take_writes();

 private:
  const events::EventLog& log_;
  const std::string space_;
  std::unordered_map<std::string, std::optional<std::string>> latest_;  // nullopt: erased
};

class Projector {
 public:
  // Applies a batch of events, in log order, to the view; events the view
  // does not show are ignored.
  using Apply = std::function<Status(const std::vector<events::RecordedEvent>&, ViewBatch&)>;

  // `name` names the checkpoint; the rows live in side space `space`.
  // `make_apply` gives a fresh Apply for a restart (an Apply may keep rows in
  // memory that a failed commit left behind); without it the same one is kept.
  // With `group`, the group's thread drives it (see projector_group.h);
  // without, a Subscription of its own.
  Projector(events::EventLog& log, std::string name, std::string space, Apply apply,
            std::function<Apply()> make_apply = {}, ProjectorGroup* group = nullptr);
  ~Projector();  // stop()s
  Projector(const Projector&) = delete;
  Projector& operator=(const Projector&) = delete;

  // Starts after its checkpoint (a checkpoint it cannot read is its failure).
  void start();
  void stop();
  // Starts reading again after its checkpoint, after a failure (a
  // supervisor's job); queries waiting on it keep waiting.
  Status restart();

  const std::string& name() const { return name_; }
  const std::string& space() const { return space_; }
  uint64_t position() const;
  std::optional<Status> failure() const;

  // Blocks until the view has reached `position`, the projector fails, or
  // `timeout` passes; returns whether it reached it.
  bool wait_for(uint64_t position, std::chrono::milliseconds timeout) const;

  // `done(true)` once the view has reached `position` (at once if it has),
  // `done(false)` when `wait` passes first or the projector stops. Runs on
  // the projector's thread, its timer thread or the caller's; must be quick.
  void when_reached(uint64_t position, std::chrono::milliseconds wait, std::function<void(bool)> done);

 private:
  friend class ProjectorGroup;
  // For the group's thread: the rows `batch` changes (nothing committed
  // yet), then exactly one of committed_through() or abandoned().
  Result<events::SideWrites> apply_batch(const std::vector<events::RecordedEvent>& batch);
  void committed_through(uint64_t position);
  void abandoned();
  void fail(Status status);
  // The checkpoint, into position_ (grouped only).
  Status load_checkpoint();

  struct Waiter {
    uint64_t position;
    std::chrono::steady_clock::time_point deadline;
    std::function<void(bool)> done;
  };
  void reached(uint64_t position);
  void start_timer();
  void run_timer(std::stop_token stop);

  events::EventLog& log_;
  const std::string name_;
  const std::string space_;
  Apply apply_;  // the subscription's thread only
  bool applied_uncommitted_ = false;  // the subscription's thread only
  const std::function<Apply()> make_apply_;
  std::unique_ptr<events::Subscription> subscription_;  // when it runs alone
  ProjectorGroup* const group_;                         // when it is a member
  bool joined_ = false;                                 // of group_; the controlling thread's

  // Grouped: what a subscription would keep.
  mutable std::mutex state_mu_;
  mutable std::condition_variable progress_cv_;
  uint64_t position_ = 0;           // guarded by state_mu_
  std::optional<Status> failure_;   // guarded by state_mu_

  std::mutex mu_;
  std::condition_variable_any timer_cv_;
  std::list<Waiter> waiters_;  // guarded by mu_
  uint64_t reached_ = 0;       // guarded by mu_
  uint64_t added_ = 0;         // waiters ever added; guarded by mu_
  std::jthread timer_;
};

}  // namespace ordersd::read
