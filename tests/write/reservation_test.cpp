// The inventory reservation's specification, as a Decider over one order's
// reservation and the stock of the skus it names:
//
//   given these reservation events and these skus' stock,
//   when this command (decide),
//   then exactly these reservation events and these (sku, stock event) pairs,
//   appended together or not at all, and the next states.
//
// The story tests come first; a property test at the end drives many orders'
// reservations over shared stock and checks that units are conserved and that
// every decision is all lines or none.
#include "write/domain/reservation.h"

#include <doctest/doctest.h>

#include <cstdint>
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
#include "write/saga/saga.h"

using namespace ordersd::write;

namespace {

using ReservationEvents = std::vector<ReservationEvent>;
using StockEvents = std::vector<std::pair<std::string, StockEvent>>;
using Status = ReservationState::Status;
using ordersd::test::describe;

// --- readable failures: events print as "InventoryReserved{[sku-a x3 sku-b x2]}" and "sku-a: StockReserved{o-1, 3}".

std::string describe(const ReservationEvent& event) {
  std::ostringstream out;
  std::visit(Overloaded{
                 [&](const InventoryReserved& e) { out << "InventoryReserved{" << describe(e.lines) << "}"; },
                 [&](const InventoryReservationFailed& e) {
                   out << "InventoryReservationFailed{" << e.sku << ", " << e.requested << ", " << e.available << ", "
                       << e.reason << "}";
                 },
                 [&](const InventoryReleased& e) { out << "InventoryReleased{" << describe(e.lines) << "}"; },
                 [&](const InventoryShipped& e) { out << "InventoryShipped{" << describe(e.lines) << "}"; },
             },
             event);
  return out.str();
}

std::string describe(const std::pair<std::string, StockEvent>& sku_event) {
  return sku_event.first + ": " + describe(sku_event.second);
}

std::string describe(const ReservationCommand& command) {
  return std::visit(Overloaded{
                        [](const ReserveStock& c) {
                          return "ReserveStock{" + c.order_id + ", " + describe(c.lines) + "}";
                        },
                        [](const ReleaseStock& c) { return "ReleaseStock{" + c.order_id + "}"; },
                        [](const ShipStock& c) { return "ShipStock{" + c.order_id + "}"; },
                    },
                    command);
}

std::string status_name(Status s) {
  switch (s) {
    case Status::kNone: return "none";
    case Status::kHeld: return "held";
    case Status::kFailed: return "failed";
    case Status::kReleased: return "released";
    case Status::kShipped: return "shipped";
  }
  return "unknown";
}

template <typename Events>
std::string describe_all(const Events& events) {
  std::string out = "{";
  for (size_t i = 0; i < events.size(); ++i) out += (i ? ", " : "") + describe(events[i]);
  return out + "}";
}

}  // namespace

namespace doctest {
template <>
struct StringMaker<ReservationEvents> {
  static String convert(const ReservationEvents& events) { return describe_all(events).c_str(); }
};
template <>
struct StringMaker<StockEvents> {
  static String convert(const StockEvents& events) { return describe_all(events).c_str(); }
};
template <>
struct StringMaker<Status> {
  static String convert(Status s) { return status_name(s).c_str(); }
};
}  // namespace doctest

namespace {

// --- the inventory: one order's reservation and the stock of every sku.

struct Inventory {
  ReservationState reservation;
  std::map<std::string, StockState> stock;

