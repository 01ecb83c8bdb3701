#include "write/saga/saga.h"

#include <map>

#include "write/domain/overloaded.h"

namespace ordersd::write {

namespace {

using Phase = SagaState::Phase;

// The answer a participant gives to a compensation of something it never did
// ("nothing to undo"); not an outcome of the order, so not recorded on it.
bool is_void(const SagaInput& input) {
  if (auto* d = std::get_if<PaymentDeclined>(&input)) return d->reason == "voided";
  if (auto* r = std::get_if<InventoryReleased>(&input)) return r->lines.empty();
  if (auto* f = std::get_if<ShipmentFailed>(&input)) return f->reason == "voided";
  return false;
}

OrderEvent as_order_event(const SagaInput& input) {
  return std::visit(
      [](const auto& e) -> OrderEvent {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_constructible_v<OrderEvent, T>) {
          return e;
        } else {
          return OrderCancelled{};  // unreachable: only answers are recorded
        }
      },
      input);
}

class Decider {
 public:
  Decider(const SagaState& s, const SagaPolicy& p, int64_t now) : s_(s), policy_(p), now_(now) {}

  SagaDecision decide(const SagaInput& input) {
    if (s_.phase == Phase::kNone) {
      if (auto* placed = std::get_if<OrderPlaced>(&input)) start(*placed);
      return std::move(out_);  // anything else is about a saga that never started
    }
    if (s_.phase == Phase::kShipped || s_.phase == Phase::kCancelled) return std::move(out_);
    std::visit(Overloaded{
                   [&](const OrderPlaced&) {},  // a redelivered start: already running
                   [&](const CancellationRequested& c) { cancel(c); },
                   [&](const DeadlinePassed&) { deadline_passed(); },
                   [&](const RetryRequested&) { retry(); },
                   [&](const auto&) { answer(input); },
               },
               input);
    return std::move(out_);
  }

 private:
  void start(const OrderPlaced& placed) {
    SagaOrder order{placed.order_id, placed.customer_id, placed.total_cents, stock_lines(placed.items),
                    placed.shipping_address.country};
    out_.saga.push_back(StepRequested{SagaStep::kCharge, std::move(order), 1, step_deadline(policy_, 1, now_), {}});
  }

  void request(SagaStep step, std::string cancel_reason) {
    out_.saga.push_back(StepRequested{step, s_.order, 1, step_deadline(policy_, 1, now_), std::move(cancel_reason)});
  }

  void end_cancelled(const std::string& reason) {
    out_.order.push_back(OrderCancelled{reason});
    out_.saga.push_back(SagaEnded{"cancelled", reason});
  }

  // Undo, newest first, starting at `from`; a failed step leaves nothing to
  // undo of its own, so it starts at the step before it.
  void compensate_from(std::optional<SagaStep> from, const std::string& reason) {
    if (!from) return end_cancelled(reason);
    request(*from, reason);
  }

  // Why the saga is giving up: the customer's cancel wins over a step's failure.
  std::string reason_or(const char* failure) const { return s_.cancel_noted.value_or(failure); }

  void cancel(const CancellationRequested& c) {
    // Ignored once compensating: that includes the saga's own step_timeout
    // cancel, which it records on the order and reads back.
    if (!s_.cancel_reason.empty() || s_.cancel_noted || s_.phase == Phase::kStuck) return;
    if (s_.pending == SagaStep::kStockShip) return;  // shipped: too late to cancel
    out_.saga.push_back(CancelNoted{c.reason.empty() ? "customer_cancelled" : c.reason});
  }

  void deadline_passed() {
    if (s_.phase != Phase::kRunning || !s_.pending || now_ < s_.deadline_us) return;
    SagaStep step = *s_.pending;
    // Once the customer's cancel is noted, a forward step is not asked again:
    // it is voided under the customer's reason (below).
    bool forward = !is_compensation(step) && step != SagaStep::kStockShip;
    if (s_.attempt < policy_.max_attempts && !(forward && s_.cancel_noted)) {
      uint32_t attempt = s_.attempt + 1;
      out_.saga.push_back(StepRequested{step, s_.order, attempt, step_deadline(policy_, attempt, now_),
                                        s_.cancel_reason});
      return;
    }
    if (!forward) {
      // A compensation, or stock_ship past the point of no return: only an operator can move it.
      out_.saga.push_back(SagaParked{step, s_.attempt});
      return;
    }
    // A forward step that never answered is voided by its own compensation:
    // whatever the participant did or does later, the void comes after it.
    std::string reason = reason_or("step_timeout");
    if (!s_.cancel_noted) out_.order.push_back(CancellationRequested{reason});
    SagaStep void_step = step == SagaStep::kCharge    ? SagaStep::kRefund
                         : step == SagaStep::kReserve ? SagaStep::kRelease
                                                      : SagaStep::kShipmentCancel;
    request(void_step, reason);
  }

  void retry() {
    if (s_.phase != Phase::kStuck || !s_.pending) return;
    request(*s_.pending, s_.cancel_reason);
  }

