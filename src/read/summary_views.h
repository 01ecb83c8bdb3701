// The customer, inventory and stats views: counters kept by their own
// projectors (projector.h), one JSON row each.
//
//   customers  "c/{customer_id}" -> balance, deposits, spent (charges not
//              refunded), number of orders per status
//   inventory  "s/{sku}"         -> restocked, available, reserved, shipped
//   stats      "stats"           -> orders per status, revenue (charges not
//              refunded), cancellations per reason
//
// The customer and stats views count orders per status, so each keeps the
// status of every order ("o/{order_id}"), folded with the order view's own
// reading of an order's events (order_view.h).
#pragma once

#include <string>
#include <vector>

#include "events/event.h"
#include "events/status.h"
#include "read/projector.h"

namespace ordersd::read {

inline constexpr const char* kCustomerViewName = "view-customers";
inline constexpr const char* kInventoryViewName = "view-inventory";
inline constexpr const char* kStatsViewName = "view-stats";

std::string customer_row_key(std::string_view customer_id);  // "c/" + id
std::string stock_row_key(std::string_view sku);             // "s/" + sku
inline constexpr const char* kStatsRowKey = "stats";

// A stored customer or stock row as GET /customers/{id} and GET
// /inventory/{sku} answer it: identity first (customer_id, sku), then the
// figures, orders per status in the order of an order's life. Rows stored
// in the sorted key order of earlier builds are re-encoded.
std::string customer_answer(std::string stored);
std::string stock_answer(std::string stored);

// A fresh Projector::Apply of each view (one per projector or replay). Each
// keeps its rows in memory between batches (row_cache.h) and writes every row
// a batch changed once, at the end of the batch.
Projector::Apply customer_projection();
Projector::Apply inventory_projection();
Projector::Apply stats_projection();

// One batch through a projection of its own: no memory between calls.
Status project_customers(const std::vector<events::RecordedEvent>& batch, ViewBatch& view);
Status project_inventory(const std::vector<events::RecordedEvent>& batch, ViewBatch& view);
Status project_stats(const std::vector<events::RecordedEvent>& batch, ViewBatch& view);

}  // namespace ordersd::read
