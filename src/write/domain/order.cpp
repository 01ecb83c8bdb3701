#include "write/domain/order.h"

#include <array>

#include "write/domain/overloaded.h"

namespace ordersd::write {

namespace {

template <typename T>
size_t command_index() {
  return OrderCommand(std::in_place_type<T>).index();
}

Refusal illegal(const OrderState& state, const OrderCommand& command) {
  return {Refusal::Kind::kIllegalTransition, state.status,
          "cannot " + std::string(command_name(command)) + " an order that is " +
              std::string(status_name(state.status))};
}

// Decides one legal (status, command) pair; may still refuse on a guard.
using Rule = Decision (*)(const OrderState&, const OrderCommand&);

struct Transition {
  OrderStatus from;
  size_t command;
  Rule decide;
};

template <typename Command>
const Command& as(const OrderCommand& c) {
  return std::get<Command>(c);
}

Decision place(const OrderState&, const OrderCommand& c) {
  const auto& cmd = as<PlaceOrder>(c);
  uint64_t total = 0;
  for (const auto& line : cmd.items) total += uint64_t{line.quantity} * line.unit_price_cents;
  return std::vector<OrderEvent>{OrderPlaced{cmd.order_id, cmd.customer_id, cmd.items, cmd.shipping_address, total}};
}

Decision request_cancel(const OrderState&, const OrderCommand& c) {
  const auto& cmd = as<CancelOrder>(c);
  return std::vector<OrderEvent>{CancellationRequested{cmd.reason.empty() ? "customer_cancelled" : cmd.reason}};
}

Decision deliver(const OrderState&, const OrderCommand&) { return std::vector<OrderEvent>{OrderDelivered{}}; }

// A step outcome becomes the event it carries.
template <typename Command>
Decision record(const OrderState&, const OrderCommand& c) {
  return std::vector<OrderEvent>{as<Command>(c).outcome};
}

Decision refund(const OrderState& s, const OrderCommand& c) {
  if (!s.paid) return illegal(s, c);  // nothing charged, or already refunded
  return record<RecordRefund>(s, c);
}

Decision release(const OrderState& s, const OrderCommand& c) {
  if (!s.reserved) return illegal(s, c);  // nothing reserved, or already released
  return record<RecordRelease>(s, c);
}

Decision complete_cancellation(const OrderState& s, const OrderCommand& c) {
  if (s.paid || s.reserved) {
    return Refusal{Refusal::Kind::kIllegalTransition, s.status,
                   "cannot " + std::string(command_name(c)) + " an order that is " + std::string(status_name(s.status)) +
                       " while it is still charged or holds stock"};
  }
  const std::string& reason = as<CompleteCancellation>(c).reason;
  return std::vector<OrderEvent>{OrderCancelled{reason.empty() ? s.cancel_reason.value_or("customer_cancelled") : reason}};
}

// A shipment needs the charge and the reservation it ships; while cancelling,
// one that succeeds anyway wins over the cancel only if both still stand.
Decision ship_while_cancelling(const OrderState& s, const OrderCommand& c) {
  if (!s.paid || !s.reserved) return illegal(s, c);
  return record<RecordShipment>(s, c);
}

// The order's life, one row per legal (status, command). Anything not listed
// is refused. While cancelling, the outcome of a step that was already under
// way is still recorded, so the saga knows what to compensate; a shipment
// that succeeds anyway wins over the cancel (shipping has no compensation).
const std::vector<Transition>& transitions() {
  using S = OrderStatus;
  static const std::vector<Transition> table = {
      {S::kNone, command_index<PlaceOrder>(), place},

      {S::kPlaced, command_index<RecordPayment>(), record<RecordPayment>},
      {S::kPlaced, command_index<RecordPaymentDeclined>(), record<RecordPaymentDeclined>},
      {S::kPlaced, command_index<CancelOrder>(), request_cancel},

      {S::kPaymentProcessed, command_index<RecordReservation>(), record<RecordReservation>},
      {S::kPaymentProcessed, command_index<RecordReservationFailed>(), record<RecordReservationFailed>},
      {S::kPaymentProcessed, command_index<CancelOrder>(), request_cancel},

      {S::kInventoryReserved, command_index<RecordShipment>(), record<RecordShipment>},
      {S::kInventoryReserved, command_index<RecordShipmentFailed>(), record<RecordShipmentFailed>},
      {S::kInventoryReserved, command_index<CancelOrder>(), request_cancel},

      {S::kShipmentInitiated, command_index<DeliverOrder>(), deliver},

      {S::kCancelling, command_index<RecordPayment>(), record<RecordPayment>},
      {S::kCancelling, command_index<RecordPaymentDeclined>(), record<RecordPaymentDeclined>},
      {S::kCancelling, command_index<RecordReservation>(), record<RecordReservation>},
      {S::kCancelling, command_index<RecordReservationFailed>(), record<RecordReservationFailed>},
      {S::kCancelling, command_index<RecordShipment>(), ship_while_cancelling},
      {S::kCancelling, command_index<RecordShipmentFailed>(), record<RecordShipmentFailed>},
      {S::kCancelling, command_index<RecordRefund>(), refund},
      {S::kCancelling, command_index<RecordRelease>(), release},
      {S::kCancelling, command_index<CompleteCancellation>(), complete_cancellation},
  };
  return table;
}

const Transition* find_transition(OrderStatus status, const OrderCommand& command) {
  for (const auto& t : transitions()) {
    if (t.from == status && t.command == command.index()) return &t;
  }
  return nullptr;
}

}  // namespace

std::string_view command_name(const OrderCommand& command) {
  static constexpr std::array<std::string_view, std::variant_size_v<OrderCommand>> names = {
      "place",          "cancel",           "deliver",
      "record_payment", "record_payment_declined", "record_reservation",
      "record_reservation_failed", "record_shipment", "record_shipment_failed",
      "record_refund",  "record_release",   "complete_cancellation"};
  return names[command.index()];
}

bool is_legal(OrderStatus status, const OrderCommand& command) { return find_transition(status, command) != nullptr; }

Decision decide(const OrderState& state, const OrderCommand& command) {
  if (const Transition* t = find_transition(state.status, command)) return t->decide(state, command);
  if (std::holds_alternative<PlaceOrder>(command)) {
    return Refusal{Refusal::Kind::kAlreadyExists, state.status,
                   "cannot place order " + state.order_id + ": it already exists and is " +
                       std::string(status_name(state.status))};
  }
  if (state.status == OrderStatus::kNone) {
    return Refusal{Refusal::Kind::kNotFound, state.status,
                   "cannot " + std::string(command_name(command)) + " an order that does not exist (status none)"};
  }
  return illegal(state, command);
}

OrderState evolve(OrderState s, const OrderEvent& event) {
  using S = OrderStatus;
  ++s.version;
  std::visit(Overloaded{
                 [&](const OrderPlaced& e) {
                   s.status = S::kPlaced;
                   s.order_id = e.order_id;
                   s.customer_id = e.customer_id;
                   s.items = e.items;
                   s.shipping_address = e.shipping_address;
                   s.total_cents = e.total_cents;
                 },
                 [&](const PaymentProcessed&) {
                   s.paid = true;
                   if (s.status == S::kPlaced) s.status = S::kPaymentProcessed;
                 },
                 [&](const PaymentDeclined&) {
                   if (s.status == S::kPlaced) {
                     s.status = S::kCancelling;
                     s.cancel_reason = "payment_declined";
                   }
                 },
                 [&](const PaymentRefunded&) { s.paid = false; },
                 [&](const InventoryReserved&) {
                   s.reserved = true;
                   if (s.status == S::kPaymentProcessed) s.status = S::kInventoryReserved;
                 },
                 [&](const InventoryReservationFailed&) {
                   if (s.status == S::kPaymentProcessed) {
                     s.status = S::kCancelling;
                     s.cancel_reason = "out_of_stock";
                   }
                 },
                 [&](const InventoryReleased&) { s.reserved = false; },
                 [&](const ShipmentInitiated& e) {
                   s.status = S::kShipmentInitiated;
                   s.shipment_id = e.shipment_id;
                   s.reserved = false;  // the reservation became shipped stock
                   s.cancel_reason.reset();
                 },
                 [&](const ShipmentFailed&) {
                   if (s.status == S::kInventoryReserved) {
                     s.status = S::kCancelling;
                     s.cancel_reason = "shipping_unavailable";
                   }
                 },
                 [&](const OrderDelivered&) { s.status = S::kDelivered; },
                 [&](const CancellationRequested& e) {
                   s.status = S::kCancelling;
                   s.cancel_reason = e.reason;
                 },
                 [&](const OrderCancelled& e) {
                   s.status = S::kCancelled;
                   s.cancel_reason = e.reason;
                 },
             },
             event);
  return s;
}

}  // namespace ordersd::write
