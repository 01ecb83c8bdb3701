// The read side over HTTP against a real server: GET /orders/{id} and
// GET /orders served from the order view, read-your-writes through
// min_position, the 503 when the view does not get there in time, paging
// while orders keep arriving, bad parameters, and the projector resuming
// exactly after a SIGKILL.
#include <doctest/doctest.h>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/eventually.h"
#include "support/http_client.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

using nlohmann::json;
using ordersd::test::HttpClient;
using ordersd::test::HttpResponse;
using ordersd::test::SagaPausedServer;
using ordersd::test::ServerProcess;
using ordersd::test::TempDir;
using namespace std::chrono_literals;

using ordersd::test::eventually;

namespace {

json order(const std::string& id, const std::string& customer, const std::string& sku = "mug", int quantity = 2,
           int unit_price_cents = 1000) {
  return {{"order_id", id},
          {"customer_id", customer},
          {"items", {{{"sku", sku}, {"quantity", quantity}, {"unit_price_cents", unit_price_cents}}}},
          {"shipping_address", {{"country", "NL"}, {"city", "Utrecht"}}}};
}

uint64_t x_position(const HttpResponse& r) {
  std::string h = r.header("x-position");
  REQUIRE_MESSAGE(!h.empty(), "no X-Position header: " << r.status << " " << r.body);
  return std::stoull(h);
}

// A command's answer (status `expected`), and the position in its body.
uint64_t command(HttpClient& client, const std::string& target, const std::string& body, int expected) {
  auto r = client.request("POST", target, body);
  INFO(target << " -> " << r.status << " " << r.body);
  REQUIRE(r.status == expected);
  auto j = json::parse(r.body);
  REQUIRE(j.contains("position"));
  return j["position"].get<uint64_t>();
}

uint64_t place(HttpClient& client, const std::string& id, const std::string& customer) {
  return command(client, "/orders", order(id, customer).dump(), 201);
}

// GET `target` with min_position=`position`: 200, X-Position at least `position`.
json read_at(HttpClient& client, const std::string& target, uint64_t position) {
  std::string sep = target.find('?') == std::string::npos ? "?" : "&";
  std::string full = target + sep + "min_position=" + std::to_string(position);
  auto r = client.get(full);
  INFO(full << " -> " << r.status << " " << r.body);
  REQUIRE(r.status == 200);
  CHECK(r.header("content-type").starts_with("application/json"));
  CHECK(x_position(r) >= position);
  return json::parse(r.body);
}

json get_json(HttpClient& client, const std::string& target) {
  auto r = client.get(target);
  INFO(target << " -> " << r.status << " " << r.body);
  REQUIRE(r.status == 200);
  return json::parse(r.body);
}

// The view-orders entry of /health (other views may be listed too).
json orders_view(const json& health) {
  for (const auto& v : health["views"]) {
    if (v["name"] == "view-orders") return v;
  }
  FAIL("no view-orders in /health: " << health.dump());
  return {};
}

uint64_t head(HttpClient& client) { return get_json(client, "/health")["head"].get<uint64_t>(); }

std::vector<std::string> history_statuses(const json& row) {
  std::vector<std::string> out;
  for (const auto& h : row["history"]) out.push_back(h["status"]);
  return out;
}

// Every row of GET /orders?`filter`, page by page with `limit`.
std::vector<json> list_all(HttpClient& client, const std::string& filter, int limit, uint64_t min_position = 0) {
  std::vector<json> rows;
  std::string after;
  for (int pages = 0;; ++pages) {
    REQUIRE(pages < 10000);
    std::string target = "/orders?limit=" + std::to_string(limit);
    if (!filter.empty()) target += "&" + filter;
    if (!after.empty()) target += "&after=" + after;
    auto page = read_at(client, target, min_position);
    REQUIRE(page["orders"].is_array());
    CHECK(page["orders"].size() <= static_cast<size_t>(limit));
    for (const auto& row : page["orders"]) rows.push_back(row);
    if (page["next"].is_null()) break;
    REQUIRE(page["next"].is_string());
    CHECK(page["orders"].size() == static_cast<size_t>(limit));
    after = page["next"].get<std::string>();
  }
  return rows;
}

void check_problem(const HttpResponse& r, int status) {
  INFO(r.status << " " << r.body);
  CHECK(r.status == status);
  CHECK(r.header("content-type").starts_with("application/problem+json"));
  auto j = json::parse(r.body, nullptr, false);
  REQUIRE(j.is_object());
  CHECK(j["status"] == status);
  CHECK(j.contains("detail"));
  CHECK_FALSE(r.header("x-position").empty());  // every query answer, errors too
}

}  // namespace

