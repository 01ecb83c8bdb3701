// A real server that never stops silently and never gives up on contention:
//
// - an event a view cannot apply parks only that view, at that position:
//   /health says degraded and why, /health/ready answers 503 with the
//   reasons, the log has the failure as a JSON line; the operator's skip
//   (an event in operator-component-{name}) gets it going again;
// - 32 clients depositing into 2 hot wallets, restocks hammering 2 skus, and
//   orders of those customers flowing through the saga at the same time: no
//   command is refused for contention, no component fails or restarts, every
//   order settles, and money and stock are conserved.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include "events/event_log.h"
#include "support/eventually.h"
#include "support/http_client.h"
#include "support/sample_events.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

using nlohmann::json;
using ordersd::test::HttpClient;
using ordersd::test::HttpResponse;
using ordersd::test::ServerProcess;
using ordersd::test::TempDir;
using namespace std::chrono_literals;
using Headers = std::vector<std::pair<std::string, std::string>>;

using ordersd::test::eventually;

namespace {

const Headers kJson = {{"Content-Type", "application/json"}};

json get_json(HttpClient& http, const std::string& target) {
  HttpResponse r = http.get(target);
  INFO(target << " -> " << r.status << " " << r.body);
  REQUIRE(json::accept(r.body));
  return json::parse(r.body);
}

json component(HttpClient& http, const std::string& name) {
  json all = get_json(http, "/admin/components");
  for (const auto& c : all["components"]) {
    if (c["name"] == name) return c;
  }
  FAIL("no component " << name);
  return {};
}

std::vector<json> json_lines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (json::accept(line)) out.push_back(json::parse(line));
  }
  return out;
}

std::string order_body(const std::string& id, const std::string& customer, const std::string& sku, int quantity,
                       int unit_price) {
  return json{{"order_id", id},
              {"customer_id", customer},
              {"items", {{{"sku", sku}, {"quantity", quantity}, {"unit_price_cents", unit_price}}}},
              {"shipping_address", {{"country", "NL"}, {"city", "A"}, {"line1", "x"}, {"postal_code", "1"}}}}
      .dump();
}

}  // namespace

