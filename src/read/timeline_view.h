// The timeline view: an index of the log by conversation, from which
// GET /orders/{id}/timeline tells an order's whole story (every event of
// every stream that took part in it, in log order) without scanning the log.
//
// Which events are an order's story. Every command the HTTP API runs gets a
// correlation id of its own (api/command_runner.h), so an order's placement
// carries one, X. The saga takes X from the placement and puts it on every
// event it writes, in saga-{order} and, for the outcomes it records, in
// order-{order}; the participants copy the correlation id of the request they
// answer onto their answers (wallet-{customer}, reservation-{order},
// sku-{sku}, shipment-{order}); the bus carries it across processes. So the
// story is, first, every event that carries X. But not all of it:
//
//  - a cancel or a deliver is a command of its own: its event, in
//    order-{order}, carries that command's correlation id, not X;
//  - an operator's retry of a stuck saga (saga.retry_requested.v1 in
//    operator-{order}) carries none;
//  - a log written without correlation ids (X nil) links nothing by them.
//
// Those belong to the order by the stream they are in. So the view keeps
// two lists, both keyed by position so that key order is log order, and the
// query merges them:
//
//   "o/{order_id}"                          -> {"correlation_id","customer_id","placed_position"}
//                                              (the order's placement: what links it to X)
//   "t/{correlation_id}/{position:u64be}"   -> ""  every event that carries a correlation id
//   "e/{order_id}/{position:u64be}"         -> ""  an order's events that do not carry its X:
//        order-{id} events whose correlation id is not the placement's (all of them when X is nil),
//        saga.retry_requested.v1 in operator-{id}, and with no correlation id at all,
//        the events of saga-{id}, reservation-{id} and shipment-{id}
//
// Indexing by correlation id, rather than looking up an order for each
// event, needs no order of arrival across streams: in a query process fed
// over the bus, a participant's answer may land in the log before the
// placement it descends from, and is still found. The price is a key for
// every event that carries a correlation id (deposits and restocks
// included), about 50 bytes each.
//
// The read side has its own reading of the events: nothing here includes
// src/write/.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "events/event.h"
#include "events/status.h"
#include "read/projector.h"

namespace ordersd::read {

inline constexpr const char* kTimelineViewName = "view-timeline";
inline constexpr const char* kTimelineViewSpace = "view-timeline";

std::string timeline_order_key(std::string_view order_id);      // "o/" + id
std::string timeline_correlation_prefix(const Uuid& correlation);  // "t/{uuid}/"
std::string timeline_order_prefix(std::string_view order_id);    // "e/{id}/"
// The 8 big-endian bytes of `position`, as the lists' keys end.
std::string timeline_position_bytes(uint64_t position);
// The position a key of either list ends with (its last 8 bytes).
uint64_t timeline_key_position(std::string_view key);

// The order's "o/" row.
struct TimelineOrder {
  Uuid correlation_id;
  std::string customer_id;
  uint64_t placed_position = 0;
};
std::string to_json(const TimelineOrder& order);
Result<TimelineOrder> timeline_order_from_json(std::string_view json);

// The view's Projector::Apply. It keeps each order's correlation id in
// memory (up to kOrdersKept), so an order's later events need no read; that
// memory is only right while this is the sole writer of its space and each
// batch it applied is committed before the next (true of a projector and of
// a replay). A batch it refuses clears it.
class TimelineProjection {
 public:
  static constexpr size_t kOrdersKept = 65536;
  Status operator()(const std::vector<events::RecordedEvent>& batch, ViewBatch& view);

 private:
  Status apply_batch(const std::vector<events::RecordedEvent>& batch, ViewBatch& view);
  // The correlation id of the order's placement; nil when it carries none
  // or the order was never placed.
  Result<Uuid> placement_correlation(const std::string& order_id, uint64_t position, ViewBatch& view);
  std::unordered_map<std::string, Uuid> correlations_;
};

// A fresh TimelineProjection as a Projector::Apply (one per projector or replay).
Projector::Apply timeline_projection();
// One batch through a projection of its own: no memory between calls.
Status project_timeline(const std::vector<events::RecordedEvent>& batch, ViewBatch& view);

}  // namespace ordersd::read
