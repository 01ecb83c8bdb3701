// A plain stderr writer behind logging.h; spdlog replaces it.
#include "events/logging.h"

#include <cstdio>
#include <ctime>
#include <map>
#include <mutex>

namespace ordersd::logging {

namespace {
std::mutex mu;
Level threshold = Level::kInfo;
Format format = Format::kText;
struct Limited {
  std::chrono::steady_clock::time_point last{};
  uint64_t suppressed = 0;
};
std::map<std::string, Limited, std::less<>> limited;

const char* name(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
    case Level::kOff: return "off";
  }
  return "?";
}
}  // namespace

void configure(Level level, Format f) {
  std::lock_guard lk(mu);
  threshold = level;
  format = f;
}

bool enabled(Level level) {
  std::lock_guard lk(mu);
  return level != Level::kOff && level >= threshold;
}

bool parse_level(std::string_view text, Level& out) {
  for (Level l : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError, Level::kOff}) {
    if (text == name(l)) {
      out = l;
      return true;
    }
  }
  return false;
}

bool parse_format(std::string_view text, Format& out) {
  if (text == "text") out = Format::kText;
  else if (text == "json") out = Format::kJson;
  else return false;
  return true;
}

void log(Level level, std::string_view component, std::string_view message, const Fields& fields) {
  if (!enabled(level)) return;
  std::string line = std::string(name(level)) + " " + std::string(component) + ": " + std::string(message);
  for (const auto& [k, v] : fields) line += " " + k + "=" + v;
  std::lock_guard lk(mu);
  std::fprintf(stderr, "%s\n", line.c_str());
}

void log_limited(Level level, std::string_view key, std::string_view component, std::string_view message,
                 const Fields& fields, std::chrono::milliseconds every) {
  if (!enabled(level)) return;
  Fields with = fields;
  {
    std::lock_guard lk(mu);
    auto now = std::chrono::steady_clock::now();
    auto it = limited.find(key);
    if (it == limited.end()) it = limited.emplace(std::string(key), Limited{}).first;
    if (it->second.last != std::chrono::steady_clock::time_point{} && now - it->second.last < every) {
      ++it->second.suppressed;
      return;
    }
    if (it->second.suppressed) with.emplace_back("suppressed", std::to_string(it->second.suppressed));
    it->second.last = now;
    it->second.suppressed = 0;
  }
  log(level, component, message, with);
}

}  // namespace ordersd::logging
