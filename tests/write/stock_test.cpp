// The inventory stock of one sku's specification, as a Decider:
//
//   given these events (folded with evolve from StockState{}),
//   when this command (decide),
//   then these events and this next state, or this refusal.
//
// The story tests come first; a property test at the end drives a long
// pseudo-random command sequence and checks that units are conserved.
#include "write/domain/stock.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "support/decider_steps.h"
#include "support/describe_events.h"
#include "write/domain/overloaded.h"

using namespace ordersd::write;

namespace {

using Events = std::vector<StockEvent>;
using Kind = StockRefusal::Kind;

// --- readable failures: events print as "StockReserved{o-1, 3}".

using ordersd::test::describe;

std::string describe(const StockCommand& command) {
  std::ostringstream out;
  std::visit(Overloaded{
                 [&](const Restock& c) { out << "Restock{" << c.quantity << "}"; },
                 [&](const Reserve& c) { out << "Reserve{" << c.order_id << ", " << c.quantity << "}"; },
                 [&](const Release& c) { out << "Release{" << c.order_id << "}"; },
                 [&](const Ship& c) { out << "Ship{" << c.order_id << "}"; },
             },
             command);
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
struct StringMaker<Kind> {
  static String convert(Kind k) { return k == Kind::kInvalid ? "kInvalid" : "kInsufficient"; }
};
}  // namespace doctest

namespace {

// --- given / when / then.

using ordersd::test::accepted;
using ordersd::test::fold;
using ordersd::test::refused;


StockState given(const Events& events) { return fold(StockState{}, events); }

// A story step: `command` on `state` must yield exactly `expected`; returns the
// state after them.
StockState accepts(const StockState& state, const StockCommand& command, const Events& expected) {
  INFO("when ", describe(command));
  Events events = accepted(decide(state, command));
  CHECK(events == expected);
  return fold(state, events);
}

// A story step: `command` on `state` must be refused as `kind`; returns the refusal.
StockRefusal refuses(const StockState& state, const StockCommand& command, Kind kind) {
  INFO("when ", describe(command));
  StockRefusal r = refused(decide(state, command));
  CHECK(r.kind == kind);
  CHECK_FALSE(r.message.empty());
  return r;
}

// A redelivery: `command` on `state` yields no events at all.
void ignores(const StockState& state, const StockCommand& command) { accepts(state, command, {}); }

// Ten units on the shelf.
Events stocked() { return {StockRestocked{10, 10}}; }

}  // namespace

// --- restock.

TEST_CASE("a restock adds to what is available and records the available count after it") {
  StockState s = accepts(StockState{}, Restock{10}, {StockRestocked{10, 10}});
  CHECK(s.available == 10);
  CHECK(s.restocked == 10);
  CHECK(s.version == 1);

  s = accepts(s, Restock{5}, {StockRestocked{5, 15}});
  CHECK(s.available == 15);
  CHECK(s.restocked == 15);
  CHECK(s.version == 2);
}

TEST_CASE("a restock records the available count after it, not counting reserved units") {
  StockState s = given({StockRestocked{10, 10}, StockReserved{"o-1", 4}});
  s = accepts(s, Restock{3}, {StockRestocked{3, 9}});
  CHECK(s.available == 9);
  CHECK(s.reserved == 4);
  CHECK(s.restocked == 13);
}

TEST_CASE("a restock of nothing is refused as invalid") {
  refuses(StockState{}, Restock{0}, Kind::kInvalid);
  refuses(given(stocked()), Restock{0}, Kind::kInvalid);
}

TEST_CASE("a restock of up to kMaxRestock is accepted, one unit more is refused as invalid") {
  accepts(StockState{}, Restock{kMaxRestock}, {StockRestocked{kMaxRestock, kMaxRestock}});
  refuses(StockState{}, Restock{kMaxRestock + 1}, Kind::kInvalid);
  refuses(StockState{}, Restock{std::numeric_limits<uint64_t>::max()}, Kind::kInvalid);
}

// --- reserve.

TEST_CASE("a reservation within what is available moves units to reserved and records the order") {
  StockState s = accepts(given(stocked()), Reserve{"o-1", 4}, {StockReserved{"o-1", 4}});
  CHECK(s.available == 6);
  CHECK(s.reserved == 4);
  CHECK(s.restocked == 10);
  CHECK(s.reservations == std::map<std::string, uint32_t>{{"o-1", 4}});
}

TEST_CASE("a reservation of everything available is accepted") {
  StockState s = accepts(given(stocked()), Reserve{"o-1", 10}, {StockReserved{"o-1", 10}});
  CHECK(s.available == 0);
  CHECK(s.reserved == 10);
}

TEST_CASE("a reservation of more than is available is refused as insufficient with the available count") {
  StockState s = given({StockRestocked{10, 10}, StockReserved{"o-1", 7}});
  StockRefusal r = refuses(s, Reserve{"o-2", 4}, Kind::kInsufficient);
  CHECK(r.available == 3);
  r = refuses(given(stocked()), Reserve{"o-1", 11}, Kind::kInsufficient);
  CHECK(r.available == 10);
  r = refuses(StockState{}, Reserve{"o-1", 1}, Kind::kInsufficient);
  CHECK(r.available == 0);
}

TEST_CASE("a refused reservation records nothing: the order can reserve once stock arrives") {
  StockState s = given(stocked());
  refuses(s, Reserve{"o-1", 12}, Kind::kInsufficient);
  s = accepts(s, Restock{2}, {StockRestocked{2, 12}});
  s = accepts(s, Reserve{"o-1", 12}, {StockReserved{"o-1", 12}});
  CHECK(s.available == 0);
}

TEST_CASE("a reservation of no units is refused as invalid") {
  refuses(given(stocked()), Reserve{"o-1", 0}, Kind::kInvalid);
  refuses(StockState{}, Reserve{"o-1", 0}, Kind::kInvalid);
}

TEST_CASE("a redelivered reservation for an order that holds one yields no events, whatever the quantity") {
  StockState s = given({StockRestocked{10, 10}, StockReserved{"o-1", 4}});
  ignores(s, Reserve{"o-1", 4});
  ignores(s, Reserve{"o-1", 1});
  ignores(s, Reserve{"o-1", 6});
  ignores(s, Reserve{"o-1", 100});  // more than available: still a redelivery, not a refusal
}

// --- release.

TEST_CASE("a release returns exactly the order's reservation to what is available") {
  StockState s = given({StockRestocked{10, 10}, StockReserved{"o-1", 4}, StockReserved{"o-2", 3}});
  s = accepts(s, Release{"o-1"}, {StockReleased{"o-1", 4}});
  CHECK(s.available == 7);
  CHECK(s.reserved == 3);
  CHECK(s.reservations == std::map<std::string, uint32_t>{{"o-2", 3}});
}

TEST_CASE("a release happens only once: a second release yields no events") {
  StockState s = given({StockRestocked{10, 10}, StockReserved{"o-1", 4}});
  s = accepts(s, Release{"o-1"}, {StockReleased{"o-1", 4}});
  ignores(s, Release{"o-1"});
  CHECK(s.available == 10);
  CHECK(s.reserved == 0);
}

TEST_CASE("a release for an order without a reservation yields no events") {
  ignores(StockState{}, Release{"o-1"});
  ignores(given({StockRestocked{10, 10}, StockReserved{"o-2", 4}}), Release{"o-1"});
}

// --- ship.

TEST_CASE("shipping turns the order's reservation into shipped stock") {
  StockState s = given({StockRestocked{10, 10}, StockReserved{"o-1", 4}, StockReserved{"o-2", 3}});
  s = accepts(s, Ship{"o-1"}, {StockShipped{"o-1", 4}});
  CHECK(s.available == 3);
  CHECK(s.reserved == 3);
  CHECK(s.shipped == 4);
  CHECK(s.restocked == 10);
  CHECK(s.reservations == std::map<std::string, uint32_t>{{"o-2", 3}});
}

TEST_CASE("shipping happens only once: a second ship yields no events") {
  StockState s = given({StockRestocked{10, 10}, StockReserved{"o-1", 4}});
  s = accepts(s, Ship{"o-1"}, {StockShipped{"o-1", 4}});
  ignores(s, Ship{"o-1"});
  CHECK(s.shipped == 4);
}

TEST_CASE("shipping for an order without a reservation yields no events") {
  ignores(StockState{}, Ship{"o-1"});
  ignores(given({StockRestocked{10, 10}, StockReserved{"o-2", 4}}), Ship{"o-1"});
  ignores(given({StockRestocked{10, 10}, StockReserved{"o-1", 4}, StockReleased{"o-1", 4}}), Ship{"o-1"});
}

TEST_CASE("after shipping, a release yields no events: shipped stock does not come back") {
  StockState s = given({StockRestocked{10, 10}, StockReserved{"o-1", 4}, StockShipped{"o-1", 4}});
  ignores(s, Release{"o-1"});
  CHECK(s.available == 6);
  CHECK(s.shipped == 4);
}

TEST_CASE("a command that yields no events leaves state and version as they were") {
  StockState s = given({StockRestocked{10, 10}, StockReserved{"o-1", 4}});
  auto events = accepted(decide(s, Reserve{"o-1", 4}));
  CHECK(fold(s, events) == s);
  CHECK(s.version == 2);
}

// --- property: units are conserved over any sequence of commands.

TEST_CASE("over a long pseudo-random sequence of commands units are conserved and no counter wraps") {
  std::mt19937_64 rng(20240607);
  constexpr int kOrders = 20;
  constexpr int kSteps = 4'000;
  auto pick = [&](uint64_t lo, uint64_t hi) { return std::uniform_int_distribution<uint64_t>(lo, hi)(rng); };
  auto order = [&] { return "o-" + std::to_string(pick(0, kOrders - 1)); };

  StockState s;
  uint64_t model_available = 0, model_reserved = 0, model_shipped = 0, model_restocked = 0;
  int reserved = 0, insufficient = 0, invalid = 0, released = 0, shipped = 0;

  for (int step = 0; step < kSteps; ++step) {
    StockCommand command;
    switch (pick(0, 9)) {
      case 0:
      case 1: {  // restocks, mostly small, now and then invalid
        uint64_t roll = pick(0, 19);
        command = Restock{roll == 0 ? 0 : roll == 1 ? kMaxRestock + pick(1, 1'000) : pick(1, 20)};
        break;
      }
      case 2:
      case 3:
      case 4:
      case 5: {  // reservations around what is available, including exactly it
        uint64_t roll = pick(0, 9);
        uint64_t quantity = roll == 0   ? s.available
                            : roll == 1 ? s.available + 1
                            : roll == 2 ? 0
                                        : pick(1, 15);
        command = Reserve{order(), static_cast<uint32_t>(quantity)};
        break;
      }
      case 6:
      case 7:
        command = Release{order()};
        break;
      default:
        command = Ship{order()};
    }
    INFO("step ", step, ": ", describe(command));

    StockDecision decision = decide(s, command);
    if (const auto* refusal = std::get_if<StockRefusal>(&decision)) {
      if (refusal->kind == Kind::kInsufficient) {
        ++insufficient;
        const auto* r = std::get_if<Reserve>(&command);
        REQUIRE(r != nullptr);
        REQUIRE(r->quantity > s.available);
        REQUIRE(refusal->available == s.available);
      } else {
        ++invalid;
        bool bad_restock = std::holds_alternative<Restock>(command) &&
                           (std::get<Restock>(command).quantity == 0 ||
                            std::get<Restock>(command).quantity > kMaxRestock);
        bool empty_reserve = std::holds_alternative<Reserve>(command) && std::get<Reserve>(command).quantity == 0;
        REQUIRE((bad_restock || empty_reserve));
      }
      continue;
    }
    const Events& events = std::get<Events>(decision);
    REQUIRE(events.size() <= 1);
    for (const auto& e : events) {
      std::visit(Overloaded{
                     [&](const StockRestocked& ev) {
                       model_restocked += ev.quantity;
                       model_available += ev.quantity;
                       REQUIRE(ev.available == model_available);
                     },
                     [&](const StockReserved& ev) {
                       REQUIRE(ev.quantity > 0);
                       REQUIRE(ev.quantity <= model_available);
                       REQUIRE(s.reservations.count(ev.order_id) == 0);
                       model_available -= ev.quantity;
                       model_reserved += ev.quantity;
                       ++reserved;
                     },
                     [&](const StockReleased& ev) {
                       REQUIRE(s.reservations.at(ev.order_id) == ev.quantity);
                       model_reserved -= ev.quantity;
                       model_available += ev.quantity;
                       ++released;
                     },
                     [&](const StockShipped& ev) {
                       REQUIRE(s.reservations.at(ev.order_id) == ev.quantity);
                       model_reserved -= ev.quantity;
                       model_shipped += ev.quantity;
                       ++shipped;
                     },
                 },
                 e);
      s = evolve(std::move(s), e);
    }

    // Units are conserved: everything restocked is available, reserved or shipped.
    REQUIRE(s.restocked == s.available + s.reserved + s.shipped);
    uint64_t held = 0;
    for (const auto& [id, n] : s.reservations) {
      REQUIRE(n > 0);
      held += n;
    }
    REQUIRE(s.reserved == held);
    // No counter wraps: each matches the test's own count and none exceeds what came in.
    REQUIRE(s.restocked == model_restocked);
    REQUIRE(s.available == model_available);
    REQUIRE(s.reserved == model_reserved);
    REQUIRE(s.shipped == model_shipped);
    REQUIRE(s.available <= s.restocked);
    REQUIRE(s.reserved <= s.restocked);
    REQUIRE(s.shipped <= s.restocked);
  }

  // The sequence really went through every road.
  CHECK(reserved > 0);
  CHECK(insufficient > 0);
  CHECK(invalid > 0);
  CHECK(released > 0);
  CHECK(shipped > 0);
}

TEST_CASE("a sku keeps no trace of an order once its stock was shipped or released: the state holds only what is "
          "held now") {
  // That the order never reserves again is its reservation stream's guarantee
  // (reservation_test: "a redelivered reserve after any decision yields
  // nothing"); the sku's state stays bounded by the orders in flight.
  using namespace ordersd::write;
  for (const StockEvent& finish : {StockEvent(StockShipped{"o-1", 4}), StockEvent(StockReleased{"o-1", 4})}) {
    StockState s;
    for (const StockEvent& e : {StockEvent(StockRestocked{10, 10}), StockEvent(StockReserved{"o-1", 4}), finish}) {
      s = evolve(std::move(s), e);
    }
    CHECK(s.reservations.empty());
    CHECK(s.reserved == 0);
    ignores(s, Release{"o-1"});
    ignores(s, Ship{"o-1"});
  }
}

TEST_CASE("after many orders reserved and shipped or released, a sku's state holds only the reservations in flight") {
  StockState s = given({StockRestocked{kMaxRestock, kMaxRestock}});
  for (int i = 0; i < 10'000; ++i) {
    std::string order = "o-" + std::to_string(i);
    s = accepts(s, Reserve{order, 1}, {StockReserved{order, 1}});
    if (i >= 3) {  // three in flight at any time
      std::string done = "o-" + std::to_string(i - 3);
      if (i % 2) {
        s = accepts(s, Ship{done}, {StockShipped{done, 1}});
      } else {
        s = accepts(s, Release{done}, {StockReleased{done, 1}});
      }
    }
  }
  CHECK(s.reservations.size() == 3);
  CHECK(s.reserved == 3);
  CHECK(s.restocked == s.available + s.reserved + s.shipped);
}
