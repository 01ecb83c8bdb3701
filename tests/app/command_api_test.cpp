// The command API of `ordersd serve` over real HTTP: placing, cancelling and
// delivering orders, reading them back (their events, the whole log, their
// state at any version), preconditions (If-Match), idempotent replays across
// a restart, races, pipelining, graceful shutdown under load, and /metrics.
//
// Later states (payment_processed ... cancelled) are seeded straight into the
// log before the server starts, as the saga would have written them.
#include <doctest/doctest.h>
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <latch>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "events/event_log.h"
#include "support/http_client.h"
#include "support/process.h"
#include "support/server_process.h"
#include "support/temp_dir.h"
#include "write/domain/order.h"
#include "write/domain/order_codec.h"

using namespace ordersd;
using nlohmann::json;
using ordersd::test::HttpClient;
using ordersd::test::HttpResponse;
using ordersd::test::Process;
using ordersd::test::TempDir;

namespace {

const std::string kBinary = ORDERSD_BINARY;

// The order API on its own (the saga's own tests drive the saga).
using Server = ordersd::test::SagaPausedServer;

uint64_t log_head(uint16_t port) {
  HttpClient client(port);
  auto health = client.get("/health");
  REQUIRE(health.status == 200);
  return json::parse(health.body).at("head").get<uint64_t>();
}

json parse_body(const HttpResponse& response) {
  auto body = json::parse(response.body, nullptr, false);
  INFO("body: " << response.body);
  REQUIRE_FALSE(body.is_discarded());
  return body;
}

// An RFC 9457 problem with `status`, whose detail is returned.
std::string check_problem(const HttpResponse& response, int status) {
  INFO("response " << response.status << ": " << response.body);
  CHECK(response.status == status);
  CHECK(response.header("content-type").starts_with("application/problem+json"));
  auto problem = json::parse(response.body, nullptr, false);
  REQUIRE(problem.is_object());
  CHECK(problem.contains("type"));
  CHECK(problem.contains("title"));
  CHECK(problem.value("status", 0) == status);
  REQUIRE(problem.contains("detail"));
  REQUIRE(problem["detail"].is_string());
  return problem["detail"].get<std::string>();
}

bool is_valid_id(const std::string& id) {
  static const std::regex pattern("[A-Za-z0-9_-]{1,64}");
  return std::regex_match(id, pattern);
}

json order_body(const std::string& order_id, const std::string& customer_id = "customer-1") {
  json body = {{"customer_id", customer_id},
               {"items",
                {{{"sku", "sku-beans"}, {"quantity", 2}, {"unit_price_cents", 1899}},
                 {{"sku", "sku-filter"}, {"quantity", 3}, {"unit_price_cents", 500}}}},
               {"shipping_address",
                {{"country", "NL"}, {"city", "Amsterdam"}, {"line1", "Keizersgracht 1"}, {"postal_code", "1015CD"}}}};
  if (!order_id.empty()) body["order_id"] = order_id;
  return body;
}
constexpr uint64_t kOrderBodyTotal = 2 * 1899 + 3 * 500;

HttpResponse place(HttpClient& client, const std::string& order_id,
                   const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  return client.request("POST", "/orders", order_body(order_id).dump(), headers);
}

// Checks a command's 2xx answer and returns its body.
json check_command_answer(const HttpResponse& response, int status, const std::string& order_id,
                          const std::string& order_status, uint64_t version) {
  INFO("response " << response.status << ": " << response.body);
  REQUIRE(response.status == status);
  CHECK(response.header("content-type").starts_with("application/json"));
  auto body = parse_body(response);
  CHECK(body["order_id"] == order_id);
  CHECK(body["status"] == order_status);
  CHECK(body["version"] == version);
  REQUIRE(body.contains("position"));
  CHECK(body["position"].is_number_unsigned());
  CHECK(body["position"].get<uint64_t>() > 0);
  return body;
}

// --- seeding later states the way the saga would have written them.

write::OrderPlaced placed_event(const std::string& order_id) {
  write::OrderPlaced placed;
  placed.order_id = order_id;
  placed.customer_id = "customer-seeded";
  placed.items = {{"sku-beans", 2, 1899}, {"sku-filter", 3, 500}};
  placed.shipping_address = {"NL", "Amsterdam", "Keizersgracht 1", "1015CD"};
  placed.total_cents = kOrderBodyTotal;
  return placed;
}

// The events that bring a new order to `status`.
std::vector<write::OrderEvent> history_for(const std::string& order_id, write::OrderStatus status) {
  using S = write::OrderStatus;
  std::vector<write::OrderEvent> events = {placed_event(order_id)};
  const std::vector<write::StockLine> stock = {{"sku-beans", 2}, {"sku-filter", 3}};
  switch (status) {
    case S::kCancelled:
      events.push_back(write::CancellationRequested{"customer_cancelled"});
      events.push_back(write::OrderCancelled{"customer_cancelled"});
      break;
    case S::kCancelling:
      events.push_back(write::CancellationRequested{"customer_cancelled"});
      break;
    case S::kDelivered:
    case S::kShipmentInitiated:
    case S::kInventoryReserved:
    case S::kPaymentProcessed:
      events.push_back(write::PaymentProcessed{kOrderBodyTotal});
      if (status == S::kPaymentProcessed) break;
      events.push_back(write::InventoryReserved{stock});
      if (status == S::kInventoryReserved) break;
      events.push_back(write::ShipmentInitiated{"shipment-" + order_id, "NL"});
      if (status == S::kShipmentInitiated) break;
      events.push_back(write::OrderDelivered{});
      break;
    default:
      break;
  }
  return events;
}

// Appends each order's history to its stream in `data_dir` (no server running).
void seed(const std::string& data_dir, const std::vector<std::pair<std::string, write::OrderStatus>>& orders) {
  auto log = events::EventLog::open(data_dir);
  REQUIRE(log.is_ok());
  RandomUuidGenerator ids;
  for (const auto& [order_id, status] : orders) {
    std::vector<events::NewEvent> stored;
    for (const auto& event : history_for(order_id, status)) {
      stored.push_back(write::to_new_event(order_id, event, ids.next()));
    }
    auto appended = (*log)->append(write::order_stream(order_id), events::ExpectedVersion::no_stream(), stored);
    REQUIRE_MESSAGE(appended.is_ok(), appended.status().to_string());
  }
}

// The order's events as GET /orders/{id}/events gives them.
json order_events(uint16_t port, const std::string& order_id) {
  HttpClient client(port);
  auto response = client.get("/orders/" + order_id + "/events");
  INFO("GET /orders/" << order_id << "/events: " << response.status << " " << response.body);
  REQUIRE(response.status == 200);
  return parse_body(response);
}

void check_event_shape(const json& event) {
  for (const char* field :
       {"position", "stream", "version", "type", "time", "id", "correlation_id", "causation_id", "payload"}) {
    CHECK_MESSAGE(event.contains(field), "event without " << field << ": " << event.dump());
  }
  CHECK(event["payload"].is_object());
}

// The sum of every ordersd_http_requests_total sample whose labels include `label`.
double requests_total(const std::string& metrics, const std::string& label) {
  double sum = 0;
  std::istringstream in(metrics);
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("ordersd_http_requests_total{")) continue;
    auto close = line.find('}');
    if (close == std::string::npos || line.substr(0, close).find(label) == std::string::npos) continue;
    sum += std::stod(line.substr(close + 1));
  }
  return sum;
}

