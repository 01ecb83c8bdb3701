#include "app/replay_views.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <ostream>

#include "events/event_log.h"
#include "events/logging.h"
#include "read/replay.h"

namespace ordersd::app {

namespace {

std::string rate(double per_second) {
  char buf[32];
  if (per_second >= 1e6) std::snprintf(buf, sizeof buf, "%.2fM", per_second / 1e6);
  else if (per_second >= 1e3) std::snprintf(buf, sizeof buf, "%.1fk", per_second / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f", per_second);
  return buf;
}

std::string progress_text(const std::string& view, const read::ReplayProgress& p, bool bar) {
  double fraction = p.head ? static_cast<double>(p.position) / static_cast<double>(p.head) : 1.0;
  double per_second = p.seconds > 0 ? static_cast<double>(p.position) / p.seconds : 0;
  double eta = per_second > 0 ? static_cast<double>(p.head - p.position) / per_second : 0;
  char buf[160];
  std::string prefix = view + " ";
  if (bar) {
    constexpr int kWidth = 30;
    int filled = static_cast<int>(fraction * kWidth);
    prefix += "[" + std::string(filled, '=') + std::string(kWidth - filled, ' ') + "] ";
  }
  std::snprintf(buf, sizeof buf, "%5.1f%%  %llu/%llu events  %s events/s  ETA %.0fs", fraction * 100,
                static_cast<unsigned long long>(p.position), static_cast<unsigned long long>(p.head),
                rate(per_second).c_str(), eta);
  return prefix + buf;
}

}  // namespace

int replay_views(const ReplayConfig& config, bool terminal, std::ostream& out, std::ostream& err) {
  std::vector<const read::ViewSpec*> selected;
  if (config.view == "all") {
    for (const auto& v : read::all_views()) selected.push_back(&v);
  } else if (const read::ViewSpec* v = read::find_view(config.view)) {
    selected.push_back(v);
  } else {
    std::string names;
    for (const auto& v : read::all_views()) names += " " + v.name;
    logging::error("replay", "no view '" + config.view + "'; the views are" + names + " (or all)");
    return 2;
  }
  // Replay writes views into an existing log; it never makes a data
  // directory (a mistyped --data would otherwise leave an empty one behind).
  std::error_code ec;
  if (!std::filesystem::is_directory(config.data_dir, ec)) {
    err << "no data directory at '" << config.data_dir << "'\n";
    return 2;
  }
  events::EventLogOptions options;
  options.create_if_missing = false;
  auto opened = events::EventLog::open(config.data_dir, options);
  if (!opened) {
    logging::error("replay", opened.status().to_string(), {{"data_dir", config.data_dir}});
    return 1;
  }
  auto& log = **opened;
  // Every selected view in one pass over the log.
  std::string label = selected.size() == 1 ? selected.front()->name : config.view + " (" + std::to_string(selected.size()) + " views)";
  auto last_line = std::chrono::steady_clock::now();
  read::ReplayProgress last;
  Status s = read::replay(log, selected, [&](const read::ReplayProgress& p) {
    last = p;
    auto now = std::chrono::steady_clock::now();
    if (terminal) {
      err << "\r" << progress_text(label, p, true) << std::flush;
    } else if (now - last_line >= std::chrono::seconds(1)) {
      err << progress_text(label, p, false) << "\n";
      last_line = now;
    }
  });
  if (terminal) err << "\n";
  if (!s) {
    logging::error("replay", s.to_string(), {{"views", label}});
    return 1;
  }
  double per_second = last.seconds > 0 ? static_cast<double>(last.position) / last.seconds : 0;
  char buf[128];
  std::snprintf(buf, sizeof buf, "%.2f s, %s events/s", last.seconds, rate(per_second).c_str());
  for (const read::ViewSpec* view : selected) {
    out << view->name << ": rebuilt from " << last.position << " events in " << buf << "\n";
  }
  return 0;
}

}  // namespace ordersd::app
