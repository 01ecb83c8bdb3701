// Parsing and validation of the JSON bodies of order commands: what is
// accepted, exactly what comes out, and that every refusal is
// kInvalidArgument with a message naming the offending field.
#include "api/command_bodies.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

using namespace ordersd;
using nlohmann::json;
using ordersd::api::parse_cancel_order;
using ordersd::api::parse_deliver_order;
using ordersd::api::parse_place_order;
using ordersd::api::valid_id;

namespace {

json full_order() {
  return json::parse(R"({
    "order_id": "o-1",
    "customer_id": "c_42",
    "items": [
      {"sku": "SKU-1", "quantity": 2, "unit_price_cents": 1999},
      {"sku": "SKU-2", "quantity": 1, "unit_price_cents": 0}
    ],
    "shipping_address": {"country": "NL", "city": "Amsterdam", "line1": "Dam 1", "postal_code": "1012 JS"}
  })");
}

json minimal_order() {
  return json::parse(R"({
    "customer_id": "c1",
    "items": [{"sku": "s1", "quantity": 1, "unit_price_cents": 100}],
    "shipping_address": {"country": "DE"}
  })");
}

// Expects the body text refused with kInvalidArgument and a message containing `names`.
void check_text_refused(std::string_view body, std::string_view names) {
  CAPTURE(body);
  auto r = parse_place_order(body);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == Status::Code::kInvalidArgument);
  CAPTURE(r.status().message());
  CHECK(r.status().message().find(names) != std::string::npos);
}
void check_refused(const json& body, std::string_view names) { check_text_refused(body.dump(), names); }

write::PlaceOrder check_accepted(const json& body) {
  std::string text = body.dump();
  CAPTURE(text);
  auto r = parse_place_order(text);
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  return *r;
}

const std::vector<std::string> kBadIds = {"a/b", "..", "a..b", "a b", " a", "caf\xc3\xa9", "\xe2\x9c\x93", "", std::string(65, 'x'), "a.b", "a+b", "a%2F"};

}  // namespace

TEST_CASE("a full valid order is parsed into exactly its fields") {
  auto cmd = check_accepted(full_order());
  CHECK(cmd.order_id == "o-1");
  CHECK(cmd.customer_id == "c_42");
  REQUIRE(cmd.items.size() == 2);
  CHECK(cmd.items[0] == write::OrderLine{"SKU-1", 2, 1999});
  CHECK(cmd.items[1] == write::OrderLine{"SKU-2", 1, 0});
  CHECK(cmd.shipping_address == write::Address{"NL", "Amsterdam", "Dam 1", "1012 JS"});
}

TEST_CASE("a minimal order without order_id and with only a country is accepted") {
  auto cmd = check_accepted(minimal_order());
  CHECK(cmd.order_id.empty());
  CHECK(cmd.customer_id == "c1");
  REQUIRE(cmd.items.size() == 1);
  CHECK(cmd.items[0] == write::OrderLine{"s1", 1, 100});
  CHECK(cmd.shipping_address == write::Address{"DE", "", "", ""});
}

TEST_CASE("a body that is not a JSON object is refused") {
  check_text_refused("", "JSON");
  check_text_refused("not json", "JSON");
  check_text_refused(R"({"customer_id": "c1",)", "JSON");
  check_text_refused("[]", "JSON object");
  check_text_refused("\"order\"", "JSON object");
  check_text_refused("42", "JSON object");
  check_text_refused("null", "JSON object");
}

TEST_CASE("unknown fields are refused at the top level, in an item and in the address") {
  auto top = full_order();
  top["colour"] = "red";
  check_refused(top, "'colour'");

  auto item = full_order();
  item["items"][1]["discount"] = 5;
  check_refused(item, "items[1]");
  check_refused(item, "'discount'");

  auto address = full_order();
  address["shipping_address"]["state"] = "NH";
  check_refused(address, "shipping_address");
  check_refused(address, "'state'");
}

TEST_CASE("the message for an unknown item or address field reads as a sentence") {
  // where + "has an unknown field" yields "items[0].has an unknown field 'x'".
  auto item = minimal_order();
  item["items"][0]["discount"] = 5;
  auto r = parse_place_order(item.dump());
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().message() == "items[0] has an unknown field 'discount'");

  auto address = minimal_order();
  address["shipping_address"]["state"] = "NH";
  r = parse_place_order(address.dump());
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().message() == "shipping_address has an unknown field 'state'");
}

