// A private nats-server with JetStream for tests: on a free loopback port,
// its store in a temporary directory, stopped (or killed) by its pid.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "support/process.h"
#include "support/temp_dir.h"

namespace ordersd::test {

class NatsServer {
 public:
  NatsServer();  // started and accepting connections, or throws
  ~NatsServer();

  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  uint16_t port() const { return port_; }

  void kill();     // SIGKILL, as a crash
  void restart();  // on the same port and store, after kill()

 private:
  void launch();
  TempDir store_;
  uint16_t port_ = 0;
  std::unique_ptr<Process> process_;
};

}  // namespace ordersd::test
