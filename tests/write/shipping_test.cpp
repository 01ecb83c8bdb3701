// The shipment of one order's specification, as a Decider:
//
//   given these events (folded with evolve from ShipmentState{}),
//   when this command (decide, against the served countries),
//   then these events and this next state.
//
// Shipping never refuses: an unserved country is an outcome (ShipmentFailed),
// and a redelivered command after either outcome yields no events.
#include "write/domain/shipping.h"

#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "support/decider_steps.h"
#include "write/domain/overloaded.h"

using namespace ordersd::write;

namespace {

using Events = std::vector<ShipmentEvent>;

// --- readable failures: events print as "ShipmentInitiated{shp-o-1, NL}".

std::string describe(const ShipmentEvent& event) {
  std::ostringstream out;
  std::visit(Overloaded{
                 [&](const ShipmentInitiated& e) {
                   out << "ShipmentInitiated{" << e.shipment_id << ", " << e.country << "}";
                 },
                 [&](const ShipmentFailed& e) { out << "ShipmentFailed{" << e.country << ", " << e.reason << "}"; },
             },
             event);
  return out.str();
}

}  // namespace

namespace doctest {
template <>
struct StringMaker<Events> {
  static String convert(const Events& events) {
    std::string out = "{";
    for (size_t i = 0; i < events.size(); ++i) out += (i ? ", " : "") + describe(events[i]);
    return (out + "}").c_str();
  }
};
template <>
struct StringMaker<ServedCountries> {
  static String convert(const ServedCountries& countries) {
    std::string out = "{";
    for (const auto& c : countries) out += (out.size() > 1 ? "," : "") + c;
    return (out + "}").c_str();
  }
};
}  // namespace doctest

namespace {

// --- given / when / then.

using ordersd::test::fold;


ShipmentState given(const Events& events) { return fold(ShipmentState{}, events); }

// A story step: `command` on `state` must yield exactly `expected`; returns the
// state after them.
ShipmentState accepts(const ShipmentState& state, const CreateShipment& command, const Events& expected,
                      const ServedCountries& served = default_served_countries()) {
  INFO("when CreateShipment{", command.order_id, ", ", command.country, "}");
  Events events = decide(state, command, served);
  CHECK(events == expected);
  return fold(state, events);
}

}  // namespace

TEST_CASE("a shipment to a served country is initiated with an id derived from the order id") {
  ShipmentState s = accepts(ShipmentState{}, {"o-1", "NL"}, {ShipmentInitiated{"shp-o-1", "NL"}});
  CHECK(s.version == 1);
  REQUIRE(s.outcome.has_value());
  CHECK(*s.outcome == ShipmentEvent{ShipmentInitiated{"shp-o-1", "NL"}});
}

TEST_CASE("the shipment id is \"shp-\" followed by the order id, for any order id") {
  accepts(ShipmentState{}, {"7f3c2a90-1b2d-4e5f-8a9b-0c1d2e3f4a5b", "US"},
          {ShipmentInitiated{"shp-7f3c2a90-1b2d-4e5f-8a9b-0c1d2e3f4a5b", "US"}});
  accepts(ShipmentState{}, {"o-2", "JP"}, {ShipmentInitiated{"shp-o-2", "JP"}});
}

TEST_CASE("the same order decided twice from scratch names the same shipment") {
  Events first = decide(ShipmentState{}, CreateShipment{"o-1", "DE"}, default_served_countries());
  Events second = decide(ShipmentState{}, CreateShipment{"o-1", "DE"}, default_served_countries());
  CHECK(first == second);
}

TEST_CASE("a shipment to a country the warehouse does not serve fails as shipping_unavailable") {
  ShipmentState s = accepts(ShipmentState{}, {"o-1", "BR"}, {ShipmentFailed{"BR", "shipping_unavailable"}});
  CHECK(s.version == 1);
  REQUIRE(s.outcome.has_value());
  CHECK(*s.outcome == ShipmentEvent{ShipmentFailed{"BR", "shipping_unavailable"}});
}

TEST_CASE("country codes are matched exactly: lower case, empty or padded codes are not served") {
  for (const char* country : {"nl", "", " NL", "NL ", "NLD", "Nl"}) {
    INFO("country \"", country, "\"");
    accepts(ShipmentState{}, {"o-1", country}, {ShipmentFailed{country, "shipping_unavailable"}});
  }
}

TEST_CASE("a redelivered command after the shipment was initiated yields no events") {
  ShipmentState s = given({ShipmentInitiated{"shp-o-1", "NL"}});
  accepts(s, {"o-1", "NL"}, {});
  accepts(s, {"o-1", "BR"}, {});  // whatever the country
  accepts(s, {"o-1", "NL"}, {}, ServedCountries{});
  CHECK(s.version == 1);
}

TEST_CASE("a redelivered command after the shipment failed yields no events, even once the country is served") {
  ShipmentState s = given({ShipmentFailed{"BR", "shipping_unavailable"}});
  accepts(s, {"o-1", "BR"}, {});
  accepts(s, {"o-1", "BR"}, {}, ServedCountries{"BR"});
  accepts(s, {"o-1", "NL"}, {});
  CHECK(s.version == 1);
}

TEST_CASE("the default served countries are exactly US, CA, GB, DE, FR, NL, SE, JP and AU") {
  CHECK(default_served_countries() == ServedCountries{"US", "CA", "GB", "DE", "FR", "NL", "SE", "JP", "AU"});
  for (const char* country : {"US", "CA", "GB", "DE", "FR", "NL", "SE", "JP", "AU"}) {
    INFO("country ", country);
    accepts(ShipmentState{}, {"o-1", country}, {ShipmentInitiated{"shp-o-1", country}});
  }
  for (const char* country : {"BR", "CN", "IN", "MX", "ES", "IT", "UK"}) {
    INFO("country ", country);
    accepts(ShipmentState{}, {"o-1", country}, {ShipmentFailed{country, "shipping_unavailable"}});
  }
}

TEST_CASE("a custom set of served countries is honoured instead of the default") {
  const ServedCountries served = {"BR", "MX"};
  accepts(ShipmentState{}, {"o-1", "BR"}, {ShipmentInitiated{"shp-o-1", "BR"}}, served);
  accepts(ShipmentState{}, {"o-1", "MX"}, {ShipmentInitiated{"shp-o-1", "MX"}}, served);
  accepts(ShipmentState{}, {"o-1", "US"}, {ShipmentFailed{"US", "shipping_unavailable"}}, served);
  accepts(ShipmentState{}, {"o-1", "NL"}, {ShipmentFailed{"NL", "shipping_unavailable"}}, served);
}

TEST_CASE("with no served countries every shipment fails as shipping_unavailable") {
  accepts(ShipmentState{}, {"o-1", "US"}, {ShipmentFailed{"US", "shipping_unavailable"}}, ServedCountries{});
}

TEST_CASE("a cancel before any decision voids the shipment, and a late create then yields no events") {
  Events voided = decide(ShipmentState{}, CancelShipment{"o-1"}, default_served_countries());
  CHECK(voided == Events{ShipmentFailed{"", "voided"}});
  ShipmentState s = given(voided);
  accepts(s, {"o-1", "NL"}, {});
}

TEST_CASE("a cancel after the shipment was initiated yields no events: shipping cannot be undone") {
  ShipmentState s = given({ShipmentInitiated{"shp-o-1", "NL"}});
  CHECK(decide(s, CancelShipment{"o-1"}, default_served_countries()).empty());
}
