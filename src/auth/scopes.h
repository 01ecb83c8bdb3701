// Scopes: what a caller may do. Every route needs exactly one scope, or
// none when it is open (api/route_table.cpp says which).
//
//   orders:write     place, cancel, deliver orders
//   orders:read      orders, their events and state
//   wallets:write    deposits
//   wallets:read     wallets, customers
//   inventory:write  restocks
//   inventory:read   stock levels
//   events:read      the whole log (/events)
//   metrics          /metrics, /stats, the full /health
//   admin            participants, views, sagas, components, the audit trail
#pragma once

#include <bitset>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/status.h"

namespace ordersd::auth {

enum class Scope {
  kOrdersWrite,
  kOrdersRead,
  kWalletsWrite,
  kWalletsRead,
  kInventoryWrite,
  kInventoryRead,
  kEventsRead,
  kMetrics,
  kAdmin,
};
inline constexpr size_t kScopeCount = 9;

std::string_view scope_name(Scope scope);  // "orders:write"
std::optional<Scope> scope_named(std::string_view name);

// Scopes that see past one customer: a token bound to a customer may not
// hold them (the log, metrics and admin routes show every customer).
bool crosses_customers(Scope scope);

class ScopeSet {
 public:
  static ScopeSet all();
  // "orders:read,orders:write" or "orders:read orders:write" (OAuth's
  // `scope` claim): an unknown name is an error, naming it.
  static Result<ScopeSet> parse(std::string_view list);
  // The same, skipping unknown names (an identity provider's tokens carry
  // scopes of other services too).
  static ScopeSet parse_known(std::string_view list);

  void add(Scope scope) { bits_.set(static_cast<size_t>(scope)); }
  void remove(Scope scope) { bits_.reset(static_cast<size_t>(scope)); }
  bool has(Scope scope) const { return bits_.test(static_cast<size_t>(scope)); }
  bool empty() const { return bits_.none(); }
  std::vector<Scope> list() const;
  std::string to_string() const;  // "orders:read orders:write", in declaration order

  bool operator==(const ScopeSet&) const = default;

 private:
  std::bitset<kScopeCount> bits_;
};

}  // namespace ordersd::auth
