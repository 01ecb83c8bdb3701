// A plain TCP connection to a loopback port for tests of the HTTP edge:
// hand-written bytes out, whatever comes back in, and whether (and when) the
// server closed the connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace ordersd::test {

class RawSocket {
 public:
  // Connects to 127.0.0.1:port; throws std::runtime_error when it cannot.
  explicit RawSocket(uint16_t port);
  ~RawSocket();
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  // Writes all of `bytes`; false when the connection refused them (reset,
  // closed).
  bool send(const std::string& bytes);

  // Reads until the peer closes the connection or `timeout` passes.
  struct Received {
    std::string data;
    bool closed = false;  // EOF or reset seen before the timeout
  };
  Received read_until_closed(std::chrono::milliseconds timeout);

  // Reads until `data` holds one whole HTTP response head and the body its
  // Content-Length announces, the peer closes, or `timeout` passes.
  Received read_response(std::chrono::milliseconds timeout);

  // True when the peer has closed (EOF or reset) within `timeout`; bytes
  // received meanwhile are discarded.
  bool closed_within(std::chrono::milliseconds timeout) { return read_until_closed(timeout).closed; }

  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::string pending_;  // received beyond the response read_response() returned
};

// The status code of the first response in `data`, or 0.
int status_of(const std::string& data);

}  // namespace ordersd::test
