#include "write/domain/shipping.h"

namespace ordersd::write {

const ServedCountries& default_served_countries() {
  static const ServedCountries countries = {"US", "CA", "GB", "DE", "FR", "NL", "SE", "JP", "AU"};
  return countries;
}

std::vector<ShipmentEvent> decide(const ShipmentState& state, const ShipmentCommand& command,
                                  const ServedCountries& served) {
  if (state.outcome) return {};  // decided before: a redelivery, or a cancel that came too late
  if (std::holds_alternative<CancelShipment>(command)) return {ShipmentFailed{"", "voided"}};
  const auto& create = std::get<CreateShipment>(command);
  if (!served.count(create.country)) return {ShipmentFailed{create.country, "shipping_unavailable"}};
  return {ShipmentInitiated{"shp-" + create.order_id, create.country}};
}

ShipmentState evolve(ShipmentState s, const ShipmentEvent& event) {
  ++s.version;
  s.outcome = event;
  return s;
}

}  // namespace ordersd::write
