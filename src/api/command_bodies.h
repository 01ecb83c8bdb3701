// Parsing and validating the JSON bodies of commands. Pure functions:
// a malformed body gives kInvalidArgument whose message says what is wrong
// and where ("items[2].quantity must be an integer from 1 to 10000").
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "events/status.h"
#include "http/params.h"
#include "write/domain/order.h"

namespace ordersd::api {

using http::valid_id;

// The body of POST /orders. order_id is empty when the body has none.
Result<write::PlaceOrder> parse_place_order(std::string_view body);
// The body of POST /orders/{id}/cancel; an empty body is no reason.
Result<write::CancelOrder> parse_cancel_order(std::string_view body);
// The body of POST /orders/{id}/deliver: empty or an empty object.
Status parse_deliver_order(std::string_view body);
// A body that carries nothing: empty or an empty object. `subject` names the
// request in the message ("the retry request").
Status parse_empty_body(std::string_view body, const char* subject);

// The body of POST /customers/{id}/deposits: {"amount_cents": 1..10^12}.
Result<uint64_t> parse_deposit(std::string_view body);
// The body of POST /inventory/{sku}/restock: {"quantity": 1..10^9}.
Result<uint64_t> parse_restock(std::string_view body);
// {"position": N}: the event an operator skips.
Result<uint64_t> parse_skip(std::string_view body);

}  // namespace ordersd::api
