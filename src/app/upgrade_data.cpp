#include "app/upgrade_data.h"

#include <filesystem>
#include <ostream>

#include "events/event_log.h"

namespace ordersd::app {

int upgrade_data(const UpgradeConfig& config, std::ostream& out, std::ostream& err) {
  std::error_code ec;
  if (!std::filesystem::is_directory(config.data_dir, ec)) {
    err << "no data directory at '" << config.data_dir << "'\n";
    return 2;
  }
  auto upgraded = events::EventLog::upgrade(config.data_dir, [&](const std::string& step) { out << step << "\n" << std::flush; });
  if (upgraded) return 0;
  const Status& s = upgraded.status();
  if (s.code() == Status::Code::kNotFound) {
    err << s.message() << "\n";
    return 2;
  }
  err << "cannot upgrade: " << s.to_string();
  if (s.code() == Status::Code::kBusy || s.code() == Status::Code::kIoError) {
    err << " (is a server still running on it? stop it first)";
  }
  err << "\n";
  return 1;
}

}  // namespace ordersd::app
