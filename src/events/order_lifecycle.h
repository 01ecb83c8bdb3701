// The order's life, written once for both sides: the statuses an order can be
// in, their stable names, and which recorded events move an order from which
// status to which.
//
//   placed -> payment_processed -> inventory_reserved -> shipment_initiated -> delivered
//   placed | payment_processed | inventory_reserved -> cancelling -> cancelled
//
// The write side's Decider (write/domain/order.h) takes its status enum and
// names from here and keeps its own transition table for commands; the read
// side's order view (read/order_view.cpp) moves its rows by the table below.
// Neither side includes the other; tests/events/order_lifecycle_test.cpp
// checks that this table, the Decider's evolve and the order view agree.
//
// A status name is part of the HTTP API (GET /orders?status=, an order's
// "status" and "history") and of the stored view rows and index keys: never
// edit one. Plain data and tiny functions, no I/O; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "events/event_types.h"

namespace ordersd::events {

enum class OrderStatus : uint8_t {
  kNone,  // no order with this id yet: not a status the views hold or the API takes
  kPlaced,
  kPaymentProcessed,
  kInventoryReserved,
  kShipmentInitiated,
  kDelivered,
  kCancelling,  // a step failed or the customer cancelled; compensations are running
  kCancelled,
};

// Every status an order can be in (kNone is not one), in the order of its life.
inline constexpr std::array<OrderStatus, 7> kOrderStatuses = {
    OrderStatus::kPlaced,    OrderStatus::kPaymentProcessed, OrderStatus::kInventoryReserved,
    OrderStatus::kShipmentInitiated, OrderStatus::kDelivered, OrderStatus::kCancelling,
    OrderStatus::kCancelled};

// "placed", "payment_processed", "inventory_reserved", "shipment_initiated",
// "delivered", "cancelling", "cancelled"; "none" for kNone.
std::string_view order_status_name(OrderStatus status);

// The status of kOrderStatuses named `name`; nullopt for any other name,
// "none" included.
std::optional<OrderStatus> parse_order_status(std::string_view name);

// The names of kOrderStatuses joined by ", ", for messages.
std::string order_status_names();

// A recorded event of an order's stream that moves the order to `to` when the
// order is in `from`; in any other status it leaves the status as it is. With
// no `from` the event moves the order whatever its status: the Decider emits
// those only where its command table allows, and a fold follows what was
// recorded. An event of the order's stream in no row (a refund, a release)
// never moves the status.
struct OrderStatusMove {
  EventType event;
  std::optional<OrderStatus> from;  // nullopt: from any status
  OrderStatus to;
};

// The moves, the forward path first, then the failures and the cancellation.
std::span<const OrderStatusMove> order_status_moves();

// The status that `event` moves an order in `from` to; nullopt when it leaves
// the status as it is.
std::optional<OrderStatus> next_order_status(OrderStatus from, EventType event);

}  // namespace ordersd::events
