// Valid events for tests and benchmarks: real payloads of the order schema.
#pragma once

#include <cstdint>
#include <string>

#include "events/event.h"

namespace ordersd::test {

// An order.placed.v1 payload of about 200 bytes for `order_id`.
std::string order_placed_payload(const std::string& order_id);
// An order.delivered.v1 payload.
std::string order_delivered_payload(const std::string& order_id);

// An order.placed.v1 event with a random id.
events::NewEvent order_placed(const std::string& order_id);
// An order.delivered.v1 event with the given id.
events::NewEvent order_delivered(const std::string& order_id, Uuid id);

}  // namespace ordersd::test
