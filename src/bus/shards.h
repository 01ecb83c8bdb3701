// Shards: the order and payment roles split over several processes.
//
//   order    shard of an order:   shard_of(order id, N)
//   payment  shard of a wallet:   shard_of(customer id, N)
//
// shard_of is FNV-1a (64 bits) of the key, modulo N: the same in every
// process and every build, so the shard map (how many shards each role has)
// is all the configuration routing needs. Inventory, shipping and query are
// one process each.
//
// With more than one shard of either role, every message's subject carries
// a route, "ordersd.events.{kind}.{route}", so that each shard consumes only
// what it owns:
//
//   kind          route                           consumed by (filter)
//   order         order shard of the order        query (all)
//   operator      order shard of its id           query (all)
//   saga          payment shard of the customer   payment shard J (J), inventory, shipping, query (all)
//   wallet        payment shard of the customer   order shards (all: see below), query (all)
//   reservation   order shard of the order        order shard I (I), query (all)
//   shipment      order shard of the order        order shard I (I), query (all)
//   sku           0                               query (all)
//
// Every stream's events share one route, so a consumer gets whole streams
// (the importer's invariant: a copy holds every version). A wallet stream
// holds the answers to orders of every order shard: each order shard reads
// every wallet and its saga acts on its own orders' answers only
// (docs/scaling.md says what would remove that).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "bus/roles.h"
#include "events/status.h"

namespace ordersd::bus {

uint32_t shard_of(std::string_view key, uint32_t count);

// "I/N": this process is shard I (from 0) of N.
struct ShardSpec {
  uint32_t index = 0;
  uint32_t count = 1;
  static Result<ShardSpec> parse(std::string_view text);  // kInvalidArgument saying what is wrong
  std::string to_string() const { return std::to_string(index) + "/" + std::to_string(count); }
};

inline constexpr uint32_t kMaxShards = 256;

// How many shards the order and payment roles have (1: not sharded).
class ShardMap {
 public:
  ShardMap() = default;
  ShardMap(uint32_t orders, uint32_t payments) : orders_(orders), payments_(payments) {}

  uint32_t count(Role role) const;
  // Whether subjects carry routes: some role has more than one shard.
  bool sharded() const { return orders_ > 1 || payments_ > 1; }
  uint32_t order_shard(std::string_view order_id) const { return shard_of(order_id, orders_); }
  uint32_t payment_shard(std::string_view customer_id) const { return shard_of(customer_id, payments_); }
  // The shard of `role` that owns `key` (an order id for order, a customer
  // id for payment); 0 for the roles that are not sharded.
  uint32_t owner(Role role, std::string_view key) const;
  std::string to_string() const;  // "order=2,payment=2"

  // The route of a message of `stream` ("" when not sharded). A saga
  // stream's route is its customer's: `saga_customer` gives it.
  std::string route(std::string_view stream, std::string_view saga_customer) const;

  // For each kind `roles` reads, the route its consumer takes: "*" for
  // every route, a shard number for one, "" when not sharded.
  std::map<std::string, std::string> import_filters(const Roles& roles, std::optional<ShardSpec> shard) const;

 private:
  uint32_t orders_ = 1;
  uint32_t payments_ = 1;
};

}  // namespace ordersd::bus
