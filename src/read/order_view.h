// The order view: one denormalized row per order, built from the order's
// stream alone (order-{id}): what GET /orders/{id} serves and what the order
// lists are indexed by.
//
//   apply(row, event) folds one event of the order's stream into its row:
//   the status it implies (by the order's life in events/order_lifecycle.h,
//   shared with the write side), the payment, reservation and shipment as the
//   saga recorded them, the cancel reason, and a history entry (status,
//   position, time) whenever the status changes.
//
// The read side has its own reading of the events: nothing here includes
// src/write/. Pure functions over plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "events/event.h"
#include "events/order_lifecycle.h"
#include "events/status.h"
#include "read/projector.h"

namespace ordersd::read {

struct OrderRow {
  struct Item {
    std::string sku;
    uint32_t quantity = 0;
    uint64_t unit_price_cents = 0;
    friend bool operator==(const Item&, const Item&) = default;
  };
  struct Line {
    std::string sku;
    uint32_t quantity = 0;
    friend bool operator==(const Line&, const Line&) = default;
  };
  struct Payment {
    std::string status;  // "", "charged", "declined", "refunded"
    uint64_t amount_cents = 0;
    std::string reason;  // of a decline
    friend bool operator==(const Payment&, const Payment&) = default;
  };
  struct Reservation {
    std::string status;  // "", "reserved", "failed", "released"
    std::vector<Line> lines;
    std::string reason;  // of a failure, with the sku short
    std::string sku;
    friend bool operator==(const Reservation&, const Reservation&) = default;
  };
  struct Shipment {
    std::string status;  // "", "initiated", "failed"
    std::string shipment_id;
    std::string country;
    std::string reason;  // of a failure
    friend bool operator==(const Shipment&, const Shipment&) = default;
  };
  struct Change {
    std::string status;
    uint64_t position = 0;
    int64_t time_us = 0;
    friend bool operator==(const Change&, const Change&) = default;
  };

  std::string order_id;
  std::string customer_id;
  std::string status;  // a status name of events/order_lifecycle.h ("placed", ...); "" before the placement
  std::vector<Item> items;
  uint64_t total_cents = 0;
  std::string country;
  std::string city;
  Payment payment;
  Reservation reservation;
  Shipment shipment;
  std::string cancel_reason;
  std::vector<Change> history;
  uint64_t version = 0;          // events of the order's stream folded
  uint64_t placed_position = 0;  // the order.placed.v1 event's position: its place in the lists
  uint64_t position = 0;         // the last event folded
  friend bool operator==(const OrderRow&, const OrderRow&) = default;
};

// Whether `event` is in an order's stream ("order-...").
bool is_order_stream_event(const events::RecordedEvent& event);

// The row's status in the order's vocabulary (events/order_lifecycle.h):
// kNone for a row not yet placed, nullopt for a name that is no order status
// (a damaged row).
std::optional<events::OrderStatus> order_status(const OrderRow& row);

// Folds the next event of the order's stream into `row`. kCorruption naming
// the position for an event that cannot be next (a gap in versions, an order
// placed twice, an event before the placement, a type unknown to the view, a
// row whose status is no order status).
Status apply(OrderRow& row, const events::RecordedEvent& event);

// --- the view's storage, in side space kOrderViewSpace:
//   "o/{order_id}"                          -> the row, as JSON
//   "t/{rank}/{order_id}"                   -> "" (every order, newest first)
//   "c/{customer_id}/{rank}/{order_id}"     -> "" (a customer's orders)
//   "s/{status}/{rank}/{order_id}"          -> "" (the orders in a status)
// where rank is 16 hex digits of (2^64 - 1 - placed_position), so that key
// order is newest first.
inline constexpr const char* kOrderViewSpace = "view-orders";
inline constexpr const char* kOrderViewName = "view-orders";

std::string order_row_key(std::string_view order_id);
std::string order_rank(uint64_t placed_position);

// The order view's Projector::Apply: folds each order's events into its row
// and keeps the list indexes in step; ignores every other stream. Each row a
// batch touches is written once.
//
// It keeps the rows it wrote in memory (up to kRowsKept, less those of
// finished orders), so an order whose events span many batches is read and
// parsed once, not once a batch. That memory is only right while this is the
// sole writer of its space and each batch it applied is committed before the
// next: true of a projector, which stops at the first failed commit, and of a
// replay. A batch it refuses clears the memory.
class OrderProjection {
 public:
  static constexpr size_t kRowsKept = 65536;
  Status operator()(const std::vector<events::RecordedEvent>& batch, ViewBatch& view);

 private:
  struct Known {
    OrderRow row;
    std::string stored_status;  // as the view holds it: "" for an order not yet written
    bool touched = false;       // by the batch being applied
  };
  Status apply_batch(const std::vector<events::RecordedEvent>& batch, ViewBatch& view);
  std::unordered_map<std::string, Known> rows_;
};

// A fresh OrderProjection as a Projector::Apply (one per projector or replay).
Projector::Apply order_projection();

// One batch, or one event, through a projection of its own: no memory
// between calls.
Status project_orders(const std::vector<events::RecordedEvent>& batch, ViewBatch& view);
Status project_order(const events::RecordedEvent& event, ViewBatch& view);

// The row as the JSON that GET /orders/{id} answers, and back. History
// times are RFC 3339 (`time`); rows stored before carry `time_us` as well,
// which order_row_from_json reads first.
std::string to_json(const OrderRow& row);
Result<OrderRow> order_row_from_json(std::string_view json);
// A stored row as the API answers it: as stored, or re-encoded by to_json
// when it is one of those older rows (until its order changes again, or a
// replay or rebuild rewrites it).
std::string order_answer(std::string stored);

}  // namespace ordersd::read
