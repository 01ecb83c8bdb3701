#include "support/rabbitmq_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/nats_server.h"

namespace ordersd::test {


RabbitMqServer::RabbitMqServer(RabbitMqServerOptions options)
    : options_(std::move(options)), port_(free_port()), dist_port_(free_port()), epmd_port_(free_port()) {
  std::ofstream conf(dir_.sub("rabbitmq.conf"));
  conf << "listeners.tcp.default = 127.0.0.1:" << port_ << "\n"
       << "loopback_users = none\n"
       << "log.console = false\n"
       << "log.file.level = warning\n";
  if (options_.definitions.empty()) {
    conf << "default_user = ordersd\ndefault_pass = ordersd-admin\n";
  } else {
    conf << "load_definitions = " << options_.definitions << "\n";
  }
  if (!options_.tls_cert.empty()) {
    tls_port_ = free_port();
    conf << "listeners.ssl.default = 127.0.0.1:" << tls_port_ << "\n"
         << "ssl_options.certfile = " << options_.tls_cert << "\n"
         << "ssl_options.keyfile = " << options_.tls_key << "\n"
         << "ssl_options.verify = verify_none\n"
         << "ssl_options.fail_if_no_peer_cert = false\n";
  }
  conf.close();
  std::ofstream(dir_.sub("enabled_plugins")) << "[].\n";
  launch();
}

RabbitMqServer::~RabbitMqServer() {
  if (process_) {
    process_->signal(SIGTERM);
    if (!process_->wait_for(std::chrono::seconds(20))) process_->signal(SIGKILL);
    process_->wait();
  }
  // Its epmd outlives it: stop that one (and only that one) by its port.
  run({"/usr/bin/env", "ERL_EPMD_PORT=" + std::to_string(epmd_port_), "epmd", "-kill"});
}

void RabbitMqServer::launch() {
  const std::string node = "ordersd-test-" + std::to_string(port_) + "@localhost";
  // RUNNING_UNDER_SYSTEMD: the script execs the Erlang VM, so our pid is the broker's.
  process_ = std::make_unique<Process>(std::vector<std::string>{
      "/usr/bin/env", "HOME=" + dir_.path(), "RUNNING_UNDER_SYSTEMD=1", "RABBITMQ_NODENAME=" + node,
      "RABBITMQ_DIST_PORT=" + std::to_string(dist_port_), "ERL_EPMD_PORT=" + std::to_string(epmd_port_),
      "RABBITMQ_MNESIA_BASE=" + dir_.sub("mnesia"), "RABBITMQ_LOG_BASE=" + dir_.sub("log"),
      "RABBITMQ_CONFIG_FILE=" + dir_.sub("rabbitmq"), "RABBITMQ_ENABLED_PLUGINS_FILE=" + dir_.sub("enabled_plugins"),
      "/usr/lib/rabbitmq/bin/rabbitmq-server"});
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!accepts_connections(port_)) {
    if (auto code = process_->wait_for(std::chrono::milliseconds(0))) {
      throw std::runtime_error("rabbitmq-server exited with " + std::to_string(*code) + ": " + log() +
                               process_->stderr_so_far());
    }
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("rabbitmq-server did not start: " + log());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void RabbitMqServer::stop() {
  process_->signal(SIGTERM);
  process_->wait();
  process_.reset();
}

void RabbitMqServer::kill() {
  process_->signal(SIGKILL);
  process_->wait();
  process_.reset();
}

void RabbitMqServer::restart() { launch(); }

void RabbitMqServer::freeze() { process_->signal(SIGSTOP); }

void RabbitMqServer::thaw() { process_->signal(SIGCONT); }

pid_t RabbitMqServer::pid() const { return process_->pid(); }

std::string RabbitMqServer::log() const {
  std::stringstream text;
  std::error_code ec;
  for (const auto& f : std::filesystem::directory_iterator(dir_.sub("log"), ec)) {
    std::ifstream in(f.path());
    text << in.rdbuf();
  }
  return text.str();
}

}  // namespace ordersd::test