// The value of the unlabelled sample `name`, or -1 when there is none.
double gauge(const std::string& metrics, const std::string& name) {
  std::istringstream in(metrics);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(name + " ")) return std::stod(line.substr(name.size() + 1));
  }
  return -1;
}

}  // namespace

TEST_CASE("placing an order answers 201 with Location, ETag, version 1 and the position it committed at") {
  TempDir dir;
  Server server(dir.sub("data"));
  HttpClient client(server.port);

  auto first = place(client, "order-a");
  auto first_body = check_command_answer(first, 201, "order-a", "placed", 1);
  CHECK(first.header("location") == "/orders/order-a");
  CHECK(first.header("etag") == "\"1\"");
  CHECK(first_body["position"] == 1);

  // Without an order_id the server makes a valid one and says where it is.
  auto generated = client.request("POST", "/orders", order_body("").dump());
  REQUIRE(generated.status == 201);
  auto generated_body = parse_body(generated);
  auto generated_id = generated_body["order_id"].get<std::string>();
  CHECK(is_valid_id(generated_id));
  CHECK(generated_id != "order-a");
  check_command_answer(generated, 201, generated_id, "placed", 1);
  CHECK(generated.header("location") == "/orders/" + generated_id);
  CHECK(generated.header("etag") == "\"1\"");
  CHECK(generated_body["position"].get<uint64_t>() > first_body["position"].get<uint64_t>());
  CHECK(order_events(server.port, generated_id)["events"].size() == 1);

  // Every bound at its legal extreme: 64-character ids, 100 lines, the
  // largest quantity and price; the total is exact.
  const std::string long_id(64, 'x');
  json largest = {{"order_id", long_id},
                  {"customer_id", std::string(64, 'C')},
                  {"items", json::array()},
                  {"shipping_address", {{"country", "DE"}}}};
  for (int i = 0; i < 100; ++i) {
    largest["items"].push_back({{"sku", "sku_" + std::to_string(i) + std::string(60 - std::to_string(i).size(), '-')},
                                {"quantity", 10000},
                                {"unit_price_cents", 1000000000}});
  }
  auto largest_answer = client.request("POST", "/orders", largest.dump());
  auto largest_body = check_command_answer(largest_answer, 201, long_id, "placed", 1);
  CHECK(largest_body["position"].get<uint64_t>() > generated_body["position"].get<uint64_t>());
  auto largest_state = client.get("/orders/" + long_id + "/state");
  REQUIRE(largest_state.status == 200);
  CHECK(parse_body(largest_state)["total_cents"] == uint64_t{100} * 10000 * 1000000000);

  // Free items and an address with only a country are fine.
  json minimal = {{"order_id", "order-free"},
                  {"customer_id", "c"},
                  {"items", {{{"sku", "s"}, {"quantity", 1}, {"unit_price_cents", 0}}}},
                  {"shipping_address", {{"country", "US"}}}};
  check_command_answer(client.request("POST", "/orders", minimal.dump()), 201, "order-free", "placed", 1);

  // The same order_id again is a conflict and writes nothing.
  auto head = log_head(server.port);
  CHECK(head == 4);
  auto again = place(client, "order-a");
  check_problem(again, 409);
  CHECK(log_head(server.port) == head);

  CHECK(server.stop() == 0);
}