  const StockState& sku(const std::string& name) const {
    static const StockState kNone{};
    auto it = stock.find(name);
    return it == stock.end() ? kNone : it->second;
  }
  // The stock of the skus `command` names, as the inventory service loads them.
  SkuStates skus_for(const ReservationCommand& command) const {
    SkuStates out;
    for (const auto& name : skus_of(reservation, command)) {
      auto it = stock.find(name);
      out.emplace(name, it == stock.end() ? nullptr : &it->second);
    }
    return out;
  }
};

// Five of sku-a and two of sku-b on the shelf; sku-c was never stocked.
Inventory stocked() {
  Inventory inv;
  inv.stock["sku-a"] = evolve(StockState{}, StockEvent(StockRestocked{5, 5}));
  inv.stock["sku-b"] = evolve(StockState{}, StockEvent(StockRestocked{2, 2}));
  return inv;
}

// --- given / when / then.

using ordersd::test::fold;

// A story step: `command` must decide exactly `reservation` and `stock`;
// returns the inventory after both are appended.
Inventory decides(const Inventory& inv, const ReservationCommand& command, const ReservationEvents& reservation,
                  const StockEvents& stock) {
  INFO("when ", describe(command), " on a ", status_name(inv.reservation.status), " reservation");
  ReservationDecision d = decide(inv.reservation, command, inv.skus_for(command));
  CHECK(d.reservation == reservation);
  CHECK(d.stock == stock);
  CHECK(d.empty() == (reservation.empty() && stock.empty()));
  Inventory next = inv;
  next.reservation = fold(next.reservation, d.reservation);
  for (const auto& [sku, e] : d.stock) next.stock[sku] = evolve(next.stock[sku], e);
  return next;
}

// `command` decides nothing at all.
void ignores(const Inventory& inv, const ReservationCommand& command) { decides(inv, command, {}, {}); }

const std::vector<StockLine> kLines = {{"sku-a", 3}, {"sku-b", 2}};
ReserveStock reserve(std::vector<StockLine> lines = kLines) { return {"o-1", std::move(lines)}; }
const ReleaseStock kRelease{"o-1"};
const ShipStock kShip{"o-1"};

// The story so far: o-1 holds 3 of sku-a and 2 of sku-b.
Inventory held() {
  return decides(stocked(), reserve(), {InventoryReserved{kLines}},
                 {{"sku-a", StockReserved{"o-1", 3}}, {"sku-b", StockReserved{"o-1", 2}}});
}
Inventory failed() {
  return decides(stocked(), reserve({{"sku-a", 3}, {"sku-b", 3}}),
                 {InventoryReservationFailed{"sku-b", 3, 2, "out_of_stock"}}, {});
}
Inventory released() {
  return decides(held(), kRelease, {InventoryReleased{kLines}},
                 {{"sku-a", StockReleased{"o-1", 3}}, {"sku-b", StockReleased{"o-1", 2}}});
}
Inventory voided() { return decides(stocked(), kRelease, {InventoryReleased{}}, {}); }
Inventory shipped() {
  return decides(held(), kShip, {InventoryShipped{kLines}},
                 {{"sku-a", StockShipped{"o-1", 3}}, {"sku-b", StockShipped{"o-1", 2}}});
}

// restocked = available + reserved + shipped, for every sku.
void check_conserved(const Inventory& inv) {
  for (const auto& [name, s] : inv.stock) {
    INFO("sku ", name);
    CHECK(s.restocked == s.available + s.reserved + s.shipped);
  }
}

}  // namespace

// --- reserve: all lines or none.

TEST_CASE("a reservation with every sku in stock reserves every line at once, on the reservation and on each sku") {
  Inventory inv = held();
  CHECK(inv.reservation == ReservationState{Status::kHeld, 1, kLines});
  CHECK(inv.sku("sku-a").available == 2);
  CHECK(inv.sku("sku-a").reserved == 3);
  CHECK(inv.sku("sku-b").available == 0);
  CHECK(inv.sku("sku-b").reserved == 2);
  check_conserved(inv);
}

TEST_CASE("a reservation of exactly what is available is accepted") {
  decides(stocked(), reserve({{"sku-a", 5}, {"sku-b", 2}}), {InventoryReserved{{{"sku-a", 5}, {"sku-b", 2}}}},
          {{"sku-a", StockReserved{"o-1", 5}}, {"sku-b", StockReserved{"o-1", 2}}});
}

TEST_CASE("a reservation short of one sku fails naming it with requested and available, and reserves nothing on "
          "any sku") {
  Inventory inv = failed();  // sku-a had the units, sku-b did not: sku-a is not touched either
  CHECK(inv.reservation.status == Status::kFailed);
  CHECK(inv.sku("sku-a") == stocked().sku("sku-a"));
  CHECK(inv.sku("sku-b") == stocked().sku("sku-b"));
}

TEST_CASE("a reservation short of several skus names the first short one in line order") {
  decides(stocked(), reserve({{"sku-a", 6}, {"sku-b", 3}}), {InventoryReservationFailed{"sku-a", 6, 5, "out_of_stock"}},
          {});
  decides(stocked(), reserve({{"sku-b", 3}, {"sku-a", 6}}), {InventoryReservationFailed{"sku-b", 3, 2, "out_of_stock"}},
          {});
}

TEST_CASE("a sku that was never stocked is short with none available") {
  decides(stocked(), reserve({{"sku-a", 1}, {"sku-c", 1}}), {InventoryReservationFailed{"sku-c", 1, 0, "out_of_stock"}},
          {});
  // Whether or not the caller loaded a state for it.
  Inventory inv = stocked();
  ReservationDecision d = decide(inv.reservation, reserve({{"sku-c", 4}}), SkuStates{});
  CHECK(d.reservation == ReservationEvents{InventoryReservationFailed{"sku-c", 4, 0, "out_of_stock"}});
  CHECK(d.stock.empty());
}

