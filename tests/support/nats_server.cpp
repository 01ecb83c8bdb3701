#include "support/nats_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace ordersd::test {

uint16_t free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    throw std::runtime_error("no free port");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

bool accepts_connections(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

NatsServer::NatsServer() : NatsServer(NatsServerOptions{}) {}

NatsServer::NatsServer(NatsServerOptions options) : options_(std::move(options)), port_(free_port()) { launch(); }

NatsServer::~NatsServer() {
  if (process_) {
    process_->signal(SIGTERM);
    process_->wait();
  }
}

void NatsServer::launch() {
  std::vector<std::string> argv = {NATS_SERVER_BINARY};
  if (!options_.config_file.empty()) argv.insert(argv.end(), {"-c", options_.config_file});
  // Flags after the config override it.
  argv.insert(argv.end(), {"--jetstream", "--store_dir", store_.path(), "--addr", "127.0.0.1", "--port",
                           std::to_string(port_), "--log", store_.sub("nats.log")});
  argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
  process_ = std::make_unique<Process>(argv);
  // Polled: the server writes no line to stdout when it is ready.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!accepts_connections(port_)) {
    if (auto code = process_->wait_for(std::chrono::milliseconds(0))) {
      throw std::runtime_error("nats-server exited with " + std::to_string(*code) + ": " + log() +
                               process_->stderr_so_far());
    }
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("nats-server did not start");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void NatsServer::kill() {
  process_->signal(SIGKILL);
  process_->wait();
  process_.reset();
}

void NatsServer::restart() { launch(); }

pid_t NatsServer::pid() const { return process_->pid(); }

std::string NatsServer::log() const {
  std::ifstream in(store_.sub("nats.log"));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

NatsCluster::NatsCluster(int size, std::string config_file) {
  std::vector<uint16_t> routes;
  for (int i = 0; i < size; ++i) routes.push_back(free_port());
  std::string all;
  for (uint16_t p : routes) all += (all.empty() ? "" : ",") + std::string("nats://127.0.0.1:") + std::to_string(p);
  for (int i = 0; i < size; ++i) {
    NatsServerOptions options{config_file,
                              {"--server_name", "nats-" + std::to_string(i + 1), "--cluster_name", "ordersd",
                               "--cluster", "nats://127.0.0.1:" + std::to_string(routes[static_cast<size_t>(i)]),
                               "--routes", all}};
    nodes_.push_back(std::make_unique<NatsServer>(std::move(options)));
  }
}

std::string NatsCluster::url() const {
  std::string out;
  for (const auto& n : nodes_) out += (out.empty() ? "" : ",") + n->url();
  return out;
}

BrokerUsers::BrokerUsers() {
  Completed made = run({ORDERSD_BINARY, "bus-users", "--dir", dir_.path()});
  if (made.exit_code != 0) throw std::runtime_error("ordersd bus-users failed: " + made.err);
}

std::string BrokerUsers::password(const std::string& service) const {
  std::ifstream in(creds(service));
  std::string line;
  std::getline(in, line);
  return line.substr(line.find(':') + 1);
}

}  // namespace ordersd::test