TEST_CASE("an order's events, the whole log and the order's state at each version can be read back") {
  TempDir dir;
  Server server(dir.sub("data"));
  HttpClient client(server.port);

  auto placed = check_command_answer(place(client, "order-1"), 201, "order-1", "placed", 1);
  check_command_answer(place(client, "order-2"), 201, "order-2", "placed", 1);
  auto cancelled =
      check_command_answer(client.request("POST", "/orders/order-1/cancel", json{{"reason", "changed my mind"}}.dump()),
                           202, "order-1", "cancelling", 2);
  CHECK(cancelled["position"].get<uint64_t>() > placed["position"].get<uint64_t>());
  check_command_answer(place(client, "order-3"), 201, "order-3", "placed", 1);

  SUBCASE("GET /orders/{id}/events lists the order's events with their positions and payloads") {
    auto body = order_events(server.port, "order-1");
    CHECK(body["order_id"] == "order-1");
    CHECK(body["version"] == 2);
    REQUIRE(body["events"].size() == 2);
    const auto& first = body["events"][0];
    const auto& second = body["events"][1];
    check_event_shape(first);
    check_event_shape(second);
    CHECK(first["stream"] == "order-order-1");
    CHECK(first["version"] == 1);
    CHECK(first["type"] == "order.placed.v1");
    CHECK(first["position"] == placed["position"]);
    CHECK(first["payload"]["order_id"] == "order-1");
    CHECK(first["payload"]["customer_id"] == "customer-1");
    CHECK(first["payload"]["total_cents"] == kOrderBodyTotal);
    CHECK(first["payload"]["items"].size() == 2);
    CHECK(first["payload"]["shipping_address"]["country"] == "NL");
    CHECK(second["stream"] == "order-order-1");
    CHECK(second["version"] == 2);
    CHECK(second["type"] == "order.cancellation_requested.v1");
    CHECK(second["position"] == cancelled["position"]);
    CHECK(second["payload"]["reason"] == "changed my mind");
    CHECK(first["id"] != second["id"]);

    auto unknown = client.get("/orders/no-such-order/events");
    check_problem(unknown, 404);
  }

  SUBCASE("GET /events pages through the whole log with next") {
    auto all = client.get("/events");
    REQUIRE(all.status == 200);
    auto all_body = parse_body(all);
    CHECK(all_body["head"] == 4);
    CHECK(all_body["next"] == 5);
    REQUIRE(all_body["events"].size() == 4);
    for (size_t i = 0; i < 4; ++i) {
      check_event_shape(all_body["events"][i]);
      CHECK(all_body["events"][i]["position"] == i + 1);
    }
    CHECK(all_body["events"][2]["type"] == "order.cancellation_requested.v1");

    // Following `next` in pages of 3 visits every position once, in order.
    std::vector<uint64_t> seen;
    uint64_t from = 1;
    for (int page = 0; page < 10; ++page) {
      auto response = client.get("/events?from=" + std::to_string(from) + "&limit=3");
      REQUIRE(response.status == 200);
      auto body = parse_body(response);
      CHECK(body["head"] == 4);
      CHECK(body["events"].size() <= 3);
      for (const auto& event : body["events"]) seen.push_back(event["position"].get<uint64_t>());
      auto next = body["next"].get<uint64_t>();
      if (body["events"].empty()) {
        CHECK(next == from);
        break;
      }
      CHECK(next == body["events"].back()["position"].get<uint64_t>() + 1);
      from = next;
    }
    CHECK(seen == std::vector<uint64_t>{1, 2, 3, 4});

    auto middle = parse_body(client.get("/events?from=2&limit=2"));
    REQUIRE(middle["events"].size() == 2);
    CHECK(middle["events"][0]["position"] == 2);
    CHECK(middle["events"][1]["position"] == 3);
    CHECK(middle["next"] == 4);
    auto past_head = parse_body(client.get("/events?from=9"));
    CHECK(past_head["events"].empty());
    CHECK(past_head["head"] == 4);
  }

  SUBCASE("GET /orders/{id}/state folds the order up to the version asked for") {
    auto latest = client.get("/orders/order-1/state");
    REQUIRE(latest.status == 200);
    auto now = parse_body(latest);
    CHECK(now["order_id"] == "order-1");
    CHECK(now["version"] == 2);
    CHECK(now["status"] == "cancelling");
    CHECK(now["cancel_reason"] == "changed my mind");
    CHECK(now["customer_id"] == "customer-1");
    CHECK(now["total_cents"] == kOrderBodyTotal);
    CHECK(now["paid"] == false);
    CHECK(now["reserved"] == false);
    REQUIRE(now["items"].size() == 2);
    CHECK(now["items"][0] == json{{"sku", "sku-beans"}, {"quantity", 2}, {"unit_price_cents", 1899}});
    CHECK(now["items"][1] == json{{"sku", "sku-filter"}, {"quantity", 3}, {"unit_price_cents", 500}});
    CHECK(now["shipping_address"]["country"] == "NL");
    CHECK(now["shipping_address"]["city"] == "Amsterdam");
    CHECK(now["shipping_address"]["line1"] == "Keizersgracht 1");
    CHECK(now["shipping_address"]["postal_code"] == "1015CD");

    CHECK(parse_body(client.get("/orders/order-1/state?version=2")) == now);

    // Time travel: version 1 is the order as it was placed.
    auto then = client.get("/orders/order-1/state?version=1");
    REQUIRE(then.status == 200);
    auto was = parse_body(then);
    CHECK(was["version"] == 1);
    CHECK(was["status"] == "placed");
    CHECK((!was.contains("cancel_reason") || was["cancel_reason"].is_null()));
    CHECK((!was.contains("shipment_id") || was["shipment_id"].is_null()));
    CHECK(was["items"] == now["items"]);

    check_problem(client.get("/orders/order-1/state?version=3"), 404);
    check_problem(client.get("/orders/order-1/state?version=0"), 400);
    check_problem(client.get("/orders/order-1/state?version=two"), 400);
    check_problem(client.get("/orders/no-such-order/state"), 404);
  }

  CHECK(server.stop() == 0);
}

