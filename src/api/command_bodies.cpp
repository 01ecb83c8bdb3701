#include "api/command_bodies.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <vector>

namespace ordersd::api {

namespace {

using nlohmann::json;

constexpr size_t kMaxItems = 100;
constexpr uint64_t kMaxQuantity = 10000;
constexpr uint64_t kMaxUnitPrice = 1000000000;
constexpr size_t kMaxReasonChars = 200;
constexpr size_t kMaxAddressFieldChars = 200;

Status invalid(const std::string& what) { return Status::invalid_argument(what); }

// Code points of valid UTF-8 (the JSON parser has already checked validity).
size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Refuses a key given twice in one object, at any depth: parsers differ on
// which one wins, so a gateway and this server could read different values.
Result<json> parse_object(std::string_view body) {
  std::vector<std::set<std::string>> open_objects;  // the keys seen in each object being parsed
  std::optional<std::string> duplicate;
  auto check_keys = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open_objects.empty() && parsed.is_string() &&
            !open_objects.back().insert(parsed.get<std::string>()).second && !duplicate) {
          duplicate = parsed.get<std::string>();
        }
        break;
      default:
        break;
    }
    return true;
  };
  json j = json::parse(body.begin(), body.end(), check_keys, /*allow_exceptions=*/false);
  if (j.is_discarded()) return invalid("the body is not valid JSON");
  if (duplicate) return invalid("the body gives the key '" + *duplicate + "' more than once");
  if (!j.is_object()) return invalid("the body must be a JSON object");
  return j;
}

// `subject` names the object in the message: "items[2] has an unknown field 'x'".
Status only_fields(const json& object, const std::string& subject, std::initializer_list<const char*> allowed) {
  for (const auto& [key, value] : object.items()) {
    bool known = false;
    for (const char* a : allowed) known = known || key == a;
    if (!known) return invalid(subject + " has an unknown field '" + key + "'");
  }
  return Status::ok();
}

Result<std::string> id_field(const json& object, const char* name, const std::string& where) {
  auto it = object.find(name);
  if (it == object.end()) return invalid(where + name + " is required");
  if (!it->is_string()) return invalid(where + name + " must be a string");
  std::string value = it->get<std::string>();
  if (!valid_id(value)) return invalid(where + name + " must be 1 to 64 characters of A-Z a-z 0-9 _ -");
  return value;
}

Result<uint64_t> integer_field(const json& object, const char* name, const std::string& where, uint64_t min,
                               uint64_t max) {
  auto it = object.find(name);
  std::string range = " must be an integer from " + std::to_string(min) + " to " + std::to_string(max);
  if (it == object.end()) return invalid(where + name + " is required");
  if (!it->is_number_integer()) return invalid(where + name + range);
  if (it->is_number_unsigned()) {
    uint64_t v = it->get<uint64_t>();
    if (v < min || v > max) return invalid(where + name + range);
    return v;
  }
  int64_t v = it->get<int64_t>();
  if (v < 0 || static_cast<uint64_t>(v) < min || static_cast<uint64_t>(v) > max) return invalid(where + name + range);
  return static_cast<uint64_t>(v);
}

Result<std::string> optional_text(const json& object, const char* name, const std::string& where, size_t max_chars) {
  auto it = object.find(name);
  if (it == object.end()) return std::string();
  if (!it->is_string()) return invalid(where + name + " must be a string");
  std::string value = it->get<std::string>();
  if (utf8_length(value) > max_chars) {
    return invalid(where + name + " must be at most " + std::to_string(max_chars) + " characters");
  }
  return value;
}

Result<write::Address> parse_address(const json& body) {
  auto it = body.find("shipping_address");
  if (it == body.end()) return invalid("shipping_address is required");
  if (!it->is_object()) return invalid("shipping_address must be an object");
  const json& a = *it;
  const std::string where = "shipping_address.";
  if (Status s = only_fields(a, "shipping_address", {"country", "city", "line1", "postal_code"}); !s) return s;
  write::Address out;
  auto country = a.find("country");
  if (country == a.end()) return invalid("shipping_address.country is required");
  if (!country->is_string()) return invalid("shipping_address.country must be a string");
  out.country = country->get<std::string>();
  if (out.country.size() != 2 || out.country[0] < 'A' || out.country[0] > 'Z' || out.country[1] < 'A' ||
      out.country[1] > 'Z') {
    return invalid("shipping_address.country must be two capital letters (ISO 3166-1 alpha-2)");
  }
  auto city = optional_text(a, "city", where, kMaxAddressFieldChars);
  if (!city) return city.status();
  auto line1 = optional_text(a, "line1", where, kMaxAddressFieldChars);
  if (!line1) return line1.status();
  auto postal = optional_text(a, "postal_code", where, kMaxAddressFieldChars);
  if (!postal) return postal.status();
  out.city = *city;
  out.line1 = *line1;
  out.postal_code = *postal;
  return out;
}

}  // namespace

