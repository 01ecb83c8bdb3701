#include "auth/scopes.h"

#include <array>

namespace ordersd::auth {

namespace {

constexpr std::array<std::string_view, kScopeCount> kNames = {
    "orders:write", "orders:read",     "wallets:write", "wallets:read", "inventory:write",
    "inventory:read", "events:read", "metrics",       "admin",
};

// Splits on commas and whitespace; empty pieces are skipped.
template <typename Visit>
void for_each_name(std::string_view list, Visit visit) {
  size_t i = 0;
  while (i < list.size()) {
    while (i < list.size() && (list[i] == ',' || list[i] == ' ' || list[i] == '\t')) ++i;
    size_t start = i;
    while (i < list.size() && list[i] != ',' && list[i] != ' ' && list[i] != '\t') ++i;
    if (i > start) visit(list.substr(start, i - start));
  }
}

}  // namespace

std::string_view scope_name(Scope scope) { return kNames[static_cast<size_t>(scope)]; }

std::optional<Scope> scope_named(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<Scope>(i);
  }
  return std::nullopt;
}

bool crosses_customers(Scope scope) {
  return scope == Scope::kEventsRead || scope == Scope::kMetrics || scope == Scope::kAdmin;
}

ScopeSet ScopeSet::all() {
  ScopeSet s;
  s.bits_.set();
  return s;
}

Result<ScopeSet> ScopeSet::parse(std::string_view list) {
  ScopeSet s;
  std::string unknown;
  for_each_name(list, [&](std::string_view name) {
    if (auto scope = scope_named(name)) {
      s.add(*scope);
    } else if (unknown.empty()) {
      unknown = std::string(name);
    }
  });
  if (!unknown.empty()) {
    std::string known;
    for (auto n : kNames) known += (known.empty() ? "" : ", ") + std::string(n);
    return Status::invalid_argument("unknown scope '" + unknown + "' (scopes: " + known + ")");
  }
  return s;
}

ScopeSet ScopeSet::parse_known(std::string_view list) {
  ScopeSet s;
  for_each_name(list, [&](std::string_view name) {
    if (auto scope = scope_named(name)) s.add(*scope);
  });
  return s;
}

std::vector<Scope> ScopeSet::list() const {
  std::vector<Scope> out;
  for (size_t i = 0; i < kScopeCount; ++i) {
    if (bits_.test(i)) out.push_back(static_cast<Scope>(i));
  }
  return out;
}

std::string ScopeSet::to_string() const {
  std::string out;
  for (Scope s : list()) out += (out.empty() ? "" : " ") + std::string(scope_name(s));
  return out;
}

}  // namespace ordersd::auth
