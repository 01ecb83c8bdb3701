// The log writer: what lands on stderr in each format, the level threshold,
// and log_limited holding back repeats. stderr (fd 2) is redirected to a file
// for the length of each capture.
#include "events/logging.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "support/temp_dir.h"

namespace logging = ordersd::logging;
using logging::Level;
using logging::Format;

namespace {

// Sends fd 2 to a file until lines() is called (or the object goes away).
class StderrCapture {
 public:
  StderrCapture() : path_(dir_.sub("stderr")) {
    std::fflush(stderr);
    int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    REQUIRE(fd >= 0);
    saved_ = ::dup(2);
    REQUIRE(saved_ >= 0);
    REQUIRE(::dup2(fd, 2) == 2);
    ::close(fd);
  }
  ~StderrCapture() { restore(); }

  // Every line written since the capture began; ends the capture.
  std::vector<std::string> lines() {
    restore();
    std::ifstream in(path_);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
  }

  ordersd::test::TempDir dir_;
  std::string path_;
  int saved_ = -1;
};

// Each test sets the format and threshold it needs; the next one starts from the default.
struct Defaults {
  ~Defaults() { logging::configure(Level::kInfo, Format::kText); }
};

// "2026-11-28T04:42:10.123Z" -> seconds since the epoch, read as UTC.
std::time_t utc_seconds(const std::string& ts) {
  std::tm tm{};
  std::istringstream in(ts);
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
  REQUIRE_FALSE(in.fail());
  return timegm(&tm);
}

const std::regex kTimestamp(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)");

}  // namespace

TEST_CASE("json: one object per line with ts, level, component, msg and each field, escaped") {
  Defaults defaults;
  logging::configure(Level::kDebug, Format::kJson);
  StderrCapture capture;
  std::time_t before = std::time(nullptr);
  logging::warn("payment", "restarting in 200 ms", {{"position", "42"}});
  logging::info("http", "say \"hi\"\nand\\go", {{"path", "/a\tb"}, {"ctl", std::string("x\x01y", 3)}});
  logging::debug("saga", "no fields");
  std::time_t after = std::time(nullptr);
  auto lines = capture.lines();
  REQUIRE(lines.size() == 3);

  auto first = nlohmann::ordered_json::parse(lines[0]);
  std::vector<std::string> keys;
  for (const auto& [k, v] : first.items()) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"ts", "level", "component", "msg", "position"});
  std::string ts = first["ts"];
  CHECK(std::regex_match(ts, kTimestamp));
  // UTC, not local time: the timestamp falls between the clock readings around it.
  CHECK(utc_seconds(ts) >= before);
  CHECK(utc_seconds(ts) <= after);
  CHECK(first["level"] == "warn");
  CHECK(first["component"] == "payment");
  CHECK(first["msg"] == "restarting in 200 ms");
  CHECK(first["position"] == "42");

  auto second = nlohmann::json::parse(lines[1]);
  CHECK(second["level"] == "info");
  CHECK(second["msg"] == "say \"hi\"\nand\\go");
  CHECK(second["path"] == "/a\tb");
  CHECK(second["ctl"] == std::string("x\x01y", 3));

  auto third = nlohmann::json::parse(lines[2]);
  CHECK(third["level"] == "debug");
  CHECK(third.size() == 4);
}

TEST_CASE("text: timestamp, padded level, component: message, then key=value") {
  Defaults defaults;
  logging::configure(Level::kDebug, Format::kText);
  StderrCapture capture;
  logging::warn("payment", "restarting in 200 ms", {{"position", "42"}});
  logging::error("relay", "publish failed", {{"error", "no \"broker\" here"}, {"empty", ""}});
  logging::info("log", "two\nlines");
  auto lines = capture.lines();
  REQUIRE(lines.size() == 3);
  std::smatch m;
  REQUIRE(std::regex_match(lines[0], m, std::regex(R"((\S+) warn  payment: restarting in 200 ms position=42)")));
  CHECK(std::regex_match(m[1].str(), kTimestamp));
  CHECK(lines[1].substr(24) == R"( error relay: publish failed error="no \"broker\" here" empty="")");
  CHECK(lines[2].substr(24) == R"( info  log: two\nlines)");
}

