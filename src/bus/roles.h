// Roles: what one ordersd process runs, and so which streams it writes (its
// outbox: every event of them is published) and which it copies in from the
// bus (its inbox).
//
//   order      order commands and the saga  writes order-, saga-, operator-  reads wallet-, reservation-, shipment-
//   payment    wallets and deposits          writes wallet-                   reads saga-
//   inventory  stock and reservations        writes sku-, reservation-        reads saga-
//   shipping   shipments                     writes shipment-                 reads saga-
//   query      the views and their queries   writes nothing                   reads every kind
//
// A stream's kind is its name up to the first '-'. Every stream has exactly
// one writer process, so the copies of it elsewhere are the same events in
// the same order.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "events/status.h"

namespace ordersd::bus {

enum class Role { kOrder, kPayment, kInventory, kShipping, kQuery };

// Every role, in the order of the table above, and its name ("payment").
const std::vector<Role>& every_role();
std::string_view role_name(Role role);

class Roles {
 public:
  // "all", or a comma-separated list of order, payment, inventory, shipping,
  // query; kInvalidArgument naming what is wrong.
  static Result<Roles> parse(std::string_view text);
  static Roles all();
  static Roles of(Role role);  // that one alone

  bool has(Role role) const { return roles_.count(role) > 0; }
  bool is_all() const { return roles_.size() == 5; }
  std::string to_string() const;  // "all" or the list

  // Stream kinds this process writes, and those it copies in from the bus.
  std::set<std::string> written_kinds() const;
  std::set<std::string> read_kinds() const;

 private:
  std::set<Role> roles_;
};

// "wallet" for "wallet-c-42"; "" for a name without '-'.
std::string_view stream_kind(std::string_view stream);

}  // namespace ordersd::bus
