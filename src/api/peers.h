// Peers: where the other services of a deployment answer HTTP, so that a
// process can send a client on to the service that serves a route it does
// not (307 with Location: one entry point for the whole cluster).
//
//   --peers order=http://127.0.0.1:8081,payment=http://127.0.0.1:8082,...
//   --peers order/0=http://127.0.0.1:8081,order/1=http://127.0.0.1:8082,...
//
// Each entry names a role and the base URL (scheme, host and port; no path,
// query or credentials) of a process that runs it; a sharded role (order,
// payment: bus/shards.h) names each of its shards, "role/I", I from 0 to
// N-1, and so gives the shard map. A deployment may give every process the
// same list: entries for what a process runs itself are never used.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "bus/roles.h"
#include "bus/shards.h"
#include "events/status.h"

namespace ordersd::api {

class Peers {
 public:
  // "role=URL,role/I=URL,..."; "" is no peers. kInvalidArgument naming the
  // entry that is wrong: an unknown role, a role given twice, a shard of a
  // role that is not sharded, shards with one missing, a URL that is not
  // http:// or https:// HOST[:PORT].
  static Result<Peers> parse(std::string_view text);

  // The base URL of the process that runs `role` (its shard `shard`)
  // ("http://127.0.0.1:8085", never with a trailing '/'), or "" when none
  // was given.
  std::string_view url(bus::Role role, uint32_t shard = 0) const;
  bool empty() const { return urls_.empty(); }
  std::string to_string() const;  // "order/0=http://...,query=http://..."
  // How many shards the order and payment roles have, by the entries.
  bus::ShardMap shard_map() const;

  // An entry that is not this process (a role it does not run, or another
  // shard of its role) but whose URL is this process itself
  // (http://HOST:PORT, "localhost" and 127.0.0.1 taken as one): its
  // requests would be sent back here for ever. Its name ("order/1"), or
  // nullopt when there is none.
  std::optional<std::string> names_itself(const bus::Roles& runs, std::optional<bus::ShardSpec> shard,
                                          std::string_view host, uint16_t port) const;

 private:
  struct Entry {
    std::string url;
    bool sharded = false;  // given as role/I
  };
  std::map<std::pair<bus::Role, uint32_t>, Entry> urls_;
};

}  // namespace ordersd::api
