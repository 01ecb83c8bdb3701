// The ordersd binary as a user runs it: --help, --version, `serve` over real
// HTTP on an ephemeral loopback port with SIGTERM shutdown, --listen by host
// name, settings from a config file and the environment, `events` (by
// stream, order and type, pretty, following a running server), and the
// read-only commands on a missing directory.
#include <doctest/doctest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "app/serve.h"
#include "events/event_log.h"
#include "support/http_client.h"
#include "support/process.h"
#include "support/server_process.h"
#include "support/sample_events.h"
#include "support/temp_dir.h"

using namespace ordersd;
using ordersd::test::HttpClient;
using ordersd::test::Process;
using ordersd::test::TempDir;

namespace {

const std::string kBinary = ORDERSD_BINARY;

using Server = ordersd::test::ServerProcess;

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// `ordersd ARGS...` with extra environment variables ("NAME=value").
test::Completed run_with_env(const std::vector<std::string>& env, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/env"};
  argv.insert(argv.end(), env.begin(), env.end());
  argv.push_back(kBinary);
  argv.insert(argv.end(), args.begin(), args.end());
  return test::run(argv);
}

// The `key = value` line --print-config wrote for `key`, or "" when none.
std::string setting(const std::string& toml, const std::string& key) {
  std::istringstream in(toml);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(key + " = ")) return line.substr(key.size() + 3);
  }
  return "";
}

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace

