// A private rabbitmq-server for tests: its own node name, Erlang cookie,
// data directory, and free loopback ports (AMQP, distribution, and an epmd
// of its own), so it shares nothing with any other broker on the machine;
// stopped (or killed) by its pid, its epmd stopped with it. Optionally with
// definitions (users and permissions, as `ordersd bus-users --broker
// rabbitmq` writes them) loaded at boot.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "support/process.h"
#include "support/temp_dir.h"

namespace ordersd::test {

struct RabbitMqServerOptions {
  std::string definitions;  // "" or a definitions JSON file loaded at boot (its users replace the admin)
  std::string tls_cert;     // with tls_key: a TLS listener too (tls_port()), with this certificate
  std::string tls_key;
};

class RabbitMqServer {
 public:
  // Started and accepting connections, or throws.
  explicit RabbitMqServer(std::string definitions = "") : RabbitMqServer(RabbitMqServerOptions{std::move(definitions), "", ""}) {}
  explicit RabbitMqServer(RabbitMqServerOptions options);
  ~RabbitMqServer();

  // As the administrator (every permission on the vhost "/").
  std::string url() const { return "amqp://ordersd:ordersd-admin@127.0.0.1:" + std::to_string(port_) + "/"; }
  std::string url_as(const std::string& user, const std::string& password) const {
    return "amqp://" + user + ":" + password + "@127.0.0.1:" + std::to_string(port_) + "/";
  }
  uint16_t port() const { return port_; }
  uint16_t tls_port() const { return tls_port_; }  // 0 without TLS
  pid_t pid() const;
  std::string log() const;

  void stop();     // SIGTERM: it shuts down cleanly
  void kill();     // SIGKILL, as a crash
  void restart();  // on the same ports and data, after stop() or kill()
  void freeze();   // SIGSTOP: it keeps its sockets open and answers nothing (as behind a partition)
  void thaw();     // SIGCONT

 private:
  void launch();
  TempDir dir_;
  RabbitMqServerOptions options_;
  uint16_t port_, dist_port_, epmd_port_, tls_port_ = 0;
  std::unique_ptr<Process> process_;
};

}  // namespace ordersd::test
