// Server: an asynchronous HTTP/1.1 server (Boost.Beast) around one Handler.
//
// Keep-alive and pipelined requests on a connection are answered in order.
// Every request is bounded: body size, header size, a deadline for its header
// and one for the whole request (both from its first byte), an idle timeout,
// and caps on open connections, overall and per client address. Malformed or
// oversized requests get a problem+json answer and the connection is closed;
// the handler never sees them. Request framing follows RFC 9112: a
// Transfer-Encoding other than a lone "chunked", or one together with
// Content-Length, gets 400 and the connection closed (the bytes after it
// cannot be trusted to start a request); so does an HTTP/1.1 request without
// exactly one Host. Absolute-form targets are routed on their path. Out of
// file descriptors, accepting pauses briefly instead of spinning.
// I/O runs on `threads` threads; the handler is called on one of them.
//
// A response may be streamed (Response::stream, http.h): the head goes out at
// once, the route pushes the body as it comes, and the connection closes
// after it. stop() tells every open stream's route (BodyStream::stopping())
// and waits for it to end within the shutdown grace period, like any answer
// in flight.
//
// With `tls`, every connection speaks HTTPS (TLS 1.2 or 1.3 only, OpenSSL's
// default ciphers, no compression, no renegotiation) under the same bounds;
// the handshake must complete within the header timeout. A failed handshake
// closes the connection. reload_tls() swaps in certificates read anew for
// the connections that follow.
//
// Thread safety: start(), stop() and reload_tls() from one controlling thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "events/status.h"
#include "http/http.h"

namespace ordersd::http {

// PEM files for HTTPS.
struct TlsFiles {
  std::string cert_file;       // the server's certificate, then any intermediates
  std::string key_file;        // its private key, unencrypted
  std::string client_ca_file;  // "": no client certificates; else one is required, signed by a CA in it
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;                        // 0 picks a free port; see Server::port()
  unsigned threads = 0;                        // 0 = the hardware threads
  size_t max_body_bytes = 1 << 20;             // larger bodies get 413
  size_t max_header_bytes = 16 << 10;          // larger headers get 431
  std::chrono::milliseconds header_timeout{10'000};  // from a request's first byte to the end of its header
  std::chrono::milliseconds read_timeout{10'000};   // from a request's first byte to the end of its body
  std::chrono::milliseconds idle_timeout{60'000};   // for the first byte of a request
  // Beyond this, new connections are refused (503, or closed; with TLS, closed). Lowered at
  // start to fit the file descriptor limit (RLIMIT_NOFILE), keeping a quarter
  // of it, at most 256, for the storage engine and the rest of the process.
  size_t max_connections = 10'000;
  size_t max_connections_per_ip = 256;         // open connections from one client address
  std::chrono::milliseconds shutdown_grace{10'000}; // for in-flight requests on stop()
  std::optional<TlsFiles> tls;                 // none: plain HTTP
};

class Server {
 public:
  // Binds, listens and starts the I/O threads. With TLS, fails first when
  // a file cannot be read or parsed, or the key does not match the certificate.
  static Result<std::unique_ptr<Server>> start(ServerOptions options, Handler handler);
  ~Server();  // stop()s

  uint16_t port() const;
  // The connection cap in force: max_connections, lowered to fit RLIMIT_NOFILE.
  size_t max_connections() const;
  // Stops accepting, closes idle connections, lets in-flight requests finish
  // (up to shutdown_grace), then stops the I/O threads. Idempotent.
  void stop();
  // Reads the TLS files again into a new context for the connections that
  // follow; open ones keep theirs. On failure the context in force stays and
  // the Status names the file and what is wrong with it. Without TLS, fails.
  Status reload_tls();

  struct Impl;

 private:
  explicit Server(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace ordersd::http