TEST_CASE("the threshold drops lines below it, and off drops every line") {
  Defaults defaults;
  StderrCapture capture;
  logging::configure(Level::kWarn, Format::kJson);
  CHECK_FALSE(logging::enabled(Level::kDebug));
  CHECK_FALSE(logging::enabled(Level::kInfo));
  CHECK(logging::enabled(Level::kWarn));
  CHECK(logging::enabled(Level::kError));
  logging::debug("t", "debug line");
  logging::info("t", "info line");
  logging::warn("t", "warn line");
  logging::error("t", "error line");
  logging::configure(Level::kOff, Format::kJson);
  CHECK_FALSE(logging::enabled(Level::kError));
  logging::error("t", "error while off");
  logging::configure(Level::kInfo, Format::kJson);
  CHECK_FALSE(logging::enabled(Level::kDebug));
  CHECK(logging::enabled(Level::kInfo));
  logging::debug("t", "debug again");
  logging::info("t", "info again");
  auto lines = capture.lines();
  std::vector<std::string> messages;
  for (const auto& line : lines) messages.push_back(nlohmann::json::parse(line)["msg"]);
  CHECK(messages == std::vector<std::string>{"warn line", "error line", "info again"});
}

TEST_CASE("levels and formats parse from their names") {
  Level level = Level::kInfo;
  CHECK(logging::parse_level("debug", level));
  CHECK(level == Level::kDebug);
  CHECK(logging::parse_level("off", level));
  CHECK(level == Level::kOff);
  CHECK_FALSE(logging::parse_level("warning", level));
  CHECK(level == Level::kOff);
  Format format = Format::kText;
  CHECK(logging::parse_format("json", format));
  CHECK(format == Format::kJson);
  CHECK_FALSE(logging::parse_format("xml", format));
}

TEST_CASE("log_limited writes a key once per interval, then says how many it held back") {
  Defaults defaults;
  logging::configure(Level::kInfo, Format::kJson);
  using std::chrono::milliseconds;
  constexpr milliseconds kEvery(50);
  StderrCapture capture;
  auto first = std::chrono::steady_clock::now();
  logging::log_limited(Level::kWarn, "test/accept", "http", "accept failed", {{"error", "e1"}}, kEvery);
  // Repeats within the interval: asked with a long one, so that a slow
  // machine cannot let one through; the interval is the caller's to choose.
  for (int i = 0; i < 4; ++i) {
    logging::log_limited(Level::kWarn, "test/accept", "http", "accept failed", {{"error", "e2"}}, std::chrono::hours(1));
  }
  // Another key is limited on its own.
  logging::log_limited(Level::kWarn, "test/other", "relay", "publish failed", {}, kEvery);
  // Held back below the threshold counts nothing.
  logging::log_limited(Level::kDebug, "test/accept", "http", "accept failed", {}, kEvery);
  std::this_thread::sleep_until(first + kEvery + milliseconds(10));
  logging::log_limited(Level::kWarn, "test/accept", "http", "accept failed", {{"error", "e3"}}, kEvery);
  // The count starts again after a line is written.
  logging::log_limited(Level::kWarn, "test/accept", "http", "accept failed", {}, std::chrono::hours(1));
  auto second = std::chrono::steady_clock::now();
  std::this_thread::sleep_until(second + kEvery + milliseconds(10));
  logging::log_limited(Level::kWarn, "test/accept", "http", "accept failed", {{"error", "e4"}}, kEvery);

  auto lines = capture.lines();
  REQUIRE(lines.size() == 4);
  auto a = nlohmann::json::parse(lines[0]);
  CHECK(a["error"] == "e1");
  CHECK_FALSE(a.contains("suppressed"));
  auto other = nlohmann::json::parse(lines[1]);
  CHECK(other["component"] == "relay");
  CHECK_FALSE(other.contains("suppressed"));
  auto b = nlohmann::json::parse(lines[2]);
  CHECK(b["error"] == "e3");
  CHECK(b["suppressed"] == "4");
  auto c = nlohmann::json::parse(lines[3]);
  CHECK(c["error"] == "e4");
  CHECK(c["suppressed"] == "1");
}

TEST_CASE("lines written from many threads at once stay whole") {
  Defaults defaults;
  logging::configure(Level::kInfo, Format::kJson);
  StderrCapture capture;
  constexpr int kThreads = 4, kLines = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < kLines; ++i) {
        logging::info("t" + std::to_string(t), std::string(100, 'x'), {{"i", std::to_string(i)}});
        if (i == kLines / 2 && t == 0) logging::configure(Level::kInfo, Format::kJson);
      }
    });
  }
  for (auto& th : threads) th.join();
  auto lines = capture.lines();
  REQUIRE(lines.size() == kThreads * kLines);
  std::vector<int> next(kThreads, 0);
  for (const auto& line : lines) {
    auto j = nlohmann::json::parse(line);
    int t = std::stoi(j["component"].get<std::string>().substr(1));
    CHECK(j["i"] == std::to_string(next[t]++));  // in order per thread
  }
}
