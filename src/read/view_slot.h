// ViewSlot: the live projector of one view, and its rebuild.
//
// A view lives in generations: generation 0 in the view's own space under
// its own checkpoint name, generation g > 0 in "{space}#g" under "{name}#g".
// rebuild() starts the next generation's projector from the start of the log
// beside the live one, which keeps serving; once the new one has caught up
// with the head, the slot records the new generation and swaps atomically.
// Queries that began on the old generation finish on it; then its projector
// stops and its rows are erased. A rebuild that fails is let go and recorded
// (failed_rebuild()); the live generation keeps serving and a new rebuild may
// start.
//
// current() never waits behind a rebuild: the slot's lock is only ever held
// for a few assignments, never across a join or a wait for queries.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "events/event_log.h"
#include "read/projector.h"
#include "read/views.h"

namespace ordersd::read {

class ViewSlot {
 public:
  // Opens the view at the generation recorded in the log (0 when none) and
  // starts its projector: a member of `group` when one is given (it must
  // outlive the slot), else on a thread of its own. A rebuild always runs on
  // its own thread, and the generation it built keeps it.
  static Result<std::unique_ptr<ViewSlot>> open(events::EventLog& log, const ViewSpec& spec,
                                                ProjectorGroup* group = nullptr);
  ~ViewSlot();  // stops the rebuild, if any, and the projector

  std::shared_ptr<Projector> current() const;
  uint64_t generation() const;
  const ViewSpec& spec() const { return spec_; }

  struct Rebuild {
    uint64_t generation;  // being built
    uint64_t position;    // it has applied
  };
  // The rebuild under way, if any.
  std::optional<Rebuild> rebuilding() const;
  struct FailedRebuild {
    uint64_t generation;  // that was being built
    uint64_t position;    // it had applied when it failed
    std::string reason;
  };
  // The last rebuild, when it failed; cleared when a new rebuild starts.
  std::optional<FailedRebuild> failed_rebuild() const;

  // Starts building the next generation and names it; kBusy when one is
  // being built already, or when the generation it replaced is still read
  // by queries (it is let go once they finish). Erases what an interrupted rebuild left: reads and
  // writes the disk, so call it away from I/O threads.
  Result<uint64_t> rebuild();
  // Stops the projectors (the live one, and a rebuild's); for shutdown.
  void stop();

 private:
  // One generation's projector. The slot and every lease share it: a query
  // holding a lease keeps the projector alive however long it takes, and
  // `released` is told when the last lease is gone.
  struct Generation {
    struct Released {
      std::mutex mu;
      std::condition_variable_any cv;
      bool done = false;
    };
    std::shared_ptr<Projector> owner;
    std::shared_ptr<Released> released;
    std::shared_ptr<Projector> lease;
  };

  ViewSlot(events::EventLog& log, const ViewSpec& spec) : log_(log), spec_(spec) {}
  Generation make(uint64_t generation, ProjectorGroup* group = nullptr) const;
  void build(std::stop_token stop, std::shared_ptr<Projector> next, uint64_t generation);
  // Lets go of a rebuild that cannot finish, recording why.
  void abandon(std::shared_ptr<Projector> next, uint64_t generation, std::string reason);

  events::EventLog& log_;
  const ViewSpec& spec_;
  mutable std::mutex mu_;
  Generation current_;            // guarded by mu_
  uint64_t generation_ = 0;       // guarded by mu_
  Generation next_;               // guarded by mu_: the rebuild's, while one runs
  uint64_t next_generation_ = 0;  // guarded by mu_
  bool stopped_ = false;          // guarded by mu_
  bool draining_ = false;         // guarded by mu_: the builder still waits for the old generation's queries
  std::optional<FailedRebuild> failed_;  // guarded by mu_
  // Serialises rebuild() and stop(), which join the builder; never held by current().
  std::mutex builder_mu_;
  std::jthread builder_;  // guarded by builder_mu_
};

// Side space of the views' generations: name -> decimal generation.
inline constexpr const char* kViewGenerationsSpace = "view-generations";

}  // namespace ordersd::read