TEST_CASE("missing required fields are refused by name") {
  auto no_customer = full_order();
  no_customer.erase("customer_id");
  check_refused(no_customer, "customer_id is required");

  auto no_items = full_order();
  no_items.erase("items");
  check_refused(no_items, "items is required");

  auto no_address = full_order();
  no_address.erase("shipping_address");
  check_refused(no_address, "shipping_address is required");

  auto no_country = full_order();
  no_country["shipping_address"].erase("country");
  check_refused(no_country, "shipping_address.country is required");

  auto no_sku = full_order();
  no_sku["items"][0].erase("sku");
  check_refused(no_sku, "items[0].sku is required");

  auto no_quantity = full_order();
  no_quantity["items"][1].erase("quantity");
  check_refused(no_quantity, "items[1].quantity is required");

  auto no_price = full_order();
  no_price["items"][0].erase("unit_price_cents");
  check_refused(no_price, "items[0].unit_price_cents is required");
}

TEST_CASE("fields of the wrong JSON type are refused by name") {
  auto j = full_order();
  j["customer_id"] = 42;
  check_refused(j, "customer_id must be a string");
  j = full_order();
  j["order_id"] = nullptr;
  check_refused(j, "order_id must be a string");
  j = full_order();
  j["items"] = json::object();
  check_refused(j, "items must be an array");
  j = full_order();
  j["items"][0] = "SKU-1";
  check_refused(j, "items[0] must be an object");
  j = full_order();
  j["shipping_address"] = "Dam 1, Amsterdam";
  check_refused(j, "shipping_address must be an object");
  j = full_order();
  j["shipping_address"]["country"] = 31;
  check_refused(j, "shipping_address.country must be a string");
  j = full_order();
  j["shipping_address"]["city"] = json::array();
  check_refused(j, "shipping_address.city must be a string");
}

TEST_CASE("malformed order ids, customer ids and skus are refused by name") {
  for (const auto& bad : kBadIds) {
    CAPTURE(bad);
    auto order = full_order();
    order["order_id"] = bad;
    check_refused(order, "order_id");
    auto customer = full_order();
    customer["customer_id"] = bad;
    check_refused(customer, "customer_id");
    auto sku = full_order();
    sku["items"][1]["sku"] = bad;
    check_refused(sku, "items[1].sku");
  }
}

TEST_CASE("ids of 64 characters are accepted") {
  auto j = full_order();
  std::string id64(64, 'a');
  j["order_id"] = id64;
  j["customer_id"] = std::string(64, 'C');
  j["items"][0]["sku"] = std::string(63, '-') + "_";
  auto cmd = check_accepted(j);
  CHECK(cmd.order_id == id64);
  CHECK(cmd.customer_id == std::string(64, 'C'));
  CHECK(cmd.items[0].sku == std::string(63, '-') + "_");
}

TEST_CASE("a quantity that is not an integer from 1 to 10000 is refused") {
  // Raw JSON text, so the numbers reach the parser exactly as a client wrote them.
  for (std::string q : {"0", "10001", "-1", "1.5", "\"2\"", "1e30", "18446744073709551616", "18446744073709551615",
                        "-9223372036854775808", "true", "null", "2.0", "1e2"}) {
    std::string body = R"({"customer_id":"c1","items":[{"sku":"s1","quantity":)" + q +
                       R"(,"unit_price_cents":1}],"shipping_address":{"country":"NL"}})";
    check_text_refused(body, "items[0].quantity must be an integer from 1 to 10000");
  }
}

TEST_CASE("a unit price that is not an integer from 0 to 1e9 is refused") {
  for (std::string p : {"1000000001", "-1", "0.5", "\"100\"", "1e9", "18446744073709551616"}) {
    std::string body = R"({"customer_id":"c1","items":[{"sku":"s1","quantity":1,"unit_price_cents":)" + p +
                       R"(}],"shipping_address":{"country":"NL"}})";
    check_text_refused(body, "items[0].unit_price_cents must be an integer from 0 to 1000000000");
  }
}

TEST_CASE("quantity 10000 and unit price 1000000000 are accepted") {
  auto j = minimal_order();
  j["items"][0]["quantity"] = 10000;
  j["items"][0]["unit_price_cents"] = 1000000000;
  auto cmd = check_accepted(j);
  CHECK(cmd.items[0].quantity == 10000u);
  CHECK(cmd.items[0].unit_price_cents == 1000000000u);
}

TEST_CASE("an order must have 1 to 100 lines with distinct skus") {
  auto none = full_order();
  none["items"] = json::array();
  check_refused(none, "items must hold 1 to 100 lines");

  auto lines = [](int n) {
    json items = json::array();
    for (int i = 0; i < n; ++i) items.push_back({{"sku", "s" + std::to_string(i)}, {"quantity", 1}, {"unit_price_cents", i}});
    return items;
  };
  auto too_many = full_order();
  too_many["items"] = lines(101);
  check_refused(too_many, "items must hold 1 to 100 lines");

  auto hundred = full_order();
  hundred["items"] = lines(100);
  auto cmd = check_accepted(hundred);
  REQUIRE(cmd.items.size() == 100);
  CHECK(cmd.items[99] == write::OrderLine{"s99", 1, 99});

  auto duplicate = full_order();
  duplicate["items"][1]["sku"] = "SKU-1";
  check_refused(duplicate, "items[1].sku 'SKU-1'");
}