TEST_CASE("read-your-writes after place and cancel, with the saga paused") {
  TempDir dir;
  SagaPausedServer server(dir.path());
  HttpClient client(server.port);

  uint64_t placed_at = place(client, "o-1", "ann");
  auto row = read_at(client, "/orders/o-1", placed_at);
  CHECK(row["order_id"] == "o-1");
  CHECK(row["customer_id"] == "ann");
  CHECK(row["status"] == "placed");
  CHECK(row["version"] == 1);
  CHECK(row["placed_position"] == placed_at);
  CHECK(row["position"] == placed_at);
  CHECK(row["items"] == json::array({{{"sku", "mug"}, {"quantity", 2}, {"unit_price_cents", 1000}}}));
  CHECK(row["total_cents"] == 2000);
  CHECK(row["shipping_address"] == json({{"country", "NL"}, {"city", "Utrecht"}}));
  CHECK(row["payment"].is_null());
  CHECK(row["reservation"].is_null());
  CHECK(row["shipment"].is_null());
  CHECK(row["cancel_reason"].is_null());
  REQUIRE(row["history"].size() == 1);
  CHECK(row["history"][0]["status"] == "placed");
  CHECK(row["history"][0]["position"] == placed_at);
  CHECK_FALSE(row["history"][0].contains("time_us"));  // one time convention: RFC 3339 `time`
  CHECK(row["history"][0]["time"].is_string());

  uint64_t cancel_at = command(client, "/orders/o-1/cancel", json{{"reason", "changed my mind"}}.dump(), 202);
  CHECK(cancel_at > placed_at);
  row = read_at(client, "/orders/o-1", cancel_at);
  CHECK(row["status"] == "cancelling");
  CHECK(row["version"] == 2);
  CHECK(row["position"] == cancel_at);
  CHECK(row["placed_position"] == placed_at);
  CHECK_FALSE(row["cancel_reason"].is_null());
  CHECK(history_statuses(row) == std::vector<std::string>{"placed", "cancelling"});
  CHECK(row["history"][0]["position"] == placed_at);
  CHECK(row["history"][1]["position"] == cancel_at);

  // Deposits and restocks carry a position too; the view reaches it.
  uint64_t deposit_at = command(client, "/customers/ann/deposits", R"({"amount_cents": 500})", 200);
  auto missing = client.get("/orders/nobody?min_position=" + std::to_string(deposit_at));
  check_problem(missing, 404);
  CHECK(x_position(missing) >= deposit_at);
  uint64_t restock_at = command(client, "/inventory/mug/restock", R"({"quantity": 5})", 200);
  auto list = read_at(client, "/orders", restock_at);
  REQUIRE(list["orders"].size() == 1);
  CHECK(list["orders"][0]["order_id"] == "o-1");
  CHECK(list["next"].is_null());

  auto health = get_json(client, "/health");
  CHECK(health["status"] == "ok");
  CHECK(orders_view(health)["lag"].is_number());
  std::string metrics = client.get("/metrics").body;
  CHECK(metrics.find("ordersd_view_lag_events{view=\"view-orders\"}") != std::string::npos);
  CHECK(metrics.find("ordersd_view_up{view=\"view-orders\"} 1") != std::string::npos);
  std::string before = client.get("/orders/o-1").body;
  CHECK(server.stop() == 0);

  // After a clean stop the rows are in files, not in memory: the first reads
  // go to the disk (on the work queue), the next come from the cache; both the same.
  SagaPausedServer again(dir.path());
  HttpClient second(again.port);
  for (int i = 0; i < 2; ++i) {
    auto r = second.get("/orders/o-1");
    CHECK(r.status == 200);
    CHECK(r.body == before);
    check_problem(second.get("/customers/nobody"), 404);
  }
  CHECK(again.stop() == 0);
}