TEST_CASE("an event a view cannot apply parks only that view; health says so; an operator's skip gets it going") {
  TempDir dir;
  const std::string data = dir.sub("data");
  {
    // An order delivered that was never placed: no order view can apply it.
    auto log = ordersd::events::EventLog::open(data).value();
    REQUIRE(log->append("order-ghost", ordersd::events::ExpectedVersion::no_stream(),
                        {ordersd::test::order_delivered("ghost", ordersd::Uuid{1, 2})}));
  }
  ServerProcess server(data, {"--log-format", "json"});
  HttpClient http(server.port);

  REQUIRE(eventually([&] { return component(http, "view-orders")["state"] == "failed"; }));
  json failed = component(http, "view-orders");
  CHECK(failed["failed_at"] == 1);
  CHECK(failed["restarts"] == 0);
  CHECK(failed["last_error"].get<std::string>().find("never placed") != std::string::npos);
  // Only that view: the saga and its participants run, and commands are served.
  for (const char* name : {"saga", "payment", "inventory", "shipping", "view-inventory"}) {
    CHECK_MESSAGE(component(http, name)["state"] == "running", name);
  }
  CHECK(http.request("POST", "/customers/c-1/deposits", R"({"amount_cents":100})", kJson).status == 200);

  json health = get_json(http, "/health");
  CHECK(health["status"] == "degraded");
  REQUIRE(health["reasons"].is_array());
  CHECK(health["reasons"].dump().find("view-orders failed at position 1") != std::string::npos);
  HttpResponse ready = http.get("/health/ready");
  CHECK(ready.status == 503);
  CHECK(ready.header("content-type") == "application/problem+json");
  CHECK(ready.body.find("view-orders is failed") != std::string::npos);
  CHECK(http.get("/health/live").status == 200);
  std::string metrics = http.get("/metrics").body;
  CHECK(metrics.find("ordersd_component_failed{component=\"view-orders\"} 1") != std::string::npos);
  CHECK(metrics.find("ordersd_component_up{component=\"saga\"} 1") != std::string::npos);

  // The operator's mistakes change nothing.
  CHECK(http.request("POST", "/admin/components/nobody/retry").status == 404);
  CHECK(http.request("POST", "/admin/components/payment/retry").status == 409);  // it runs
  CHECK(http.request("POST", "/admin/components/view-orders/skip", R"({"position":2})", kJson).status == 409);
  CHECK(http.request("POST", "/admin/components/view-orders/skip", R"({"position":"one"})", kJson).status == 400);
  CHECK(http.request("POST", "/admin/components/view-orders/skip", R"({"position":1})",
                     {{"Content-Type", "text/plain"}}).status == 415);
  CHECK(component(http, "view-orders")["state"] == "failed");

  // Every view that could not apply it is skipped past it, by the operator.
  json all = get_json(http, "/admin/components");
  for (const auto& c : all["components"]) {
    if (c["state"] != "failed") continue;
    HttpResponse skipped = http.request("POST", "/admin/components/" + c["name"].get<std::string>() + "/skip",
                                        R"({"position":1})", kJson);
    INFO(skipped.body);
    CHECK(skipped.status == 200);
    CHECK(json::parse(skipped.body)["state"] == "running");
  }
  REQUIRE(eventually([&] { return http.get("/health/ready").status == 200; }));
  CHECK(get_json(http, "/health")["status"] == "ok");
  json running = component(http, "view-orders");
  CHECK(running["state"] == "running");
  CHECK(running["restarts"] == 1);
  // It applies what comes after the skipped event.
  CHECK(http.request("POST", "/orders", order_body("o-1", "c-1", "mug", 1, 100), kJson).status == 201);
  REQUIRE(eventually([&] { return http.get("/orders/o-1").status == 200; }));

  REQUIRE(server.stop() == 0);
  // The log lines: the failure, with its position, and the restart.
  auto lines = json_lines(server.process.read_all_stderr());
  bool stopped_line = false, restarted_line = false;
  for (const auto& l : lines) {
    if (l.value("component", "") != "view-orders") continue;
    if (l["level"] == "error" && l.value("position", "") == "1") stopped_line = true;
    if (l["msg"] == "restarted" && l.value("why", "") == "operator skip") restarted_line = true;
  }
  CHECK(stopped_line);
  CHECK(restarted_line);
  // The skip is an event of the operator's stream.
  auto log = ordersd::events::EventLog::open(data).value();
  auto actions = log->read_stream("operator-component-view-orders", 1, 10).value();
  REQUIRE(actions.size() == 1);
  CHECK(actions[0].type() == "operator.component_action.v1");
}