  // A participant's answer. Only the answer the pending step waits for moves
  // the saga; a late answer to an earlier, voided attempt is still recorded
  // on the order, so its story and its charged/reserved flags stay true.
  void answer(const SagaInput& input) {
    if (!s_.pending) return;
    SagaStep step = *s_.pending;
    std::visit(
        Overloaded{
            [&](const PaymentProcessed&) {
              if (step == SagaStep::kRefund) return record(input);  // charged late; the refund follows
              if (step != SagaStep::kCharge) return;
              record(input);
              if (s_.cancel_noted) compensate_from(SagaStep::kRefund, *s_.cancel_noted);
              else request(SagaStep::kReserve, {});
            },
            [&](const PaymentDeclined&) {
              if (step != SagaStep::kCharge && step != SagaStep::kRefund) return;
              record(input);
              end_cancelled(step == SagaStep::kCharge ? reason_or("payment_declined") : s_.cancel_reason);
            },
            [&](const PaymentRefunded&) {
              if (step != SagaStep::kRefund) return;
              record(input);
              end_cancelled(s_.cancel_reason);
            },
            [&](const InventoryReserved&) {
              if (step == SagaStep::kRelease) return record(input);  // reserved late; the release follows
              if (step != SagaStep::kReserve) return;
              record(input);
              if (s_.cancel_noted) compensate_from(SagaStep::kRelease, *s_.cancel_noted);
              else request(SagaStep::kShip, {});
            },
            [&](const InventoryReservationFailed&) {
              if (step != SagaStep::kReserve && step != SagaStep::kRelease) return;
              record(input);
              std::string reason = step == SagaStep::kReserve ? reason_or("out_of_stock") : s_.cancel_reason;
              compensate_from(SagaStep::kRefund, reason);
            },
            [&](const InventoryReleased&) {
              if (step != SagaStep::kRelease) return;
              record(input);
              compensate_from(SagaStep::kRefund, s_.cancel_reason);
            },
            [&](const ShipmentInitiated&) {
              // Shipping has no compensation: a shipment wins over a cancel
              // or a timeout that came too late to stop it.
              if (step != SagaStep::kShip && step != SagaStep::kShipmentCancel) return;
              record(input);
              request(SagaStep::kStockShip, {});
            },
            [&](const InventoryShipped&) {
              // Not an outcome of the order (whose story ends at the shipment): not recorded.
              if (step != SagaStep::kStockShip) return;
              out_.saga.push_back(SagaEnded{"shipment_initiated", ""});
            },
            [&](const ShipmentFailed&) {
              if (step != SagaStep::kShip && step != SagaStep::kShipmentCancel) return;
              record(input);
              std::string reason = step == SagaStep::kShip ? reason_or("shipping_unavailable") : s_.cancel_reason;
              compensate_from(SagaStep::kRelease, reason);
            },
            [&](const auto&) {},
        },
        input);
  }

  void record(const SagaInput& input) {
    if (!is_void(input)) out_.order.push_back(as_order_event(input));
  }

  const SagaState& s_;
  const SagaPolicy& policy_;
  const int64_t now_;
  SagaDecision out_;
};

}  // namespace

std::string_view step_name(SagaStep step) {
  switch (step) {
    case SagaStep::kCharge: return "charge";
    case SagaStep::kReserve: return "reserve";
    case SagaStep::kShip: return "ship";
    case SagaStep::kShipmentCancel: return "shipment_cancel";
    case SagaStep::kRelease: return "release";
    case SagaStep::kRefund: return "refund";
    case SagaStep::kStockShip: return "stock_ship";
  }
  return "unknown";
}

bool is_compensation(SagaStep step) {
  return step == SagaStep::kShipmentCancel || step == SagaStep::kRelease || step == SagaStep::kRefund;
}

std::string_view phase_name(SagaState::Phase phase) {
  switch (phase) {
    case Phase::kNone: return "none";
    case Phase::kRunning: return "running";
    case Phase::kStuck: return "stuck";
    case Phase::kShipped: return "shipment_initiated";
    case Phase::kCancelled: return "cancelled";
  }
  return "unknown";
}

int64_t step_deadline(const SagaPolicy& policy, uint32_t attempt, int64_t now_us) {
  uint32_t doublings = attempt > 1 ? std::min<uint32_t>(attempt - 1, 20) : 0;
  return now_us + (policy.step_timeout_us << doublings);
}

std::vector<StockLine> stock_lines(const std::vector<OrderLine>& items) {
  std::map<std::string, uint64_t> by_sku;
  for (const auto& item : items) by_sku[item.sku] += item.quantity;
  std::vector<StockLine> lines;
  for (auto& [sku, quantity] : by_sku) lines.push_back({sku, static_cast<uint32_t>(std::min<uint64_t>(quantity, UINT32_MAX))});
  return lines;
}

SagaDecision decide(const SagaState& state, const SagaInput& input, const SagaPolicy& policy, int64_t now_us) {
  return Decider(state, policy, now_us).decide(input);
}

SagaState evolve(SagaState s, const SagaEvent& event) {
  ++s.version;
  std::visit(Overloaded{
                 [&](const StepRequested& e) {
                   s.order = e.order;
                   s.attempt = e.attempt;
                   s.deadline_us = e.deadline_us;
                   if (!e.cancel_reason.empty()) s.cancel_reason = e.cancel_reason;
                   if (e.step == SagaStep::kStockShip) {
                     // Shipped, even if a cancel or a timeout came too late to stop it.
                     s.cancel_reason.clear();
                   }
                   if (e.step == SagaStep::kStockShip && e.deadline_us == 0) {
                     // Stored before stock_ship was awaited: the saga ended here.
                     s.phase = Phase::kShipped;
                     s.pending.reset();
                   } else {
                     s.phase = Phase::kRunning;
                     s.pending = e.step;
                   }
                 },
                 [&](const CancelNoted& e) { s.cancel_noted = e.reason; },
                 [&](const SagaParked&) { s.phase = Phase::kStuck; },
                 [&](const SagaEnded& e) {
                   s.phase = e.outcome == "shipment_initiated" ? Phase::kShipped : Phase::kCancelled;
                   s.cancel_reason = e.reason;
                   s.pending.reset();
                 },
             },
             event);
  return s;
}

}  // namespace ordersd::write