TEST_CASE("--version prints the version and --help lists the sub-commands and the durability trade-off") {
  auto version = test::run({kBinary, "--version"});
  CHECK(version.exit_code == 0);
  CHECK(version.out.find(ORDERSD_VERSION) != std::string::npos);

  auto help = test::run({kBinary, "--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.out.find("serve") != std::string::npos);
  CHECK(help.out.find("events") != std::string::npos);
  CHECK(help.out.find("async") != std::string::npos);

  auto serve_help = test::run({kBinary, "serve", "--help"});
  CHECK(serve_help.exit_code == 0);
  CHECK(serve_help.out.find("--durability") != std::string::npos);
  CHECK(serve_help.out.find("power loss") != std::string::npos);
}

TEST_CASE("bad command lines exit non-zero with a message") {
  auto none = test::run({kBinary});
  CHECK(none.exit_code != 0);
  auto durability = test::run({kBinary, "serve", "--durability", "sometimes"});
  CHECK(durability.exit_code != 0);
  CHECK(durability.err.find("durability") != std::string::npos);
  auto listen = test::run({kBinary, "serve", "--listen", "nowhere"});
  CHECK(listen.exit_code != 0);
  CHECK(listen.err.find("HOST:PORT") != std::string::npos);
  for (const char* ship_to : {"nl", "NL,", "NLD", "", "US,,CA"}) {
    INFO("--ship-to '" << ship_to << "'");
    auto countries = test::run({kBinary, "serve", "--ship-to", ship_to});
    CHECK(countries.exit_code == 2);
    CHECK(countries.err.find("--ship-to") != std::string::npos);
  }
  auto paused = test::run({kBinary, "serve", "--paused", "billing"});
  CHECK(paused.exit_code != 0);
  CHECK(paused.err.find("billing") != std::string::npos);
  auto timeout = test::run({kBinary, "serve", "--step-timeout", "0"});
  CHECK(timeout.exit_code != 0);
  CHECK(timeout.err.find("step-timeout") != std::string::npos);
  auto roles = test::run({kBinary, "serve", "--roles", "order,billing", "--bus", "nats://127.0.0.1:1"});
  CHECK(roles.exit_code == 2);
  CHECK(roles.err.find("unknown role 'billing'") != std::string::npos);
  auto no_bus = test::run({kBinary, "serve", "--roles", "payment"});
  CHECK(no_bus.exit_code == 2);
  CHECK(no_bus.err.find("needs --bus") != std::string::npos);
  auto node = test::run({kBinary, "serve", "--roles", "query", "--bus", "nats://127.0.0.1:1", "--node", "a.b"});
  CHECK(node.exit_code == 2);
  CHECK(node.err.find("--node") != std::string::npos);
}

TEST_CASE("serve answers /health over HTTP and exits 0 on SIGTERM") {
  TempDir dir;
  Server server(dir.sub("data"));
  {
    HttpClient client(server.port);
    auto health = client.get("/health");
    CHECK(health.status == 200);
    CHECK(health.header("content-type") == "application/json");
    auto body = nlohmann::json::parse(health.body);
    CHECK(body["status"] == "ok");
    CHECK(body["head"] == 0);

    // Keep-alive: the same connection answers again.
    CHECK(client.get("/health").status == 200);

    auto wrong_method = client.request("DELETE", "/health");
    CHECK(wrong_method.status == 405);
    CHECK(wrong_method.header("allow") == "GET, HEAD");
    CHECK(wrong_method.header("content-type") == "application/problem+json");

    auto unknown = client.get("/nothing-here");
    CHECK(unknown.status == 404);
    auto problem = nlohmann::json::parse(unknown.body);
    CHECK(problem["status"] == 404);
    CHECK(problem["title"] == "Not Found");
    CHECK(problem.contains("type"));
    CHECK(problem.contains("detail"));
  }
  server.process.signal(SIGTERM);
  CHECK(server.process.wait() == 0);
}

TEST_CASE("serve answers pipelined requests on one connection in order") {
  TempDir dir;
  Server server(dir.sub("data"));
  HttpClient client(server.port);
  auto first = client.raw(
      "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(first.status == 200);
  // The two answers still queued on the connection follow in request order.
  auto second = client.raw("");
  CHECK(second.status == 404);
  auto third = client.raw("");
  CHECK(third.status == 200);
  server.process.signal(SIGINT);
  CHECK(server.process.wait() == 0);
}

TEST_CASE("serve rejects malformed and oversized requests with problem+json") {
  TempDir dir;
  Server server(dir.sub("data"));
  {
    HttpClient client(server.port);
    auto garbage = client.raw("THIS IS NOT HTTP\r\n\r\n");
    CHECK(garbage.status == 400);
    CHECK(garbage.header("content-type") == "application/problem+json");
  }
  {
    HttpClient client(server.port);
    auto truncated = client.raw("POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\":", true);
    CHECK(truncated.status == 400);
    CHECK(truncated.header("content-type") == "application/problem+json");
  }
  {
    HttpClient client(server.port);
    // The declared length alone is refused, before the body is read.
    auto big = client.raw("POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\n" +
                          std::string(1000, 'x'));
    CHECK(big.status == 413);
    CHECK(big.header("content-type") == "application/problem+json");
  }
  {
    // A chunked body that grows past the limit is cut off as it arrives.
    HttpClient client(server.port);
    std::string chunk(64 << 10, 'x');
    std::string request = "POST /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
    for (int i = 0; i < 17; ++i) request += size + chunk + "\r\n";
    auto big = client.raw(request);
    CHECK(big.status == 413);
  }
  server.process.signal(SIGTERM);
  CHECK(server.process.wait() == 0);
}

TEST_CASE("a second server on the same data directory exits with a clear error") {
  TempDir dir;
  Server server(dir.sub("data"));
  auto second = test::run({kBinary, "serve", "--data", dir.sub("data"), "--listen", "127.0.0.1:0"});
  CHECK(second.exit_code == 1);
  CHECK(second.err.find("in use by another process") != std::string::npos);
  server.process.signal(SIGTERM);
  CHECK(server.process.wait() == 0);
}

TEST_CASE("events prints the log as JSON lines, whole or by stream, with --from and --limit") {
  TempDir dir;
  std::vector<events::NewEvent> appended;
  {
    auto log = events::EventLog::open(dir.path()).value();
    for (int i = 0; i < 5; ++i) {
      auto e = test::order_placed("order-" + std::to_string(i % 2));
      appended.push_back(e);
      REQUIRE(log->append("order-" + std::to_string(i % 2), events::ExpectedVersion::any(), {e}).is_ok());
    }
  }
  auto all = test::run({kBinary, "events", "--data", dir.path()});
  REQUIRE(all.exit_code == 0);
  auto lines = json_lines(all.out);
  REQUIRE(lines.size() == 5);
  for (size_t i = 0; i < lines.size(); ++i) {
    CHECK(lines[i]["position"] == i + 1);
    CHECK(lines[i]["id"] == appended[i].id.to_string());
    CHECK(lines[i]["type"] == "order.placed.v1");
    CHECK(lines[i]["payload"]["order_id"] == "order-" + std::to_string(i % 2));
    CHECK(lines[i].contains("time"));
    CHECK(lines[i].contains("correlation_id"));
    CHECK(lines[i].contains("causation_id"));
  }

  auto page = json_lines(test::run({kBinary, "events", "--data", dir.path(), "--from", "2", "--limit", "2"}).out);
  REQUIRE(page.size() == 2);
  CHECK(page[0]["position"] == 2);
  CHECK(page[1]["position"] == 3);

  auto stream = json_lines(test::run({kBinary, "events", "--data", dir.path(), "--stream", "order-1"}).out);
  REQUIRE(stream.size() == 2);
  CHECK(stream[0]["version"] == 1);
  CHECK(stream[1]["version"] == 2);
  CHECK(stream[1]["position"] == 4);
}

TEST_CASE("events reads a log while a server holds it") {
  TempDir dir;
  {
    auto log = events::EventLog::open(dir.path()).value();
    // Not in an order's stream, so no saga starts and the log stays at one event.
    REQUIRE(log->append("archive-1", events::ExpectedVersion::any(), {test::order_placed("order-1")}).is_ok());
  }
  Server server(dir.path());
  auto out = test::run({kBinary, "events", "--data", dir.path()});
  CHECK(out.exit_code == 0);
  CHECK(json_lines(out.out).size() == 1);
  server.process.signal(SIGTERM);
  CHECK(server.process.wait() == 0);
}

TEST_CASE("replay rebuilds every view, or one, with progress; it refuses a directory a server holds") {
  TempDir dir;
  {
    auto log = events::EventLog::open(dir.path()).value();
    for (int i = 0; i < 3; ++i) {
      std::string id = "order-" + std::to_string(i);
      REQUIRE(log->append("order-" + id, events::ExpectedVersion::no_stream(), {test::order_placed(id)}).is_ok());
    }
  }
  auto all = test::run({kBinary, "replay", "--data", dir.path()});
  CHECK(all.exit_code == 0);
  for (const char* view : {"view-orders", "view-customers", "view-inventory", "view-stats"}) {
    CHECK(all.out.find(std::string(view) + ": rebuilt from 3 events") != std::string::npos);
  }
  auto one = test::run({kBinary, "replay", "--data", dir.path(), "--view", "view-orders"});
  CHECK(one.exit_code == 0);
  CHECK(one.out.find("view-customers") == std::string::npos);
  auto unknown = test::run({kBinary, "replay", "--data", dir.path(), "--view", "orders"});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.find("view-orders") != std::string::npos);

  Server server(dir.path());
  auto held = test::run({kBinary, "replay", "--data", dir.path()});
  CHECK(held.exit_code == 1);
  CHECK(held.err.find("in use") != std::string::npos);
  server.process.signal(SIGTERM);
  CHECK(server.process.wait() == 0);
}

TEST_CASE("--listen takes a host name, binds its first address and says which; an unknown name is refused") {
  CHECK(app::is_loopback("localhost"));
  CHECK(app::is_loopback("127.0.0.1"));
  CHECK(app::is_loopback("127.1.2.3"));
  CHECK(app::is_loopback("::1"));
  CHECK(app::is_loopback("::ffff:127.0.0.1"));
  CHECK_FALSE(app::is_loopback("0.0.0.0"));
  CHECK_FALSE(app::is_loopback("192.0.2.1"));
  CHECK_FALSE(app::is_loopback("no-such-host.invalid"));
  auto resolved = app::resolve_listen_host("localhost");
  REQUIRE(resolved.is_ok());
  CHECK(app::is_loopback(resolved->address));
  CHECK(resolved->candidates.front() == resolved->address);

  TempDir dir;
  Process server({kBinary, "serve", "--data", dir.sub("data"), "--listen", "localhost:0"});
  auto line = server.read_line();
  REQUIRE(line);
  // Open access is allowed: localhost is loopback.
  CHECK(line->starts_with("listening on " + resolved->address + ":"));
  uint16_t port = static_cast<uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));
  if (resolved->address == "127.0.0.1") CHECK(HttpClient(port).get("/health").status == 200);
  server.signal(SIGTERM);
  CHECK(server.wait() == 0);
  std::string log = server.read_all_stderr();
  CHECK(log.find("resolved the --listen host") != std::string::npos);
  CHECK(log.find("host=localhost address=" + resolved->address) != std::string::npos);

  auto unknown = test::run({kBinary, "serve", "--data", dir.sub("unknown"), "--listen", "no-such-host.invalid:0"});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.find("cannot resolve the --listen host 'no-such-host.invalid'") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.sub("unknown")));
}

