// Damage in the data directory is found and shown: `ordersd check` names the
// damaged file or position, a server that meets it says so in /health (or
// refuses to start with a message that names the file), and no HTTP answer
// carries the data directory's absolute path.
#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "events/event_log.h"
#include "support/http_client.h"
#include "support/process.h"
#include "support/sample_events.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

using nlohmann::json;
using ordersd::test::HttpClient;
using ordersd::test::ServerProcess;
using ordersd::test::TempDir;
namespace events = ordersd::events;
namespace fs = std::filesystem;

namespace {

// The largest file of `dir` whose name ends with `suffix`.
fs::path largest(const std::string& dir, const std::string& suffix) {
  fs::path best;
  uintmax_t size = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (name.ends_with(suffix) && entry.file_size() > size) {
      best = entry.path();
      size = entry.file_size();
    }
  }
  REQUIRE_MESSAGE(!best.empty(), "no " << suffix << " file in " << dir);
  return best;
}

void flip_byte(const fs::path& file, uintmax_t offset) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x5a);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
  REQUIRE(f);
}

ordersd::test::Completed check(const std::string& dir) {
  return ordersd::test::run({ORDERSD_BINARY, "check", "--data", dir});
}

// Many events, flushed into SST files by close().
void fill(const std::string& dir, int events) {
  auto log = events::EventLog::open(dir);
  REQUIRE_MESSAGE(log.is_ok(), log.status().to_string());
  for (int i = 0; i < events; i += 100) {
    events::AppendRequest request;
    for (int j = i; j < i + 100; ++j) {
      request.streams.push_back({"order-" + std::to_string(j), events::ExpectedVersion::no_stream(),
                                 {ordersd::test::order_placed("o-" + std::to_string(j))}});
    }
    auto done = (*log)->append(std::move(request));
    REQUIRE_MESSAGE(done.is_ok(), done.status().to_string());
  }
}

}  // namespace

TEST_CASE("check passes a clean directory") {
  TempDir dir;
  fill(dir.path(), 500);
  auto clean = check(dir.path());
  INFO(clean.out << clean.err);
  CHECK(clean.exit_code == 0);
  CHECK(clean.out.find("500") != std::string::npos);
}

TEST_CASE("a flipped byte in an SST: check names the file, the server shows it in /health, answers leak no path") {
  TempDir dir;
  fill(dir.path(), 5000);
  fs::path sst = largest(dir.path(), ".sst");
  flip_byte(sst, fs::file_size(sst) / 3);

  auto checked = check(dir.path());
  INFO(checked.out << checked.err);
  CHECK(checked.exit_code != 0);
  CHECK((checked.out + checked.err).find(sst.filename().string()) != std::string::npos);

  ServerProcess server(dir.path());
  HttpClient client(server.port);
  // Reading the damaged range fails, without the directory's path.
  ordersd::test::HttpResponse events;
  for (int from = 1; from <= 5000; from += 1000) {
    events = client.get("/events?from=" + std::to_string(from) + "&limit=1000");
    if (events.status != 200) break;
  }
  INFO(events.status << " " << events.body);
  CHECK(events.status == 500);
  CHECK(events.body.find(dir.path()) == std::string::npos);
  // Something met the damage: /health says so, within a few seconds.
  json health;
  for (int i = 0; i < 100; ++i) {
    auto r = client.get("/health");
    CHECK(r.body.find(dir.path()) == std::string::npos);
    health = json::parse(r.body);
    if (health["status"] == "degraded") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  INFO(health.dump());
  CHECK(health["status"] == "degraded");
  CHECK(health.dump().find("corrupt") != std::string::npos);
  server.stop();
}

TEST_CASE("a flipped byte mid-WAL: check and the server's refusal name the file and suggest ordersd check") {
  TempDir dir;
  {
    ServerProcess server(dir.path(), {"--durability", "async"});
    HttpClient client(server.port);
    for (int i = 0; i < 200; ++i) {
      auto r = client.request("POST", "/customers/c" + std::to_string(i) + "/deposits", R"({"amount_cents":5})",
                              {{"Idempotency-Key", "k-" + std::to_string(i)}});
      REQUIRE(r.status == 200);
    }
    server.process.signal(SIGKILL);  // nothing flushed: the WAL holds it all
    server.process.wait();
  }
  fs::path wal = largest(dir.path(), ".log");
  flip_byte(wal, fs::file_size(wal) / 2);

  auto checked = check(dir.path());
  INFO(checked.out << checked.err);
  CHECK(checked.exit_code != 0);
  CHECK((checked.out + checked.err).find(wal.filename().string()) != std::string::npos);

  auto served = ordersd::test::run({ORDERSD_BINARY, "serve", "--data", dir.path(), "--listen", "127.0.0.1:0"});
  INFO(served.err);
  CHECK(served.exit_code != 0);
  CHECK(served.err.find(wal.filename().string()) != std::string::npos);
  CHECK(served.err.find("ordersd check") != std::string::npos);
}