TEST_CASE("HEAD on every GET route: GET's status and headers, Content-Length included, and no body") {
  TempDir dir;
  Server server(dir.sub("data"));
  HttpClient client(server.port);
  auto placed = check_command_answer(place(client, "order-1"), 201, "order-1", "placed", 1);
  // Once the order view has it, nothing changes while the saga is held.
  REQUIRE(client.get("/orders/order-1?min_position=" + placed["position"].dump()).status == 200);
  // The GET routes, as the index lists them (with a value for each parameter).
  auto index = parse_body(client.get("/"));
  std::vector<std::string> targets;
  for (const auto& route : index["routes"]) {
    if (route["method"] != "GET") continue;
    std::string path = route["path"];
    path = std::regex_replace(path, std::regex(R"(\{[a-z]+\})"), "order-1");
    if (path == "/events/stream") continue;  // a stream has no length: below
    targets.push_back(path == "/sagas" ? "/sagas?status=stuck" : path);
  }
  CHECK(targets.size() > 15);
  CHECK(index["routes"][0] == json{{"method", "GET"}, {"path", "/"}, {"scope", nullptr}, {"service", "every"},
                                   {"summary", "this index: every route, its scope, service and summary"}});
  for (const auto& route : index["routes"]) {
    CHECK(route.size() == 5);
    CHECK(route["summary"].get<std::string>().size() > 5);
  }
  targets.push_back("/orders/nobody");  // an error answer too
  for (const auto& target : targets) {
    INFO(target);
    // On one connection: a body sent after a HEAD's header would be read as the next answer.
    HttpResponse head = client.request("HEAD", target);
    HttpResponse get = client.get(target);
    CHECK(head.status == get.status);
    CHECK(head.body.empty());
    if (target == "/metrics") {  // counts this very request: its length moves
      CHECK(std::stoul(head.header("content-length")) > 1000);
    } else {
      CHECK(head.header("content-length") == std::to_string(get.body.size()));
    }
    CHECK(head.header("content-type") == get.header("content-type"));
    CHECK(head.headers.count("x-position") == get.headers.count("x-position"));
  }
  // The live feed: its head (no length to give) and the close; the feed never starts.
  HttpClient feed(server.port);
  HttpResponse stream_head = feed.request("HEAD", "/events/stream");
  CHECK(stream_head.status == 200);
  CHECK(stream_head.header("content-type").starts_with("text/event-stream"));
  CHECK(stream_head.body.empty());
  CHECK(stream_head.header("connection") == "close");
  // 405 names HEAD where it names GET; HEAD where only POST is served is 405 too.
  HttpResponse wrong = client.request("DELETE", "/orders");
  CHECK(wrong.status == 405);
  CHECK(wrong.header("allow") == "POST, GET, HEAD");
  HttpResponse head_of_post = client.request("HEAD", "/orders/order-1/cancel");
  CHECK(head_of_post.status == 405);
  CHECK(head_of_post.header("allow") == "POST");
  CHECK(head_of_post.body.empty());
  CHECK(client.get("/health").status == 200);  // the connection is still in step
}

