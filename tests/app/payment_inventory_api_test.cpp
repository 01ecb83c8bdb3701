// The payment and inventory services' HTTP routes against a real server.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "support/http_client.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

using nlohmann::json;
using ordersd::test::HttpClient;
using ordersd::test::HttpResponse;
using ordersd::test::ServerProcess;
using ordersd::test::TempDir;

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

uint64_t head(HttpClient& client) { return json::parse(client.get("/health").body).at("head").get<uint64_t>(); }

HttpResponse post(HttpClient& client, const std::string& target, const std::string& body, Headers headers = {}) {
  return client.request("POST", target, body, headers);
}

}  // namespace

TEST_CASE("deposits add up in the customer's wallet and each answer carries the balance and position") {
  TempDir dir;
  ServerProcess server(dir.path());
  HttpClient client(server.port);
  auto first = post(client, "/customers/c-1/deposits", R"({"amount_cents": 5000})");
  REQUIRE(first.status == 200);
  auto a = json::parse(first.body);
  CHECK(a["customer_id"] == "c-1");
  CHECK(a["balance_cents"] == 5000);
  CHECK(a["version"] == 1);
  CHECK(first.header("etag") == "\"1\"");
  auto second = post(client, "/customers/c-1/deposits", R"({"amount_cents": 1000000000000})");
  REQUIRE(second.status == 200);
  auto b = json::parse(second.body);
  CHECK(b["balance_cents"] == 1000000005000);
  CHECK(b["position"].get<uint64_t>() > a["position"].get<uint64_t>());
  auto events = json::parse(client.get("/events?from=1").body)["events"];
  REQUIRE(events.size() == 2);
  CHECK(events[0]["stream"] == "wallet-c-1");
  CHECK(events[0]["type"] == "payment.funds_deposited.v1");
  CHECK(events[1]["payload"]["balance_cents"] == 1000000005000);
  CHECK(server.stop() == 0);
}

TEST_CASE("restocks add to what a sku has available") {
  TempDir dir;
  ServerProcess server(dir.path());
  HttpClient client(server.port);
  REQUIRE(post(client, "/inventory/espresso/restock", R"({"quantity": 40})").status == 200);
  auto r = post(client, "/inventory/espresso/restock", R"({"quantity": 2})");
  REQUIRE(r.status == 200);
  auto body = json::parse(r.body);
  CHECK(body["sku"] == "espresso");
  CHECK(body["available"] == 42);
  CHECK(body["reserved"] == 0);
  CHECK(body["shipped"] == 0);
  CHECK(body["version"] == 2);
  CHECK(json::parse(client.get("/events?from=1").body)["events"][1]["type"] == "inventory.restocked.v1");
  CHECK(server.stop() == 0);
}

TEST_CASE("a deposit or restock retried with its Idempotency-Key is applied once") {
  TempDir dir;
  ServerProcess server(dir.path());
  HttpClient client(server.port);
  Headers key = {{"Idempotency-Key", "deposit-7"}};
  auto first = post(client, "/customers/c-1/deposits", R"({"amount_cents": 700})", key);
  REQUIRE(first.status == 200);
  uint64_t after_first = head(client);
  auto again = post(client, "/customers/c-1/deposits", R"({"amount_cents": 700})", key);
  CHECK(again.status == 200);
  CHECK(again.body == first.body);
  CHECK(again.header("idempotent-replayed") == "true");
  CHECK(head(client) == after_first);
  CHECK(post(client, "/customers/c-1/deposits", R"({"amount_cents": 800})", key).status == 422);

  Headers restock_key = {{"Idempotency-Key", "restock-1"}};
  auto restock = post(client, "/inventory/s-1/restock", R"({"quantity": 5})", restock_key);
  REQUIRE(restock.status == 200);
  CHECK(post(client, "/inventory/s-1/restock", R"({"quantity": 5})", restock_key).body == restock.body);
  CHECK(json::parse(post(client, "/inventory/s-1/restock", R"({"quantity": 1})").body)["available"] == 6);
  CHECK(server.stop() == 0);
}

