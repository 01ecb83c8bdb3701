// ProjectorGroup: one thread that keeps several views up to date, reading
// the log once for all of them.
//
// Each member is a Projector with its own checkpoint, rows, position and
// failure, as if it ran alone; the group reads a batch from the lowest
// member position, hands each member the events it has not applied, and
// commits every member's rows and checkpoint in one write. A member that
// cannot apply an event is taken through the batch one event at a time,
// committing each, and fails exactly at that event; the others go on. A
// member that joins behind the others (restarted from its checkpoint) makes
// the group read from its position until it has caught up.
//
// The live generation of every view is a member; a rebuild reads the log
// from the start on its own thread (ViewSlot), so it never holds the live
// views back.
// Thread-safe.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "events/event_log.h"

namespace ordersd::read {

class Projector;

class ProjectorGroup {
 public:
  // `log` must outlive the group; `batch_size`: events read at a time.
  explicit ProjectorGroup(events::EventLog& log, size_t batch_size = 1024);
  ~ProjectorGroup();  // stop()s; every member must have left

  // Ends the thread (members stop being driven); for shutdown, before the
  // log goes. Idempotent; call it from one controlling thread.
  void stop();
  ProjectorGroup(const ProjectorGroup&) = delete;
  ProjectorGroup& operator=(const ProjectorGroup&) = delete;

  // From the member's position() on; starts the thread with the first member.
  void join(Projector* member);
  // Returns once the thread no longer uses `member`.
  void leave(Projector* member);

 private:
  void run(std::stop_token stop);
  // One batch read from the lowest member's position, and one commit for
  // every member it carried past its own.
  void step(const std::vector<Projector*>& members);
  // After `member` refused the batch: one event at a time, up to the one it cannot apply.
  void one_by_one(Projector* member, const std::vector<events::RecordedEvent>& events);

  events::EventLog& log_;
  const size_t batch_size_;
  std::mutex mu_;
  std::condition_variable_any members_cv_;
  std::vector<Projector*> members_;  // guarded by mu_
  uint64_t changes_ = 0;             // joins and leaves; guarded by mu_
  bool stopped_ = false;             // guarded by mu_
  // Stopped by a join (and by stop()): ends the thread's wait on the log,
  // whose next position the new member may already be past.
  std::stop_source joined_;          // guarded by mu_
  // Held by the thread through each step; leave() takes it after removing a
  // member, so that no step still uses it.
  std::mutex step_mu_;
  std::jthread thread_;  // started by the first join()
};

}  // namespace ordersd::read
