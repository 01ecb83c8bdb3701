#include "api/peers.h"

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
    std::optional<bus::Role> role;
    for (bus::Role r : bus::every_role()) {
      if (bus::role_name(r) == name) role = r;
    }
    if (!role) return bad(entry, "the roles are order, payment, inventory, shipping, query");
    if (peers.urls_.count(*role)) return bad(entry, "the " + std::string(name) + " role is given twice");
    while (url.ends_with('/')) url.remove_suffix(1);
    std::string host;
    uint16_t port = 0;
    if (!split_url(url, host, port)) {
      return bad(entry, "the URL must be http:// or https:// HOST[:PORT], with no path, query or credentials");
    }
    peers.urls_[*role] = std::string(url);
    if (comma == std::string_view::npos) break;
    at = comma + 1;
  }
  return peers;
}

std::string_view Peers::url(bus::Role role) const {
  auto it = urls_.find(role);
  return it == urls_.end() ? std::string_view() : std::string_view(it->second);
}

std::string Peers::to_string() const {
  std::string out;
  for (const auto& [role, url] : urls_) out += (out.empty() ? "" : ",") + std::string(bus::role_name(role)) + "=" + url;
  return out;
}

std::optional<bus::Role> Peers::names_itself(const bus::Roles& runs, std::string_view host, uint16_t port) const {
  for (const auto& [role, url] : urls_) {
    if (runs.has(role)) continue;
    std::string peer_host;
    uint16_t peer_port = 0;
    if (!split_url(url, peer_host, peer_port)) continue;
    if (peer_port == port && same_host(peer_host) == same_host(host)) return role;
  }
  return std::nullopt;
}

}  // namespace ordersd::api
