#include "api/route_table.h"

#include <array>

namespace ordersd::api {

namespace {

using auth::Scope;
using B = RouteRule::Binding;

constexpr std::array kRules = {
    // Probes and the health summary are open; /health says more with `metrics`.
    RouteRule{"GET", "/health", std::nullopt},
    RouteRule{"GET", "/health/live", std::nullopt},
    RouteRule{"GET", "/health/ready", std::nullopt},
    RouteRule{"GET", "/metrics", Scope::kMetrics},
    RouteRule{"GET", "/stats", Scope::kMetrics},
    // Orders: commands, and reads from the log and from the orders view.
    RouteRule{"POST", "/orders", Scope::kOrdersWrite, B::kOwnOrders},
    RouteRule{"POST", "/orders/{id}/cancel", Scope::kOrdersWrite, B::kOwnOrders},
    RouteRule{"POST", "/orders/{id}/deliver", Scope::kOrdersWrite, B::kOwnOrders},
    RouteRule{"GET", "/orders/{id}", Scope::kOrdersRead, B::kOwnOrders},
    RouteRule{"GET", "/orders", Scope::kOrdersRead, B::kOwnOrders},
    RouteRule{"GET", "/orders/{id}/events", Scope::kOrdersRead, B::kOwnOrders},
    RouteRule{"GET", "/orders/{id}/state", Scope::kOrdersRead, B::kOwnOrders},
    RouteRule{"GET", "/orders/{id}/timeline", Scope::kOrdersRead, B::kOwnOrders},
    // Wallets and the customer's summary.
    RouteRule{"POST", "/customers/{id}/deposits", Scope::kWalletsWrite, B::kCustomerInPath},
    RouteRule{"GET", "/customers/{id}/wallet", Scope::kWalletsRead, B::kCustomerInPath},
    RouteRule{"GET", "/customers/{id}", Scope::kWalletsRead, B::kCustomerInPath},
    // Stock.
    RouteRule{"POST", "/inventory/{sku}/restock", Scope::kInventoryWrite},
    RouteRule{"GET", "/inventory/{sku}", Scope::kInventoryRead},
    // The whole log.
    RouteRule{"GET", "/events", Scope::kEventsRead},
    RouteRule{"GET", "/events/stream", Scope::kEventsRead},
    // Operators.
    RouteRule{"GET", "/sagas", Scope::kAdmin},
    RouteRule{"GET", "/sagas/{id}", Scope::kAdmin},
    RouteRule{"POST", "/sagas/{id}/retry", Scope::kAdmin},
    RouteRule{"GET", "/participants", Scope::kAdmin},
    RouteRule{"POST", "/participants/{name}/pause", Scope::kAdmin},
    RouteRule{"POST", "/participants/{name}/resume", Scope::kAdmin},
    RouteRule{"GET", "/admin/views", Scope::kAdmin},
    RouteRule{"POST", "/admin/views/{name}/rebuild", Scope::kAdmin},
    RouteRule{"GET", "/admin/components", Scope::kAdmin},
    RouteRule{"POST", "/admin/components/{name}/retry", Scope::kAdmin},
    RouteRule{"POST", "/admin/components/{name}/skip", Scope::kAdmin},
    RouteRule{"GET", "/admin/audit", Scope::kAdmin},
};

}  // namespace

std::span<const RouteRule> route_table() { return kRules; }

const RouteRule* find_route_rule(std::string_view method, std::string_view pattern) {
  for (const auto& r : kRules) {
    if (r.method == method && r.pattern == pattern) return &r;
  }
  return nullptr;
}

}  // namespace ordersd::api
