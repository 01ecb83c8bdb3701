#include "api/route_table.h"

#include <array>

namespace ordersd::api {

namespace {

using auth::Scope;
using B = RouteRule::Binding;
using S = RouteRule::Served;
constexpr std::optional<Scope> kOpen = std::nullopt;

constexpr std::array kRules = {
    // The index of this table, probes and the health summary are open; /health says more with `metrics`.
    RouteRule{"GET", "/", kOpen, B::kNone, S::kEvery, "this index: every route, its scope, service and summary"},
    RouteRule{"GET", "/health", kOpen, B::kNone, S::kEvery, "ok or degraded; with metrics: head, views, components, bus"},
    RouteRule{"GET", "/health/live", kOpen, B::kNone, S::kEvery, "200 while the process answers"},
    RouteRule{"GET", "/health/ready", kOpen, B::kNone, S::kEvery, "200 when every component runs and keeps up"},
    RouteRule{"GET", "/openapi.json", kOpen, B::kNone, S::kEvery, "this API described in OpenAPI 3.1 (api/openapi.yaml)"},
    // The web console's files (its data comes from the routes below, with the signed-in token).
    RouteRule{"GET", "/ui", kOpen, B::kNone, S::kEvery, "the web console"},
    RouteRule{"GET", "/ui/{asset}", kOpen, B::kNone, S::kEvery, "the web console's script and style sheet"},
    // Who the credentials name and what they may do: any valid credentials.
    RouteRule{"GET", "/whoami", kOpen, B::kNone, S::kEvery, "who the credentials name and what they may do (any valid credentials)", true},
    RouteRule{"GET", "/metrics", Scope::kMetrics, B::kNone, S::kEvery, "Prometheus text"},
    RouteRule{"GET", "/stats", Scope::kMetrics, B::kNone, S::kQuery,
              "orders per status, revenue, cancellations per reason, projectors' lag"},
    // Orders: commands, and reads from the log and from the orders view.
    RouteRule{"POST", "/orders", Scope::kOrdersWrite, B::kOwnOrders, S::kOrder, "place an order"},
    RouteRule{"POST", "/orders/{id}/cancel", Scope::kOrdersWrite, B::kOwnOrders, S::kOrder, "cancel an order"},
    RouteRule{"POST", "/orders/{id}/deliver", Scope::kOrdersWrite, B::kOwnOrders, S::kOrder,
              "mark a shipped order delivered"},
    RouteRule{"GET", "/orders/{id}", Scope::kOrdersRead, B::kOwnOrders, S::kQuery, "the order view's row"},
    RouteRule{"GET", "/orders", Scope::kOrdersRead, B::kOwnOrders, S::kQuery,
              "orders newest first, by status and customer, paged"},
    RouteRule{"GET", "/orders/{id}/events", Scope::kOrdersRead, B::kOwnOrders, S::kOrder, "the order's stream"},
    RouteRule{"GET", "/orders/{id}/state", Scope::kOrdersRead, B::kOwnOrders, S::kOrder,
              "the order folded from its stream, up to a version"},
    RouteRule{"GET", "/orders/{id}/timeline", Scope::kOrdersRead, B::kOwnOrders, S::kQuery,
              "every event of every stream in the order's story, in log order"},
    // Wallets and the customer's summary.
    RouteRule{"POST", "/customers/{id}/deposits", Scope::kWalletsWrite, B::kCustomerInPath, S::kPayment,
              "deposit into the customer's wallet"},
    RouteRule{"GET", "/customers/{id}/wallet", Scope::kWalletsRead, B::kCustomerInPath, S::kPayment,
              "the wallet: balance, deposits, charges"},
    RouteRule{"GET", "/customers/{id}", Scope::kWalletsRead, B::kCustomerInPath, S::kQuery,
              "the customer view: balance, deposits, spent, orders per status"},
    // Stock.
    RouteRule{"POST", "/inventory/{sku}/restock", Scope::kInventoryWrite, B::kNone, S::kInventory, "restock a sku"},
    RouteRule{"GET", "/inventory/{sku}", Scope::kInventoryRead, B::kNone, S::kQuery,
              "the inventory view: restocked, available, reserved, shipped"},
    // The whole log.
    RouteRule{"GET", "/events", Scope::kEventsRead, B::kNone, S::kOrder, "the log in global order, paged"},
    RouteRule{"GET", "/events/stream", Scope::kEventsRead, B::kNone, S::kOrder,
              "the log as it grows, as Server-Sent Events, resumable and filtered"},
    // Operators.
    RouteRule{"GET", "/sagas", Scope::kAdmin, B::kNone, S::kOrder, "the stuck sagas"},
    RouteRule{"GET", "/sagas/{id}", Scope::kAdmin, B::kNone, S::kOrder, "an order's saga"},
    RouteRule{"POST", "/sagas/{id}/retry", Scope::kAdmin, B::kNone, S::kOrder, "retry a stuck saga's compensation"},
    RouteRule{"GET", "/participants", Scope::kAdmin, B::kNone, S::kEvery,
              "this process's saga participants: position, lag, paused"},
    RouteRule{"POST", "/participants/{name}/pause", Scope::kAdmin, B::kNone, S::kParticipantInPath,
              "hold a participant"},
    RouteRule{"POST", "/participants/{name}/resume", Scope::kAdmin, B::kNone, S::kParticipantInPath,
              "let a held participant read again"},
    RouteRule{"GET", "/admin/views", Scope::kAdmin, B::kNone, S::kQuery, "the views' generations, lag, rebuilds"},
    RouteRule{"POST", "/admin/views/{name}/rebuild", Scope::kAdmin, B::kNone, S::kQuery,
              "rebuild a view beside the live one"},
    RouteRule{"GET", "/admin/components", Scope::kAdmin, B::kNone, S::kEvery,
              "this process's supervised components"},
    RouteRule{"POST", "/admin/components/{name}/retry", Scope::kAdmin, B::kNone, S::kEvery,
              "restart a failed component"},
    RouteRule{"POST", "/admin/components/{name}/skip", Scope::kAdmin, B::kNone, S::kEvery,
              "restart a failed component past the event it failed on"},
    RouteRule{"GET", "/admin/audit", Scope::kAdmin, B::kNone, S::kEvery, "the admin actions taken, newest first"},
};

bool is_param(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// The pattern's segments match the path's (as http::Router matches them).
bool matches(std::string_view pattern, const std::vector<std::string>& path) {
  if (pattern.starts_with('/')) pattern.remove_prefix(1);
  size_t i = 0;
  while (!pattern.empty()) {
    size_t slash = pattern.find('/');
    std::string_view segment = pattern.substr(0, slash);
    if (i >= path.size()) return false;
    if (is_param(segment) ? path[i].empty() : segment != path[i]) return false;
    ++i;
    if (slash == std::string_view::npos) break;
    pattern.remove_prefix(slash + 1);
  }
  return i == path.size();
}

}  // namespace

std::span<const RouteRule> route_table() { return kRules; }

const RouteRule* find_route_rule(std::string_view method, std::string_view pattern) {
  for (const auto& r : kRules) {
    if (r.method == method && r.pattern == pattern) return &r;
  }
  return nullptr;
}

const RouteRule* match_route_rule(std::string_view method, const std::vector<std::string>& path) {
  for (const auto& r : kRules) {
    if (r.method == method && matches(r.pattern, path)) return &r;
  }
  return nullptr;
}

std::optional<bus::Role> participant_role(std::string_view name) {
  if (name == "saga") return bus::Role::kOrder;
  if (name == "payment") return bus::Role::kPayment;
  if (name == "inventory") return bus::Role::kInventory;
  if (name == "shipping") return bus::Role::kShipping;
  return std::nullopt;
}

std::optional<bus::Role> serving_role(const RouteRule& rule, const std::vector<std::string>& params) {
  switch (rule.served) {
    case S::kEvery: return std::nullopt;
    case S::kOrder: return bus::Role::kOrder;
    case S::kPayment: return bus::Role::kPayment;
    case S::kInventory: return bus::Role::kInventory;
    case S::kShipping: return bus::Role::kShipping;
    case S::kQuery: return bus::Role::kQuery;
    case S::kParticipantInPath: return params.empty() ? std::nullopt : participant_role(params[0]);
  }
  return std::nullopt;
}

bool serves(const RouteRule& rule, const bus::Roles& roles) {
  if (rule.served == S::kEvery || rule.served == S::kParticipantInPath) return true;
  return roles.has(*serving_role(rule, {}));
}

std::string_view served_name(RouteRule::Served served) {
  switch (served) {
    case S::kEvery: return "every";
    case S::kParticipantInPath: return "{name}";
    default: break;
  }
  RouteRule probe;
  probe.served = served;
  return bus::role_name(*serving_role(probe, {}));
}

}  // namespace ordersd::api