TEST_CASE("events takes an order, types and --format pretty; a stream with no events is an error") {
  TempDir dir;
  {
    auto log = events::EventLog::open(dir.path()).value();
    for (int i = 0; i < 4; ++i) {
      std::string id = "o-" + std::to_string(i % 2);
      REQUIRE(log->append("order-" + id, events::ExpectedVersion::any(), {test::order_placed(id)}).is_ok());
    }
  }
  auto order = json_lines(test::run({kBinary, "events", "--data", dir.path(), "--order", "o-1"}).out);
  REQUIRE(order.size() == 2);
  CHECK(order[0]["stream"] == "order-o-1");
  CHECK(order[1]["position"] == 4);

  auto typed = test::run({kBinary, "events", "--data", dir.path(), "--type", "order.placed.v1,order.cancelled.v1",
                          "--type", "order.delivered.v1", "--limit", "3"});
  CHECK(typed.exit_code == 0);
  CHECK(json_lines(typed.out).size() == 3);
  auto none_of_type = test::run({kBinary, "events", "--data", dir.path(), "--type", "order.cancelled.v1"});
  CHECK(none_of_type.exit_code == 0);
  CHECK(none_of_type.out.empty());
  auto bad_type = test::run({kBinary, "events", "--data", dir.path(), "--type", "order.placed"});
  CHECK(bad_type.exit_code == 2);
  CHECK(bad_type.err.find("no event type 'order.placed'") != std::string::npos);

  auto pretty = test::run({kBinary, "events", "--data", dir.path(), "--order", "o-0", "--format", "pretty"});
  CHECK(pretty.exit_code == 0);
  std::istringstream lines(pretty.out);
  std::string first;
  std::getline(lines, first);
  CHECK(first.starts_with("1  20"));
  CHECK(first.find("Z  order-o-0@1  order.placed.v1  ") != std::string::npos);
  CHECK(first.find("customer_id=") != std::string::npos);
  CHECK(first.find("items=[") != std::string::npos);
  CHECK(first.size() <= 160);

  for (const std::vector<std::string>& which : {std::vector<std::string>{"--order", "o-9"},
                                                std::vector<std::string>{"--stream", "o-1"}}) {
    std::vector<std::string> argv = {kBinary, "events", "--data", dir.path()};
    argv.insert(argv.end(), which.begin(), which.end());
    auto missing = test::run(argv);
    CHECK(missing.exit_code == 1);
    CHECK(missing.out.empty());
    CHECK(missing.err.find("no events in stream '" + std::string(which[0] == "--order" ? "order-o-9" : "o-1") +
                           "'") != std::string::npos);
  }
  auto both = test::run({kBinary, "events", "--data", dir.path(), "--order", "o-1", "--stream", "order-o-1"});
  CHECK(both.exit_code != 0);
}

