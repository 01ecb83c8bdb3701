// A stored record that does not parse (an idempotency record, a view row)
// fails the one request that reads it with a clear 500; the server goes on.
// The records are damaged by writing into the data directory between two
// runs of a real server.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "events/event_log.h"
#include "read/order_view.h"
#include "read/summary_views.h"
#include "read/views.h"
#include "support/http_client.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

using nlohmann::json;
using ordersd::test::HttpClient;
using ordersd::test::HttpResponse;
using ordersd::test::SagaPausedServer;
using ordersd::test::TempDir;
namespace events = ordersd::events;
namespace views = ordersd::read;

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

const std::string kOrder =
    R"({"order_id":"o1","customer_id":"c1","items":[{"sku":"mug","quantity":1,"unit_price_cents":500}],)"
    R"("shipping_address":{"country":"NL","city":"Utrecht"}})";

// Writes `value` under `space`/`key` of the (stopped) server's log.
void damage(const std::string& dir, const std::string& space, const std::string& key, std::string value) {
  auto log = events::EventLog::open(dir);
  REQUIRE_MESSAGE(log.is_ok(), log.status().to_string());
  events::SideWrites writes;
  writes.put(space, key, std::move(value));
  ordersd::Status s = (*log)->write(writes);
  REQUIRE_MESSAGE(s.is_ok(), s.to_string());
}

void check_damaged(const HttpResponse& r) {
  INFO(r.status << " " << r.body);
  CHECK(r.status == 500);
  CHECK(r.header("content-type") == "application/problem+json");
  CHECK(r.body.find("stored record is damaged") != std::string::npos);
}

// The server still answers: a new keyed command and a health check.
void check_alive(HttpClient& client, const std::string& key) {
  auto deposit = client.request("POST", "/customers/c2/deposits", R"({"amount_cents":5})", {{"Idempotency-Key", key}});
  CHECK(deposit.status == 200);
  CHECK(client.get("/health").status == 200);
}

}  // namespace

TEST_CASE("a damaged idempotency record fails the request that reads it with a 500, and only that one") {
  // Each is well-formed JSON that the record's reader used to trip over, or not JSON at all.
  for (std::string garbage : {R"({"fingerprint":"x","status":200,"headers":[1],"body":"","created_us":0})",
                              R"([1,2,3])", R"({"fingerprint":7,"status":"two hundred"})", "not json"}) {
    CAPTURE(garbage);
    TempDir dir;
    Headers key = {{"Idempotency-Key", "k"}};
    {
      SagaPausedServer server(dir.path());
      HttpClient client(server.port);
      REQUIRE(client.request("POST", "/customers/c1/deposits", R"({"amount_cents":10})", key).status == 200);
      REQUIRE(server.stop() == 0);
    }
    damage(dir.path(), "idem", "k", garbage);
    SagaPausedServer server(dir.path());
    HttpClient client(server.port);
    check_damaged(client.request("POST", "/customers/c1/deposits", R"({"amount_cents":10})", key));
    check_alive(client, "k2");
    check_damaged(client.request("POST", "/customers/c1/deposits", R"({"amount_cents":10})", key));  // every time
    CHECK(server.stop() == 0);
  }
}

TEST_CASE("a damaged stats row or order row fails the query that reads it with a 500, and only that one") {
  TempDir dir;
  {
    SagaPausedServer server(dir.path());
    HttpClient client(server.port);
    auto placed = client.request("POST", "/orders", kOrder);
    REQUIRE(placed.status == 201);
    auto position = json::parse(placed.body)["position"].get<uint64_t>();
    std::string at = "?min_position=" + std::to_string(position);
    REQUIRE(client.get("/orders" + at).status == 200);
    REQUIRE(client.get("/stats" + at).status == 200);
    REQUIRE(server.stop() == 0);
  }
  damage(dir.path(), views::find_view(views::kStatsViewName)->space, views::kStatsRowKey, R"({"orders":)");
  damage(dir.path(), views::kOrderViewSpace, views::order_row_key("o1"), "[]");
  SagaPausedServer server(dir.path());
  HttpClient client(server.port);
  check_damaged(client.get("/stats"));
  check_damaged(client.get("/orders"));
  check_alive(client, "k3");
  check_damaged(client.get("/orders?customer_id=c1"));
  CHECK(server.stop() == 0);
}