TEST_CASE("32 clients on 2 hot wallets, restocks on 2 skus and orders through the saga: nothing refused, nothing "
          "failed, everything settles, money and stock conserved") {
  TempDir dir;
  ServerProcess server(dir.sub("data"));
  const std::vector<std::string> customers = {"hot-0", "hot-1"};
  const std::vector<std::string> skus = {"mug", "pot"};
  constexpr int kDepositors = 32, kDepositsEach = 50, kRestockers = 4, kRestocksEach = 25;
  constexpr int kPlacers = 4, kOrdersEach = 40;

  std::mutex mu;
  std::vector<std::string> refused;  // any answer that is not the success
  std::map<std::string, uint64_t> deposited;
  std::map<std::string, uint64_t> restocked;
  struct Placed {
    std::string id, customer, sku;
    int quantity, price;
  };
  std::vector<Placed> orders;
  auto note = [&](const std::string& what, const HttpResponse& r) {
    std::lock_guard lk(mu);
    refused.push_back(what + " -> " + std::to_string(r.status) + " " + r.body);
  };

  {
    HttpClient http(server.port);
    for (const auto& sku : skus) {
      REQUIRE(http.request("POST", "/inventory/" + sku + "/restock", R"({"quantity":1000})", kJson).status == 200);
      restocked[sku] += 1000;
    }
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kDepositors; ++t) {
    threads.emplace_back([&, t] {
      HttpClient http(server.port);
      for (int i = 0; i < kDepositsEach; ++i) {
        const std::string& c = customers[(t + i) % 2];
        uint64_t cents = 1 + (t * 31 + i * 7) % 100;
        HttpResponse r = http.request("POST", "/customers/" + c + "/deposits",
                                      json{{"amount_cents", cents}}.dump(), kJson);
        if (r.status != 200) {
          note("deposit to " + c, r);
          continue;
        }
        std::lock_guard lk(mu);
        deposited[c] += cents;
      }
    });
  }
  for (int t = 0; t < kRestockers; ++t) {
    threads.emplace_back([&, t] {
      HttpClient http(server.port);
      for (int i = 0; i < kRestocksEach; ++i) {
        const std::string& sku = skus[(t + i) % 2];
        HttpResponse r = http.request("POST", "/inventory/" + sku + "/restock", R"({"quantity":3})", kJson);
        if (r.status != 200) {
          note("restock of " + sku, r);
          continue;
        }
        std::lock_guard lk(mu);
        restocked[sku] += 3;
      }
    });
  }
  for (int t = 0; t < kPlacers; ++t) {
    threads.emplace_back([&, t] {
      HttpClient http(server.port);
      for (int i = 0; i < kOrdersEach; ++i) {
        Placed o{"o-" + std::to_string(t) + "-" + std::to_string(i), customers[i % 2], skus[(t + i) % 2], 1 + i % 2,
                 20 + i % 30};
        HttpResponse r = http.request("POST", "/orders", order_body(o.id, o.customer, o.sku, o.quantity, o.price), kJson);
        if (r.status != 201) {
          note("order " + o.id, r);
          continue;
        }
        std::lock_guard lk(mu);
        orders.push_back(o);
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK_MESSAGE(refused.empty(), refused.size() << " refused, first: " << (refused.empty() ? "" : refused.front()));
  REQUIRE(orders.size() == kPlacers * kOrdersEach);

  HttpClient http(server.port);
  // Every order settles.
  std::map<std::string, std::string> status;
  REQUIRE(eventually(
      [&] {
        for (const auto& o : orders) {
          if (status.count(o.id)) continue;
          json s = json::parse(http.get("/orders/" + o.id + "/state").body);
          std::string st = s.value("status", "");
          if (st == "shipment_initiated" || st == "cancelled") status[o.id] = st;
        }
        return status.size() == orders.size();
      },
      60s));
  // No component failed or restarted on the way.
  json all = get_json(http, "/admin/components");
  for (const auto& c : all["components"]) {
    CHECK_MESSAGE(c["state"] == "running", c.dump());
    CHECK_MESSAGE(c["restarts"] == 0, c.dump());
  }
  CHECK(get_json(http, "/health")["status"] == "ok");

  // Money: each wallet holds its deposits less the shipped orders' totals.
  std::map<std::string, uint64_t> charged;
  std::map<std::string, uint64_t> shipped_units;
  for (const auto& o : orders) {
    if (status[o.id] != "shipment_initiated") continue;
    charged[o.customer] += static_cast<uint64_t>(o.quantity) * o.price;
    shipped_units[o.sku] += o.quantity;
  }
  for (const auto& c : customers) {
    json w = get_json(http, "/customers/" + c + "/wallet");
    CHECK(w["deposited_cents"] == deposited[c]);
    CHECK(w["charged_cents"] == charged[c]);
    CHECK(w["balance_cents"].get<uint64_t>() + charged[c] == deposited[c]);
  }
  // Stock: restocked = available + shipped, nothing left reserved (the view catches up).
  for (const auto& sku : skus) {
    REQUIRE(eventually([&] {
      json s = json::parse(http.get("/inventory/" + sku).body);
      return s.value("restocked", 0ull) == restocked[sku] && s.value("shipped", 0ull) == shipped_units[sku];
    }));
    json s = get_json(http, "/inventory/" + sku);
    CHECK(s["reserved"] == 0);
    CHECK(s["available"].get<uint64_t>() + s["shipped"].get<uint64_t>() == restocked[sku]);
  }
  // The turns did their work: writers queued behind each other.
  std::string metrics = http.get("/metrics").body;
  CHECK(metrics.find("ordersd_stream_turn_waits_total 0\n") == std::string::npos);
  CHECK(server.stop() == 0);
}
