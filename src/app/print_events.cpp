#include "app/print_events.h"

#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>

#include "events/event_json.h"
#include "events/event_log.h"
#include "events/event_types.h"

namespace ordersd::app {

namespace {

// "key=value" for a scalar; strings with a space or '=' quoted.
std::string scalar_text(const nlohmann::ordered_json& value) {
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    if (s.empty() || s.find_first_of(" =\"") != std::string::npos) return nlohmann::json(s).dump();
    return s;
  }
  return value.dump();
}

void summarize(const nlohmann::ordered_json& object, const std::string& prefix, std::string& out) {
  for (const auto& [key, value] : object.items()) {
    std::string name = prefix + key;
    if (value.is_object()) {
      summarize(value, name + ".", out);
      continue;
    }
    if (!out.empty()) out += ' ';
    if (value.is_array()) {
      out += name + "=[" + std::to_string(value.size()) + (value.size() == 1 ? " item]" : " items]");
    } else {
      out += name + "=" + scalar_text(value);
    }
  }
}

// Cuts at `width` bytes without splitting a UTF-8 sequence, marking the cut.
void cut(std::string& line, size_t width) {
  if (width == 0 || line.size() <= width) return;
  size_t keep = width > 3 ? width - 3 : 0;
  while (keep > 0 && (static_cast<unsigned char>(line[keep]) & 0xC0) == 0x80) --keep;
  line.resize(keep);
  line += "...";
}

// A private directory for the follower's own files, removed with it.
struct FollowerDir {
  std::string path;
  FollowerDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ordersd-events-XXXXXX").string();
    if (mkdtemp(pattern.data())) path = pattern;
  }
  ~FollowerDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
};

}  // namespace

std::string pretty_event_line(const events::RecordedEvent& event, size_t width) {
  std::string time = events::format_time_us(event.time_us());  // ...T07:00:01.123456Z
  if (time.size() == 27) time = time.substr(0, 23) + "Z";      // milliseconds
  std::string line = std::to_string(event.position()) + "  " + time + "  " + std::string(event.stream()) + "@" +
                     std::to_string(event.version()) + "  " + std::string(event.type()) + "  ";
  auto payload = events::payload_to_json(event.type(), event.payload());
  std::string summary;
  if (payload) {
    auto parsed = nlohmann::ordered_json::parse(*payload, nullptr, false);
    if (parsed.is_object()) summarize(parsed, "", summary);
  } else {
    summary = "(payload not shown: " + payload.status().message() + ")";
  }
  line += summary;
  while (!line.empty() && line.back() == ' ') line.pop_back();
  // A stream id is bytes: show what would upset a terminal as '?'.
  for (char& c : line) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  cut(line, width);
  return line;
}

int print_events(const PrintEventsConfig& config, std::ostream& out, std::ostream& err) {
  std::set<std::string, std::less<>> types;
  for (const auto& type : config.types) {
    if (!events::find_event_type(type)) {
      err << "no event type '" << type << "' (the types are listed in README.md, \"Event types\")\n";
      return 2;
    }
    types.insert(type);
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(config.data_dir, ec)) {
    err << "no data directory at '" << config.data_dir << "'\n";
    return 2;
  }

  // Taken synchronously below, between looks at the log; masked before the
  // log starts any thread, so that none of them is interrupted.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  if (config.follow) pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  events::EventLogOptions options;
  options.read_only = true;  // a running server may hold the directory
  FollowerDir follower;
  if (config.follow) {
    if (follower.path.empty()) {
      err << "cannot create a temporary directory to follow the log from\n";
      return 1;
    }
    options.follower_dir = follower.path;  // and sees what that server appends
  }
  auto log = events::EventLog::open(config.data_dir, options);
  if (!log) {
    err << "cannot open the event log in '" << config.data_dir << "': " << log.status().to_string() << "\n";
    return 1;
  }
  if (config.stream) {
    auto version = (*log)->stream_version(*config.stream);
    if (!version) {
      err << version.status().to_string() << "\n";
      return 1;
    }
    if (*version == 0) {
      err << "no events in stream '" << *config.stream << "' (--stream takes a whole stream name, such as "
          << "order-ID; --order ID names an order's)\n";
      return 1;
    }
  }

  constexpr size_t kPage = 1024;
  uint64_t remaining = config.limit.value_or(UINT64_MAX);
  uint64_t next = std::max<uint64_t>(config.from, 1);
  while (remaining > 0) {
    auto batch = config.stream ? (*log)->read_stream(*config.stream, next, kPage) : (*log)->read_all(next, kPage);
    if (!batch) {
      err << batch.status().to_string() << "\n";
      return 1;
    }
    for (const auto& event : *batch) {
      if (remaining == 0) break;
      if (!types.empty() && !types.contains(event.type())) continue;
      if (config.format == EventsFormat::kPretty) {
        out << pretty_event_line(event, config.width) << "\n";
      } else {
        out << events::event_to_json(event) << "\n";
      }
      --remaining;
    }
    if (!batch->empty()) next = config.stream ? batch->back().version() + 1 : batch->back().position() + 1;
    if (batch->size() == kPage) continue;
    if (!config.follow) break;
    out.flush();
    // Nothing more for now: wait a little (or for a signal to stop), then
    // take in what the writer appended meanwhile.
    for (;;) {
      auto ms = config.poll_interval.count();
      timespec wait{static_cast<time_t>(ms / 1000), static_cast<long>(ms % 1000) * 1000000};
      int signal = sigtimedwait(&stop_signals, nullptr, &wait);
      if (signal == SIGINT || signal == SIGTERM) {
        out.flush();
        return 0;
      }
      if (signal < 0 && errno != EAGAIN && errno != EINTR) {
        err << "waiting for appends failed: errno " << errno << "\n";
        return 1;
      }
      uint64_t before = (*log)->head();
      auto head = (*log)->catch_up();
      if (!head) {
        err << head.status().to_string() << "\n";
        return 1;
      }
      if (*head > before) break;
    }
  }
  out.flush();
  return 0;
}

}  // namespace ordersd::app
