// The HTTP edge under connection pressure, against a real `ordersd serve`: a
// request header must arrive within its deadline, one address cannot hold
// every connection, and running out of file descriptors neither spins the
// accept loop nor floods the log.
#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>
#include <vector>

#include "support/process.h"
#include "support/raw_socket.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

using namespace ordersd;
using ordersd::test::Process;
using ordersd::test::RawSocket;
using ordersd::test::ServerProcess;
using ordersd::test::status_of;
using ordersd::test::TempDir;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

const std::string kLive = "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n";

// One request on a fresh connection; its status, or 0 without an answer in `timeout`.
int live_status(uint16_t port, milliseconds timeout) {
  try {
    RawSocket socket(port);
    if (!socket.send(kLive)) return 0;
    return status_of(socket.read_response(timeout).data);
  } catch (const std::exception&) {
    return 0;
  }
}

// Polls `live_status` until it answers 200 or `deadline` passes.
bool live_within(uint16_t port, milliseconds deadline) {
  auto until = Clock::now() + deadline;
  while (Clock::now() < until) {
    if (live_status(port, milliseconds(500)) == 200) return true;
  }
  return false;
}

size_t lines(const std::string& text) { return static_cast<size_t>(std::count(text.begin(), text.end(), '\n')); }

// CPU seconds (user + system) the process has used so far.
double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string skip;
  for (int i = 0; i < 11; ++i) fields >> skip;  // state .. cmajflt: fields 3 to 13
  unsigned long long utime = 0, stime = 0;
  fields >> utime >> stime;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace

TEST_CASE("a request header dribbled slower than its deadline gets the connection closed") {
  ::signal(SIGPIPE, SIG_IGN);
  TempDir dir;
  ServerProcess server(dir.path(), {"--header-timeout-ms", "300"});

  auto dribble = [&](RawSocket& socket) {
    // One byte every 50 ms: each read succeeds, the header never completes in time.
    const std::string header = "GET /health/live HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(200, 'a');
    auto first_byte = Clock::now();
    for (char c : header) {
      if (!socket.send(std::string(1, c))) break;
      auto received = socket.read_until_closed(milliseconds(50));
      if (received.closed || !received.data.empty()) {
        if (!received.data.empty()) CHECK_MESSAGE(status_of(received.data) == 408, received.data);
        return Clock::now() - first_byte;
      }
      if (Clock::now() - first_byte > std::chrono::seconds(5)) break;
    }
    CHECK(socket.closed_within(milliseconds(100)));
    return Clock::now() - first_byte;
  };

  SUBCASE("the first request on a connection") {
    RawSocket socket(server.port);
    auto took = dribble(socket);
    CHECK(took < milliseconds(300 + 1500));
    CHECK(took >= milliseconds(250));
  }
  SUBCASE("a later request on a kept-alive connection") {
    RawSocket socket(server.port);
    REQUIRE(socket.send(kLive));
    REQUIRE(status_of(socket.read_response(std::chrono::seconds(10)).data) == 200);
    auto took = dribble(socket);
    CHECK(took < milliseconds(300 + 1500));
  }
  SUBCASE("a connection that sends nothing waits for its idle timeout, not the header deadline") {
    RawSocket socket(server.port);
    CHECK_FALSE(socket.closed_within(milliseconds(800)));
    REQUIRE(socket.send(kLive));
    CHECK(status_of(socket.read_response(std::chrono::seconds(10)).data) == 200);
  }
  CHECK(live_status(server.port, std::chrono::seconds(10)) == 200);
}

TEST_CASE("one address holds at most --max-connections-per-ip connections") {
  ::signal(SIGPIPE, SIG_IGN);
  TempDir dir;
  ServerProcess server(dir.path(), {"--max-connections-per-ip", "4"});
  std::vector<std::unique_ptr<RawSocket>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<RawSocket>(server.port));
    REQUIRE(held.back()->send(kLive));
    REQUIRE(status_of(held.back()->read_response(std::chrono::seconds(10)).data) == 200);
  }
  {
    RawSocket fifth(server.port);
    fifth.send(kLive);
    auto answer = fifth.read_until_closed(std::chrono::seconds(5));
    INFO("answer: " << answer.data);
    CHECK(answer.closed);
    CHECK((answer.data.empty() || status_of(answer.data) == 503));
  }
  // The four are still served.
  for (auto& socket : held) {
    REQUIRE(socket->send(kLive));
    CHECK(status_of(socket->read_response(std::chrono::seconds(10)).data) == 200);
  }
  // One closes; a new connection gets its place.
  held.pop_back();
  CHECK(live_within(server.port, std::chrono::seconds(10)));
}

TEST_CASE("out of file descriptors: excess connections are refused, the log stays quiet, and the server recovers") {
  ::signal(SIGPIPE, SIG_IGN);
  TempDir dir;
  Process process({"/usr/bin/prlimit", "--nofile=256:256", ORDERSD_BINARY, "serve", "--data", dir.path(), "--listen",
                   "127.0.0.1:0", "--threads", "2", "--paused", "saga"});
  auto line = process.read_line(std::chrono::seconds(30));
  REQUIRE_MESSAGE((line && line->starts_with("listening on 127.0.0.1:")), process.stderr_so_far());
  const uint16_t port = static_cast<uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));
  REQUIRE(live_status(port, std::chrono::seconds(10)) == 200);
  const size_t stderr_before = lines(process.stderr_so_far());

  // More idle connections than the server has descriptors for.
  std::vector<std::unique_ptr<RawSocket>> idle;
  for (int i = 0; i < 400; ++i) idle.push_back(std::make_unique<RawSocket>(port));

  // Saturated, the server does not spin.
  const double cpu_before = cpu_seconds(process.pid());
  std::this_thread::sleep_for(std::chrono::seconds(1));  // the window CPU use is measured over
  const double cpu_used = cpu_seconds(process.pid()) - cpu_before;
  CHECK_MESSAGE(cpu_used < 0.3, cpu_used << " s of CPU in 1 s while saturated");

  // Some idle ones go away; a new connection is served promptly.
  idle.erase(idle.begin(), idle.begin() + 100);
  auto start = Clock::now();
  CHECK(live_within(port, std::chrono::seconds(5)));
  MESSAGE("served after " << std::chrono::duration_cast<milliseconds>(Clock::now() - start).count() << " ms");

  const std::string err = process.stderr_so_far();
  CHECK_MESSAGE(lines(err) <= stderr_before + 5, err.substr(0, 2000));
  idle.clear();
  process.signal(SIGTERM);
  CHECK(process.wait() == 0);
}
