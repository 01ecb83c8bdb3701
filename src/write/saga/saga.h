// The order saga as a Decider: what the orchestrator does next for one order,
// given what it has done so far (its own stream, saga-{order_id}) and one
// input from the log.
//
//   decide(state, input, policy, now) -> saga events to append to the saga's
//                                        stream (the step requests are the
//                                        commands to the participants) and
//                                        order events recording each outcome
//   evolve(state, saga event)         -> the next state
//
// The steps, forward and back:
//
//   charge ----ok----> reserve ----ok----> ship ----ok----> stock_ship --ok--> (done: shipment_initiated)
//     | declined         | failed            | failed
//     v                  v                   v
//   cancelled          refund <---------- release <------- shipment_cancel (only after a ship timeout)
//                        |
//                        v
//                      cancelled (payment_declined, out_of_stock, shipping_unavailable,
//                                 customer_cancelled or step_timeout)
//
// A step waits for its participant's answer until its deadline, is requested
// again with a doubled deadline up to `max_attempts` times, then gives up:
// a forward step is voided by its compensation (a refund or release of what
// never happened answers "nothing to undo", and stops a late request from
// acting), a compensation parks the saga as stuck until an operator retries.
// stock_ship comes after the point of no return (the shipment exists): it is
// retried like any step and, when it never answers, parks the saga as stuck.
// A customer's cancel is noted and acted on when the step under way answers;
// once noted, no forward step is requested again: a forward step whose
// deadline passes is voided at once under the customer's reason.
// Pure: time comes in as `now_us`. Plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "write/domain/order.h"

namespace ordersd::write {

enum class SagaStep {
  kCharge,          // payment: take the order total from the customer's wallet
  kReserve,         // inventory: reserve every line, all or none
  kShip,            // shipping: create the shipment
  kShipmentCancel,  // shipping: void a shipment that did not answer in time
  kRelease,         // inventory: give the reservation back
  kRefund,          // payment: give the charge back
  kStockShip,       // inventory: the reservation becomes shipped stock
};

std::string_view step_name(SagaStep step);  // "charge", "reserve", ...
bool is_compensation(SagaStep step);        // shipment_cancel, release, refund

// What the saga knows of its order; every step request carries it whole.
struct SagaOrder {
  std::string order_id;
  std::string customer_id;
  uint64_t amount_cents = 0;
  std::vector<StockLine> lines;  // one per sku, quantities summed
  std::string country;
  friend bool operator==(const SagaOrder&, const SagaOrder&) = default;
};

// --- saga events, stored in saga-{order_id}

struct StepRequested {
  SagaStep step;
  SagaOrder order;
  uint32_t attempt = 1;
  int64_t deadline_us = 0;    // 0 only in kStockShip requests stored before it was awaited
  std::string cancel_reason;  // set once compensating
  friend bool operator==(const StepRequested&, const StepRequested&) = default;
};
struct CancelNoted {
  std::string reason;
  friend bool operator==(const CancelNoted&, const CancelNoted&) = default;
};
struct SagaParked {  // stored as saga.stuck.v1
  SagaStep step;
  uint32_t attempts = 0;
  friend bool operator==(const SagaParked&, const SagaParked&) = default;
};
struct SagaEnded {  // stored as saga.completed.v1
  std::string outcome;  // "cancelled", or "shipment_initiated" once the stock shipped
  std::string reason;
  friend bool operator==(const SagaEnded&, const SagaEnded&) = default;
};
using SagaEvent = std::variant<StepRequested, CancelNoted, SagaParked, SagaEnded>;

// --- inputs: what the saga reads from the log

struct DeadlinePassed {};   // the clock passed the pending step's deadline
struct RetryRequested {};   // an operator asks a stuck saga to try again
using SagaInput = std::variant<OrderPlaced, CancellationRequested, PaymentProcessed, PaymentDeclined, PaymentRefunded,
                               InventoryReserved, InventoryReservationFailed, InventoryReleased, ShipmentInitiated,
                               ShipmentFailed, InventoryShipped, DeadlinePassed, RetryRequested>;

struct SagaPolicy {
  int64_t step_timeout_us = 5'000'000;  // the first attempt's deadline; doubled for each retry
  uint32_t max_attempts = 3;            // per step, forward or compensation
};

// --- state

struct SagaState {
  enum class Phase { kNone, kRunning, kStuck, kShipped, kCancelled };
  Phase phase = Phase::kNone;
  uint64_t version = 0;
  SagaOrder order;
  std::optional<SagaStep> pending;  // the step awaiting its answer
  uint32_t attempt = 0;
  int64_t deadline_us = 0;
  std::optional<std::string> cancel_noted;  // the customer asked; acted on at the next answer
  std::string cancel_reason;                // set once compensating
  friend bool operator==(const SagaState&, const SagaState&) = default;
};

std::string_view phase_name(SagaState::Phase phase);  // "running", "stuck", ...

struct SagaDecision {
  std::vector<SagaEvent> saga;
  std::vector<OrderEvent> order;  // outcomes recorded on the order's stream
};

SagaDecision decide(const SagaState& state, const SagaInput& input, const SagaPolicy& policy, int64_t now_us);
SagaState evolve(SagaState state, const SagaEvent& event);

// The deadline of a step's attempt requested at `now_us`.
int64_t step_deadline(const SagaPolicy& policy, uint32_t attempt, int64_t now_us);

// An order's lines as the saga reserves them: one per sku, in sku order.
std::vector<StockLine> stock_lines(const std::vector<OrderLine>& items);

}  // namespace ordersd::write