TEST_CASE("events --follow prints what a running server appends, until SIGTERM") {
  TempDir dir;
  {
    auto log = events::EventLog::open(dir.path()).value();
    REQUIRE(log->append("archive-1", events::ExpectedVersion::any(), {test::order_placed("order-1")}).is_ok());
  }
  ordersd::test::SagaPausedServer server(dir.path());
  Process follow({kBinary, "events", "--data", dir.path(), "--follow", "--type", "order.placed.v1"});
  auto first = follow.read_line(std::chrono::seconds(10));
  REQUIRE(first);
  CHECK(nlohmann::json::parse(*first)["stream"] == "archive-1");

  HttpClient client(server.port);
  nlohmann::json body = {{"order_id", "f-1"},
                         {"customer_id", "customer-1"},
                         {"items", {{{"sku", "sku-beans"}, {"quantity", 1}, {"unit_price_cents", 1899}}}},
                         {"shipping_address",
                          {{"country", "NL"}, {"city", "Amsterdam"}, {"line1", "Keizersgracht 1"},
                           {"postal_code", "1015CD"}}}};
  REQUIRE(client.request("POST", "/orders", body.dump(), {{"Content-Type", "application/json"}}).status == 201);
  auto appended = follow.read_line(std::chrono::seconds(10));
  REQUIRE(appended);
  auto event = nlohmann::json::parse(*appended);
  CHECK(event["stream"] == "order-f-1");
  CHECK(event["type"] == "order.placed.v1");

  follow.signal(SIGTERM);
  CHECK(follow.wait() == 0);
  CHECK(server.stop() == 0);
}

