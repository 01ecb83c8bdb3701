// `ordersd events`: prints the log, or one stream, as JSON lines or one
// readable line per event; with `follow`, goes on printing what is appended
// (also by a server that holds the directory) until SIGINT or SIGTERM.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace ordersd::events {
class RecordedEvent;
}

namespace ordersd::app {

enum class EventsFormat {
  kJson,    // one JSON object per line (events::event_to_json)
  kPretty,  // position, time, stream@version, type, a summary of the payload
};

struct PrintEventsConfig {
  std::string data_dir = "./data";
  std::optional<std::string> stream;  // the whole log when absent
  std::vector<std::string> types;     // only events of these stored types; every type when empty
  uint64_t from = 1;                  // position, or version with a stream
  std::optional<uint64_t> limit;      // everything when absent (counts printed events)
  bool follow = false;                // keep printing appends until SIGINT/SIGTERM
  EventsFormat format = EventsFormat::kJson;
  size_t width = 160;                 // pretty lines are cut to this many bytes; 0: never
  std::chrono::milliseconds poll_interval{200};  // with follow: between looks for new appends
};

// 0 when printed (also nothing, for the whole log), 1 when the stream has no
// events or the log cannot be read, 2 when there is no data directory or a
// type is unknown. Errors go to `err`, one line each.
int print_events(const PrintEventsConfig& config, std::ostream& out, std::ostream& err);

// One event as a --format pretty line, cut to `width` bytes (0: never):
// `12  2026-11-28T07:00:01.123Z  order-o-1@2  order.payment_processed.v1  amount_cents=3798 ...`
std::string pretty_event_line(const events::RecordedEvent& event, size_t width);

}  // namespace ordersd::app