TEST_CASE("read-your-writes through the saga to shipment_initiated and delivered") {
  TempDir dir;
  ServerProcess server(dir.path());
  HttpClient client(server.port);
  uint64_t deposit_at = command(client, "/customers/ann/deposits", R"({"amount_cents": 50000})", 200);
  uint64_t restock_at = command(client, "/inventory/mug/restock", R"({"quantity": 10})", 200);
  CHECK(restock_at > deposit_at);
  uint64_t placed_at = command(client, "/orders", order("o-1", "ann", "mug", 3).dump(), 201);
  auto row = read_at(client, "/orders/o-1", placed_at);
  CHECK(row["version"].get<uint64_t>() >= 1);

  REQUIRE(eventually([&] { return get_json(client, "/orders/o-1")["status"] == "shipment_initiated"; }));
  row = get_json(client, "/orders/o-1");
  CHECK(row["total_cents"] == 3000);
  CHECK(row["payment"] == json({{"status", "charged"}, {"amount_cents", 3000}}));
  CHECK(row["reservation"] == json({{"status", "reserved"}, {"lines", {{{"sku", "mug"}, {"quantity", 3}}}}}));
  CHECK(row["shipment"]["status"] == "initiated");
  CHECK(row["shipment"]["country"] == "NL");
  CHECK(row["shipment"]["shipment_id"] == "shp-o-1");
  CHECK(row["cancel_reason"].is_null());
  CHECK(history_statuses(row) ==
        std::vector<std::string>{"placed", "payment_processed", "inventory_reserved", "shipment_initiated"});
  uint64_t last = 0;
  for (const auto& h : row["history"]) {
    CHECK(h["position"].get<uint64_t>() > last);
    last = h["position"];
  }
  CHECK(row["position"] == last);

  uint64_t delivered_at = command(client, "/orders/o-1/deliver", "", 200);
  CHECK(delivered_at > last);
  row = read_at(client, "/orders/o-1", delivered_at);
  CHECK(row["status"] == "delivered");
  CHECK(row["position"] == delivered_at);
  CHECK(row["version"] == 5);
  CHECK(history_statuses(row) == std::vector<std::string>{"placed", "payment_processed", "inventory_reserved",
                                                          "shipment_initiated", "delivered"});
  CHECK(row["history"][4]["position"] == delivered_at);
  auto delivered = read_at(client, "/orders?status=delivered", delivered_at);
  REQUIRE(delivered["orders"].size() == 1);
  CHECK(delivered["orders"][0]["order_id"] == "o-1");
  CHECK(read_at(client, "/orders?status=shipment_initiated", delivered_at)["orders"].empty());
  CHECK(server.stop() == 0);
}

TEST_CASE("min_position beyond the log answers 503; one reached while waiting answers 200") {
  TempDir dir;
  SagaPausedServer server(dir.path());
  HttpClient client(server.port);
  uint64_t first = place(client, "o-1", "ann");

  for (std::string target : {"/orders/o-1", "/orders"}) {
    auto r = client.get(target + "?min_position=" + std::to_string(first + 1000000) + "&wait_ms=50");
    check_problem(r, 503);
    CHECK(r.header("retry-after") == "1");
    CHECK(x_position(r) >= first);
  }
  // wait_ms=0 with a reached position still answers.
  CHECK(client.get("/orders/o-1?min_position=" + std::to_string(first) + "&wait_ms=0").status == 200);

  uint64_t at = head(client);
  CHECK(at == first);
  HttpResponse waited;
  std::thread reader([&] {
    HttpClient other(server.port);
    waited = other.get("/orders/o-2?wait_ms=5000&min_position=" + std::to_string(at + 1));
  });
  uint64_t second = place(client, "o-2", "bob");
  reader.join();
  INFO(waited.status << " " << waited.body);
  REQUIRE(waited.status == 200);
  CHECK(second == at + 1);
  CHECK(x_position(waited) >= at + 1);
  CHECK(json::parse(waited.body)["status"] == "placed");
  CHECK(server.stop() == 0);
}

