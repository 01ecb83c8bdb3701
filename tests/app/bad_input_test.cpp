// Malformed and invalid requests to the command API of `ordersd serve`, as a
// table against one server: each gets its status as an RFC 9457
// application/problem+json answer, and none of them writes to the log.
#include <doctest/doctest.h>
#include <signal.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "support/http_client.h"
#include "support/process.h"
#include "support/raw_socket.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

using namespace ordersd;
using nlohmann::json;
using ordersd::test::HttpClient;
using ordersd::test::HttpResponse;
using ordersd::test::Process;
using ordersd::test::TempDir;

namespace {

const std::string kBinary = ORDERSD_BINARY;
const std::string kExisting = "existing-order";  // placed before the table runs

// The order API on its own (the saga's own tests drive the saga).
using Server = ordersd::test::SagaPausedServer;

using Headers = std::vector<std::pair<std::string, std::string>>;

// One malformed request and what the server must answer.
struct Case {
  std::string name;
  std::string method;
  std::string target;
  std::string body;
  Headers headers;
  std::string raw;            // when set, these bytes are sent instead
  bool half_close = false;    // with `raw`: shut down the sending side after it
  std::vector<int> statuses;  // the expected status (two only where the contract allows either)
  std::string allow = {};     // for 405: a method the Allow header must list
};

// A valid order body; every case breaks exactly one thing in it. Each gets its
// own order_id, so a case the server wrongly accepts cannot mask the next one.
json valid_order(const std::string& order_id) {
  return {{"order_id", order_id},
          {"customer_id", "customer-1"},
          {"items", {{{"sku", "sku-1"}, {"quantity", 1}, {"unit_price_cents", 100}}}},
          {"shipping_address", {{"country", "NL"}, {"city", "Utrecht"}}}};
}

std::string post_raw(const std::string& target, const std::string& headers_and_blank_line, const std::string& body) {
  return "POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + headers_and_blank_line +
         body;
}

std::vector<Case> bad_requests() {
  std::vector<Case> cases;
  int serial = 0;
  auto next_id = [&] { return "bad-" + std::to_string(++serial); };

  // A POST /orders whose body is a valid order changed by `change`.
  auto order = [&](std::string name, const std::function<void(json&)>& change, int status = 400) {
    json body = valid_order(next_id());
    change(body);
    cases.push_back({std::move(name), "POST", "/orders", body.dump(), {}, "", false, {status}});
  };
  // A POST /orders whose body is a valid order with `literal` spliced in as
  // the JSON text of the value `change` marks with "@@".
  auto order_literal = [&](std::string name, const std::function<void(json&)>& change, const std::string& literal) {
    json body = valid_order(next_id());
    change(body);
    std::string text = body.dump();
    auto at = text.find("\"@@\"");
    REQUIRE(at != std::string::npos);
    text.replace(at, 4, literal);
    cases.push_back({std::move(name), "POST", "/orders", text, {}, "", false, {400}});
  };
  auto body_text = [&](std::string name, std::string text, std::string target = "/orders") {
    cases.push_back({std::move(name), "POST", std::move(target), std::move(text), {}, "", false, {400}});
  };
  auto item = [](json& body) -> json& { return body["items"][0]; };

  // --- not JSON, or not the right JSON
  body_text("truncated JSON", R"({"customer_id": "c", "items": [)");
  body_text("empty body", "");
  body_text("a JSON array, not an object", "[1, 2, 3]");
  body_text("JSON null", "null");
  body_text("a JSON string", R"("an order")");
  body_text("trailing garbage after the object", valid_order(next_id()).dump() + " and more");
  body_text("single-quoted JSON", "{'customer_id': 'c'}");
  body_text("invalid UTF-8 in a string", "{\"customer_id\": \"c\xff\xfe\"}");
  body_text("nesting 100,000 arrays deep", std::string(100000, '['));

  // --- missing fields
  order("no customer_id", [](json& b) { b.erase("customer_id"); });
  order("no items", [](json& b) { b.erase("items"); });
  order("no shipping_address", [](json& b) { b.erase("shipping_address"); });
  order("no country", [](json& b) { b["shipping_address"].erase("country"); });
  order("an item without sku", [&](json& b) { item(b).erase("sku"); });
  order("an item without quantity", [&](json& b) { item(b).erase("quantity"); });
  order("an item without unit_price_cents", [&](json& b) { item(b).erase("unit_price_cents"); });

  // --- wrong types
  order("customer_id a number", [](json& b) { b["customer_id"] = 42; });
  order("customer_id null", [](json& b) { b["customer_id"] = nullptr; });
  order("order_id a number", [](json& b) { b["order_id"] = 7; });
  order("items an object", [](json& b) { b["items"] = json{{"sku", "s"}}; });
  order("an item that is a number", [](json& b) { b["items"] = json::array({5}); });
  order("quantity a string", [&](json& b) { item(b)["quantity"] = "1"; });
  order("quantity a boolean", [&](json& b) { item(b)["quantity"] = true; });
  order("unit_price_cents a string", [&](json& b) { item(b)["unit_price_cents"] = "100"; });
  order("shipping_address a string", [](json& b) { b["shipping_address"] = "Utrecht, NL"; });
  order("country a number", [](json& b) { b["shipping_address"]["country"] = 31; });
  order("city a number", [](json& b) { b["shipping_address"]["city"] = 3511; });

  // --- numbers out of range
  order("quantity 0", [&](json& b) { item(b)["quantity"] = 0; });
  order("quantity 10001", [&](json& b) { item(b)["quantity"] = 10001; });
  order("quantity -1", [&](json& b) { item(b)["quantity"] = -1; });
  order("quantity 1.5", [&](json& b) { item(b)["quantity"] = 1.5; });
  order("quantity 1e30", [&](json& b) { item(b)["quantity"] = 1e30; });
  order("quantity 2^32 (0 as a uint32)", [&](json& b) { item(b)["quantity"] = uint64_t{1} << 32; });
  order_literal(
      "quantity 18446744073709551616", [&](json& b) { item(b)["quantity"] = "@@"; }, "18446744073709551616");
  order("unit_price_cents -1", [&](json& b) { item(b)["unit_price_cents"] = -1; });
  order("unit_price_cents 1000000001", [&](json& b) { item(b)["unit_price_cents"] = 1000000001; });
  order("unit_price_cents 1.5", [&](json& b) { item(b)["unit_price_cents"] = 1.5; });
  order("unit_price_cents 1e30", [&](json& b) { item(b)["unit_price_cents"] = 1e30; });
  order_literal(
      "unit_price_cents 18446744073709551616", [&](json& b) { item(b)["unit_price_cents"] = "@@"; },
      "18446744073709551616");
  order("quantity x price overflowing 64 bits", [&](json& b) {
    item(b)["quantity"] = (uint64_t{1} << 32) + 1;
    item(b)["unit_price_cents"] = (uint64_t{1} << 32) + 1;
  });
  order("price 2^64-1 times quantity 2", [&](json& b) {
    item(b)["quantity"] = 2;
    item(b)["unit_price_cents"] = UINT64_MAX;
  });

  // --- item lists
  order("no items at all", [](json& b) { b["items"] = json::array(); });
  order("101 items", [](json& b) {
    b["items"] = json::array();
    for (int i = 0; i < 101; ++i) {
      b["items"].push_back({{"sku", "sku-" + std::to_string(i)}, {"quantity", 1}, {"unit_price_cents", 1}});
    }
  });
  order("the same sku twice", [](json& b) {
    b["items"].push_back({{"sku", "sku-1"}, {"quantity", 2}, {"unit_price_cents", 100}});
  });

  // --- ids in the body
  const std::vector<std::pair<std::string, std::string>> bad_ids = {
      {"with '/'", "a/b"},     {"'..'", ".."},
      {"with a space", "a b"}, {"with unicode", "ord\u00e9r"},
      {"empty", ""},           {"of 65 characters", std::string(65, 'a')},
      {"with a dot", "a.b"},
  };
  for (const auto& [what, id] : bad_ids) {
    order("order_id " + what, [&](json& b) { b["order_id"] = id; });
    order("customer_id " + what, [&](json& b) { b["customer_id"] = id; });
    order("sku " + what, [&](json& b) { item(b)["sku"] = id; });
  }

  // --- the address
  order("country lower case", [](json& b) { b["shipping_address"]["country"] = "nl"; });
  order("country of three letters", [](json& b) { b["shipping_address"]["country"] = "NLD"; });
  order("country of one letter", [](json& b) { b["shipping_address"]["country"] = "N"; });
  order("country empty", [](json& b) { b["shipping_address"]["country"] = ""; });

  // --- unknown fields
  order("an unknown top-level field", [](json& b) { b["coupon"] = "FREE"; });
  order("an unknown item field", [&](json& b) { item(b)["discount"] = 5; });
  order("an unknown address field", [](json& b) { b["shipping_address"]["state"] = "UT"; });
  order("a status set by the client", [](json& b) { b["status"] = "delivered"; });

  // --- media types
  cases.push_back({"text/plain body",
                   "POST",
                   "/orders",
                   valid_order(next_id()).dump(),
                   {{"Content-Type", "text/plain"}},
                   "",
                   false,
                   {415}});
  cases.push_back(
      {"application/xml body", "POST", "/orders", "<order/>", {{"Content-Type", "application/xml"}}, "", false, {415}});
  cases.push_back({"text/plain body on cancel",
                   "POST",
                   "/orders/" + kExisting + "/cancel",
                   R"({"reason":"x"})",
                   {{"Content-Type", "text/plain"}},
                   "",
                   false,
                   {415}});

  // --- cancel bodies, on an order that could be cancelled
  const std::string cancel = "/orders/" + kExisting + "/cancel";
  body_text("cancel reason of 201 characters", json{{"reason", std::string(201, 'r')}}.dump(), cancel);
  body_text("cancel reason a number", R"({"reason": 5})", cancel);
  body_text("cancel with an unknown field", R"({"reason": "x", "force": true})", cancel);
  body_text("cancel with malformed JSON", R"({"reason": )", cancel);
  body_text("cancel with a JSON array", R"(["reason"])", cancel);

  // --- sizes and truncation, as raw bytes
  cases.push_back({"a declared body over 1 MiB",
                   "",
                   "",
                   "",
                   {},
                   post_raw("/orders", "Content-Length: 1048577\r\n\r\n", std::string(1000, ' ')),
                   false,
                   {413}});
  cases.push_back({"a declared cancel body over 1 MiB",
                   "",
                   "",
                   "",
                   {},
                   post_raw(cancel, "Content-Length: 5000000\r\n\r\n", "{\"reason\":"),
                   false,
                   {413}});
  {
    std::string chunk(64 << 10, ' ');
    std::string chunked = post_raw("/orders", "Transfer-Encoding: chunked\r\n\r\n", "");
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
    for (int i = 0; i < 17; ++i) chunked += size + chunk + "\r\n";
    cases.push_back({"a chunked body growing over 1 MiB", "", "", "", {}, chunked, false, {413}});
  }
  {
    std::string whole = valid_order(next_id()).dump();
    cases.push_back({"a body cut off before its Content-Length",
                     "",
                     "",
                     "",
                     {},
                     post_raw("/orders", "Content-Length: " + std::to_string(whole.size()) + "\r\n\r\n",
                              whole.substr(0, whole.size() / 2)),
                     true,
                     {400}});
    cases.push_back({"a cancel body cut off before its Content-Length",
                     "",
                     "",
                     "",
                     {},
                     post_raw(cancel, "Content-Length: 100\r\n\r\n", R"({"reason": "cut)"),
                     true,
                     {400}});
  }
  cases.push_back({"not HTTP at all", "", "", "", {}, "THIS IS NOT HTTP\r\n\r\n", false, {400}});

  // --- ids in the URL path
  const std::vector<std::pair<std::string, std::string>> bad_path_ids = {
      {"with an encoded '/'", "a%2Fb"},           {"'..'", ".."},
      {"with an encoded space", "a%20b"},         {"with encoded unicode", "ord%C3%A9r"},
      {"of 65 characters", std::string(65, 'a')}, {"with a dot", "a.b"},
  };
  const std::vector<std::pair<std::string, std::string>> id_routes = {
      {"POST", "cancel"}, {"POST", "deliver"}, {"GET", "events"}, {"GET", "state"}};
  for (const auto& [method, action] : id_routes) {
    for (const auto& [what, id] : bad_path_ids) {
      cases.push_back({method + " " + action + " with a path id " + what,
                       method,
                       "/orders/" + id + "/" + action,
                       "",
                       {},
                       "",
                       false,
                       {400}});
    }
    // Whether an empty segment is an invalid id or no route at all, the contract leaves open.
    cases.push_back({method + " " + action + " with an empty path id",
                     method,
                     "/orders//" + action,
                     "",
                     {},
                     "",
                     false,
                     {400, 404}});
  }
  cases.push_back({"a path id with a raw space",
                   "",
                   "",
                   "",
                   {},
                   "POST /orders/a b/cancel HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
                   false,
                   {400}});
  cases.push_back({"a path id with raw unicode",
                   "",
                   "",
                   "",
                   {},
                   "GET /orders/ord\xc3\xa9r/events HTTP/1.1\r\nHost: x\r\n\r\n",
                   false,
                   {400}});

  // --- wrong methods
  cases.push_back({"DELETE /orders", "DELETE", "/orders", "", {}, "", false, {405}, "POST"});
  cases.push_back({"PUT /orders", "PUT", "/orders", valid_order(next_id()).dump(), {}, "", false, {405}, "POST"});
  cases.push_back({"GET on cancel", "GET", cancel, "", {}, "", false, {405}, "POST"});
  cases.push_back({"PUT on deliver", "PUT", "/orders/" + kExisting + "/deliver", "", {}, "", false, {405}, "POST"});
  cases.push_back({"POST on events", "POST", "/orders/" + kExisting + "/events", "{}", {}, "", false, {405}, "GET"});
  cases.push_back({"DELETE on state", "DELETE", "/orders/" + kExisting + "/state", "", {}, "", false, {405}, "GET"});
  cases.push_back({"POST /events", "POST", "/events", "{}", {}, "", false, {405}, "GET"});
  cases.push_back({"POST /metrics", "POST", "/metrics", "{}", {}, "", false, {405}, "GET"});
  cases.push_back({"an unknown route", "POST", "/orders/" + kExisting + "/refund", "{}", {}, "", false, {404}});
  cases.push_back({"an unknown top-level route", "GET", "/customers", "", {}, "", false, {404}});

  // --- query parameters
  for (const std::string query : {"from=abc", "from=-1", "from=1.5", "from=18446744073709551616", "from=", "limit=0",
                                  "limit=1001", "limit=abc", "limit=-1", "limit=", "limit=2.5"}) {
    cases.push_back({"GET /events?" + query, "GET", "/events?" + query, "", {}, "", false, {400}});
  }
  for (const std::string query : {"version=0", "version=-1", "version=abc", "version=1.5", "version=", "version=1x"}) {
    cases.push_back(
        {"GET state?" + query, "GET", "/orders/" + kExisting + "/state?" + query, "", {}, "", false, {400}});
  }

  // --- headers
  cases.push_back({"an Idempotency-Key of 256 characters",
                   "POST",
                   "/orders",
                   valid_order(next_id()).dump(),
                   {{"Idempotency-Key", std::string(256, 'k')}},
                   "",
                   false,
                   {400}});
  cases.push_back({"an empty Idempotency-Key",
                   "POST",
                   "/orders",
                   valid_order(next_id()).dump(),
                   {{"Idempotency-Key", ""}},
                   "",
                   false,
                   {400}});
  cases.push_back({"an Idempotency-Key of 300 characters on cancel",
                   "POST",
                   cancel,
                   "",
                   {{"Idempotency-Key", std::string(300, 'k')}},
                   "",
                   false,
                   {400}});
  for (const std::string if_match : {"1", "\"abc\"", "\"1", "\"\"", "\"-1\"", "\"1.5\""}) {
    cases.push_back(
        {"If-Match " + if_match + " on cancel", "POST", cancel, "", {{"If-Match", if_match}}, "", false, {400}});
  }
  cases.push_back({"If-Match unquoted on place",
                   "POST",
                   "/orders",
                   valid_order(next_id()).dump(),
                   {{"If-Match", "0"}},
                   "",
                   false,
                   {400}});
  cases.push_back({"If-Match unquoted on deliver",
                   "POST",
                   "/orders/" + kExisting + "/deliver",
                   "",
                   {{"If-Match", "one"}},
                   "",
                   false,
                   {400}});

  // --- the saga's operator routes
  auto plain = [&](std::string name, std::string method, std::string target, std::string body, int status) {
    cases.push_back({std::move(name), std::move(method), std::move(target), std::move(body), {}, "", false, {status}});
  };
  plain("retry with a body that is not empty", "POST", "/sagas/" + kExisting + "/retry", R"({"force": true})", 400);
  plain("retry with a body that is not JSON", "POST", "/sagas/" + kExisting + "/retry", "now", 400);
  plain("retry of an order id with a space", "POST", "/sagas/a%20b/retry", "", 400);
  plain("retry of an order id of 65 characters", "POST", "/sagas/" + std::string(65, 'o') + "/retry", "", 400);
  plain("retry of a saga that does not exist", "POST", "/sagas/no-such-order/retry", "", 404);
  plain("a saga of an order id with a slash", "GET", "/sagas/a%2Fb", "", 400);
  plain("a saga that does not exist", "GET", "/sagas/no-such-order", "", 404);
  plain("listing sagas without a status", "GET", "/sagas", "", 400);
  plain("listing running sagas", "GET", "/sagas?status=running", "", 400);
  plain("listing stuck sagas twice over", "GET", "/sagas?status=stuck&status=stuck", "", 400);
  plain("pausing a participant that does not exist", "POST", "/participants/billing/pause", "", 404);
  plain("resuming a participant by a different case", "POST", "/participants/Payment/resume", "", 404);
  plain("pausing with a body", "POST", "/participants/payment/pause", R"({"for": 5})", 400);
  plain("a wallet of a customer id with a dot", "GET", "/customers/a.b/wallet", "", 400);
  plain("a wallet that does not exist", "GET", "/customers/nobody/wallet", "", 404);

  // --- the read side's queries
  plain("an order that does not exist", "GET", "/orders/no-such-order", "", 404);
  plain("an order id with a dot", "GET", "/orders/a.b", "", 400);
  plain("an order with an unknown parameter", "GET", "/orders/" + kExisting + "?fields=all", "", 400);
  plain("an order with wait_ms over 30000", "GET", "/orders/" + kExisting + "?wait_ms=30001", "", 400);
  plain("an order with a negative min_position", "GET", "/orders/" + kExisting + "?min_position=-1", "", 400);
  plain("an order the view has not reached", "GET", "/orders/" + kExisting + "?min_position=999999&wait_ms=10", "",
        503);
  plain("orders in an unknown status", "GET", "/orders?status=lost", "", 400);
  plain("orders with limit 0", "GET", "/orders?limit=0", "", 400);
  plain("orders with limit 1001", "GET", "/orders?limit=1001", "", 400);
  plain("orders with a limit that is not a number", "GET", "/orders?limit=ten", "", 400);
  plain("orders after a cursor that is not one", "GET", "/orders?after=page-2", "", 400);
  plain("orders of a customer id with a space", "GET", "/orders?customer_id=a%20b", "", 400);
  plain("orders with status given twice", "GET", "/orders?status=placed&status=cancelled", "", 400);
  plain("orders with an unknown parameter", "GET", "/orders?sort=oldest", "", 400);
  plain("a customer id with a dot", "GET", "/customers/a.b", "", 400);
  plain("a customer never seen", "GET", "/customers/nobody-at-all", "", 404);
  plain("stats with an unknown parameter", "GET", "/stats?view=all", "", 400);
  plain("rebuilding a view that does not exist", "POST", "/admin/views/view-everything/rebuild", "", 404);
  plain("rebuilding with a body", "POST", "/admin/views/view-orders/rebuild", R"({"from": 5})", 400);
  plain("stock of a sku of 65 characters", "GET", "/inventory/" + std::string(65, 's'), "", 400);
  plain("stock of a sku never restocked", "GET", "/inventory/never", "", 404);
  return cases;
}

uint64_t log_head(HttpClient& client) {
  auto health = client.get("/health");
  REQUIRE(health.status == 200);
  return json::parse(health.body).at("head").get<uint64_t>();
}

// The number of events in a GET .../events answer; 0 for anything else.
size_t event_count(const std::string& body) {
  auto parsed = json::parse(body, nullptr, false);
  return parsed.is_object() && parsed.contains("events") ? parsed["events"].size() : 0;
}

}  // namespace

