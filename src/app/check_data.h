// `ordersd check`: verifies a data directory with the server stopped (or
// running: it opens the directory read-only). Every SST block's checksum,
// then the log end to end: each envelope, and positions dense from 1 to the
// head. Reports the first damage it finds, by file or by position.
#pragma once

#include <iosfwd>
#include <string>

namespace ordersd::app {

struct CheckConfig {
  std::string data_dir = "./data";
};

// 0 when clean, 1 when damaged (or the directory cannot be opened), 2 when
// there is no directory (said on `err`; none is created). The report goes
// to `out`; progress of the scan to `err` (about once a second).
int check_data(const CheckConfig& config, std::ostream& out, std::ostream& err);

}  // namespace ordersd::app
