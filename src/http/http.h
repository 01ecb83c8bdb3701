// Plain HTTP request and response values passed between the Beast server and
// the routes. Nothing here knows of sockets or of the domain, so routes stay
// pure functions that tests can call directly.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
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

// The body of a streamed response (Response::stream), pushed by the route
// after the status and headers have gone out. Every method may be called
// from any thread. Nothing bounds what is queued but the route: pending()
// says how much the client has not taken yet, and a route that pushes
// without looking at it holds that much memory.
class BodyStream {
 public:
  virtual ~BodyStream() = default;
  // Queues `bytes` as the next part of the body. False (and nothing queued)
  // once the client has gone or end() was called.
  virtual bool write(std::string bytes) = 0;
  // Ends the body: what is queued is written, then the end of the body, and
  // the connection is closed; all within the server's read timeout, or it is
  // closed anyway. Idempotent. A stream dropped without end() is ended.
  virtual void end() = 0;
  // Bytes queued and not yet written to the socket (the write in flight
  // included). The socket's own buffers are the kernel's, not counted.
  virtual size_t pending() const = 0;
  // True once the client has closed the connection or a write failed:
  // nothing more will be delivered.
  virtual bool gone() const = 0;
  // True once the server is stopping: the route should end() soon (the
  // server waits for it at most its shutdown grace period).
  virtual bool stopping() const = 0;
  // `hook` runs once, on an I/O thread, when the client goes or the server
  // begins stopping, whichever comes first; at once, on the caller's thread,
  // when that has happened already. Must be quick and must not block.
  virtual void on_close(std::function<void()> hook) = 0;
  // `hook` runs on an I/O thread after each write to the socket completes
  // (pending() has just dropped). Must be quick and must not block.
  virtual void on_drain(std::function<void()> hook) = 0;
};

// Called once the route may push the body of a streamed response.
using StreamStart = std::function<void(std::shared_ptr<BodyStream>)>;

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Set: a streamed response. The status and headers go out at once with
  // `Transfer-Encoding: chunked` (close-delimited for an HTTP/1.0 client)
  // and `Connection: close`; `body` is ignored; `stream` is handed the body
  // to push. The connection ends with the body.
  StreamStart stream;

  Response& set_header(std::string name, std::string value);

  static Response json(int status, std::string body);
  // An RFC 9457 application/problem+json answer.
  static Response problem(int status, std::string_view title, std::string_view detail);
  // A streamed response of `content_type` (see `stream`).
  static Response streamed(int status, std::string content_type, StreamStart start);
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
