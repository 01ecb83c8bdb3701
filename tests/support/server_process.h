// A real `ordersd serve` for integration tests: started on an ephemeral
// loopback port with its data in `data_dir`, and the port it printed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "support/process.h"

namespace ordersd::test {

// Servers started from now on run `path` instead of the build's own ordersd
// (a benchmark comparing builds). Not thread-safe: call it before any start.
void use_server_binary(std::string path);

struct ServerProcess {
  Process process;
  uint16_t port = 0;

  // Starts the server and waits for its "listening on" line; throws when it
  // does not come. On a free port unless `extra_args` give --listen.
  explicit ServerProcess(const std::string& data_dir, const std::vector<std::string>& extra_args = {});

  // SIGTERM, then the exit code.
  int stop();

  // A server still running is stopped as stop() does (so that under the
  // sanitizers its exit runs LeakSanitizer and its stderr is scanned for
  // reports), and SIGKILLed if it has not ended within 30 s.
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
};

// A server for the order API on its own: the saga starts paused, so an order
// stays where the commands put it.
struct SagaPausedServer : ServerProcess {
  explicit SagaPausedServer(const std::string& data_dir, std::vector<std::string> extra_args = {});
};

}  // namespace ordersd::test
