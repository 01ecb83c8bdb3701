#include "bus/roles.h"

#include <array>
#include <utility>

namespace ordersd::bus {

namespace {

struct RoleInfo {
  Role role;
  const char* name;
  std::set<std::string> writes;
  std::set<std::string> reads;
};

const std::array<RoleInfo, 5>& table() {
  static const std::array<RoleInfo, 5> roles = {{
      {Role::kOrder, "order", {"order", "saga", "operator"}, {"wallet", "reservation", "shipment"}},
      {Role::kPayment, "payment", {"wallet"}, {"saga"}},
      {Role::kInventory, "inventory", {"sku", "reservation"}, {"saga"}},
      {Role::kShipping, "shipping", {"shipment"}, {"saga"}},
      {Role::kQuery, "query", {}, {"order", "saga", "operator", "wallet", "reservation", "shipment", "sku"}},
  }};
  return roles;
}

}  // namespace

const std::vector<Role>& every_role() {
  static const std::vector<Role> roles = [] {
    std::vector<Role> out;
    for (const auto& info : table()) out.push_back(info.role);
    return out;
  }();
  return roles;
}

std::string_view role_name(Role role) {
  for (const auto& info : table()) {
    if (info.role == role) return info.name;
  }
  return "";
}

Roles Roles::of(Role role) {
  Roles r;
  r.roles_.insert(role);
  return r;
}

Roles Roles::all() {
  Roles r;
  for (const auto& info : table()) r.roles_.insert(info.role);
  return r;
}

Result<Roles> Roles::parse(std::string_view text) {
  if (text == "all") return all();
  Roles r;
  size_t at = 0;
  while (at <= text.size()) {
    size_t comma = text.find(',', at);
    std::string_view name = text.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at);
    bool known = false;
    for (const auto& info : table()) {
      if (name == info.name) {
        r.roles_.insert(info.role);
        known = true;
      }
    }
    if (!known) {
      return Status::invalid_argument("unknown role '" + std::string(name) +
                                      "': roles are all, or some of order, payment, inventory, shipping, query");
    }
    if (comma == std::string_view::npos) break;
    at = comma + 1;
  }
  return r;
}

std::string Roles::to_string() const {
  if (is_all()) return "all";
  std::string out;
  for (const auto& info : table()) {
    if (!has(info.role)) continue;
    if (!out.empty()) out += ',';
    out += info.name;
  }
  return out;
}

std::set<std::string> Roles::written_kinds() const {
  std::set<std::string> out;
  for (const auto& info : table()) {
    if (has(info.role)) out.insert(info.writes.begin(), info.writes.end());
  }
  return out;
}

std::set<std::string> Roles::read_kinds() const {
  std::set<std::string> written = written_kinds();
  std::set<std::string> out;
  for (const auto& info : table()) {
    if (!has(info.role)) continue;
    for (const auto& kind : info.reads) {
      if (!written.count(kind)) out.insert(kind);
    }
  }
  return out;
}

std::string_view stream_kind(std::string_view stream) {
  size_t dash = stream.find('-');
  return dash == std::string_view::npos ? std::string_view() : stream.substr(0, dash);
}

}  // namespace ordersd::bus