TEST_CASE("units reserved by another order are not available") {
  Inventory o2 = held();     // o-1 holds 3 of the 5 sku-a
  o2.reservation = {};       // o-2's own reservation: nothing decided yet
  decides(o2, ReserveStock{"o-2", {{"sku-a", 3}}}, {InventoryReservationFailed{"sku-a", 3, 2, "out_of_stock"}}, {});
  decides(o2, ReserveStock{"o-2", {{"sku-a", 2}}}, {InventoryReserved{{{"sku-a", 2}}}},
          {{"sku-a", StockReserved{"o-2", 2}}});
}

TEST_CASE("a redelivered reserve after any decision yields nothing, even when the stock would now suffice") {
  ignores(held(), reserve());
  ignores(held(), reserve({{"sku-a", 1}}));
  ignores(failed(), reserve());
  ignores(released(), reserve());
  ignores(shipped(), reserve());
  Inventory restocked = failed();
  restocked.stock["sku-b"] = evolve(restocked.stock["sku-b"], StockEvent(StockRestocked{10, 12}));
  ignores(restocked, reserve({{"sku-a", 3}, {"sku-b", 3}}));
}

TEST_CASE("an order naming a sku twice reserves the sum, as stock_lines gives it") {
  std::vector<OrderLine> items = {{"sku-a", 2, 100}, {"sku-b", 1, 100}, {"sku-a", 3, 100}};
  REQUIRE(stock_lines(items) == std::vector<StockLine>{{"sku-a", 5}, {"sku-b", 1}});
  decides(stocked(), reserve(stock_lines(items)), {InventoryReserved{{{"sku-a", 5}, {"sku-b", 1}}}},
          {{"sku-a", StockReserved{"o-1", 5}}, {"sku-b", StockReserved{"o-1", 1}}});
}

TEST_CASE("an order naming a sku twice, each line fitting but not their sum, fails with the summed request") {
  std::vector<OrderLine> items = {{"sku-a", 3, 100}, {"sku-a", 3, 100}};
  decides(stocked(), reserve(stock_lines(items)), {InventoryReservationFailed{"sku-a", 6, 5, "out_of_stock"}}, {});
}

// --- release.

TEST_CASE("a release gives back exactly what each sku holds, on the reservation and on each sku") {
  Inventory inv = released();
  CHECK(inv.reservation == ReservationState{Status::kReleased, 2, kLines});
  CHECK(inv.sku("sku-a") == StockState{3, 5, 5, 0, 0, {}});
  CHECK(inv.sku("sku-b") == StockState{3, 2, 2, 0, 0, {}});
  check_conserved(inv);
}

TEST_CASE("a release gives back only what is still held: a sku no longer holding the order's units is left out") {
  Inventory inv = held();
  inv.stock["sku-b"] = evolve(inv.stock["sku-b"], StockEvent(StockReleased{"o-1", 2}));
  decides(inv, kRelease, {InventoryReleased{{{"sku-a", 3}}}}, {{"sku-a", StockReleased{"o-1", 3}}});
}

TEST_CASE("a release of a reservation never decided voids it with no lines, touching no sku; a later reserve yields "
          "nothing") {
  Inventory inv = voided();
  CHECK(inv.reservation.status == Status::kReleased);
  CHECK(inv.stock == stocked().stock);
  ignores(inv, reserve());
}

TEST_CASE("a release of a failed reservation yields nothing") { ignores(failed(), kRelease); }

TEST_CASE("a second release yields nothing") {
  ignores(released(), kRelease);
  ignores(voided(), kRelease);
}

// --- ship.

TEST_CASE("ship turns the units each sku holds into shipped stock, and the reservation records it shipped (the "
          "saga's answer)") {
  Inventory inv = shipped();
  CHECK(inv.reservation == ReservationState{Status::kShipped, 2, kLines});
  CHECK(inv.sku("sku-a") == StockState{3, 5, 2, 0, 3, {}});
  CHECK(inv.sku("sku-b") == StockState{3, 2, 0, 0, 2, {}});
  check_conserved(inv);
}

TEST_CASE("a release after ship yields nothing: shipped stock is not given back") { ignores(shipped(), kRelease); }

TEST_CASE("ship with nothing held yields nothing") {
  ignores(stocked(), kShip);
  ignores(failed(), kShip);
  ignores(released(), kShip);
  ignores(voided(), kShip);
  ignores(shipped(), kShip);  // a redelivery
}

// --- evolve and skus_of.