TEST_CASE("malformed and invalid requests get their status as problem+json and write nothing") {
  ::signal(SIGPIPE, SIG_IGN);
  TempDir dir;
  Server server(dir.path());
  {
    HttpClient client(server.port);
    auto placed = client.request("POST", "/orders", valid_order(kExisting).dump());
    REQUIRE_MESSAGE(placed.status == 201, placed.body);
  }
  const auto cases = bad_requests();
  CHECK(cases.size() >= 40);
  MESSAGE(cases.size() << " malformed requests");

  HttpClient health(server.port);
  const uint64_t head = log_head(health);
  CHECK(head == 1);
  int wrong = 0;
  for (const auto& c : cases) {
    INFO("case: " << c.name);
    const uint64_t before = log_head(health);
    HttpResponse response;
    try {
      HttpClient client(server.port);  // a fresh connection: a bad request may close it
      response =
          c.raw.empty() ? client.request(c.method, c.target, c.body, c.headers) : client.raw(c.raw, c.half_close);
    } catch (const std::exception& e) {
      FAIL_CHECK("no answer: " << e.what());
      ++wrong;
      continue;
    }
    INFO("answer: " << response.status << " " << response.header("content-type") << " " << response.body);
    bool ok = std::find(c.statuses.begin(), c.statuses.end(), response.status) != c.statuses.end();
    CHECK_MESSAGE(
        ok, "expected " << c.statuses.front() << std::string(c.statuses.size() > 1 ? " (or another listed)" : ""));
    CHECK(response.header("content-type").starts_with("application/problem+json"));
    auto problem = json::parse(response.body, nullptr, false);
    CHECK(problem.is_object());
    if (problem.is_object()) {
      CHECK((problem.contains("type") && problem["type"].is_string()));
      CHECK((problem.contains("title") && problem["title"].is_string()));
      CHECK((problem.contains("detail") && problem["detail"].is_string()));
      CHECK((problem.contains("status") && problem["status"] == response.status));
    }
    if (!c.allow.empty()) {
      CHECK_MESSAGE(response.header("allow").find(c.allow) != std::string::npos, "Allow: " << response.header("allow"));
    }
    CHECK(log_head(health) == before);
    if (!ok) ++wrong;
  }
  MESSAGE(wrong << " of " << cases.size() << " cases got an unexpected status");
  CHECK(log_head(health) == head);

  // The server is still whole, and the order it had is untouched.
  HttpClient client(server.port);
  auto events = client.get("/orders/" + kExisting + "/events");
  CHECK(events.status == 200);
  CHECK(event_count(events.body) == 1);
  server.process.signal(SIGTERM);
  CHECK(server.process.wait() == 0);
}

