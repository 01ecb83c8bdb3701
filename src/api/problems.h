// The answers every route gives to bad input and to failures, as RFC 9457
// application/problem+json: one wording for each, whichever route answers.
#pragma once

#include <string>
#include <string_view>

#include "events/status.h"
#include "http/http.h"

namespace ordersd::api {

// 400: the request is malformed or invalid; `detail` says how to fix it.
http::Response bad_request(std::string_view detail);
// 404 for an id that names nothing.
http::Response not_found(std::string_view detail);
// 409: the request is well formed but the state forbids it.
http::Response conflict(std::string_view detail);
// 415 unless a request without a body, or with an application/json one.
bool is_json_or_empty(const http::Request& request);
http::Response unsupported_media_type();
// A failure of the server itself: 503 with Retry-After while it shuts down,
// else 500 naming what failed.
http::Response server_error(const Status& status);

// The rule for ids in paths, and what a client is told when one breaks it.
inline constexpr const char* kIdRule = "1 to 64 characters of A-Z a-z 0-9 _ -";
http::Response bad_id(std::string_view what);  // "an order id" -> 400 "an order id is 1 to 64 characters ..."

}  // namespace ordersd::api
