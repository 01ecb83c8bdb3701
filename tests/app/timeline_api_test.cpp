// GET /orders/{id}/timeline against a real server with the saga running:
// an order's whole story (order, saga, wallet, reservation, stock and
// shipment events) in log order, exactly the events of the log that carry
// its placement's correlation id or sit in its own stream; declines,
// compensations and a customer's cancel; paging; read-your-writes; bad
// parameters; and the index rebuilt live and by `ordersd replay`.
#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/eventually.h"
#include "support/order_body.h"
#include "support/http_client.h"
#include "support/process.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

using nlohmann::ordered_json;
using ordersd::test::HttpClient;
using ordersd::test::HttpResponse;
using ordersd::test::ServerProcess;
using ordersd::test::TempDir;
using namespace std::chrono_literals;
using json = nlohmann::ordered_json;

using ordersd::test::eventually;

using ordersd::test::order_body;
namespace {


json get_json(HttpClient& http, const std::string& target) {
  auto r = http.get(target);
  INFO(target << " -> " << r.status << " " << r.body);
  REQUIRE(r.status == 200);
  return json::parse(r.body);
}

uint64_t post(HttpClient& http, const std::string& target, const json& body, int expected) {
  auto r = http.request("POST", target, body.dump());
  INFO(target << " -> " << r.status << " " << r.body);
  REQUIRE(r.status == expected);
  return json::parse(r.body).value("position", uint64_t{0});
}

// Waits until the order's saga has ended (saga.completed.v1 in its stream);
// returns the log's head then.
uint64_t saga_ended(HttpClient& http, const std::string& order_id) {
  uint64_t head = 0;
  REQUIRE(eventually([&] {
    auto all = get_json(http, "/events?from=1&limit=1000");
    for (const auto& e : all["events"]) {
      if (e["stream"] == "saga-" + order_id && e["type"] == "saga.completed.v1") {
        head = all["head"];
        return true;
      }
    }
    return false;
  }));
  return head;
}

// The timeline, every page of `limit`, read once the view has reached `at`.
json timeline(HttpClient& http, const std::string& order_id, uint64_t at, int limit = 1000) {
  json events = json::array();
  std::string after;
  json first;
  for (int pages = 0;; ++pages) {
    REQUIRE(pages < 1000);
    std::string target = "/orders/" + order_id + "/timeline?min_position=" + std::to_string(at) +
                         "&limit=" + std::to_string(limit) + (after.empty() ? "" : "&after=" + after);
    auto r = http.get(target);
    INFO(target << " -> " << r.status << " " << r.body);
    REQUIRE(r.status == 200);
    CHECK(std::stoull(r.header("x-position")) >= at);
    auto page = json::parse(r.body);
    if (first.is_null()) first = page;
    CHECK(page["events"].size() <= static_cast<size_t>(limit));
    for (const auto& e : page["events"]) events.push_back(e);
    if (page["next"].is_null()) break;
    CHECK(page["events"].size() == static_cast<size_t>(limit));
    after = std::to_string(page["next"].get<uint64_t>());
  }
  first["events"] = events;
  first.erase("next");
  return first;
}

// What the timeline must be, straight from the log: every event carrying
// the placement's correlation id, and every event of the order's own stream.
json expected_story(HttpClient& http, const std::string& order_id) {
  auto own = get_json(http, "/orders/" + order_id + "/events")["events"];
  std::string correlation = own[0]["correlation_id"];
  json out = json::array();
  json all = get_json(http, "/events?from=1&limit=1000");
  for (const auto& e : all["events"]) {
    if (e["correlation_id"] == correlation || e["stream"] == "order-" + order_id) out.push_back(e);
  }
  return out;
}

std::vector<std::string> types_of(const json& events, const std::string& stream_prefix = "") {
  std::vector<std::string> out;
  for (const auto& e : events) {
    if (e["stream"].get<std::string>().starts_with(stream_prefix)) out.push_back(e["type"]);
  }
  return out;
}

std::set<std::string> stream_kinds(const json& events) {
  std::set<std::string> out;
  for (const auto& e : events) {
    std::string s = e["stream"];
    out.insert(s.substr(0, s.find('-')));
  }
  return out;
}

void check_log_order(const json& events) {
  for (size_t i = 1; i < events.size(); ++i) CHECK(events[i - 1]["position"] < events[i]["position"]);
}

}  // namespace