TEST_CASE("If-Match guards a wallet and a sku by version") {
  TempDir dir;
  ServerProcess server(dir.path());
  HttpClient client(server.port);
  REQUIRE(post(client, "/customers/c-1/deposits", R"({"amount_cents": 1})").status == 200);
  CHECK(post(client, "/customers/c-1/deposits", R"({"amount_cents": 1})", {{"If-Match", "\"1\""}}).status == 200);
  auto stale = post(client, "/customers/c-1/deposits", R"({"amount_cents": 1})", {{"If-Match", "\"1\""}});
  CHECK(stale.status == 412);
  CHECK(stale.header("etag") == "\"2\"");
  CHECK(post(client, "/inventory/s/restock", R"({"quantity": 1})", {{"If-Match", "\"0\""}}).status == 200);
  CHECK(post(client, "/inventory/s/restock", R"({"quantity": 1})", {{"If-Match", "\"0\""}}).status == 412);
  CHECK(server.stop() == 0);
}

TEST_CASE("malformed deposits and restocks get problem+json and change nothing") {
  TempDir dir;
  ServerProcess server(dir.path());
  HttpClient client(server.port);
  struct Case {
    std::string target;
    std::string body;
    std::string content_type;
    int status;
  };
  const std::string deposit = "/customers/c-1/deposits", restock = "/inventory/s-1/restock";
  const std::string kJson = "application/json";
  std::vector<Case> cases = {
      {deposit, R"({"amount_cents": 0})", kJson, 400},
      {deposit, R"({"amount_cents": 1000000000001})", kJson, 400},
      {deposit, R"({"amount_cents": -5})", kJson, 400},
      {deposit, R"({"amount_cents": 1.5})", kJson, 400},
      {deposit, R"({"amount_cents": "5"})", kJson, 400},
      {deposit, R"({"amount_cents": 1e30})", kJson, 400},
      {deposit, R"({})", kJson, 400},
      {deposit, R"({"amount_cents": 5, "currency": "EUR"})", kJson, 400},
      {deposit, R"([5])", kJson, 400},
      {deposit, R"({"amount_cents": 5)", kJson, 400},
      {deposit, "", kJson, 400},
      {deposit, R"({"amount_cents": 5})", "text/plain", 415},
      {"/customers/bad%20id/deposits", R"({"amount_cents": 5})", kJson, 400},
      {"/customers/" + std::string(65, 'c') + "/deposits", R"({"amount_cents": 5})", kJson, 400},
      {restock, R"({"quantity": 0})", kJson, 400},
      {restock, R"({"quantity": 1000000001})", kJson, 400},
      {restock, R"({"quantity": -1})", kJson, 400},
      {restock, R"({"quantity": 18446744073709551616})", kJson, 400},
      {restock, R"({"qty": 5})", kJson, 400},
      {restock, R"(not json)", kJson, 400},
      {restock, R"({"quantity": 5})", "text/plain", 415},
      {"/inventory/a..b/restock", R"({"quantity": 5})", kJson, 400},
  };
  for (const Case& c : cases) {
    CAPTURE(c.target);
    CAPTURE(c.body);
    auto r = client.request("POST", c.target, c.body, {{"Content-Type", c.content_type}});
    CHECK(r.status == c.status);
    CHECK(r.header("content-type") == "application/problem+json");
    auto problem = json::parse(r.body, nullptr, false);
    REQUIRE_FALSE(problem.is_discarded());
    CHECK(problem["status"] == c.status);
    CHECK(problem.contains("title"));
    CHECK(problem.contains("detail"));
  }
  auto wrong_method = client.get(deposit);
  CHECK(wrong_method.status == 405);
  CHECK(wrong_method.header("allow") == "POST");
  CHECK(head(client) == 0);
  CHECK(server.stop() == 0);
}
