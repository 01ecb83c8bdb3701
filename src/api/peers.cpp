#include "api/peers.h"

#include <algorithm>
#include <cctype>

namespace ordersd::api {

namespace {

Status bad(std::string_view entry, std::string_view why) {
  return Status::invalid_argument("--peers entry '" + std::string(entry) + "': " + std::string(why));
}

// The host and port of "http://HOST[:PORT]" (the scheme's port when none is
// given); false when `url` is not that.
bool split_url(std::string_view url, std::string& host, uint16_t& port) {
  uint16_t default_port = 0;
  if (url.starts_with("http://")) {
    url.remove_prefix(7);
    default_port = 80;
  } else if (url.starts_with("https://")) {
    url.remove_prefix(8);
    default_port = 443;
  } else {
    return false;
  }
  if (url.empty()) return false;
  for (char c : url) {
    // A path, query, fragment or credentials have no place in a base URL;
    // neither have spaces or controls.
    if (c == '/' || c == '?' || c == '#' || c == '@' || c == '\\' || static_cast<unsigned char>(c) <= ' ') return false;
  }
  size_t colon = url.rfind(':');
  bool bracketed = url.front() == '[';
  if (colon != std::string_view::npos && (!bracketed || url[colon - 1] == ']')) {
    std::string_view digits = url.substr(colon + 1);
    if (digits.empty() || digits.size() > 5) return false;
    unsigned value = 0;
    for (char c : digits) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return false;
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) return false;
    host = std::string(url.substr(0, colon));
    port = static_cast<uint16_t>(value);
  } else {
    host = std::string(url);
    port = default_port;
  }
  return !host.empty();
}

std::string same_host(std::string_view host) {
  if (host == "localhost" || host == "[::1]" || host == "::1") return "127.0.0.1";
  return std::string(host);
}

}  // namespace

Result<Peers> Peers::parse(std::string_view text) {
  Peers peers;
  if (text.empty()) return peers;
  size_t at = 0;
  while (at <= text.size()) {
    size_t comma = text.find(',', at);
    std::string_view entry = text.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at);
    size_t equals = entry.find('=');
    if (equals == std::string_view::npos) return bad(entry, "give ROLE=URL, e.g. query=http://127.0.0.1:8085");
    std::string_view name = entry.substr(0, equals);
    std::string_view url = entry.substr(equals + 1);
    std::optional<uint32_t> shard;
    if (size_t slash = name.find('/'); slash != std::string_view::npos) {
      auto spec = bus::ShardSpec::parse(std::string(name.substr(slash + 1)) + "/" + std::to_string(bus::kMaxShards));
      if (!spec) return bad(entry, "a shard is ROLE/I, I from 0");
      shard = spec->index;
      name = name.substr(0, slash);
    }
    std::optional<bus::Role> role;
    for (bus::Role r : bus::every_role()) {
      if (bus::role_name(r) == name) role = r;
    }
    if (!role) return bad(entry, "the roles are order, payment, inventory, shipping, query");
    if (shard && *role != bus::Role::kOrder && *role != bus::Role::kPayment) {
      return bad(entry, "only order and payment have shards");
    }
    if (peers.urls_.count({*role, shard.value_or(0)})) {
      return bad(entry, "the " + std::string(name) + (shard ? " shard " + std::to_string(*shard) : std::string(" role")) +
                            " is given twice");
    }
    for (const auto& [key, e] : peers.urls_) {
      if (key.first == *role && e.sharded != shard.has_value()) {
        return bad(entry, "give the " + std::string(name) + " role either once (" + std::string(name) +
                              "=URL) or by shard (" + std::string(name) + "/0=URL,...), not both");
      }
    }
    while (url.ends_with('/')) url.remove_suffix(1);
    std::string host;
    uint16_t port = 0;
    if (!split_url(url, host, port)) {
      return bad(entry, "the URL must be http:// or https:// HOST[:PORT], with no path, query or credentials");
    }
    peers.urls_[{*role, shard.value_or(0)}] = Entry{std::string(url), shard.has_value()};
    if (comma == std::string_view::npos) break;
    at = comma + 1;
  }
  // Shards 0 to N-1, none missing.
  for (bus::Role role : {bus::Role::kOrder, bus::Role::kPayment}) {
    uint32_t n = peers.shard_map().count(role);
    bool sharded = false;
    for (const auto& [key, e] : peers.urls_) sharded = sharded || (key.first == role && e.sharded);
    for (uint32_t i = 0; sharded && i < n; ++i) {
      if (!peers.urls_.count({role, i})) {
        return Status::invalid_argument("--peers names shards of " + std::string(bus::role_name(role)) + " up to " +
                                        std::to_string(n - 1) + " but not " + std::string(bus::role_name(role)) +
                                        "/" + std::to_string(i));
      }
    }
  }
  return peers;
}

std::string_view Peers::url(bus::Role role, uint32_t shard) const {
  auto it = urls_.find({role, shard});
  return it == urls_.end() ? std::string_view() : std::string_view(it->second.url);
}

bus::ShardMap Peers::shard_map() const {
  uint32_t orders = 1, payments = 1;
  for (const auto& [key, e] : urls_) {
    if (!e.sharded) continue;
    if (key.first == bus::Role::kOrder) orders = std::max(orders, key.second + 1);
    if (key.first == bus::Role::kPayment) payments = std::max(payments, key.second + 1);
  }
  return bus::ShardMap(orders, payments);
}

std::string Peers::to_string() const {
  std::string out;
  for (const auto& [key, e] : urls_) {
    out += (out.empty() ? "" : ",") + std::string(bus::role_name(key.first)) +
           (e.sharded ? "/" + std::to_string(key.second) : std::string()) + "=" + e.url;
  }
  return out;
}

std::optional<std::string> Peers::names_itself(const bus::Roles& runs, std::optional<bus::ShardSpec> shard,
                                               std::string_view host, uint16_t port) const {
  for (const auto& [key, e] : urls_) {
    const auto& [role, index] = key;
    if (runs.has(role) && (!e.sharded || (shard && shard->index == index))) continue;  // this process itself
    std::string peer_host;
    uint16_t peer_port = 0;
    if (!split_url(e.url, peer_host, peer_port)) continue;
    if (peer_port == port && same_host(peer_host) == same_host(host)) {
      return std::string(bus::role_name(role)) + (e.sharded ? "/" + std::to_string(index) : std::string());
    }
  }
  return std::nullopt;
}

}  // namespace ordersd::api
