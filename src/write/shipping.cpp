#include "write/shipping.h"

namespace ordersd::write {

const ServedCountries& default_served_countries() {
  static const ServedCountries countries = {"US", "CA", "GB", "DE", "FR", "NL", "SE", "JP", "AU"};
  return countries;
}

std::vector<ShipmentEvent> decide(const ShipmentState& state, const CreateShipment& command,
                                  const ServedCountries& served) {
  if (state.outcome) return {};  // decided before: a redelivery
  if (!served.count(command.country)) {
    return {ShipmentFailed{command.country, "shipping_unavailable"}};
  }
  return {ShipmentInitiated{"shp-" + command.order_id, command.country}};
}

ShipmentState evolve(ShipmentState s, const ShipmentEvent& event) {
  ++s.version;
  s.outcome = event;
  return s;
}

}  // namespace ordersd::write
