// The route table: every route the server has, the scope it needs, and how
// a caller bound to one customer is held to that customer. The README's
// route table is checked against this one, and a test walks every row.
// Access::add refuses a route that is not here, so none can be served
// without a rule.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "auth/scopes.h"

namespace ordersd::api {

struct RouteRule {
  enum class Binding {
    kNone,            // the route shows no one customer's data (stock, the saga's operators' routes)
    kCustomerInPath,  // "/customers/{id}/…": another customer's id is 404
    kOwnOrders,       // the route checks that the order is the caller's (404 otherwise)
  };
  std::string_view method;
  std::string_view pattern;
  std::optional<auth::Scope> scope;  // nullopt: open to anyone
  Binding binding = Binding::kNone;
};

std::span<const RouteRule> route_table();
const RouteRule* find_route_rule(std::string_view method, std::string_view pattern);

}  // namespace ordersd::api
