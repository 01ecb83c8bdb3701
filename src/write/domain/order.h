// The order aggregate as a Decider: commands, events, state, and the two pure
// functions that connect them.
//
//   decide(state, command) -> events, or a Refusal naming the current status
//   evolve(state, event)   -> the next state; never validates, never fails
//
// The transition table in order.cpp has one row per (status, command) and is
// the specification of the order's life:
//
//   placed -> payment_processed -> inventory_reserved -> shipment_initiated -> delivered
//   placed | payment_processed | inventory_reserved -> cancelling -> cancelled
//
// Nothing here does I/O or reads a clock: ids and times come in with the
// command. Plain values, safe to copy between threads.
//
// The statuses and their names come from events/order_lifecycle.h, whose
// table of which event moves which status must agree with evolve
// (tests/events/order_lifecycle_test.cpp checks it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "events/order_lifecycle.h"

namespace ordersd::write {

// The order's statuses and their names are the shared vocabulary's
// (events/order_lifecycle.h), which the read side's views use too.
using events::OrderStatus;

// "placed", "payment_processed", ... ("none" for kNone).
inline std::string_view status_name(OrderStatus status) { return events::order_status_name(status); }

struct OrderLine {
  std::string sku;
  uint32_t quantity = 0;
  uint64_t unit_price_cents = 0;
  friend bool operator==(const OrderLine&, const OrderLine&) = default;
};

struct Address {
  std::string country;  // two capital letters
  std::string city;
  std::string line1;
  std::string postal_code;
  friend bool operator==(const Address&, const Address&) = default;
};

struct StockLine {
  std::string sku;
  uint32_t quantity = 0;
  friend bool operator==(const StockLine&, const StockLine&) = default;
};

// --- events: what happened to an order, as stored in its stream.

struct OrderPlaced {
  std::string order_id;
  std::string customer_id;
  std::vector<OrderLine> items;
  Address shipping_address;
  uint64_t total_cents = 0;
  friend bool operator==(const OrderPlaced&, const OrderPlaced&) = default;
};
struct PaymentProcessed {
  uint64_t amount_cents = 0;
  friend bool operator==(const PaymentProcessed&, const PaymentProcessed&) = default;
};
struct PaymentDeclined {
  uint64_t amount_cents = 0;
  std::string reason;
  friend bool operator==(const PaymentDeclined&, const PaymentDeclined&) = default;
};
struct PaymentRefunded {
  uint64_t amount_cents = 0;
  friend bool operator==(const PaymentRefunded&, const PaymentRefunded&) = default;
};
struct InventoryReserved {
  std::vector<StockLine> lines;
  friend bool operator==(const InventoryReserved&, const InventoryReserved&) = default;
};
struct InventoryReservationFailed {
  std::string sku;
  uint32_t requested = 0;
  uint64_t available = 0;
  std::string reason;
  friend bool operator==(const InventoryReservationFailed&, const InventoryReservationFailed&) = default;
};
struct InventoryReleased {
  std::vector<StockLine> lines;
  friend bool operator==(const InventoryReleased&, const InventoryReleased&) = default;
};
// The reservation became shipped stock: the inventory service's answer to the
// saga's stock_ship step, in reservation-{order_id}. Not recorded on the
// order, whose story ends at the shipment.
struct InventoryShipped {
  std::vector<StockLine> lines;
  friend bool operator==(const InventoryShipped&, const InventoryShipped&) = default;
};
struct ShipmentInitiated {
  std::string shipment_id;
  std::string country;
  friend bool operator==(const ShipmentInitiated&, const ShipmentInitiated&) = default;
};
struct ShipmentFailed {
  std::string country;
  std::string reason;
  friend bool operator==(const ShipmentFailed&, const ShipmentFailed&) = default;
};
struct OrderDelivered {
  friend bool operator==(const OrderDelivered&, const OrderDelivered&) = default;
};
struct CancellationRequested {
  std::string reason;
  friend bool operator==(const CancellationRequested&, const CancellationRequested&) = default;
};
struct OrderCancelled {
  std::string reason;  // payment_declined, out_of_stock, shipping_unavailable, customer_cancelled, step_timeout
  friend bool operator==(const OrderCancelled&, const OrderCancelled&) = default;
};

using OrderEvent = std::variant<OrderPlaced, PaymentProcessed, PaymentDeclined, PaymentRefunded, InventoryReserved,
                                InventoryReservationFailed, InventoryReleased, ShipmentInitiated, ShipmentFailed,
                                OrderDelivered, CancellationRequested, OrderCancelled>;

// --- commands: what someone asks of an order.

struct PlaceOrder {
  std::string order_id;
  std::string customer_id;
  std::vector<OrderLine> items;
  Address shipping_address;
};
// The customer (or an operator) asks to cancel.
struct CancelOrder {
  std::string reason;
};
struct DeliverOrder {};
// Step outcomes, recorded on the order by the saga.
struct RecordPayment {
  PaymentProcessed outcome;
};
struct RecordPaymentDeclined {
  PaymentDeclined outcome;
};
struct RecordReservation {
  InventoryReserved outcome;
};
struct RecordReservationFailed {
  InventoryReservationFailed outcome;
};
struct RecordShipment {
  ShipmentInitiated outcome;
};
struct RecordShipmentFailed {
  ShipmentFailed outcome;
};
// Compensations done, recorded by the saga while the order is cancelling.
struct RecordRefund {
  PaymentRefunded outcome;
};
struct RecordRelease {
  InventoryReleased outcome;
};
struct CompleteCancellation {
  std::string reason;
};

using OrderCommand =
    std::variant<PlaceOrder, CancelOrder, DeliverOrder, RecordPayment, RecordPaymentDeclined, RecordReservation,
                 RecordReservationFailed, RecordShipment, RecordShipmentFailed, RecordRefund, RecordRelease,
                 CompleteCancellation>;

// "place", "cancel", "deliver", "record_payment", ...
std::string_view command_name(const OrderCommand& command);

// --- state: the fold of an order's events.

struct OrderState {
  OrderStatus status = OrderStatus::kNone;
  uint64_t version = 0;  // events folded so far
  std::string order_id;
  std::string customer_id;
  std::vector<OrderLine> items;
  Address shipping_address;
  uint64_t total_cents = 0;
  bool paid = false;       // charged and not refunded
  bool reserved = false;   // stock reserved and not released
  std::optional<std::string> shipment_id;
  std::optional<std::string> cancel_reason;  // set by CancellationRequested, final with OrderCancelled

  friend bool operator==(const OrderState&, const OrderState&) = default;
};

struct Refusal {
  enum class Kind {
    kAlreadyExists,      // PlaceOrder on an order that exists
    kNotFound,           // any other command on an order that does not exist
    kIllegalTransition,  // the command is not legal in the current status
  };
  Kind kind;
  OrderStatus status;    // the order's status when refused
  std::string message;   // names the command and the current status
};

using Decision = std::variant<std::vector<OrderEvent>, Refusal>;

Decision decide(const OrderState& state, const OrderCommand& command);
OrderState evolve(OrderState state, const OrderEvent& event);

// Whether `command` is legal in `status` at all (the transition table).
bool is_legal(OrderStatus status, const OrderCommand& command);

}  // namespace ordersd::write
