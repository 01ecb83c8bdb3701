// What a real `ordersd serve` writes on stderr: the start-up line with its
// configuration, one access line per request with --access-log, the saga's
// cancellations, the shutdown lines, the level threshold and the text format.
// The server's stderr goes to a file (see support/process.h), read here.
#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "support/http_client.h"
#include "support/order_body.h"
#include "support/process.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

using nlohmann::json;
using ordersd::test::HttpClient;
using ordersd::test::Process;
using ordersd::test::ServerProcess;
using ordersd::test::TempDir;
using namespace std::chrono_literals;

using ordersd::test::order_body;
namespace {

const std::regex kTimestamp(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)");

// The whole lines written so far (one still being written is left out).
std::vector<std::string> lines_of(const Process& p) {
  std::string text = p.stderr_so_far();
  text.erase(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Every line as JSON: with --log-format json, nothing else may be on stderr.
std::vector<json> json_lines(const Process& p) {
  std::vector<json> out;
  for (const auto& line : lines_of(p)) {
    INFO("stderr line: " << line);
    REQUIRE(json::accept(line));
    out.push_back(json::parse(line));
  }
  return out;
}

std::vector<json> with(const std::vector<json>& lines, const std::string& component, const std::string& msg = "") {
  std::vector<json> out;
  for (const auto& j : lines) {
    if (j.value("component", "") == component && (msg.empty() || j.value("msg", "") == msg)) out.push_back(j);
  }
  return out;
}

// Polls the server's stderr until a line satisfies `match` or 10 s pass.
std::optional<json> wait_for_line(const Process& p, const std::function<bool(const json&)>& match) {
  auto until = std::chrono::steady_clock::now() + 10s;
  for (;;) {
    for (const auto& j : json_lines(p)) {
      if (match(j)) return j;
    }
    if (std::chrono::steady_clock::now() > until) return std::nullopt;
    std::this_thread::sleep_for(10ms);  // between reads of a file nothing signals
  }
}


}  // namespace

TEST_CASE("serve --log-format json --access-log: a start-up line, a line per request, shutdown lines") {
  TempDir dir;
  const std::string data = dir.sub("data");
  ServerProcess server(data, {"--log-format", "json", "--access-log", "--durability", "async"});
  const Process& p = server.process;

  // Written once the server listens, just after the line on stdout.
  auto started = wait_for_line(p, [](const json& j) { return j["component"] == "serve" && j["msg"] == "started"; });
  REQUIRE_MESSAGE(started, p.stderr_so_far());
  CHECK(std::regex_match(started->at("ts").get<std::string>(), kTimestamp));
  CHECK(started->at("level") == "info");
  CHECK(started->at("data_dir") == data);
  CHECK(started->at("roles") == "all");
  CHECK(started->at("durability") == "async");
  CHECK(started->at("listen") == "127.0.0.1:" + std::to_string(server.port));
  CHECK(started->at("io_threads") == "2");
  CHECK(started->contains("log_head"));
  CHECK(started->contains("workers"));
  CHECK(started->contains("max_body_bytes"));
  CHECK(started->contains("idempotency_ttl_s"));
  CHECK_FALSE(started->contains("bus"));
  CHECK(started->at("tls") == "off");
  CHECK_FALSE(started->contains("tls_client_certs"));

  HttpClient client(server.port);
  const std::string secret = "key-7f3a9c-never-logged";
  REQUIRE(client.request("POST", "/customers/ann/deposits", R"({"amount_cents": 500})", {{"Idempotency-Key", secret}})
              .status == 200);
  REQUIRE(client.get("/orders/o-missing").status == 404);
  REQUIRE(client.get("/no/such/route").status == 404);

  // An access line is written before its answer is sent: no waiting here.
  auto access = with(json_lines(p), "http", "request");
  REQUIRE(access.size() == 3);
  CHECK(access[0]["level"] == "info");
  CHECK(access[0]["method"] == "POST");
  CHECK(access[0]["route"] == "/customers/{id}/deposits");
  CHECK(access[0]["status"] == "200");
  CHECK(access[0]["idempotency_key"] == "true");
  CHECK(std::stod(access[0]["latency_ms"].get<std::string>()) >= 0);
  CHECK(access[1]["method"] == "GET");
  CHECK(access[1]["route"] == "/orders/{id}");
  CHECK(access[1]["status"] == "404");
  CHECK(access[1]["idempotency_key"] == "false");
  CHECK(access[2]["route"] == "/no/such/route");  // no pattern matched: the path
  CHECK(access[2]["status"] == "404");
  CHECK(p.stderr_so_far().find(secret) == std::string::npos);

  REQUIRE(server.stop() == 0);
  auto lines = json_lines(p);
  auto shutting = with(lines, "serve", "shutting down");
  REQUIRE(shutting.size() == 1);
  CHECK(shutting[0]["signal"] == "SIGTERM");
  REQUIRE_FALSE(lines.empty());
  CHECK(lines.back()["component"] == "serve");
  CHECK(lines.back()["msg"] == "stopped");
}

TEST_CASE("the saga logs an order it cancels, with the reason") {
  TempDir dir;
  ServerProcess server(dir.path(), {"--log-format", "json"});
  HttpClient client(server.port);
  REQUIRE(client.request("POST", "/inventory/mug/restock", R"({"quantity": 10})").status == 200);
  // No deposit: the charge is declined and the saga cancels the order.
  REQUIRE(client.request("POST", "/orders", order_body("o-broke", "broke").dump()).status == 201);
  auto cancelled = wait_for_line(server.process, [](const json& j) {
    return j["component"] == "saga" && j.value("order_id", "") == "o-broke";
  });
  REQUIRE_MESSAGE(cancelled, server.process.stderr_so_far());
  CHECK(cancelled->at("level") == "info");
  CHECK(cancelled->at("msg") == "order cancelled");
  CHECK(cancelled->at("reason") == "payment_declined");
  // Without --access-log, no request is logged.
  CHECK(with(json_lines(server.process), "http").empty());
  CHECK(server.stop() == 0);
}

TEST_CASE("serve --log-level warn writes nothing in a quiet run; text lines are TIME LEVEL COMPONENT: MESSAGE k=v") {
  {
    TempDir dir;
    ServerProcess server(dir.path(), {"--log-level", "warn", "--access-log"});
    HttpClient client(server.port);
    REQUIRE(client.get("/health").status == 200);
    REQUIRE(server.stop() == 0);
    // Only the warning that a server with no credentials lets anyone in.
    auto lines = lines_of(server.process);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find(" warn  serve: no --tokens or --jwks: every client that reaches the port may do anything") !=
          std::string::npos);
  }
  {
    TempDir dir;
    ServerProcess server(dir.path(), {"--log-format", "text", "--log-level", "debug"});
    REQUIRE(server.stop() == 0);
    auto lines = lines_of(server.process);
    REQUIRE(lines.size() >= 3);
    std::smatch m;
    REQUIRE_MESSAGE(std::regex_match(lines[0], m, std::regex(R"((\S+) info  serve: started data_dir=(\S+) .*)")),
                    lines[0]);
    CHECK(std::regex_match(m[1].str(), kTimestamp));
    CHECK(m[2] == dir.path());
    CHECK(lines[0].find(" roles=all ") != std::string::npos);
    CHECK(lines[0].find(" durability=fsync ") != std::string::npos);
    CHECK(std::regex_match(lines.back(), std::regex(R"(\S+Z info  serve: stopped)")));
  }
  auto bad = ordersd::test::run({ORDERSD_BINARY, "serve", "--log-level", "loud"});
  CHECK(bad.exit_code != 0);
  CHECK(bad.err.find("--log-level") != std::string::npos);
}