TEST_CASE("cancel and deliver follow the transition table and name the current status when refused") {
  using S = write::OrderStatus;
  const std::vector<std::pair<S, std::string>> statuses = {
      {S::kPlaced, "placed"},
      {S::kPaymentProcessed, "payment_processed"},
      {S::kInventoryReserved, "inventory_reserved"},
      {S::kShipmentInitiated, "shipment_initiated"},
      {S::kDelivered, "delivered"},
      {S::kCancelling, "cancelling"},
      {S::kCancelled, "cancelled"},
  };
  TempDir dir;
  std::vector<std::pair<std::string, S>> orders;
  for (const auto& [status, name] : statuses) {
    orders.push_back({"cancel-from-" + name, status});
    orders.push_back({"deliver-from-" + name, status});
  }
  seed(dir.path(), orders);

  Server server(dir.path());
  HttpClient client(server.port);
  uint64_t head = log_head(server.port);

  for (const auto& [status, name] : statuses) {
    CAPTURE(name);
    const uint64_t version = history_for("x", status).size();
    {
      // The seeded order is where the test says it is.
      auto state = client.get("/orders/cancel-from-" + name + "/state");
      REQUIRE(state.status == 200);
      auto seeded = parse_body(state);
      CHECK(seeded["status"] == name);
      CHECK(seeded["version"] == version);
      if (status == S::kPaymentProcessed || status == S::kInventoryReserved) CHECK(seeded["paid"] == true);
      if (status == S::kInventoryReserved) CHECK(seeded["reserved"] == true);
      if (status == S::kShipmentInitiated) CHECK(seeded["shipment_id"] == "shipment-cancel-from-" + name);
    }

    auto cancel =
        client.request("POST", "/orders/cancel-from-" + name + "/cancel", json{{"reason", "too slow"}}.dump());
    if (status == S::kPlaced || status == S::kPaymentProcessed || status == S::kInventoryReserved) {
      auto body = check_command_answer(cancel, 202, "cancel-from-" + name, "cancelling", version + 1);
      CHECK(body["position"] == head + 1);
      head += 1;
      auto events = order_events(server.port, "cancel-from-" + name)["events"];
      REQUIRE(events.size() == version + 1);
      CHECK(events.back()["type"] == "order.cancellation_requested.v1");
      CHECK(events.back()["payload"]["reason"] == "too slow");

      // Cancelling twice: the second finds the order cancelling.
      auto twice = client.request("POST", "/orders/cancel-from-" + name + "/cancel");
      auto detail = check_problem(twice, 409);
      CHECK_MESSAGE(detail.find("cancelling") != std::string::npos, "detail: " << detail);
    } else {
      auto detail = check_problem(cancel, 409);
      CHECK_MESSAGE(detail.find(name) != std::string::npos, "detail: " << detail);
    }
    CHECK(log_head(server.port) == head);

    auto deliver = client.request("POST", "/orders/deliver-from-" + name + "/deliver");
    if (status == S::kShipmentInitiated) {
      auto body = check_command_answer(deliver, 200, "deliver-from-" + name, "delivered", version + 1);
      CHECK(body["position"] == head + 1);
      head += 1;
      auto events = order_events(server.port, "deliver-from-" + name)["events"];
      REQUIRE(events.size() == version + 1);
      CHECK(events.back()["type"] == "order.delivered.v1");
      auto state = parse_body(client.get("/orders/deliver-from-" + name + "/state"));
      CHECK(state["status"] == "delivered");
      CHECK(state["shipment_id"] == "shipment-deliver-from-" + name);
      CHECK(state["paid"] == true);

      auto twice = client.request("POST", "/orders/deliver-from-" + name + "/deliver");
      auto detail = check_problem(twice, 409);
      CHECK_MESSAGE(detail.find("delivered") != std::string::npos, "detail: " << detail);
    } else {
      auto detail = check_problem(deliver, 409);
      CHECK_MESSAGE(detail.find(name) != std::string::npos, "detail: " << detail);
    }
    CHECK(log_head(server.port) == head);
  }

  // Unknown orders.
  check_problem(client.request("POST", "/orders/nobody/cancel"), 404);
  check_problem(client.request("POST", "/orders/nobody/deliver"), 404);
  CHECK(log_head(server.port) == head);

  CHECK(server.stop() == 0);
}

