// Logging: the one way ordersd writes what happens to stderr.
//
// Every line carries a UTC timestamp, a level and the component that wrote it
// ("log", "saga", "payment", "view-orders", "relay", "http", ...), then a
// message and optional fields. `--log-format text` prints
//   2026-11-28T04:42:10.123Z warn  payment: restarting in 200 ms position=42
// and `--log-format json` one JSON object per line with the keys
// ts, level, component, msg and each field.
//
// A repeated failure must never flood the log: log_limited() writes a line
// for a given key at most once per interval and says, on the next line it
// writes, how many it held back.
//
// Thread-safe; cheap when the level is disabled (nothing is formatted).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ordersd::logging {

enum class Level { kDebug, kInfo, kWarn, kError, kOff };
enum class Format { kText, kJson };

// Extra key/value pairs of one line; values are written as strings.
using Fields = std::vector<std::pair<std::string, std::string>>;

// Sets the threshold and the format for every later line. Before any call:
// info, text.
void configure(Level level, Format format);
bool enabled(Level level);

// Parses "debug", "info", "warn", "error", "off" / "text", "json".
bool parse_level(std::string_view text, Level& out);
bool parse_format(std::string_view text, Format& out);

void log(Level level, std::string_view component, std::string_view message, const Fields& fields = {});

// log(), at most once per `every` for the same `key` (e.g. "accept" or
// "payment/restart"); the next line written for the key carries a field
// suppressed=N when lines were held back.
void log_limited(Level level, std::string_view key, std::string_view component, std::string_view message,
                 const Fields& fields = {}, std::chrono::milliseconds every = std::chrono::seconds(10));

inline void debug(std::string_view component, std::string_view message, const Fields& fields = {}) {
  log(Level::kDebug, component, message, fields);
}
inline void info(std::string_view component, std::string_view message, const Fields& fields = {}) {
  log(Level::kInfo, component, message, fields);
}
inline void warn(std::string_view component, std::string_view message, const Fields& fields = {}) {
  log(Level::kWarn, component, message, fields);
}
inline void error(std::string_view component, std::string_view message, const Fields& fields = {}) {
  log(Level::kError, component, message, fields);
}

}  // namespace ordersd::logging
