// The route table: every route the server has, the scope it needs, how a
// caller bound to one customer is held to that customer, which service
// serves it, and what it does. The README's route table is checked against
// this one, and a test walks every row. Access::add refuses a route that is
// not here, so none can be served without a rule; a process that runs
// other services than a route's answers it with a redirect to the one that
// does (api/access.h).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "auth/scopes.h"
#include "bus/roles.h"

namespace ordersd::api {

struct RouteRule {
  enum class Binding {
    kNone,            // the route shows no one customer's data (stock, the saga's operators' routes)
    kCustomerInPath,  // "/customers/{id}/…": another customer's id is 404
    kOwnOrders,       // the route checks that the order is the caller's (404 otherwise)
  };
  // Which service serves the route.
  enum class Served {
    kEvery,              // every process, about itself: probes, metrics, components, the index
    kOrder,              // the order service (--roles order), and so on
    kPayment,
    kInventory,
    kShipping,
    kQuery,
    kParticipantInPath,  // "/participants/{name}/…": the service that runs that participant (saga: order)
  };
  std::string_view method;
  std::string_view pattern;
  std::optional<auth::Scope> scope;  // nullopt: open to anyone
  Binding binding = Binding::kNone;
  Served served = Served::kEvery;
  std::string_view summary;  // one line, for the route index (GET /)
  // With no scope: still refused (401) without valid credentials, though
  // any scope will do (GET /whoami).
  bool any_caller = false;
};

std::span<const RouteRule> route_table();
const RouteRule* find_route_rule(std::string_view method, std::string_view pattern);
// The row whose pattern matches `path` (segments as http::split_path gives
// them) under `method`, or null.
const RouteRule* match_route_rule(std::string_view method, const std::vector<std::string>& path);

// The role that runs a participant ("saga" -> order, "payment" -> payment,
// ...), or nullopt for a name that is none.
std::optional<bus::Role> participant_role(std::string_view name);

// The role that serves `rule` for a request whose path parameters are
// `params`: nullopt when every process serves it, or when the participant
// the path names is none (the process at hand answers 404 itself).
std::optional<bus::Role> serving_role(const RouteRule& rule, const std::vector<std::string>& params);
// Whether a process running `roles` serves `rule` at all (for some path).
bool serves(const RouteRule& rule, const bus::Roles& roles);
// "every", "order", ..., "query", or "{name}" (the participant's service):
// the route index's `service`.
std::string_view served_name(RouteRule::Served served);

}  // namespace ordersd::api