TEST_CASE("a country that is not two capital letters is refused") {
  for (std::string country : {"nl", "Nl", "NLD", "N1", "N", "", " NL", "\xc3\x9c" "A"}) {
    CAPTURE(country);
    auto j = full_order();
    j["shipping_address"]["country"] = country;
    check_refused(j, "shipping_address.country");
  }
}

TEST_CASE("address fields are limited to 200 characters, counted as characters rather than bytes") {
  auto j = full_order();
  j["shipping_address"]["city"] = std::string(201, 'x');
  check_refused(j, "shipping_address.city must be at most 200 characters");
  j = full_order();
  j["shipping_address"]["line1"] = std::string(201, 'x');
  check_refused(j, "shipping_address.line1");
  j = full_order();
  j["shipping_address"]["postal_code"] = std::string(201, 'x');
  check_refused(j, "shipping_address.postal_code");

  j = full_order();
  j["shipping_address"]["city"] = std::string(200, 'x');
  CHECK(check_accepted(j).shipping_address.city == std::string(200, 'x'));

  std::string umlauts;
  for (int i = 0; i < 200; ++i) umlauts += "\xc3\xbc";  // 200 x 'ü', 400 bytes
  j["shipping_address"]["city"] = umlauts;
  CHECK(check_accepted(j).shipping_address.city == umlauts);
  j["shipping_address"]["city"] = umlauts + "\xc3\xbc";
  check_refused(j, "shipping_address.city");
}

TEST_CASE("a cancel request may be empty, carry a reason of up to 200 characters, and nothing else") {
  auto empty = parse_cancel_order("");
  REQUIRE(empty.is_ok());
  CHECK(empty->reason.empty());

  auto no_reason = parse_cancel_order("{}");
  REQUIRE(no_reason.is_ok());
  CHECK(no_reason->reason.empty());

  std::string reason200(200, 'r');
  auto ok = parse_cancel_order(json{{"reason", reason200}}.dump());
  REQUIRE(ok.is_ok());
  CHECK(ok->reason == reason200);

  auto refused = [](const std::string& body, std::string_view names) {
    CAPTURE(body);
    auto r = parse_cancel_order(body);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == Status::Code::kInvalidArgument);
    CAPTURE(r.status().message());
    CHECK(r.status().message().find(names) != std::string::npos);
  };
  refused(json{{"reason", std::string(201, 'r')}}.dump(), "reason must be at most 200 characters");
  refused(R"({"reason": 5})", "reason must be a string");
  refused(R"({"reason": null})", "reason must be a string");
  refused(R"({"reason": "x", "refund": true})", "'refund'");
  refused("not json", "JSON");
  refused("[]", "JSON object");
}

TEST_CASE("a deliver request is empty or an empty object") {
  CHECK(parse_deliver_order("").is_ok());
  CHECK(parse_deliver_order("{}").is_ok());
  CHECK(parse_deliver_order(" { } ").is_ok());
  for (std::string body : {R"({"at": "now"})", "[]", "null", "x", "{", "\"\""}) {
    CAPTURE(body);
    Status s = parse_deliver_order(body);
    CHECK_FALSE(s.is_ok());
    CHECK(s.code() == Status::Code::kInvalidArgument);
  }
}

TEST_CASE("valid_id accepts 1 to 64 characters of letters, digits, underscore and hyphen only") {
  struct Case {
    std::string id;
    bool valid;
  };
  const std::vector<Case> cases = {
      {"a", true},
      {"Z", true},
      {"0", true},
      {"_", true},
      {"-", true},
      {"order-1_B", true},
      {std::string(64, 'x'), true},
      {"", false},
      {std::string(65, 'x'), false},
      {"a/b", false},
      {"..", false},
      {".", false},
      {"a b", false},
      {"a\tb", false},
      {"caf\xc3\xa9", false},
      {std::string("a\0b", 3), false},
      {"a:b", false},
      {"a%20b", false},
      {"a?b", false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.id);
    CHECK(valid_id(c.id) == c.valid);
  }
}

TEST_CASE("deeply nested JSON is refused without exhausting the stack") {
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  check_text_refused(deep, "JSON object");
  check_text_refused(R"({"customer_id":)" + deep + "}", "customer_id must be a string");
}