TEST_CASE("paging through every order while new ones keep arriving, and the filters") {
  TempDir dir;
  SagaPausedServer server(dir.path());
  HttpClient client(server.port);
  const std::vector<std::string> customers = {"ann", "bob", "cat"};
  std::map<std::string, std::string> customer_of;
  std::set<std::string> cancelled;
  uint64_t last = 0;
  for (int i = 0; i < 90; ++i) {
    std::string id = "o-" + std::to_string(i);
    customer_of[id] = customers[i % 3];
    last = place(client, id, customer_of[id]);
  }
  for (int i = 0; i < 90; i += 4) {
    std::string id = "o-" + std::to_string(i);
    last = command(client, "/orders/" + id + "/cancel", "", 202);
    cancelled.insert(id);
  }

  std::atomic<bool> stop{false};
  std::atomic<int> added{0};
  std::thread writer([&] {
    HttpClient other(server.port);
    while (!stop) {
      auto r = other.request("POST", "/orders", order("new-" + std::to_string(added.load()), "dan").dump());
      if (r.status != 201) break;
      ++added;
    }
  });
  struct JoinAtEnd {
    std::atomic<bool>& stop;
    std::thread& thread;
    ~JoinAtEnd() {
      stop = true;
      if (thread.joinable()) thread.join();
    }
  } join_at_end{stop, writer};
  // Let some arrive during the first pages as well as before them.
  REQUIRE(eventually([&] { return added.load() >= 3; }));
  auto rows = list_all(client, "", 7, last);
  stop = true;
  writer.join();
  CHECK(added.load() > 3);

  std::map<std::string, int> seen;
  uint64_t previous = UINT64_MAX;
  for (const auto& row : rows) {
    ++seen[row["order_id"].get<std::string>()];
    uint64_t p = row["placed_position"];
    CHECK(p < previous);  // newest first, never a row twice
    previous = p;
  }
  for (const auto& [id, n] : seen) CHECK_MESSAGE(n == 1, id);
  for (const auto& [id, customer] : customer_of) CHECK_MESSAGE(seen[id] == 1, id);

  // Settle: the listing now is every order, newest first.
  uint64_t now = head(client);
  auto all = list_all(client, "", 1000, now);
  CHECK(all.size() == 90 + static_cast<size_t>(added.load()));
  auto first_page = read_at(client, "/orders?limit=5", now);
  REQUIRE(first_page["orders"].size() == 5);
  CHECK(first_page["orders"][0]["order_id"] == all[0]["order_id"]);
  CHECK(first_page["next"].is_string());
  CHECK(read_at(client, "/orders", now)["orders"].size() == 50);  // the default limit

  // status
  auto cancelling = list_all(client, "status=cancelling", 4, now);
  std::set<std::string> ids;
  for (const auto& r : cancelling) {
    CHECK(r["status"] == "cancelling");
    ids.insert(r["order_id"]);
  }
  CHECK(ids == cancelled);
  CHECK(cancelling.size() == cancelled.size());
  auto placed = list_all(client, "status=placed", 11, now);
  CHECK(placed.size() == all.size() - cancelled.size());
  for (const auto& r : placed) CHECK(r["status"] == "placed");
  CHECK(read_at(client, "/orders?status=delivered", now)["orders"].empty());

  // customer_id
  for (const auto& customer : customers) {
    auto mine = list_all(client, "customer_id=" + customer, 6, now);
    CHECK(mine.size() == 30);
    for (const auto& r : mine) CHECK(r["customer_id"] == customer);
    // both
    auto mine_cancelling = list_all(client, "customer_id=" + customer + "&status=cancelling", 2, now);
    std::set<std::string> expected;
    for (const auto& id : cancelled) {
      if (customer_of[id] == customer) expected.insert(id);
    }
    std::set<std::string> got;
    for (const auto& r : mine_cancelling) {
      CHECK(r["status"] == "cancelling");
      CHECK(r["customer_id"] == customer);
      got.insert(r["order_id"]);
    }
    CHECK(got == expected);
    CHECK(mine_cancelling.size() == expected.size());
    auto mine_placed = list_all(client, "status=placed&customer_id=" + customer, 9, now);
    CHECK(mine_placed.size() == 30 - expected.size());
  }
  CHECK(read_at(client, "/orders?customer_id=nobody", now)["orders"].empty());
  CHECK(server.stop() == 0);
}

