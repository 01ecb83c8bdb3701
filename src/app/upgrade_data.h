// `ordersd upgrade`: rewrites a data directory written in an older format
// (see events/keys.h, "Formats") into the one this binary reads, in place,
// with every process that uses it stopped. A directory in the current
// format is left as it is.
#pragma once

#include <iosfwd>
#include <string>

namespace ordersd::app {

struct UpgradeConfig {
  std::string data_dir = "./data";
};

// 0 when the directory is now in the current format (also when it was
// already), 1 when it cannot be upgraded (held by a running process, in a
// later format, damaged), 2 when there is no directory (none is created).
// Each step goes to `out`; failures to `err`.
int upgrade_data(const UpgradeConfig& config, std::ostream& out, std::ostream& err);

}  // namespace ordersd::app
