// The saga over HTTP against a real server: orders carried to their final
// status, the operator's routes (saga state, participants, pause and resume,
// stuck sagas and their retry), --ship-to and the saga's metrics.
#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/eventually.h"
#include "support/order_body.h"
#include "support/http_client.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

using nlohmann::json;
using ordersd::test::HttpClient;
using ordersd::test::HttpResponse;
using ordersd::test::ServerProcess;
using ordersd::test::TempDir;
using namespace std::chrono_literals;

using ordersd::test::eventually;

using ordersd::test::order_body;
namespace {


json get_json(HttpClient& client, const std::string& target) {
  auto r = client.get(target);
  INFO(target << " -> " << r.status << " " << r.body);
  REQUIRE(r.status == 200);
  return json::parse(r.body);
}

std::string status_of(HttpClient& client, const std::string& order_id) {
  return get_json(client, "/orders/" + order_id + "/state")["status"];
}

bool final_status(HttpClient& client, const std::string& order_id) {
  return eventually([&] {
    auto s = status_of(client, order_id);
    return s == "shipment_initiated" || s == "cancelled";
  });
}

// The value of an unlabelled metric in /metrics.
double metric(HttpClient& client, const std::string& name) {
  std::string body = client.get("/metrics").body;
  auto at = body.find("\n" + name + " ");
  REQUIRE_MESSAGE(at != std::string::npos, name);
  return std::stod(body.substr(at + name.size() + 2));
}

}  // namespace

TEST_CASE("an order placed over HTTP is carried to shipment_initiated and the operator sees its saga end") {
  TempDir dir;
  ServerProcess server(dir.path());
  HttpClient client(server.port);
  REQUIRE(client.request("POST", "/customers/ann/deposits", R"({"amount_cents": 50000})").status == 200);
  REQUIRE(client.request("POST", "/inventory/mug/restock", R"({"quantity": 10})").status == 200);
  REQUIRE(client.request("POST", "/orders", order_body("o-1", "ann", "mug", 3).dump()).status == 201);
  REQUIRE(final_status(client, "o-1"));

  auto state = get_json(client, "/orders/o-1/state");
  CHECK(state["status"] == "shipment_initiated");
  CHECK(state["shipment_id"] == "shp-o-1");
  std::vector<std::string> types;
  json events = get_json(client, "/orders/o-1/events");
  for (const auto& e : events["events"]) types.push_back(e["type"]);
  CHECK(types == std::vector<std::string>{"order.placed.v1", "payment.processed.v1", "inventory.reserved.v1",
                                          "shipment.initiated.v1"});
  // The saga ends once the inventory has shipped the stock, just after the order's shipment.
  REQUIRE(eventually([&] { return get_json(client, "/sagas/o-1")["phase"] == "shipment_initiated"; }));
  auto saga = get_json(client, "/sagas/o-1");
  CHECK(saga["amount_cents"] == 3000);
  CHECK_FALSE(saga.contains("pending_step"));
  CHECK(get_json(client, "/customers/ann/wallet")["balance_cents"] == 47000);
  // The reservation becomes shipped stock after the order ships, then the view shows it.
  REQUIRE(eventually([&] {
    auto r = client.get("/inventory/mug");  // 404 until the view has seen the restock
    return r.status == 200 && json::parse(r.body)["shipped"] == 3;
  }));
  auto mug = get_json(client, "/inventory/mug");
  CHECK(mug["available"] == 7);
  CHECK(mug["reserved"] == 0);
  CHECK(mug["restocked"] == 10);

  auto participants = get_json(client, "/participants")["participants"];
  REQUIRE(participants.size() == 4);
  CHECK(participants[0]["name"] == "saga");
  for (const auto& p : participants) CHECK(p["paused"] == false);
  CHECK(metric(client, "ordersd_sagas_shipped_total") == 1);
  CHECK(metric(client, "ordersd_sagas_running") == 0);
  CHECK(server.stop() == 0);
}

