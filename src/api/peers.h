// Peers: where the other services of a deployment answer HTTP, so that a
// process can send a client on to the service that serves a route it does
// not (307 with Location: one entry point for the whole cluster).
//
//   --peers order=http://127.0.0.1:8081,payment=http://127.0.0.1:8082,...
//
// Each entry names a role and the base URL (scheme, host and port; no path,
// query or credentials) of a process that runs it. A deployment may give
// every process the same list: entries for the roles a process runs itself
// are never used.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "bus/roles.h"
#include "events/status.h"

namespace ordersd::api {

class Peers {
 public:
  // "role=URL,role=URL"; "" is no peers. kInvalidArgument naming the entry
  // that is wrong: an unknown role, a role given twice, a URL that is not
  // http:// or https:// HOST[:PORT].
  static Result<Peers> parse(std::string_view text);

  // The base URL of the service that runs `role` ("http://127.0.0.1:8085",
  // never with a trailing '/'), or "" when none was given.
  std::string_view url(bus::Role role) const;
  bool empty() const { return urls_.empty(); }
  std::string to_string() const;  // "order=http://...,query=http://..."

  // A role the process does not run whose peer is this process itself
  // (http://HOST:PORT, "localhost" and 127.0.0.1 taken as one): its
  // requests would be sent back here for ever. nullopt when there is none.
  std::optional<bus::Role> names_itself(const bus::Roles& runs, std::string_view host, uint16_t port) const;

 private:
  std::map<bus::Role, std::string> urls_;
};

}  // namespace ordersd::api
