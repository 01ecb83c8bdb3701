// `ordersd replay`: rebuilds views from the start of the log, with the server
// stopped, showing progress (a bar on a terminal, a line a second otherwise).
#pragma once

#include <iosfwd>
#include <string>

namespace ordersd::app {

struct ReplayConfig {
  std::string data_dir = "./data";
  std::string view = "all";  // a view's name, or all
};

// Returns the exit code (2 when there is no data directory: replay never
// creates one); progress goes to `err`, a summary per view to `out`, errors
// are logged (component "replay").
int replay_views(const ReplayConfig& config, bool terminal, std::ostream& out, std::ostream& err);

}  // namespace ordersd::app
