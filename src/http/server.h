// Server: an asynchronous HTTP/1.1 server (Boost.Beast) around one Handler.
//
// Keep-alive and pipelined requests on a connection are answered in order.
// Every request is bounded: body size, header size, a read timeout and an idle
// timeout, and a cap on open connections. Malformed or oversized requests get
// a problem+json answer and the connection is closed; the handler never sees
// them. I/O runs on `threads` threads; the handler is called on one of them.
//
// Thread safety: start() and stop() from one controlling thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "events/status.h"
#include "http/http.h"

namespace ordersd::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;                        // 0 picks a free port; see Server::port()
  unsigned threads = 0;                        // 0 = the hardware threads
  size_t max_body_bytes = 1 << 20;             // larger bodies get 413
  size_t max_header_bytes = 16 << 10;          // larger headers get 431
  std::chrono::milliseconds read_timeout{10'000};   // to receive one whole request
  std::chrono::milliseconds idle_timeout{60'000};   // between keep-alive requests
  size_t max_connections = 10'000;             // beyond this, new connections are refused
  std::chrono::milliseconds shutdown_grace{10'000}; // for in-flight requests on stop()
};

class Server {
 public:
  // Binds, listens and starts the I/O threads.
  static Result<std::unique_ptr<Server>> start(ServerOptions options, Handler handler);
  ~Server();  // stop()s

  uint16_t port() const;
  // Stops accepting, closes idle connections, lets in-flight requests finish
  // (up to shutdown_grace), then stops the I/O threads. Idempotent.
  void stop();

  struct Impl;

 private:
  explicit Server(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace ordersd::http
