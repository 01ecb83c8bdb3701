#include "app/check_data.h"

#include <chrono>
#include <filesystem>
#include <ostream>

#include "events/event_log.h"

namespace ordersd::app {

int check_data(const CheckConfig& config, std::ostream& out, std::ostream& err) {
  std::error_code ec;
  if (!std::filesystem::is_directory(config.data_dir, ec)) {
    err << "no data directory at '" << config.data_dir << "'\n";
    return 2;
  }
  events::EventLogOptions options;
  options.read_only = true;  // never changes the directory; works beside a running server
  auto opened = events::EventLog::open(config.data_dir, options);
  if (!opened) {
    // A format this binary does not read is not damage: say what to run.
    if (opened.status().code() == Status::Code::kInvalidArgument) {
      out << "NOT CHECKED: " << opened.status().message() << "\n";
    } else {
      out << "DAMAGED: the directory cannot be opened: " << opened.status().to_string() << "\n";
    }
    return 1;
  }
  const events::EventLog& log = **opened;
  bool damaged = false;

  err << "checking the checksums of every SST file...\n";
  if (Status s = log.verify_checksums(); !s) {
    out << "DAMAGED: " << s.to_string() << "\n";
    damaged = true;
  } else {
    out << "SST checksums: ok\n";
  }

  const uint64_t head = log.head();
  constexpr size_t kPage = 4096;
  uint64_t next = 1;
  auto reported = std::chrono::steady_clock::now();
  while (next <= head) {
    auto batch = log.read_all(next, kPage);
    if (!batch) {
      const Status& s = batch.status();
      uint64_t at = s.code() == Status::Code::kCorruption && s.position() ? s.position() : next;
      out << "DAMAGED: the log at position " << at << " (of " << head << "): " << s.to_string() << "\n";
      damaged = true;
      break;
    }
    if (batch->empty()) {
      out << "DAMAGED: the log ends at position " << next - 1 << ", its head is " << head << "\n";
      damaged = true;
      break;
    }
    next = batch->back().position() + 1;
    if (auto now = std::chrono::steady_clock::now(); now - reported >= std::chrono::seconds(1)) {
      reported = now;
      err << "checked " << next - 1 << " of " << head << " events\n";
    }
  }
  if (!damaged || next > head) {
    out << "log: " << head << " events, positions 1 to " << head << " dense, every envelope verified\n";
  }
  if (damaged) {
    out << "the directory is damaged; see README.md, \"Recovery\"\n";
    return 1;
  }
  out << "ok\n";
  return 0;
}

}  // namespace ordersd::app
