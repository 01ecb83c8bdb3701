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
// story is:
//
//  - every event of the order's own streams, order-, saga-, reservation-
//    and shipment-{order} (a cancel or a deliver, commands of their own,
//    carry their command's correlation id, not X; a log written without
//    correlation ids carries none);
//  - every event of any other stream that carries X (a wallet's charge and
//    refund, a sku's reservation and shipment);
//  - an operator's retry of a stuck saga (saga.retry_requested.v1 in
//    operator-{order}), which carries no correlation id.
//
// The log indexes the first by stream already: the query reads those four
// streams, and the view keeps only what the log cannot find by name, keyed
// by position so that key order is log order; the query merges the lists:
//
//   "o/{order_id}"                          -> {"correlation_id","customer_id","placed_position"}
//                                              (the order's placement: what links it to X)
//   "t/{correlation_id}/{position:u64be}"   -> ""  an event outside the own streams of any
//                                                   order that carries a correlation id
//   "e/{order_id}/{position:u64be}"         -> ""  saga.retry_requested.v1 in operator-{id}
//
// Indexing by correlation id, rather than looking up an order for each
// event, needs no order of arrival across streams: in a query process fed
// over the bus, a participant's answer may land in the log before the
// placement it descends from, and is still found. The price is a key of
// about 50 bytes for each such event (deposits and restocks included):
// three for an order of one item, where indexing every event took fifteen.
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

// The streams named after an order, whose every event is in its story.
std::vector<std::string> timeline_own_streams(std::string_view order_id);

// The view's Projector::Apply; it keeps nothing between batches.
Projector::Apply timeline_projection();
Status project_timeline(const std::vector<events::RecordedEvent>& batch, ViewBatch& view);

}  // namespace ordersd::read
