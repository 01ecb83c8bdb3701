#include "events/order_lifecycle.h"

namespace ordersd::events {

namespace {

using S = OrderStatus;
using T = EventType;

constexpr OrderStatusMove kMoves[] = {
    // The forward path.
    {T::kOrderPlaced, S::kNone, S::kPlaced},
    {T::kPaymentProcessed, S::kPlaced, S::kPaymentProcessed},
    {T::kInventoryReserved, S::kPaymentProcessed, S::kInventoryReserved},
    // A shipment that went out wins, even over a cancel under way.
    {T::kShipmentInitiated, std::nullopt, S::kShipmentInitiated},
    {T::kOrderDelivered, std::nullopt, S::kDelivered},
    // A failed step starts the compensations; one that fails while the order
    // is already cancelling moves nothing.
    {T::kPaymentDeclined, S::kPlaced, S::kCancelling},
    {T::kInventoryReservationFailed, S::kPaymentProcessed, S::kCancelling},
    {T::kShipmentFailed, S::kInventoryReserved, S::kCancelling},
    // The customer's cancel, and the end of the compensations.
    {T::kCancellationRequested, std::nullopt, S::kCancelling},
    {T::kOrderCancelled, std::nullopt, S::kCancelled},
};

}  // namespace

std::string_view order_status_name(OrderStatus status) {
  switch (status) {
    case S::kNone: return "none";
    case S::kPlaced: return "placed";
    case S::kPaymentProcessed: return "payment_processed";
    case S::kInventoryReserved: return "inventory_reserved";
    case S::kShipmentInitiated: return "shipment_initiated";
    case S::kDelivered: return "delivered";
    case S::kCancelling: return "cancelling";
    case S::kCancelled: return "cancelled";
  }
  return "unknown";
}

std::optional<OrderStatus> parse_order_status(std::string_view name) {
  for (OrderStatus s : kOrderStatuses) {
    if (order_status_name(s) == name) return s;
  }
  return std::nullopt;
}

std::string order_status_names() {
  std::string out;
  for (OrderStatus s : kOrderStatuses) {
    if (!out.empty()) out += ", ";
    out += order_status_name(s);
  }
  return out;
}

std::span<const OrderStatusMove> order_status_moves() { return kMoves; }

std::optional<OrderStatus> next_order_status(OrderStatus from, EventType event) {
  for (const auto& m : kMoves) {
    if (m.event == event && (!m.from || *m.from == from)) return m.to;
  }
  return std::nullopt;
}

}  // namespace ordersd::events
