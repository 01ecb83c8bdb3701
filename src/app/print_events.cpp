#include "app/print_events.h"

#include <algorithm>
#include <ostream>

#include "events/event_json.h"
#include "events/event_log.h"
#include "events/logging.h"

namespace ordersd::app {

int print_events(const PrintEventsConfig& config, std::ostream& out) {
  events::EventLogOptions options;
  options.read_only = true;  // a running server may hold the directory
  auto log = events::EventLog::open(config.data_dir, options);
  if (!log) {
    logging::error("events", log.status().to_string(), {{"data_dir", config.data_dir}});
    return 1;
  }
  constexpr size_t kPage = 1024;
  uint64_t remaining = config.limit.value_or(UINT64_MAX);
  uint64_t next = std::max<uint64_t>(config.from, 1);
  while (remaining > 0) {
    size_t page = static_cast<size_t>(std::min<uint64_t>(remaining, kPage));
    auto batch = config.stream ? (*log)->read_stream(*config.stream, next, page) : (*log)->read_all(next, page);
    if (!batch) {
      logging::error("events", batch.status().to_string(), {{"data_dir", config.data_dir}});
      return 1;
    }
    for (const auto& event : *batch) out << events::event_to_json(event) << "\n";
    if (batch->size() < page) break;
    remaining -= batch->size();
    next = config.stream ? batch->back().version() + 1 : batch->back().position() + 1;
  }
  out.flush();
  return 0;
}

}  // namespace ordersd::app
