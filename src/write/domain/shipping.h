// The shipping service's shipment of one order, as a Decider over the stream
// shipment-{order_id}.
//
//   create(order, country) -> ShipmentInitiated when the warehouse serves the
//                             country, else ShipmentFailed("shipping_unavailable");
//                             nothing if this order's shipment was decided before
//   cancel(order)          -> ShipmentFailed("", "voided") when nothing was decided
//                             yet, so a late create does nothing; else nothing
//
// The shipment id is derived from the order id, so a redelivered command
// names the same shipment. Shipping is the saga's last step and has no
// compensation. Pure; plain values.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "write/domain/order.h"

namespace ordersd::write {

using ShipmentEvent = std::variant<ShipmentInitiated, ShipmentFailed>;

struct CreateShipment {
  std::string order_id;
  std::string country;
};

struct CancelShipment {
  std::string order_id;
};
using ShipmentCommand = std::variant<CreateShipment, CancelShipment>;

struct ShipmentState {
  uint64_t version = 0;
  std::optional<ShipmentEvent> outcome;
  friend bool operator==(const ShipmentState&, const ShipmentState&) = default;
};

// The countries the warehouse ships to (--ship-to), e.g. {"US", "CA", ...}.
using ServedCountries = std::set<std::string, std::less<>>;

// "US,CA,GB,DE,FR,NL,SE,JP,AU".
const ServedCountries& default_served_countries();

std::vector<ShipmentEvent> decide(const ShipmentState& state, const ShipmentCommand& command,
                                  const ServedCountries& served);
ShipmentState evolve(ShipmentState state, const ShipmentEvent& event);

}  // namespace ordersd::write