TEST_CASE("values exactly at the limits are accepted") {
  TempDir dir;
  Server server(dir.path());
  HttpClient client(server.port);
  json order = valid_order(std::string(64, '-'));
  order["customer_id"] = std::string(64, '_');
  order["items"][0] = {{"sku", std::string(64, 'Z')}, {"quantity", 10000}, {"unit_price_cents", 1000000000}};
  order["shipping_address"] = {{"country", "ZZ"}, {"city", "Z\u00fcrich"}, {"line1", ""}, {"postal_code", "8000"}};
  auto placed =
      client.request("POST", "/orders", order.dump(),
                     {{"Idempotency-Key", std::string(255, '~')}, {"Content-Type", "application/json; charset=utf-8"}});
  CHECK_MESSAGE(placed.status == 201, placed.body);

  auto cancel = client.request("POST", "/orders/" + std::string(64, '-') + "/cancel",
                               json{{"reason", std::string(200, 'r')}}.dump());
  CHECK_MESSAGE(cancel.status == 202, cancel.body);

  // 200 characters, not bytes: each of these is two bytes of UTF-8.
  CHECK(client.request("POST", "/orders", valid_order("limit-2").dump()).status == 201);
  std::string umlauts;
  for (int i = 0; i < 200; ++i) umlauts += "\u00fc";
  auto cancel_unicode = client.request("POST", "/orders/limit-2/cancel", json{{"reason", umlauts}}.dump());
  CHECK_MESSAGE(cancel_unicode.status == 202, cancel_unicode.body);

  auto events = client.get("/events?from=1&limit=1000");
  CHECK(events.status == 200);
  CHECK(event_count(events.body) == 4);
  server.process.signal(SIGTERM);
  CHECK(server.process.wait() == 0);
}

