#include "support/server_process.h"

#include <signal.h>

#include <algorithm>
#include <stdexcept>

namespace ordersd::test {

namespace {
std::string& server_binary() {
  static std::string binary = ORDERSD_BINARY;
  return binary;
}

std::vector<std::string> command(const std::string& data_dir, const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {server_binary(), "serve", "--data", data_dir, "--threads", "2"};
  // A port of the caller's, or a free one.
  if (std::find(extra.begin(), extra.end(), "--listen") == extra.end()) argv.insert(argv.end(), {"--listen", "127.0.0.1:0"});
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}
}  // namespace

void use_server_binary(std::string path) { server_binary() = std::move(path); }

ServerProcess::ServerProcess(const std::string& data_dir, const std::vector<std::string>& extra_args)
    : process(command(data_dir, extra_args)) {
  auto line = process.read_line(std::chrono::seconds(30));
  if (!line || !line->starts_with("listening on 127.0.0.1:")) {
    throw std::runtime_error("the server printed no 'listening on' line: " + process.stderr_so_far());
  }
  port = static_cast<uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));
}

ServerProcess::~ServerProcess() {
  if (process.reaped()) return;
  process.signal(SIGTERM);
  if (!process.wait_for(std::chrono::seconds(30))) {
    process.signal(SIGKILL);
    process.wait();
  }
}

int ServerProcess::stop() {
  process.signal(SIGTERM);
  return process.wait();
}

SagaPausedServer::SagaPausedServer(const std::string& data_dir, std::vector<std::string> extra_args)
    : ServerProcess(data_dir, [&] {
        extra_args.insert(extra_args.end(), {"--paused", "saga"});
        return extra_args;
      }()) {}

}  // namespace ordersd::test
