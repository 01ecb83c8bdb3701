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
// A 500 (or 503 while shutting down). The detail is the status without
// file-system paths (without_paths) and with an error id; the full message
// is logged with that id.
http::Response server_error(const Status& status);
// `text` with every absolute file-system path replaced by its last
// component ("/var/lib/ordersd/000012.sst" -> "000012.sst"): storage errors
// name their files, and clients must not learn where the data lives.
std::string without_paths(std::string_view text);

// The rule for ids in paths, and what a client is told when one breaks it.
inline constexpr const char* kIdRule = "1 to 64 characters of A-Z a-z 0-9 _ -";
http::Response bad_id(std::string_view what);  // "an order id" -> 400 "an order id is 1 to 64 characters ..."

}  // namespace ordersd::api