Result<write::PlaceOrder> parse_place_order(std::string_view text) {
  auto parsed = parse_object(text);
  if (!parsed) return parsed.status();
  const json& body = *parsed;
  if (Status s = only_fields(body, "the order", {"order_id", "customer_id", "items", "shipping_address"}); !s) {
    return s;
  }
  write::PlaceOrder cmd;
  if (body.contains("order_id")) {
    auto id = id_field(body, "order_id", "");
    if (!id) return id.status();
    cmd.order_id = *id;
  }
  auto customer = id_field(body, "customer_id", "");
  if (!customer) return customer.status();
  cmd.customer_id = *customer;

  auto items = body.find("items");
  if (items == body.end()) return invalid("items is required");
  if (!items->is_array()) return invalid("items must be an array");
  if (items->empty() || items->size() > kMaxItems) return invalid("items must hold 1 to 100 lines");
  std::set<std::string> skus;
  for (size_t i = 0; i < items->size(); ++i) {
    const json& line = (*items)[i];
    std::string where = "items[" + std::to_string(i) + "].";
    if (!line.is_object()) return invalid("items[" + std::to_string(i) + "] must be an object");
    if (Status s = only_fields(line, "items[" + std::to_string(i) + "]", {"sku", "quantity", "unit_price_cents"}); !s) {
      return s;
    }
    auto sku = id_field(line, "sku", where);
    if (!sku) return sku.status();
    auto quantity = integer_field(line, "quantity", where, 1, kMaxQuantity);
    if (!quantity) return quantity.status();
    auto price = integer_field(line, "unit_price_cents", where, 0, kMaxUnitPrice);
    if (!price) return price.status();
    if (!skus.insert(*sku).second) return invalid(where + "sku '" + *sku + "' appears in more than one line");
    cmd.items.push_back({*sku, static_cast<uint32_t>(*quantity), *price});
  }
  auto address = parse_address(body);
  if (!address) return address.status();
  cmd.shipping_address = *address;
  return cmd;
}

Result<write::CancelOrder> parse_cancel_order(std::string_view text) {
  if (text.empty()) return write::CancelOrder{};
  auto parsed = parse_object(text);
  if (!parsed) return parsed.status();
  if (Status s = only_fields(*parsed, "the cancel request", {"reason"}); !s) return s;
  auto reason = optional_text(*parsed, "reason", "", kMaxReasonChars);
  if (!reason) return reason.status();
  return write::CancelOrder{*reason};
}

Status parse_empty_body(std::string_view text, const char* subject) {
  if (text.empty()) return Status::ok();
  auto parsed = parse_object(text);
  if (!parsed) return parsed.status();
  return only_fields(*parsed, subject, {});
}

Status parse_deliver_order(std::string_view text) { return parse_empty_body(text, "the deliver request"); }

namespace {
// A body that is exactly {"<name>": integer in [min, max]}.
Result<uint64_t> single_amount(std::string_view text, const char* subject, const char* name, uint64_t min,
                               uint64_t max) {
  auto parsed = parse_object(text);
  if (!parsed) return parsed.status();
  if (Status s = only_fields(*parsed, subject, {name}); !s) return s;
  return integer_field(*parsed, name, "", min, max);
}
}  // namespace

Result<uint64_t> parse_deposit(std::string_view body) {
  return single_amount(body, "the deposit", "amount_cents", 1, 1'000'000'000'000);
}

Result<uint64_t> parse_skip(std::string_view body) {
  return single_amount(body, "the skip request", "position", 1, uint64_t{1} << 62);
}

Result<uint64_t> parse_restock(std::string_view body) {
  return single_amount(body, "the restock", "quantity", 1, 1'000'000'000);
}

}  // namespace ordersd::api