TEST_CASE("events, check and replay on a missing directory say so and create nothing") {
  TempDir dir;
  std::string missing = dir.sub("missing");
  for (const char* command : {"events", "check", "replay"}) {
    INFO(command);
    auto out = test::run({kBinary, command, "--data", missing});
    CHECK(out.exit_code == 2);
    CHECK(out.err.find("no data directory at '" + missing + "'") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(missing));
  }
  auto follow = test::run({kBinary, "events", "--data", missing, "--follow"});
  CHECK(follow.exit_code == 2);
  CHECK_FALSE(std::filesystem::exists(missing));
}

TEST_CASE("serve's settings come from flags, ORDERSD_* variables and a TOML file, in that order") {
  TempDir dir;
  std::string file = dir.sub("ordersd.toml");
  write_file(file,
             "# a comment\n"
             "workers = 3\n"
             "listen = \"127.0.0.1:9001\"\n"
             "ship-to = \"NL,DE\"\n"
             "paused = [\"payment\", \"shipping\"]\n"
             "access-log = true\n"
             "durability = \"async\"\n");

  auto defaults = test::run({kBinary, "serve", "--print-config"});
  REQUIRE(defaults.exit_code == 0);
  CHECK(setting(defaults.out, "workers") == "2");
  CHECK(setting(defaults.out, "listen") == "\"127.0.0.1:8080\"");
  CHECK(setting(defaults.out, "access-log") == "false");
  CHECK(defaults.out.find("# tokens = (not set)") != std::string::npos);

  auto from_file = test::run({kBinary, "serve", "--config", file, "--print-config"});
  REQUIRE(from_file.exit_code == 0);
  CHECK(setting(from_file.out, "workers") == "3");
  CHECK(setting(from_file.out, "listen") == "\"127.0.0.1:9001\"");
  CHECK(setting(from_file.out, "ship-to") == "\"NL,DE\"");
  CHECK(setting(from_file.out, "paused") == "[\"payment\", \"shipping\"]");
  CHECK(setting(from_file.out, "access-log") == "true");
  CHECK(setting(from_file.out, "durability") == "\"async\"");

  auto from_env = run_with_env({"ORDERSD_WORKERS=5", "ORDERSD_LISTEN=127.0.0.1:9002", "ORDERSD_CONFIG=" + file,
                                "ORDERSD_INSECURE=true"},
                               {"serve", "--print-config"});
  REQUIRE(from_env.exit_code == 0);
  CHECK(setting(from_env.out, "workers") == "5");                    // environment over file
  CHECK(setting(from_env.out, "listen") == "\"127.0.0.1:9002\"");
  CHECK(setting(from_env.out, "ship-to") == "\"NL,DE\"");             // the file over defaults
  CHECK(setting(from_env.out, "insecure") == "true");

  auto from_flags = run_with_env({"ORDERSD_WORKERS=5"}, {"serve", "--config", file, "--workers", "7",
                                                         "--listen", "127.0.0.1:9003", "--print-config"});
  REQUIRE(from_flags.exit_code == 0);
  CHECK(setting(from_flags.out, "workers") == "7");                   // the command line over everything
  CHECK(setting(from_flags.out, "listen") == "\"127.0.0.1:9003\"");
  CHECK(setting(from_flags.out, "durability") == "\"async\"");

  // --print-config opened nothing: no data directory appeared.
  auto nothing_opened = test::run({kBinary, "serve", "--data", dir.sub("never"), "--print-config"});
  CHECK(nothing_opened.exit_code == 0);
  CHECK_FALSE(std::filesystem::exists(dir.sub("never")));

  // The help names each variable.
  CHECK(test::run({kBinary, "serve", "--help"}).out.find("ORDERSD_LISTEN") != std::string::npos);
}

