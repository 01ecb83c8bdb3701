// Plain HTTP request and response values passed between the Beast server and
// the routes. Nothing here knows of sockets or of the domain, so routes stay
// pure functions that tests can call directly.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ordersd::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, e.g. "/events?from=1"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The client's IP address as text ("127.0.0.1", "::1"); set by the server.
  std::string remote_address;
  // Who sent it, once authenticated ("" before): set by the routes' access
  // guard, so that what a caller stores (an Idempotency-Key) stays its own.
  std::string caller;

  // The first header with this name (case-insensitive), or "".
  std::string_view header(std::string_view name) const;
  // The same, or nullopt when there is no such header (to tell an empty one apart).
  std::optional<std::string_view> find_header(std::string_view name) const;
  std::string_view path() const;   // target up to '?'
  std::string_view query() const;  // after '?', or ""
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  Response& set_header(std::string name, std::string value);

  static Response json(int status, std::string body);
  // An RFC 9457 application/problem+json answer.
  static Response problem(int status, std::string_view title, std::string_view detail);
};

// Routes answer through `respond`, exactly once, from any thread; they must
// not block the calling (I/O) thread on the disk.
using Responder = std::function<void(Response)>;
using Handler = std::function<void(Request, Responder respond)>;

// A request target in absolute form ("http://host:8080/a?b", which a server
// must accept, RFC 9112 section 3.2.2) as origin form ("/a?b"); "/" when it
// names no path. Any other target is returned as it is.
std::string origin_form(std::string_view target);

// "Not Found" for 404 and so on; "Unknown" otherwise.
const char* reason_phrase(int status);

}  // namespace ordersd::http