TEST_CASE("a paused participant times a step out; a stuck saga is listed, counted and retried by an operator") {
  TempDir dir;
  ServerProcess server(dir.path(), {"--step-timeout", "20", "--step-attempts", "1"});
  HttpClient client(server.port);
  REQUIRE(client.request("POST", "/customers/ann/deposits", R"({"amount_cents": 50000})").status == 200);
  REQUIRE(client.request("POST", "/inventory/mug/restock", R"({"quantity": 10})").status == 200);

  auto paused = client.request("POST", "/participants/payment/pause", "");
  REQUIRE(paused.status == 200);
  CHECK(json::parse(paused.body)["paused"] == true);
  CHECK(get_json(client, "/participants")["participants"][1]["paused"] == true);

  REQUIRE(client.request("POST", "/orders", order_body("o-1", "ann", "mug", 1).dump()).status == 201);
  // The charge times out, its void (a refund) times out too: parked.
  REQUIRE(eventually([&] { return get_json(client, "/sagas?status=stuck")["sagas"].size() == 1; }));
  auto stuck = get_json(client, "/sagas?status=stuck")["sagas"][0];
  CHECK(stuck["order_id"] == "o-1");
  CHECK(stuck["step"] == "refund");
  CHECK(metric(client, "ordersd_sagas_stuck") == 1);
  // The stuck index is a side write, readable as soon as it is written; the
  // saga's own stream shows the parking once that commit's fsync publishes it.
  CHECK(eventually([&] { return get_json(client, "/sagas/o-1")["phase"] == "stuck"; }));
  CHECK(status_of(client, "o-1") == "cancelling");

  auto retried = client.request("POST", "/sagas/o-1/retry", "");
  REQUIRE(retried.status == 202);
  CHECK(json::parse(retried.body)["step"] == "refund");
  // The retry sends the refund again, and with payment still paused it parks again.
  REQUIRE(eventually([&] { return metric(client, "ordersd_sagas_parked_total") == 2; }));

  REQUIRE(client.request("POST", "/participants/payment/resume", "{}").status == 200);
  REQUIRE(final_status(client, "o-1"));
  auto state = get_json(client, "/orders/o-1/state");
  CHECK(state["status"] == "cancelled");
  CHECK(state["cancel_reason"] == "step_timeout");
  CHECK(get_json(client, "/customers/ann/wallet")["balance_cents"] == 50000);
  CHECK(get_json(client, "/sagas?status=stuck")["sagas"].empty());
  CHECK(metric(client, "ordersd_sagas_stuck") == 0);

  auto not_stuck = client.request("POST", "/sagas/o-1/retry", "");
  CHECK(not_stuck.status == 409);
  CHECK(not_stuck.header("content-type").starts_with("application/problem+json"));
  CHECK(server.stop() == 0);
}

TEST_CASE("--ship-to decides which destinations ship") {
  TempDir dir;
  ServerProcess server(dir.path(), {"--ship-to", "BR,NL"});
  HttpClient client(server.port);
  REQUIRE(client.request("POST", "/customers/ann/deposits", R"({"amount_cents": 50000})").status == 200);
  REQUIRE(client.request("POST", "/inventory/mug/restock", R"({"quantity": 10})").status == 200);
  REQUIRE(client.request("POST", "/orders", order_body("to-br", "ann", "mug", 1, "BR").dump()).status == 201);
  REQUIRE(client.request("POST", "/orders", order_body("to-us", "ann", "mug", 1, "US").dump()).status == 201);
  REQUIRE(final_status(client, "to-br"));
  REQUIRE(final_status(client, "to-us"));
  CHECK(status_of(client, "to-br") == "shipment_initiated");
  CHECK(get_json(client, "/orders/to-us/state")["cancel_reason"] == "shipping_unavailable");
  CHECK(server.stop() == 0);
}