TEST_CASE("If-Match lets a command through at the current version and refuses a stale one with 412") {
  TempDir dir;
  Server server(dir.path());
  HttpClient client(server.port);

  // A new order is at version 0.
  check_problem(place(client, "order-1", {{"If-Match", "\"1\""}}), 412);
  CHECK(log_head(server.port) == 0);
  auto placed = place(client, "order-1", {{"If-Match", "\"0\""}});
  check_command_answer(placed, 201, "order-1", "placed", 1);
  CHECK(placed.header("etag") == "\"1\"");

  for (const char* stale : {"\"0\"", "\"2\"", "\"17\""}) {
    CAPTURE(stale);
    check_problem(client.request("POST", "/orders/order-1/cancel", "", {{"If-Match", stale}}), 412);
    check_problem(client.request("POST", "/orders/order-1/deliver", "", {{"If-Match", stale}}), 412);
    CHECK(log_head(server.port) == 1);
  }
  check_command_answer(client.request("POST", "/orders/order-1/cancel", "", {{"If-Match", "\"1\""}}), 202, "order-1",
                       "cancelling", 2);
  CHECK(log_head(server.port) == 2);
  // The order moved on: the version that just worked is stale now.
  check_problem(client.request("POST", "/orders/order-1/cancel", "", {{"If-Match", "\"1\""}}), 412);
  CHECK(log_head(server.port) == 2);

  CHECK(server.stop() == 0);
}

TEST_CASE("a command repeated with its Idempotency-Key is answered from the first execution, also after a restart") {
  TempDir dir;
  const std::string data = dir.sub("data");
  const std::string place_body = order_body("").dump();  // the server makes the id
  const std::string cancel_body = json{{"reason", "duplicate"}}.dump();
  HttpResponse first_place, first_cancel, first_refusal;
  std::string order_id;
  uint64_t head = 0;
  {
    Server server(data);
    HttpClient client(server.port);
    first_place = client.request("POST", "/orders", place_body, {{"Idempotency-Key", "place-key-1"}});
    REQUIRE(first_place.status == 201);
    CHECK(first_place.header("idempotent-replayed") != "true");
    order_id = parse_body(first_place)["order_id"].get<std::string>();
    first_cancel =
        client.request("POST", "/orders/" + order_id + "/cancel", cancel_body, {{"Idempotency-Key", "cancel-key-1"}});
    check_command_answer(first_cancel, 202, order_id, "cancelling", 2);
    CHECK(first_cancel.header("idempotent-replayed") != "true");
    head = log_head(server.port);
    CHECK(head == 2);

    // The same key, method, path and body: the first answer again, nothing written.
    // (A fresh cancel would be 409 now, and a fresh place a new order.)
    for (int i = 0; i < 2; ++i) {
      auto replay = client.request("POST", "/orders", place_body, {{"Idempotency-Key", "place-key-1"}});
      CHECK(replay.status == 201);
      CHECK(replay.header("idempotent-replayed") == "true");
      CHECK(parse_body(replay) == parse_body(first_place));
      auto cancel_replay =
          client.request("POST", "/orders/" + order_id + "/cancel", cancel_body, {{"Idempotency-Key", "cancel-key-1"}});
      CHECK(cancel_replay.status == 202);
      CHECK(cancel_replay.header("idempotent-replayed") == "true");
      CHECK(parse_body(cancel_replay) == parse_body(first_cancel));
    }
    CHECK(log_head(server.port) == head);

    // A refusal is an answer too: it is replayed as it was given.
    first_refusal =
        client.request("POST", "/orders/" + order_id + "/deliver", "", {{"Idempotency-Key", "deliver-key-1"}});
    check_problem(first_refusal, 409);
    auto refusal_replay =
        client.request("POST", "/orders/" + order_id + "/deliver", "", {{"Idempotency-Key", "deliver-key-1"}});
    CHECK(refusal_replay.status == 409);
    CHECK(refusal_replay.header("idempotent-replayed") == "true");
    CHECK(parse_body(refusal_replay) == parse_body(first_refusal));
    CHECK(log_head(server.port) == head);

    // The same key with another body is a client error, and writes nothing.
    check_problem(
        client.request("POST", "/orders", order_body("other-order").dump(), {{"Idempotency-Key", "place-key-1"}}), 422);
    check_problem(client.request("POST", "/orders/" + order_id + "/cancel", json{{"reason", "other"}}.dump(),
                                 {{"Idempotency-Key", "cancel-key-1"}}),
                  422);
    CHECK(log_head(server.port) == head);
    CHECK(server.stop() == 0);
  }
  {
    Server server(data);
    HttpClient client(server.port);
    auto replay = client.request("POST", "/orders", place_body, {{"Idempotency-Key", "place-key-1"}});
    CHECK(replay.status == 201);
    CHECK(replay.header("idempotent-replayed") == "true");
    CHECK(parse_body(replay) == parse_body(first_place));
    auto cancel_replay =
        client.request("POST", "/orders/" + order_id + "/cancel", cancel_body, {{"Idempotency-Key", "cancel-key-1"}});
    CHECK(cancel_replay.status == 202);
    CHECK(cancel_replay.header("idempotent-replayed") == "true");
    CHECK(parse_body(cancel_replay) == parse_body(first_cancel));
    auto refusal_replay =
        client.request("POST", "/orders/" + order_id + "/deliver", "", {{"Idempotency-Key", "deliver-key-1"}});
    CHECK(refusal_replay.status == 409);
    CHECK(refusal_replay.header("idempotent-replayed") == "true");
    CHECK(parse_body(refusal_replay) == parse_body(first_refusal));
    check_problem(
        client.request("POST", "/orders", order_body("other-order").dump(), {{"Idempotency-Key", "place-key-1"}}), 422);
    CHECK(log_head(server.port) == head);

    // A new key is a new command.
    auto fresh = client.request("POST", "/orders", place_body, {{"Idempotency-Key", "place-key-2"}});
    CHECK(fresh.status == 201);
    CHECK(fresh.header("idempotent-replayed") != "true");
    CHECK(parse_body(fresh)["order_id"] != order_id);
    CHECK(log_head(server.port) == head + 1);
    CHECK(server.stop() == 0);
  }
}

