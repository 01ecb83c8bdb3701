// A private nats-server with JetStream for tests: on a free loopback port,
// its store in a temporary directory, stopped (or killed) by its pid.
// Optionally with a config file (the users `ordersd bus-users` writes:
// BrokerUsers) and more flags (TLS).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "support/process.h"
#include "support/temp_dir.h"

namespace ordersd::test {

// A loopback port nothing listens on just now (for a process that must be
// told its port before it starts, and keep it across restarts).
uint16_t free_port();
// Whether something on loopback accepts a TCP connection on `port` now.
bool accepts_connections(uint16_t port);

struct NatsServerOptions {
  std::string config_file;              // "": none; else passed as -c FILE
  std::vector<std::string> extra_args;  // e.g. {"--tls", "--tlscert", ..., "--tlskey", ...}
};

class NatsServer {
 public:
  NatsServer();  // started and accepting connections, or throws
  explicit NatsServer(NatsServerOptions options);
  ~NatsServer();

  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  uint16_t port() const { return port_; }
  pid_t pid() const;  // of the running server (for a benchmark's CPU figures)
  std::string log() const;  // what the server has written to its log so far

  void kill();     // SIGKILL, as a crash
  void restart();  // on the same port, store and options, after kill()

 private:
  void launch();
  NatsServerOptions options_;
  TempDir store_;
  uint16_t port_ = 0;
  std::unique_ptr<Process> process_;
};

// A JetStream cluster of `size` nats-servers on loopback, named nats-1 ...
// nats-N, routed to each other; each can be killed and restarted alone.
class NatsCluster {
 public:
  explicit NatsCluster(int size = 3, std::string config_file = "");
  // Every node's URL, comma-separated: what --bus takes for a cluster.
  std::string url() const;
  NatsServer& node(int i) { return *nodes_.at(static_cast<size_t>(i)); }
  int size() const { return static_cast<int>(nodes_.size()); }

 private:
  std::vector<std::unique_ptr<NatsServer>> nodes_;
};

// `ordersd bus-users` run into a temporary directory: nats.conf and
// rabbitmq-definitions.json with a user per service, and each service's
// creds file.
class BrokerUsers {
 public:
  BrokerUsers();  // throws when the command fails
  const std::string& dir() const { return dir_.path(); }
  std::string config() const { return dir_.sub("nats.conf"); }
  std::string rabbitmq_definitions() const { return dir_.sub("rabbitmq-definitions.json"); }
  std::string creds(const std::string& service) const { return dir_.sub(service + ".creds"); }
  std::string password(const std::string& service) const;  // from its creds file

 private:
  TempDir dir_;
};

}  // namespace ordersd::test