TEST_CASE("evolve records each decision's status and the lines reserved") {
  ReservationState s;
  s = evolve(s, ReservationEvent(InventoryReserved{kLines}));
  CHECK(s == ReservationState{Status::kHeld, 1, kLines});
  s = evolve(s, ReservationEvent(InventoryReleased{kLines}));
  CHECK(s == ReservationState{Status::kReleased, 2, kLines});
  CHECK(evolve(ReservationState{}, ReservationEvent(InventoryReservationFailed{"sku-a", 1, 0, "out_of_stock"})) ==
        ReservationState{Status::kFailed, 1, {}});
  CHECK(evolve(ReservationState{}, ReservationEvent(InventoryReleased{})) ==
        ReservationState{Status::kReleased, 1, {}});
  s = evolve(ReservationState{Status::kHeld, 1, kLines}, ReservationEvent(InventoryShipped{kLines}));
  CHECK(s == ReservationState{Status::kShipped, 2, kLines});
}

TEST_CASE("skus_of names the lines' skus for a reserve, and the held skus for a release or a ship") {
  CHECK(skus_of(ReservationState{}, reserve({{"sku-b", 1}, {"sku-a", 2}})) ==
        std::vector<std::string>{"sku-b", "sku-a"});
  CHECK(skus_of(ReservationState{}, kRelease).empty());
  CHECK(skus_of(ReservationState{}, kShip).empty());
  CHECK(skus_of(held().reservation, kRelease) == std::vector<std::string>{"sku-a", "sku-b"});
  CHECK(skus_of(held().reservation, kShip) == std::vector<std::string>{"sku-a", "sku-b"});
}

// --- property: many orders over shared stock.

TEST_CASE("over many orders' reserves, releases and ships, every decision is all lines or none and units "
          "are conserved") {
  const std::vector<std::string> names = {"sku-a", "sku-b", "sku-c"};
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    std::mt19937_64 rng(seed);
    auto pick = [&](uint64_t lo, uint64_t hi) { return std::uniform_int_distribution<uint64_t>(lo, hi)(rng); };
    std::map<std::string, StockState> stock;
    for (const auto& n : names) {
      uint64_t units = pick(1, 20);
      stock[n] = evolve(StockState{}, StockEvent(StockRestocked{units, units}));
    }
    std::map<std::string, ReservationState> orders;
    for (int i = 0; i < 300; ++i) {
      std::string order_id = "o-" + std::to_string(pick(1, 15));
      ReservationState& r = orders[order_id];
      ReservationCommand command;
      switch (pick(0, 3)) {
        case 0:
        case 1: {
          std::vector<OrderLine> items;
          for (uint64_t n = pick(1, 4); n > 0; --n) {
            items.push_back({names[pick(0, 2)], static_cast<uint32_t>(pick(1, 6)), 100});
          }
          command = ReserveStock{order_id, stock_lines(items)};
          break;
        }
        case 2: command = ReleaseStock{order_id}; break;
        default: command = ShipStock{order_id}; break;
      }
      SkuStates skus;
      for (const auto& n : skus_of(r, command)) skus.emplace(n, &stock[n]);
      ReservationDecision d = decide(r, command, skus);
      INFO("seed ", seed, ", step ", i, ": ", describe(command), " -> ", describe_all(d.reservation), " ",
           describe_all(d.stock));

      // All lines or none: a reserve's stock events are one per line exactly when it is reserved.
      if (const auto* c = std::get_if<ReserveStock>(&command)) {
        if (!d.reservation.empty() && std::holds_alternative<InventoryReserved>(d.reservation[0])) {
          REQUIRE(d.stock.size() == c->lines.size());
          for (size_t k = 0; k < c->lines.size(); ++k) {
            CHECK(d.stock[k] == std::pair<std::string, StockEvent>{c->lines[k].sku,
                                                                   StockReserved{order_id, c->lines[k].quantity}});
          }
        } else {
          CHECK(d.stock.empty());
        }
      }
      // A release gives back what the reservation held, sku by sku.
      if (std::holds_alternative<ReleaseStock>(command) && !d.stock.empty()) {
        CHECK(d.reservation == ReservationEvents{InventoryReleased{r.lines}});
      }
      CHECK(d.reservation.size() <= 1);

      r = fold(r, d.reservation);
      for (const auto& [n, e] : d.stock) stock[n] = evolve(stock[n], e);
      for (const auto& [n, s] : stock) {
        uint64_t held = 0;
        for (const auto& [o, q] : s.reservations) held += q;
        if (s.restocked != s.available + s.reserved + s.shipped || held != s.reserved) {
          FAIL("sku " << n << " is not conserved: restocked " << s.restocked << ", available " << s.available
                      << ", reserved " << s.reserved << " (held by orders " << held << "), shipped " << s.shipped);
        }
      }
    }
  }
}
