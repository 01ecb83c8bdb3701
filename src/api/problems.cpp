#include "api/problems.h"

#include <strings.h>

#include "events/logging.h"
#include "events/uuid.h"

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
  std::string error_id = RandomUuidGenerator().next().to_string();
  logging::error("http", "request failed", {{"error_id", error_id}, {"error", s.to_string()}});
  return Response::problem(500, "Internal Server Error", without_paths(s.to_string()) + " (error id " + error_id + ")");
}

std::string without_paths(std::string_view text) {
  auto opens = [](char c) { return c == ' ' || c == '\'' || c == '"' || c == '(' || c == '=';  };
  auto ends = [](char c) { return c == ' ' || c == '\'' || c == '"' || c == ')' || c == ',' || c == ':' || c == ';'; };
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '/' && (i == 0 || opens(text[i - 1]))) {
      size_t end = i;
      while (end < text.size() && !ends(text[end])) ++end;
      std::string_view path = text.substr(i, end - i);
      size_t last = path.find_last_of('/');
      if (path.find('/', 1) != std::string_view::npos) {  // two components at least: a path, not a route's "/x"
        std::string_view name = path.substr(last + 1);
        out.append(name.empty() ? "(path)" : name);
        i = end;
        continue;
      }
    }
    out.push_back(text[i++]);
  }
  return out;
}

Response bad_id(std::string_view what) { return bad_request(std::string(what) + " is " + kIdRule); }

}  // namespace ordersd::api
