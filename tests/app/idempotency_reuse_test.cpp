// An Idempotency-Key used again once its record has expired starts a new
// execution: the command really runs (new events, new answer), whatever
// stream it targets. Against a real server with a one-second ttl and a quick
// reaper.
#include <doctest/doctest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/http_client.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

using nlohmann::json;
using ordersd::test::HttpClient;
using ordersd::test::HttpResponse;
using ordersd::test::SagaPausedServer;
using ordersd::test::TempDir;
using namespace std::chrono_literals;

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

const std::vector<std::string> kQuickExpiry = {"--idempotency-ttl", "1", "--idempotency-reap-interval", "20"};

std::string order(const std::string& id, const std::string& customer) {
  return json{{"order_id", id},
              {"customer_id", customer},
              {"items", {{{"sku", "mug"}, {"quantity", 1}, {"unit_price_cents", 500}}}},
              {"shipping_address", {{"country", "NL"}, {"city", "Utrecht"}}}}
      .dump();
}

// Sends `target`/`body` with `key` until the key's first record has expired:
// while it lives, a different request with the key is refused with 422.
HttpResponse once_expired(HttpClient& client, const std::string& target, const std::string& body,
                          const std::string& key) {
  auto deadline = std::chrono::steady_clock::now() + 20s;
  for (;;) {
    auto r = client.request("POST", target, body, {{"Idempotency-Key", key}});
    if (r.status != 422 || std::chrono::steady_clock::now() > deadline) return r;
    std::this_thread::sleep_for(50ms);  // polling interval; the answer changes once the ttl has passed
  }
}

json wallet(HttpClient& client, const std::string& customer) {
  auto r = client.get("/customers/" + customer + "/wallet");
  REQUIRE(r.status == 200);
  return json::parse(r.body);
}

std::vector<json> events_of(HttpClient& client, const std::string& stream) {
  std::vector<json> out;
  json all = json::parse(client.get("/events?from=1&limit=1000").body);
  for (const auto& e : all["events"]) {
    if (e["stream"] == stream) out.push_back(e);
  }
  return out;
}

}  // namespace

TEST_CASE("a key reused after its record expired executes the new request: the answer is what happened") {
  TempDir dir;
  SagaPausedServer server(dir.path(), kQuickExpiry);
  HttpClient client(server.port);
  Headers key = {{"Idempotency-Key", "k"}};
  auto first = client.request("POST", "/customers/c1/deposits", R"({"amount_cents":10})", key);
  REQUIRE(first.status == 200);
  CHECK(json::parse(first.body)["balance_cents"] == 10);

  auto second = once_expired(client, "/customers/c1/deposits", R"({"amount_cents":50})", "k");
  INFO(second.status << " " << second.body);
  REQUIRE(second.status == 200);
  CHECK(second.header("idempotent-replayed").empty());
  auto answer = json::parse(second.body);
  CHECK(answer["balance_cents"] == 60);
  CHECK(answer["version"] == 2);
  // What the answer says happened, happened.
  auto w = wallet(client, "c1");
  CHECK(w["balance_cents"] == 60);
  CHECK(w["version"] == 2);
  auto deposits = events_of(client, "wallet-c1");
  REQUIRE(deposits.size() == 2);
  CHECK(deposits[1]["payload"]["amount_cents"] == 50);
  CHECK(deposits[0]["id"] != deposits[1]["id"]);

  // The new execution's record is the key's now: a retry replays it, and the
  // reaper (which has purged the first record by the time it expires) keeps it.
  auto retry = client.request("POST", "/customers/c1/deposits", R"({"amount_cents":50})", key);
  CHECK(retry.status == 200);
  CHECK(retry.header("idempotent-replayed") == "true");
  CHECK(retry.body == second.body);
  CHECK(wallet(client, "c1")["balance_cents"] == 60);
  CHECK(server.stop() == 0);
}

TEST_CASE("a key reused after its record expired works for another customer and for a new order") {
  TempDir dir;
  SagaPausedServer server(dir.path(), kQuickExpiry);
  HttpClient client(server.port);
  REQUIRE(client.request("POST", "/customers/c1/deposits", R"({"amount_cents":10})", {{"Idempotency-Key", "k"}})
              .status == 200);

  auto other = once_expired(client, "/customers/c2/deposits", R"({"amount_cents":30})", "k");
  INFO(other.status << " " << other.body);
  CHECK(other.status == 200);
  CHECK(json::parse(other.body)["balance_cents"] == 30);
  CHECK(wallet(client, "c2")["balance_cents"] == 30);
  CHECK(wallet(client, "c1")["balance_cents"] == 10);

  auto placed = once_expired(client, "/orders", order("o1", "c1"), "k");
  INFO(placed.status << " " << placed.body);
  CHECK(placed.status == 201);
  CHECK(events_of(client, "order-o1").size() == 1);
  // And once more, after that record expired too, on yet another stream.
  auto third = once_expired(client, "/customers/c3/deposits", R"({"amount_cents":7})", "k");
  CHECK(third.status == 200);
  CHECK(wallet(client, "c3")["balance_cents"] == 7);
  CHECK(server.stop() == 0);
}