TEST_CASE("a shipped order's timeline: its order, saga, wallet, reservation, stock and shipment events, in log order") {
  TempDir dir;
  ServerProcess server(dir.sub("data"));
  HttpClient http(server.port);
  post(http, "/customers/ann/deposits", {{"amount_cents", 100'000}}, 200);
  post(http, "/inventory/mug/restock", {{"quantity", 10}}, 200);
  post(http, "/orders", order_body("o-ships", "ann", "mug", 2), 201);
  post(http, "/orders", order_body("o-other", "ann", "mug", 1), 201);  // another story, interleaved
  uint64_t head = saga_ended(http, "o-ships");
  saga_ended(http, "o-other");

  auto t = timeline(http, "o-ships", head);
  CHECK(t["order_id"] == "o-ships");
  CHECK(t["customer_id"] == "ann");
  auto expected = expected_story(http, "o-ships");
  CHECK(t["events"] == expected);  // each event as GET /events gives it
  check_log_order(t["events"]);
  CHECK(stream_kinds(t["events"]) == std::set<std::string>{"order", "saga", "wallet", "reservation", "sku", "shipment"});
  CHECK(types_of(t["events"], "order-") == std::vector<std::string>{"order.placed.v1", "payment.processed.v1",
                                                                    "inventory.reserved.v1", "shipment.initiated.v1"});
  CHECK(types_of(t["events"], "wallet-") == std::vector<std::string>{"payment.processed.v1"});
  CHECK(types_of(t["events"], "shipment-") == std::vector<std::string>{"shipment.initiated.v1"});
  CHECK(types_of(t["events"], "sku-") ==
        std::vector<std::string>{"inventory.stock_reserved.v1", "inventory.stock_shipped.v1"});
  CHECK(types_of(t["events"]).back() == "saga.completed.v1");
  for (const auto& e : t["events"]) {
    for (const char* field : {"position", "stream", "version", "type", "time", "payload"}) CHECK(e.contains(field));
    CHECK(e["payload"]["order_id"] == "o-ships");  // nothing of o-other, nor the deposit or restock
  }
}

TEST_CASE("declined, out of stock, cancelled midway: the decline, the compensations and the customer's cancel") {
  TempDir dir;
  ServerProcess server(dir.sub("data"));
  HttpClient http(server.port);
  post(http, "/customers/ann/deposits", {{"amount_cents", 100'000}}, 200);
  post(http, "/customers/bob/deposits", {{"amount_cents", 500}}, 200);
  post(http, "/inventory/mug/restock", {{"quantity", 10}}, 200);
  post(http, "/inventory/lamp/restock", {{"quantity", 1}}, 200);

  post(http, "/orders", order_body("declined", "bob", "mug", 1), 201);
  uint64_t head = saga_ended(http, "declined");
  auto declined = timeline(http, "declined", head);
  CHECK(declined["events"] == expected_story(http, "declined"));
  CHECK(types_of(declined["events"], "order-") ==
        std::vector<std::string>{"order.placed.v1", "payment.declined.v1", "order.cancelled.v1"});
  CHECK(types_of(declined["events"], "saga-") ==
        std::vector<std::string>{"saga.charge_requested.v1", "saga.completed.v1"});
  CHECK(types_of(declined["events"], "wallet-bob") == std::vector<std::string>{"payment.declined.v1"});
  CHECK(declined["events"].back()["type"] == "order.cancelled.v1");
  CHECK(declined["events"].back()["payload"]["reason"] == "payment_declined");

  post(http, "/orders", order_body("short", "ann", "lamp", 3), 201);
  head = saga_ended(http, "short");
  auto short_ = timeline(http, "short", head);
  CHECK(short_["events"] == expected_story(http, "short"));
  auto types = types_of(short_["events"]);
  // Out of stock after the charge: the charge is refunded (the compensation), then the order cancelled.
  CHECK(std::find(types.begin(), types.end(), "inventory.reservation_failed.v1") != types.end());
  CHECK(types_of(short_["events"], "wallet-") ==
        std::vector<std::string>{"payment.processed.v1", "payment.refunded.v1"});
  CHECK(std::find(types.begin(), types.end(), "saga.refund_requested.v1") != types.end());
  CHECK(types_of(short_["events"], "order-").back() == "order.cancelled.v1");
  check_log_order(short_["events"]);

  // Cancelled midway: the inventory service held, the customer cancels while
  // the reservation is under way. The cancel is a command of its own (another
  // correlation id) and is in the story all the same.
  REQUIRE(http.request("POST", "/participants/inventory/pause").status == 200);
  post(http, "/orders", order_body("midway", "ann", "mug", 1), 201);
  REQUIRE(eventually([&] { return get_json(http, "/orders/midway/state")["status"] == "payment_processed"; }));
  post(http, "/orders/midway/cancel", json::object(), 202);
  REQUIRE(http.request("POST", "/participants/inventory/resume").status == 200);
  head = saga_ended(http, "midway");
  auto midway = timeline(http, "midway", head);
  CHECK(midway["events"] == expected_story(http, "midway"));
  json cancel;
  for (const auto& e : midway["events"]) {
    if (e["type"] == "order.cancellation_requested.v1") cancel = e;
  }
  REQUIRE_FALSE(cancel.is_null());
  CHECK(cancel["correlation_id"] != midway["correlation_id"]);
  auto midway_types = types_of(midway["events"]);
  for (const char* compensation : {"saga.release_requested.v1", "inventory.released.v1", "saga.refund_requested.v1",
                                   "payment.refunded.v1", "inventory.stock_released.v1"}) {
    INFO(compensation);
    CHECK(std::find(midway_types.begin(), midway_types.end(), compensation) != midway_types.end());
  }
  CHECK(types_of(midway["events"], "order-").back() == "order.cancelled.v1");
}

TEST_CASE("paging through a timeline gives every event once; read-your-writes; unknown is 404; bad parameters 400") {
  TempDir dir;
  ServerProcess server(dir.sub("data"), {"--paused", "payment"});
  HttpClient http(server.port);
  // Read-your-writes: right after placing, with the placement's position.
  uint64_t placed = post(http, "/orders", order_body("o-1", "ann", "mug", 1), 201);
  auto now = timeline(http, "o-1", placed);
  REQUIRE(now["events"].size() >= 1);
  CHECK(now["events"][0]["type"] == "order.placed.v1");
  CHECK(now["events"][0]["position"] == placed);

  // Payment held: the customer cancels while the charge waits; then the
  // wallet (empty) declines it. Page through the story by 2.
  uint64_t cancel = post(http, "/orders/o-1/cancel", json::object(), 202);
  REQUIRE(http.request("POST", "/participants/payment/resume").status == 200);
  uint64_t head = saga_ended(http, "o-1");
  CHECK(head > cancel);
  auto whole = timeline(http, "o-1", head);
  auto paged = timeline(http, "o-1", head, 2);
  CHECK(paged["events"] == whole["events"]);
  CHECK(whole["events"] == expected_story(http, "o-1"));
  CHECK(whole["events"].size() >= 5);
  auto page = get_json(http, "/orders/o-1/timeline?limit=1&after=" + std::to_string(placed));
  REQUIRE(page["events"].size() == 1);
  CHECK(page["events"][0]["position"] == whole["events"][1]["position"]);
  CHECK(page["next"] == whole["events"][1]["position"]);

  auto missing = http.get("/orders/nobody/timeline");
  CHECK(missing.status == 404);
  CHECK(missing.header("content-type").starts_with("application/problem+json"));
  CHECK_FALSE(missing.header("x-position").empty());
  for (const std::string& bad : std::vector<std::string>{"/orders/o-1/timeline?limit=0", "/orders/o-1/timeline?limit=1001",
                          "/orders/o-1/timeline?after=x", "/orders/o-1/timeline?after=-1",
                          "/orders/o-1/timeline?min_position=x", "/orders/o-1/timeline?wait_ms=30001",
                          "/orders/o-1/timeline?from=1", "/orders/" + std::string(65, 'x') + "/timeline"}) {
    INFO(bad);
    auto r = http.get(bad);
    CHECK(r.status == 400);
    CHECK(r.header("content-type").starts_with("application/problem+json"));
  }
  // Not there yet: 503 with Retry-After once the wait runs out.
  auto ahead = http.get("/orders/o-1/timeline?min_position=" + std::to_string(head + 1000) + "&wait_ms=50");
  CHECK(ahead.status == 503);
  CHECK(ahead.header("retry-after") == "1");
}

TEST_CASE("the timeline index rebuilt by ordersd replay, and while serving, is the same") {
  TempDir dir;
  std::string data = dir.sub("data");
  json before;
  uint64_t head = 0;
  {
    ServerProcess server(data);
    HttpClient http(server.port);
    post(http, "/customers/ann/deposits", {{"amount_cents", 100'000}}, 200);
    post(http, "/inventory/mug/restock", {{"quantity", 10}}, 200);
    post(http, "/orders", order_body("o-1", "ann", "mug", 1), 201);
    post(http, "/orders", order_body("o-2", "ann", "mug", 1, "BR"), 201);  // cannot ship: compensated
    head = saga_ended(http, "o-1");
    head = std::max(head, saga_ended(http, "o-2"));
    before = json{{"o-1", timeline(http, "o-1", head)}, {"o-2", timeline(http, "o-2", head)}};
    CHECK(before["o-2"]["events"].size() > before["o-1"]["events"].size() / 2);
    CHECK(server.stop() == 0);
  }
  auto replayed = ordersd::test::run({ORDERSD_BINARY, "replay", "--data", data, "--view", "view-timeline"});
  INFO(replayed.err);
  REQUIRE(replayed.exit_code == 0);
  CHECK(replayed.out.find("view-timeline: rebuilt from " + std::to_string(head) + " events") != std::string::npos);

  ServerProcess server(data);
  HttpClient http(server.port);
  CHECK(timeline(http, "o-1", head) == before["o-1"]);
  CHECK(timeline(http, "o-2", head) == before["o-2"]);

  auto r = http.request("POST", "/admin/views/view-timeline/rebuild");
  REQUIRE(r.status == 202);
  REQUIRE(eventually([&] {
    json views = get_json(http, "/admin/views");
    for (const auto& v : views["views"]) {
      if (v["name"] == "view-timeline") return v["generation"] == 1 && !v.contains("rebuild");
    }
    return false;
  }));
  CHECK(timeline(http, "o-1", head) == before["o-1"]);
  CHECK(timeline(http, "o-2", head) == before["o-2"]);
}
