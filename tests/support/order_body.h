// The JSON body of POST /orders for tests: one line of `quantity` x `sku` at
// 10.00 each, shipped to Utrecht in `country`.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace ordersd::test {

inline nlohmann::json order_body(const std::string& id, const std::string& customer, const std::string& sku = "mug",
                                 int quantity = 1, const std::string& country = "NL") {
  return {{"order_id", id},
          {"customer_id", customer},
          {"items", {{{"sku", sku}, {"quantity", quantity}, {"unit_price_cents", 1000}}}},
          {"shipping_address", {{"country", country}, {"city", "Utrecht"}}}};
}

}  // namespace ordersd::test
