// `ordersd events`: prints the log, or one stream, as JSON lines.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

namespace ordersd::app {

struct PrintEventsConfig {
  std::string data_dir = "./data";
  std::optional<std::string> stream;  // the whole log when absent
  uint64_t from = 1;                  // position, or version with a stream
  std::optional<uint64_t> limit;      // everything when absent
};

// Returns the exit code; errors are logged (component "events").
int print_events(const PrintEventsConfig& config, std::ostream& out);

}  // namespace ordersd::app