TEST_CASE("of 8 cancels of one order sent at once on 8 connections exactly one is accepted") {
  TempDir dir;
  Server server(dir.path());
  {
    HttpClient client(server.port);
    check_command_answer(place(client, "contested"), 201, "contested", "placed", 1);
  }
  constexpr int kClients = 8;
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(std::make_unique<HttpClient>(server.port));
  std::vector<HttpResponse> answers(kClients);
  std::latch start(kClients);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      answers[i] = clients[i]->request("POST", "/orders/contested/cancel",
                                       json{{"reason", "client " + std::to_string(i)}}.dump());
    });
  }
  for (auto& t : threads) t.join();

  int accepted = 0, conflicts = 0;
  for (const auto& answer : answers) {
    if (answer.status == 202) {
      ++accepted;
      check_command_answer(answer, 202, "contested", "cancelling", 2);
    } else {
      ++conflicts;
      check_problem(answer, 409);
    }
  }
  CHECK(accepted == 1);
  CHECK(conflicts == kClients - 1);
  auto events = order_events(server.port, "contested")["events"];
  REQUIRE(events.size() == 2);
  CHECK(events[1]["type"] == "order.cancellation_requested.v1");
  CHECK(log_head(server.port) == 2);
  CHECK(server.stop() == 0);
}

TEST_CASE("pipelined commands on one connection are executed and answered in order") {
  TempDir dir;
  Server server(dir.path());
  HttpClient client(server.port);
  const std::string body = order_body("piped").dump();
  const std::string cancel = json{{"reason", "piped"}}.dump();
  auto post = [](const std::string& target, const std::string& payload) {
    return "POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(payload.size()) + "\r\n\r\n" + payload;
  };
  auto first =
      client.raw(post("/orders", body) + post("/orders/piped/cancel", cancel) + post("/orders/piped/cancel", cancel) +
                 "GET /orders/piped/events HTTP/1.1\r\nHost: x\r\n\r\n" + post("/orders/piped/deliver", ""));
  check_command_answer(first, 201, "piped", "placed", 1);
  check_command_answer(client.raw(""), 202, "piped", "cancelling", 2);
  check_problem(client.raw(""), 409);
  auto events = client.raw("");
  REQUIRE(events.status == 200);
  CHECK(parse_body(events)["events"].size() == 2);
  check_problem(client.raw(""), 409);
  // The connection is still good for more.
  CHECK(client.get("/health").status == 200);
  CHECK(server.stop() == 0);
}

