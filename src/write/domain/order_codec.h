// Order events to and from the log's stored form (FlatBuffers payloads of
// schemas/order_events.fbs under their stored type names). Thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "events/event.h"
#include "events/status.h"
#include "write/domain/order.h"

namespace ordersd::write {

// The stream of one order: "order-" + order_id.
std::string order_stream(std::string_view order_id);

// An order event ready to append to the order's stream.
events::NewEvent to_new_event(std::string_view order_id, const OrderEvent& event, Uuid id,
                              Uuid correlation_id = {}, Uuid causation_id = {});

// The order event a stored event holds; kInvalidArgument for a type that is
// not an order event.
Result<OrderEvent> order_event_from(const events::RecordedEvent& recorded);

// inventory.shipped.v1, which lives in the reservation's stream.
events::NewEvent to_new_event(std::string_view order_id, const InventoryShipped& event, Uuid id,
                              Uuid correlation_id = {}, Uuid causation_id = {});
// kInvalidArgument for any other type.
Result<InventoryShipped> inventory_shipped_from(const events::RecordedEvent& recorded);

}  // namespace ordersd::write
