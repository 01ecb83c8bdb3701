// The order's life as src/events/order_lifecycle.cpp has it: its statuses
// and the recorded events that move an order between them. The console
// draws this graph and lights up the path an order took.
// tests/events/order_lifecycle_test.cpp checks that every move below is one
// of the server's and that none is missing: keep one move per line.

export const STATUSES = [
  "placed",
  "payment_processed",
  "inventory_reserved",
  "shipment_initiated",
  "delivered",
  "cancelling",
  "cancelled",
];

// [event type, from status (null: any), to status]
export const MOVES = [
  ["order.placed.v1", "none", "placed"],
  ["payment.processed.v1", "placed", "payment_processed"],
  ["inventory.reserved.v1", "payment_processed", "inventory_reserved"],
  ["shipment.initiated.v1", null, "shipment_initiated"],
  ["order.delivered.v1", null, "delivered"],
  ["payment.declined.v1", "placed", "cancelling"],
  ["inventory.reservation_failed.v1", "payment_processed", "cancelling"],
  ["shipment.failed.v1", "inventory_reserved", "cancelling"],
  ["order.cancellation_requested.v1", null, "cancelling"],
  ["order.cancelled.v1", null, "cancelled"],
];

// The compensations the saga can run, each undoing one step: the request
// the saga records and the outcome the participant records.
export const COMPENSATIONS = {
  "saga.refund_requested.v1": "refund requested",
  "payment.refunded.v1": "payment refunded",
  "saga.release_requested.v1": "release requested",
  "inventory.released.v1": "reservation released",
  "inventory.stock_released.v1": "stock released",
  "saga.shipment_cancel_requested.v1": "shipment cancel requested",
  "saga.stuck.v1": "saga stuck",
  "saga.retry_requested.v1": "retry requested",
};

export const TERMINAL = new Set(["delivered", "cancelled"]);
// Statuses whose saga is still running.
export const IN_FLIGHT = ["placed", "payment_processed", "inventory_reserved", "cancelling"];
