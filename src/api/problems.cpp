#include "api/problems.h"

#include <strings.h>

namespace ordersd::api {

using http::Response;

Response bad_request(std::string_view detail) { return Response::problem(400, "Bad Request", detail); }

Response not_found(std::string_view detail) { return Response::problem(404, "Not Found", detail); }

Response conflict(std::string_view detail) { return Response::problem(409, "Conflict", detail); }

bool is_json_or_empty(const http::Request& request) {
  if (request.body.empty()) return true;
  std::string_view type = request.header("Content-Type");
  type = type.substr(0, type.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  // Media types are case-insensitive (RFC 9110 section 8.3.1).
  constexpr std::string_view kJson = "application/json";
  return type.size() == kJson.size() && strncasecmp(type.data(), kJson.data(), kJson.size()) == 0;
}

Response unsupported_media_type() {
  return Response::problem(415, "Unsupported Media Type", "the body must be application/json");
}

Response server_error(const Status& s) {
  if (s.code() == Status::Code::kShuttingDown) {
    auto r = Response::problem(503, "Service Unavailable", "the server is shutting down");
    r.set_header("Retry-After", "1");
    return r;
  }
  return Response::problem(500, "Internal Server Error", s.to_string());
}

Response bad_id(std::string_view what) { return bad_request(std::string(what) + " is " + kIdRule); }

}  // namespace ordersd::api