namespace {

using ordersd::test::RawSocket;
using ordersd::test::status_of;

// A deposit that must never run: it follows a request whose framing the
// server cannot trust, on the same connection.
std::string smuggled_deposit(const std::string& customer) {
  std::string body = R"({"amount_cents": 1})";
  return "POST /customers/" + customer + "/deposits HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace

TEST_CASE("a Transfer-Encoding other than one final chunked, or with Content-Length, gets 400 and a closed connection") {
  ::signal(SIGPIPE, SIG_IGN);
  TempDir dir;
  Server server(dir.path());
  HttpClient health(server.port);
  const uint64_t head = log_head(health);

  struct Smuggle {
    std::string name;
    std::string headers;  // of the first request, up to and without the blank line
    std::string body;     // of the first request, as a naive reader would frame it
  };
  const std::string empty_chunked = "0\r\n\r\n";
  const std::vector<Smuggle> cases = {
      {"xchunked", "Transfer-Encoding: xchunked\r\n", empty_chunked},
      {"chunked, identity with Content-Length", "Transfer-Encoding: chunked, identity\r\nContent-Length: 5\r\n",
       empty_chunked},
      {"identity, chunked-looking body", "Transfer-Encoding: identity\r\n", empty_chunked},
      {"gzip, chunked", "Transfer-Encoding: gzip, chunked\r\n", empty_chunked},
      {"chunked given twice in one field", "Transfer-Encoding: chunked, chunked\r\n", empty_chunked},
      {"gzip, then chunked in a second field", "Transfer-Encoding: gzip\r\nX-Between: 1\r\nTransfer-Encoding: chunked\r\n",
       empty_chunked},
      {"Content-Length then chunked", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", empty_chunked},
      {"chunked then Content-Length", "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", empty_chunked},
      {"an empty Transfer-Encoding", "Transfer-Encoding: \r\n", ""},
  };
  int serial = 0;
  for (const auto& c : cases) {
    INFO("case: " << c.name);
    const std::string customer = "smuggled-" + std::to_string(++serial);
    RawSocket socket(server.port);
    REQUIRE(socket.send("POST /customers/" + customer + "/deposits HTTP/1.1\r\nHost: x\r\n" +
                        "Content-Type: application/json\r\n" + c.headers + "\r\n" + c.body +
                        smuggled_deposit(customer)));
    auto first = socket.read_response(std::chrono::seconds(10));
    INFO("answer: " << first.data);
    CHECK(status_of(first.data) == 400);
    CHECK(first.data.find("application/problem+json") != std::string::npos);
    // Nothing more comes (no answer to the smuggled request), and the server closes.
    auto rest = socket.read_until_closed(std::chrono::seconds(5));
    CHECK_MESSAGE(rest.data.empty(), "a second answer: " << rest.data);
    CHECK(rest.closed);
    CHECK(health.get("/customers/" + customer + "/wallet").status == 404);
    CHECK(log_head(health) == head);
  }

  // A well-framed chunked request still works, followed by a second request on
  // the same connection.
  RawSocket socket(server.port);
  std::string body = R"({"amount_cents": 7})";
  char size[16];
  std::snprintf(size, sizeof size, "%zx\r\n", body.size());
  REQUIRE(socket.send("POST /customers/chunked/deposits HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n" +
                      std::string(size) + body + "\r\n0\r\n\r\n" + "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto deposited = socket.read_response(std::chrono::seconds(10));
  CHECK_MESSAGE(status_of(deposited.data) == 200, deposited.data);
  auto live = socket.read_response(std::chrono::seconds(10));
  CHECK_MESSAGE(status_of(live.data) == 200, live.data);
  CHECK(log_head(health) == head + 1);
}

TEST_CASE("the Host header: required in HTTP/1.1, once") {
  ::signal(SIGPIPE, SIG_IGN);
  TempDir dir;
  Server server(dir.path());
  auto answer = [&](const std::string& bytes) {
    RawSocket socket(server.port);
    REQUIRE(socket.send(bytes));
    return socket.read_response(std::chrono::seconds(10)).data;
  };
  auto no_host = answer("GET /health/live HTTP/1.1\r\n\r\n");
  CHECK_MESSAGE(status_of(no_host) == 400, no_host);
  CHECK(no_host.find("application/problem+json") != std::string::npos);
  auto two_hosts = answer("GET /health/live HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
  CHECK_MESSAGE(status_of(two_hosts) == 400, two_hosts);
  // HTTP/1.0 has no Host requirement.
  auto old = answer("GET /health/live HTTP/1.0\r\n\r\n");
  CHECK_MESSAGE(status_of(old) == 200, old);
  auto with_host = answer("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK_MESSAGE(status_of(with_host) == 200, with_host);
}

TEST_CASE("an absolute-form request target is routed on its path") {
  ::signal(SIGPIPE, SIG_IGN);
  TempDir dir;
  Server server(dir.path());
  const std::string authority = "127.0.0.1:" + std::to_string(server.port);
  for (const std::string& target : {"http://" + authority + "/health/live", "HTTP://" + authority + "/health/live",
                                   "http://" + authority + "/events?from=1&limit=5"}) {
    INFO("target: " << target);
    RawSocket socket(server.port);
    REQUIRE(socket.send("GET " + target + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n"));
    auto answer = socket.read_response(std::chrono::seconds(10)).data;
    CHECK_MESSAGE(status_of(answer) == 200, answer);
  }
}

TEST_CASE("invalid UTF-8 in a path or a query parameter gets 400 problem+json without exception text") {
  ::signal(SIGPIPE, SIG_IGN);
  TempDir dir;
  Server server(dir.path());
  HttpClient client(server.port);
  for (const std::string target : {"/nope%FF", "/orders/%FF", "/orders/a%C3/events", "/events?%FF=1",
                                   "/events?from=%FF", "/orders?status=%C3%28", "/customers/%FE%FF/wallet"}) {
    INFO("target: " << target);
    auto r = client.get(target);
    INFO("answer: " << r.body);
    CHECK(r.status == 400);
    CHECK(r.header("content-type").starts_with("application/problem+json"));
    auto problem = json::parse(r.body, nullptr, false);
    REQUIRE(problem.is_object());
    CHECK(problem["status"] == 400);
    CHECK(r.body.find("type_error") == std::string::npos);
    CHECK(r.body.find("invalid UTF-8") != std::string::npos);
  }
  CHECK(client.get("/health/live").status == 200);
}

TEST_CASE("a JSON body with a key given twice gets 400, at any depth") {
  ::signal(SIGPIPE, SIG_IGN);
  TempDir dir;
  Server server(dir.path());
  HttpClient client(server.port);
  const uint64_t head = log_head(client);
  auto order = [](const std::string& order_id) { return valid_order(order_id).dump(); };
  auto splice = [](std::string text, const std::string& after, const std::string& extra) {
    auto at = text.find(after);
    REQUIRE(at != std::string::npos);
    text.insert(at + after.size(), extra);
    return text;
  };
  struct Dup {
    std::string name, target, body;
  };
  const std::vector<Dup> cases = {
      {"customer_id twice", "/orders", splice(order("dup-1"), "{", R"("customer_id":"other",)")},
      {"order_id twice", "/orders", splice(order("dup-2"), "{", R"("order_id":"dup-2b",)")},
      {"quantity twice in an item", "/orders", splice(order("dup-3"), R"("items":[{)", R"("quantity":9,)")},
      {"country twice in the address", "/orders",
       splice(order("dup-4"), R"("shipping_address":{)", R"("country":"DE",)")},
      {"amount_cents twice in a deposit", "/customers/dup/deposits", R"({"amount_cents": 1, "amount_cents": 2})"},
      {"quantity twice in a restock", "/inventory/dup/restock", R"({"quantity": 1, "quantity": 2})"},
      {"reason twice in a cancel", "/orders/dup-x/cancel", R"({"reason": "a", "reason": "b"})"},
  };
  for (const auto& c : cases) {
    INFO("case: " << c.name << ": " << c.body);
    auto r = client.request("POST", c.target, c.body);
    INFO("answer: " << r.body);
    CHECK(r.status == 400);
    CHECK(r.header("content-type").starts_with("application/problem+json"));
    CHECK(r.body.find("more than once") != std::string::npos);
  }
  CHECK(log_head(client) == head);
}

TEST_CASE("media types are case-insensitive") {
  TempDir dir;
  Server server(dir.path());
  HttpClient client(server.port);
  int serial = 0;
  for (const std::string type : {"APPLICATION/JSON", "Application/Json", "application/json; charset=UTF-8",
                                 "application/JSON;charset=utf-8", "APPLICATION/JSON ; CHARSET=UTF-8"}) {
    INFO("Content-Type: " << type);
    auto r = client.request("POST", "/orders", valid_order("media-" + std::to_string(++serial)).dump(),
                            {{"Content-Type", type}});
    CHECK_MESSAGE(r.status == 201, r.body);
  }
  CHECK(client.request("POST", "/orders", valid_order("media-x").dump(), {{"Content-Type", "application/jsonx"}})
            .status == 415);
}

TEST_CASE("a percent escape at the very end of a path segment is decoded") {
  TempDir dir;
  Server server(dir.path());
  HttpClient client(server.port);
  auto placed = client.request("POST", "/orders", valid_order("o-11").dump());
  REQUIRE_MESSAGE(placed.status == 201, placed.body);
  auto events = client.get("/orders/o-1%31/events");
  CHECK_MESSAGE(events.status == 200, events.body);
  CHECK(event_count(events.body) == 1);
  auto state = client.get("/orders/o-%31%31/state");
  CHECK_MESSAGE(state.status == 200, state.body);
}
