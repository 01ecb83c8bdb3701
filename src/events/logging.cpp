// logging.h over spdlog: one logger writing to stderr, flushed per line. The
// timestamp (UTC, milliseconds) and the level come from spdlog's pattern; the
// component, message and fields are formatted here, so that a message's text
// is never read as a format string.
#include "events/logging.h"

#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>

namespace ordersd::logging {

namespace {

std::atomic<int> threshold{static_cast<int>(Level::kInfo)};

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

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::kDebug: return spdlog::level::debug;
    case Level::kInfo: return spdlog::level::info;
    case Level::kWarn: return spdlog::level::warn;
    case Level::kError: return spdlog::level::err;
    case Level::kOff: return spdlog::level::off;
  }
  return spdlog::level::off;
}

// The flag %* in the patterns below: the level as logging.h names it ("warn",
// not spdlog's "warning"), padded to five characters in text lines.
class LevelFlag final : public spdlog::custom_flag_formatter {
 public:
  explicit LevelFlag(bool pad) : pad_(pad) {}
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    std::string_view text = "?";
    switch (msg.level) {
      case spdlog::level::trace:
      case spdlog::level::debug: text = "debug"; break;
      case spdlog::level::info: text = "info"; break;
      case spdlog::level::warn: text = "warn"; break;
      case spdlog::level::err:
      case spdlog::level::critical: text = "error"; break;
      default: break;
    }
    dest.append(text.data(), text.data() + text.size());
    for (size_t n = text.size(); pad_ && n < 5; ++n) dest.push_back(' ');
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<LevelFlag>(pad_); }

 private:
  bool pad_;
};

std::unique_ptr<spdlog::formatter> formatter_for(Format format) {
  constexpr const char* kTime = "%Y-%m-%dT%H:%M:%S.%eZ";
  auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc, std::string("\n"));
  f->add_flag<LevelFlag>('*', format == Format::kText);
  if (format == Format::kText) {
    f->set_pattern(std::string(kTime) + " %* %v");
  } else {
    f->set_pattern(std::string("{\"ts\":\"") + kTime + "\",\"level\":\"%*\",%v}");
  }
  return f;
}

// Never destroyed: a thread that logs while the process exits still finds it.
spdlog::logger& logger() {
  static spdlog::logger* const instance = [] {
    auto* l = new spdlog::logger("ordersd", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    l->set_level(spdlog::level::trace);  // the threshold is checked before anything is formatted
    l->flush_on(spdlog::level::trace);   // every line reaches stderr as it is written
    l->set_formatter(formatter_for(Format::kText));
    l->set_error_handler([](const std::string& what) { std::fprintf(stderr, "logging failed: %s\n", what.c_str()); });
    return l;
  }();
  return *instance;
}

std::mutex format_mu;  // guards current_format and the logger's formatter
Format current_format = Format::kText;

// --- JSON

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20 || u == 0x7f) {
          out += "\\u00";
          out.push_back(kHex[u >> 4]);
          out.push_back(kHex[u & 0xf]);
        } else {
          out.push_back(c);  // UTF-8 passes through as it is
        }
    }
  }
  out.push_back('"');
}

// --- text

// Control characters would split a line in two or hide part of it.
void append_text(std::string& out, std::string_view s) {
  for (char c : s) {
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) out.push_back('?');
    else out.push_back(c);
  }
}

// key=value, with the value quoted (logfmt style) when it is empty or holds a
// space, a quote or '=' so the line still splits back into its fields.
void append_text_field(std::string& out, std::string_view key, std::string_view value) {
  out.push_back(' ');
  append_text(out, key);
  out.push_back('=');
  bool quote = value.empty() || value.find_first_of(" \"=") != std::string_view::npos;
  if (!quote) return append_text(out, value);
  out.push_back('"');
  for (char c : value) {
    if (c == '"' || c == '\\') out.push_back('\\');
    append_text(out, std::string_view(&c, 1));
  }
  out.push_back('"');
}

std::string body(Format format, std::string_view component, std::string_view message, const Fields& fields) {
  std::string out;
  out.reserve(component.size() + message.size() + 16 + fields.size() * 24);
  if (format == Format::kText) {
    append_text(out, component);
    out += ": ";
    append_text(out, message);
    for (const auto& [k, v] : fields) append_text_field(out, k, v);
  } else {
    out += "\"component\":";
    append_json_string(out, component);
    out += ",\"msg\":";
    append_json_string(out, message);
    for (const auto& [k, v] : fields) {
      out.push_back(',');
      append_json_string(out, k);
      out.push_back(':');
      append_json_string(out, v);
    }
  }
  return out;
}

struct Limited {
  std::chrono::steady_clock::time_point last{};
  uint64_t suppressed = 0;
};
std::mutex limited_mu;
std::map<std::string, Limited, std::less<>> limited;

}  // namespace

void configure(Level level, Format format) {
  {
    std::lock_guard lk(format_mu);
    current_format = format;
    logger().set_formatter(formatter_for(format));
  }
  threshold.store(static_cast<int>(level), std::memory_order_relaxed);
}

bool enabled(Level level) {
  return level != Level::kOff && static_cast<int>(level) >= threshold.load(std::memory_order_relaxed);
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
  // The format and the formatter change together, so a line is never
  // written half in one format and half in the other.
  std::lock_guard lk(format_mu);
  std::string line = body(current_format, component, message, fields);
  logger().log(to_spdlog(level), spdlog::string_view_t(line.data(), line.size()));
}

void log_limited(Level level, std::string_view key, std::string_view component, std::string_view message,
                 const Fields& fields, std::chrono::milliseconds every) {
  if (!enabled(level)) return;
  Fields with = fields;
  {
    std::lock_guard lk(limited_mu);
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
