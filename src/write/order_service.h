// OrderService: the one command pipeline for orders.
//
//   load the order's stream and fold it with evolve -> decide -> append with
//   the version the load saw -> on a conflict with another writer, start over
//   (a bounded number of times) -> answer
//
// Loading and deciding run on the WorkQueue (placing an order, which needs
// no load, runs on the caller's thread); the append is group-committed by the
// log and answered from its completion, so no caller thread waits on the
// disk. Thread-safe: any number of executions may run concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>

#include "events/event_log.h"
#include "write/order.h"
#include "write/work_queue.h"

namespace ordersd::write {

struct OrderCommandRequest {
  std::string order_id;
  OrderCommand command;
  // The version the caller last saw (If-Match); the command is refused with
  // PreconditionFailed when the order is at another one.
  std::optional<uint64_t> expected_version;
  // When set, event ids derive from it, so re-executing the same request
  // appends nothing new (the log recognises the ids).
  std::optional<std::string> id_seed;
  Uuid correlation_id;
  // Writes that commit atomically with the events, given the state after the
  // command and where its events landed (see AppendRequest::side_writes_for).
  std::function<void(const OrderState& after, const events::AppendResult&, events::SideWrites&)> side_writes;
};

struct Executed {
  OrderState state;                // after the command
  events::AppendResult append;     // positions and version
};
struct PreconditionFailed {
  uint64_t current_version;
};
using CommandOutcome = std::variant<Executed, Refusal, PreconditionFailed, Status>;

class OrderService {
 public:
  // `log` and `work` must outlive the service. `ids` makes event ids.
  OrderService(events::EventLog& log, WorkQueue& work, UuidGenerator& ids);

  // The order folded up to `up_to_version` (all of it by default); a state
  // with status kNone when there is no such order. Reads the disk: call it
  // from the WorkQueue, not from an I/O thread.
  Result<OrderState> load(std::string_view order_id, uint64_t up_to_version = UINT64_MAX) const;

  // Executes asynchronously; `done` runs exactly once, on a WorkQueue thread,
  // the log's completion thread or (for input the log refuses at once) the
  // caller's, and must be quick.
  void execute(OrderCommandRequest request, std::function<void(CommandOutcome)> done);

  static constexpr int kMaxAttempts = 8;

 private:
  struct Execution;
  // Loads the order, then decides and appends.
  void attempt(std::shared_ptr<Execution> execution);
  void decide_and_append(std::shared_ptr<Execution> execution, const OrderState& state);

  events::EventLog& log_;
  WorkQueue& work_;
  UuidGenerator& ids_;
};

}  // namespace ordersd::write