TEST_CASE("--print-config round-trips through --config and never shows a secret") {
  TempDir dir;
  auto first = test::run({kBinary, "serve", "--data", dir.sub("d a t a"), "--listen", "[::1]:9100", "--workers", "4",
                          "--paused", "saga,inventory", "--ship-to", "US,CA", "--rate-limit", "50:100",
                          "--insecure", "--log-format", "json", "--jwt-issuer", "https://id.example/realm \"x\"",
                          "--print-config"});
  REQUIRE(first.exit_code == 0);
  std::string file = dir.sub("printed.toml");
  write_file(file, first.out);
  auto second = test::run({kBinary, "serve", "--config", file, "--print-config"});
  REQUIRE(second.exit_code == 0);
  CHECK(second.out == first.out);
  CHECK(setting(second.out, "jwt-issuer") == "'https://id.example/realm \"x\"'");

  auto secret = test::run({kBinary, "serve", "--roles", "order", "--bus", "nats://orders:s3cr3t@127.0.0.1:4222",
                           "--print-config"});
  REQUIRE(secret.exit_code == 0);
  CHECK(secret.out.find("s3cr3t") == std::string::npos);
  CHECK(setting(secret.out, "bus") == "\"nats://orders:***@127.0.0.1:4222\"");
}

TEST_CASE("a config file with an unknown key or a bad value is refused, naming it") {
  TempDir dir;
  std::string file = dir.sub("bad.toml");
  write_file(file, "workers = 2\nlistne = \"127.0.0.1:1\"\n");
  auto unknown = test::run({kBinary, "serve", "--config", file, "--print-config"});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.find("unknown key 'listne'") != std::string::npos);

  write_file(file, "[serve]\nworkers = 2\n");
  auto section = test::run({kBinary, "serve", "--config", file, "--print-config"});
  CHECK(section.exit_code == 2);
  CHECK(section.err.find("unknown key 'serve.workers'") != std::string::npos);

  write_file(file, "durability = \"sometimes\"\n");
  auto bad = test::run({kBinary, "serve", "--config", file, "--print-config"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("durability") != std::string::npos);

  auto absent = test::run({kBinary, "serve", "--config", dir.sub("absent.toml"), "--print-config"});
  CHECK(absent.exit_code == 2);
  CHECK(absent.err.find("cannot read the config file") != std::string::npos);
}

TEST_CASE("a server takes its settings from a config file and the environment") {
  TempDir dir;
  std::string file = dir.sub("ordersd.toml");
  write_file(file, "listen = \"127.0.0.1:0\"\nworkers = 1\n");
  Process server({"/usr/bin/env", "ORDERSD_DATA=" + dir.sub("data"), kBinary, "serve", "--config", file});
  auto line = server.read_line();
  REQUIRE(line);
  CHECK(line->starts_with("listening on 127.0.0.1:"));
  server.signal(SIGTERM);
  CHECK(server.wait() == 0);
  CHECK(std::filesystem::is_directory(dir.sub("data")));
  CHECK(server.read_all_stderr().find("workers=1") != std::string::npos);
}

TEST_CASE("packaging/ordersd.toml, the example config, loads") {
  auto example = test::run({kBinary, "serve", "--config", std::string(ORDERSD_SOURCE_DIR) + "/packaging/ordersd.toml",
                            "--print-config"});
  CHECK(example.err == "");
  REQUIRE(example.exit_code == 0);
  CHECK(setting(example.out, "data") == "\"/var/lib/ordersd\"");
}