TEST_CASE("bad query parameters are 400 problems and change nothing") {
  TempDir dir;
  SagaPausedServer server(dir.path());
  HttpClient client(server.port);
  place(client, "o-1", "ann");
  uint64_t before = head(client);
  for (const std::string& target : std::vector<std::string>{
           "/orders?colour=red",
           "/orders?status=unknown",
           "/orders?status=",
           "/orders?limit=0",
           "/orders?limit=1001",
           "/orders?limit=abc",
           "/orders?limit=-1",
           "/orders?after=garbage",
           "/orders?after=0000000000000000/",
           "/orders?after=FFFFFFFFFFFFFFFF/o-1",
           "/orders?wait_ms=30001",
           "/orders?min_position=-1",
           "/orders?min_position=abc",
           "/orders?limit=5&limit=6",
           "/orders?status=placed&status=placed",
           "/orders?customer_id=a%20b",
           "/orders/o-1?wait_ms=30001",
           "/orders/o-1?min_position=-1",
           "/orders/o-1?min_position=1&min_position=1",
           "/orders/o-1?status=placed",
           "/orders/bad%20id",
           "/orders/" + std::string(65, 'x'),
       }) {
    INFO(target);
    check_problem(client.get(target), 400);
  }
  CHECK(client.get("/orders?wait_ms=30000").status == 200);
  CHECK(client.get("/orders?limit=1000").status == 200);
  CHECK(client.get("/orders?limit=1").status == 200);
  CHECK(head(client) == before);
  CHECK(read_at(client, "/orders/o-1", before)["version"] == 1);
  CHECK(server.stop() == 0);
}

TEST_CASE("after a SIGKILL the projector resumes exactly where it was") {
  TempDir dir;
  std::map<std::string, uint64_t> answered;  // order id -> position of its 201
  {
    SagaPausedServer server(dir.path());
    std::mutex mu;
    std::thread placer([&] {
      HttpClient client(server.port);
      for (int i = 0; i < 200; ++i) {
        std::string id = "k-" + std::to_string(i);
        try {
          auto r = client.request("POST", "/orders", order(id, i % 2 ? "ann" : "bob").dump());
          if (r.status != 201) break;
          std::lock_guard lk(mu);
          answered[id] = json::parse(r.body)["position"].get<uint64_t>();
        } catch (const std::exception&) {
          break;  // the server is gone
        }
      }
    });
    // Kill it once most of the orders are in, while the placer is still going.
    bool reached = eventually([&] {
      std::lock_guard lk(mu);
      return answered.size() >= 120;
    });
    server.process.signal(SIGKILL);
    placer.join();
    server.process.wait();
    REQUIRE(reached);
  }
  INFO("answered before the kill: " << answered.size());
  REQUIRE(answered.size() >= 120);

  SagaPausedServer server(dir.path());
  HttpClient client(server.port);
  for (const auto& [id, position] : answered) {
    auto row = read_at(client, "/orders/" + id, position);
    CHECK(row["status"] == "placed");
    CHECK(row["version"] == 1);
    CHECK(row["placed_position"] == position);
  }
  uint64_t now = head(client);
  auto rows = list_all(client, "", 37, now);
  std::map<std::string, int> seen;
  for (const auto& r : rows) ++seen[r["order_id"].get<std::string>()];
  for (const auto& [id, n] : seen) CHECK_MESSAGE(n == 1, id);
  for (const auto& [id, position] : answered) CHECK_MESSAGE(seen[id] == 1, id);
  // Beyond the answered ones, at most the one in flight at the kill.
  CHECK(rows.size() <= answered.size() + 1);
  // Every placed event is in the view: one order per event in the log.
  CHECK(rows.size() == now);

  REQUIRE(eventually([&] {
    auto h = get_json(client, "/health");
    auto v = orders_view(h);
    return v["position"] == h["head"] && v["lag"] == 0;
  }));
  auto h = get_json(client, "/health");
  CHECK(h["status"] == "ok");
  CHECK_FALSE(orders_view(h).contains("failure"));
  // Placing again after the restart still reads back.
  uint64_t again = place(client, "after-restart", "ann");
  CHECK(read_at(client, "/orders/after-restart", again)["version"] == 1);
  CHECK(server.stop() == 0);
}