TEST_CASE("SIGTERM under load answers every in-flight order with a whole 201, exits 0 and loses none") {
  ::signal(SIGPIPE, SIG_IGN);
  TempDir dir;
  const std::string data = dir.sub("data");
  constexpr int kClients = 16;
  constexpr int kAcksBeforeStop = 100;

  struct Ack {
    std::string order_id;
    HttpResponse response;
  };
  std::vector<std::vector<Ack>> acks(kClients);
  // Per client: the order it sent last without getting an answer, and why.
  std::vector<std::pair<std::string, std::string>> unanswered(kClients);
  int exit_code = -1;
  std::string server_log;
  {
    Server server(data);
    std::vector<std::unique_ptr<HttpClient>> clients;
    for (int i = 0; i < kClients; ++i) clients.push_back(std::make_unique<HttpClient>(server.port));

    std::mutex mu;
    std::condition_variable enough;
    int total = 0;
    std::vector<std::thread> threads;
    for (int i = 0; i < kClients; ++i) {
      threads.emplace_back([&, i] {
        for (int n = 0;; ++n) {
          std::string id = "load-" + std::to_string(i) + "-" + std::to_string(n);
          HttpResponse response;
          auto sent = std::chrono::steady_clock::now();
          try {
            response = place(*clients[i], id);
          } catch (const std::exception& e) {
            auto waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count();
            unanswered[i] = {id, std::string(e.what()) + " after " + std::to_string(waited) + " s"};
            break;  // the connection ended: no answer, no claim
          }
          acks[i].push_back({id, response});
          if (response.status != 201) break;
          {
            std::lock_guard lock(mu);
            ++total;
          }
          enough.notify_one();
        }
        clients[i].reset();  // hang up, as a client that is done does
      });
    }
    {
      std::unique_lock lock(mu);
      bool reached = enough.wait_for(lock, std::chrono::seconds(30), [&] { return total >= kAcksBeforeStop; });
      CHECK_MESSAGE(reached, "only " << total << " orders placed in 30 s");
    }
    server.process.signal(SIGTERM);
    for (auto& t : threads) t.join();
    exit_code = server.process.wait();
    server_log = server.process.read_all_stderr();
  }
  CHECK_MESSAGE(exit_code == 0, "server stderr:\n" << server_log);

  size_t placed = 0;
  for (const auto& per_client : acks) {
    for (const auto& [order_id, response] : per_client) {
      CAPTURE(order_id);
      check_command_answer(response, 201, order_id, "placed", 1);
      ++placed;
    }
  }
  CHECK(placed >= kAcksBeforeStop);

  Server server(data);
  HttpClient client(server.port);
  // Everything committed was answered: an order placed while its connection
  // was cut was still in flight, and should have had its answer.
  CHECK(log_head(server.port) == placed);
  for (const auto& [order_id, error] : unanswered) {
    if (order_id.empty()) continue;
    auto events = client.get("/orders/" + order_id + "/events");
    CHECK_MESSAGE(events.status == 404,
                  order_id << " was placed, but its connection ended without an answer: " << error);
  }
  // A page of the log is 100 events unless asked otherwise.
  auto page = parse_body(client.get("/events"));
  CHECK(page["events"].size() == 100);
  CHECK(page["next"] == 101);
  CHECK(parse_body(client.get("/events?limit=1000"))["events"].size() ==
        std::min<uint64_t>(log_head(server.port), 1000));
  // And everything answered is there.
  for (const auto& per_client : acks) {
    for (const auto& [order_id, response] : per_client) {
      if (response.status != 201) continue;
      auto events = client.get("/orders/" + order_id + "/events");
      REQUIRE_MESSAGE(events.status == 200, order_id << " was acknowledged but is gone");
      auto body = parse_body(events);
      REQUIRE(body["events"].size() == 1);
      CHECK(body["events"][0]["type"] == "order.placed.v1");
      CHECK(body["events"][0]["position"] == parse_body(response)["position"]);
    }
  }
  CHECK(server.stop() == 0);
}

TEST_CASE("/metrics exposes request counts and latencies and the log's head, batches and fsyncs") {
  TempDir dir;
  Server server(dir.path());
  HttpClient client(server.port);
  check_command_answer(place(client, "metered-1"), 201, "metered-1", "placed", 1);

  auto fetch = [&] {
    auto metrics = client.get("/metrics");
    REQUIRE(metrics.status == 200);
    CHECK(metrics.header("content-type").starts_with("text/plain; version=0.0.4"));
    return metrics.body;
  };
  auto before = fetch();
  INFO(before);
  CHECK(before.find("# TYPE ordersd_http_requests_total counter") != std::string::npos);
  CHECK(before.find("ordersd_http_requests_total{") != std::string::npos);
  CHECK(before.find("route=\"") != std::string::npos);
  CHECK(before.find("status=\"201\"") != std::string::npos);
  CHECK(before.find("# TYPE ordersd_http_request_duration_seconds histogram") != std::string::npos);
  CHECK(before.find("ordersd_http_request_duration_seconds_bucket{") != std::string::npos);
  CHECK(before.find("le=\"+Inf\"") != std::string::npos);
  CHECK(before.find("ordersd_http_request_duration_seconds_sum") != std::string::npos);
  CHECK(before.find("ordersd_http_request_duration_seconds_count") != std::string::npos);
  CHECK(gauge(before, "ordersd_log_head") == 1);
  CHECK(before.find("# TYPE ordersd_log_batch_events histogram") != std::string::npos);
  CHECK(before.find("ordersd_log_batch_events_bucket{") != std::string::npos);
  CHECK(before.find("# TYPE ordersd_log_fsync_seconds histogram") != std::string::npos);
  CHECK(before.find("ordersd_log_fsync_seconds_bucket{") != std::string::npos);
  const double placed_before = requests_total(before, "status=\"201\"");
  const double conflicts_before = requests_total(before, "status=\"409\"");
  CHECK(placed_before >= 1);

  check_command_answer(place(client, "metered-2"), 201, "metered-2", "placed", 1);
  check_problem(place(client, "metered-2"), 409);

  // Counting may trail the answer by a moment: wait for it, boundedly.
  std::string after;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  do {
    after = fetch();
    if (requests_total(after, "status=\"409\"") > conflicts_before) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (std::chrono::steady_clock::now() < deadline);
  CHECK(requests_total(after, "status=\"201\"") == placed_before + 1);
  CHECK(requests_total(after, "status=\"409\"") == conflicts_before + 1);
  CHECK(gauge(after, "ordersd_log_head") == 2);
  CHECK(server.stop() == 0);
}
