// The payment wallet's specification, as a Decider:
//
//   given these events (folded with evolve from WalletState{}, and into the
//   record of each order they name),
//   when this command (decide, with the record of the order it names),
//   then these events and this next state, or this refusal.
//
// The story tests come first; a property test at the end drives a long
// pseudo-random command sequence and checks that money is conserved.
#include "write/domain/wallet.h"

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
#include "write/domain/overloaded.h"

using namespace ordersd::write;

namespace {

using Events = std::vector<WalletEvent>;
using Payment = OrderPayment::Outcome;

// A wallet as the payment service keeps it: the wallet's state, and beside it
// one record per order the wallet answered (the "payment-orders" records).
// decide() is handed the record of the order a command names.
struct Wallet : WalletState {
  std::map<std::string, OrderPayment> orders;
  friend bool operator==(const Wallet&, const Wallet&) = default;
};

Wallet evolve(Wallet w, const WalletEvent& event) {
  const std::string& order = order_of(event);
  if (!order.empty()) w.orders[order] = evolve(w.orders[order], event);
  static_cast<WalletState&>(w) = evolve(static_cast<WalletState>(w), event);
  return w;
}

WalletDecision decide(const Wallet& w, const WalletCommand& command) {
  auto it = w.orders.find(order_of(command));
  return decide(static_cast<const WalletState&>(w), command, it == w.orders.end() ? OrderPayment{} : it->second);
}

// --- readable failures: events print as "WalletDeclined{o-1, 3000, insufficient_funds}".

std::string describe(const WalletEvent& event) {
  std::ostringstream out;
  std::visit(Overloaded{
                 [&](const FundsDeposited& e) {
                   out << "FundsDeposited{" << e.amount_cents << ", balance " << e.balance_cents << "}";
                 },
                 [&](const WalletCharged& e) { out << "WalletCharged{" << e.order_id << ", " << e.amount_cents << "}"; },
                 [&](const WalletDeclined& e) {
                   out << "WalletDeclined{" << e.order_id << ", " << e.amount_cents << ", " << e.reason << "}";
                 },
                 [&](const WalletRefunded& e) {
                   out << "WalletRefunded{" << e.order_id << ", " << e.amount_cents << "}";
                 },
             },
             event);
  return out.str();
}

std::string describe(const WalletCommand& command) {
  std::ostringstream out;
  std::visit(Overloaded{
                 [&](const Deposit& c) { out << "Deposit{" << c.amount_cents << "}"; },
                 [&](const Charge& c) { out << "Charge{" << c.order_id << ", " << c.amount_cents << "}"; },
                 [&](const Refund& c) { out << "Refund{" << c.order_id << "}"; },
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
}  // namespace doctest

namespace {

// --- given / when / then.

using ordersd::test::accepted;
using ordersd::test::fold;
using ordersd::test::refused;


Wallet given(const Events& events) { return fold(Wallet{}, events); }

// A story step: `command` on `state` must yield exactly `expected`; returns the
// state after them.
Wallet accepts(const Wallet& state, const WalletCommand& command, const Events& expected) {
  INFO("when ", describe(command));
  Events events = accepted(decide(state, command));
  CHECK(events == expected);
  return fold(state, events);
}

// A story step: `command` on `state` must be refused; the state stays.
void refuses(const Wallet& state, const WalletCommand& command) {
  INFO("when ", describe(command));
  WalletRefusal r = refused(decide(state, command));
  CHECK_FALSE(r.message.empty());
}

// A redelivery: `command` on `state` yields no events at all.
void ignores(const Wallet& state, const WalletCommand& command) { accepts(state, command, {}); }

// A wallet holding 50.00.
Events funded() { return {FundsDeposited{5'000, 5'000}}; }

}  // namespace

// --- deposits.

TEST_CASE("a deposit adds to the balance and records the balance after it") {
  Wallet s = accepts(Wallet{}, Deposit{5'000}, {FundsDeposited{5'000, 5'000}});
  CHECK(s.balance_cents == 5'000);
  CHECK(s.deposited_cents == 5'000);
  CHECK(s.version == 1);

  s = accepts(s, Deposit{2'500}, {FundsDeposited{2'500, 7'500}});
  CHECK(s.balance_cents == 7'500);
  CHECK(s.deposited_cents == 7'500);
  CHECK(s.version == 2);
}

TEST_CASE("a deposit after a charge records the balance after both") {
  Wallet s = given({FundsDeposited{5'000, 5'000}, WalletCharged{"o-1", 3'000}});
  s = accepts(s, Deposit{1'000}, {FundsDeposited{1'000, 3'000}});
  CHECK(s.balance_cents == 3'000);
  CHECK(s.deposited_cents == 6'000);
}

TEST_CASE("a deposit of nothing is refused and leaves the wallet as it was") {
  refuses(Wallet{}, Deposit{0});
  refuses(given(funded()), Deposit{0});
}

TEST_CASE("a deposit of up to kMaxDepositCents is accepted, one cent more is refused") {
  accepts(Wallet{}, Deposit{kMaxDepositCents}, {FundsDeposited{kMaxDepositCents, kMaxDepositCents}});
  accepts(Wallet{}, Deposit{1}, {FundsDeposited{1, 1}});
  refuses(Wallet{}, Deposit{kMaxDepositCents + 1});
  refuses(given(funded()), Deposit{kMaxDepositCents + 1});
  refuses(Wallet{}, Deposit{std::numeric_limits<uint64_t>::max()});
}

TEST_CASE("a deposit that would take the balance past the largest signed 64-bit amount is refused") {
  constexpr uint64_t kMax = std::numeric_limits<int64_t>::max();
  Wallet nearly_full = given({FundsDeposited{kMax - 10, kMax - 10}});
  accepts(nearly_full, Deposit{10}, {FundsDeposited{10, kMax}});
  refuses(nearly_full, Deposit{11});
  refuses(nearly_full, Deposit{kMaxDepositCents});
}

// --- charges.

TEST_CASE("a charge within the balance is processed and lowers the balance") {
  Wallet s = accepts(given(funded()), Charge{"o-1", 3'000}, {WalletCharged{"o-1", 3'000}});
  CHECK(s.balance_cents == 2'000);
  CHECK(s.deposited_cents == 5'000);
  CHECK(s.orders.at("o-1") == OrderPayment{Payment::kCharged, 3'000});
}

TEST_CASE("a charge of exactly the balance is processed and empties the wallet") {
  Wallet s = accepts(given(funded()), Charge{"o-1", 5'000}, {WalletCharged{"o-1", 5'000}});
  CHECK(s.balance_cents == 0);
  CHECK(s.orders.at("o-1").outcome == Payment::kCharged);
}

TEST_CASE("a charge one cent over the balance is declined for insufficient funds and leaves the balance") {
  Wallet before = given(funded());
  Wallet s = accepts(before, Charge{"o-1", 5'001}, {WalletDeclined{"o-1", 5'001, "insufficient_funds"}});
  CHECK(s.balance_cents == 5'000);
  CHECK(s.deposited_cents == 5'000);
  CHECK(s.orders.at("o-1") == OrderPayment{Payment::kDeclined, 5'001});
}

TEST_CASE("a charge on an empty wallet is declined for insufficient funds") {
  Wallet s = accepts(Wallet{}, Charge{"o-1", 1}, {WalletDeclined{"o-1", 1, "insufficient_funds"}});
  CHECK(s.balance_cents == 0);
}

TEST_CASE("charges for different orders are each decided against what is left") {
  Wallet s = given(funded());
  s = accepts(s, Charge{"o-1", 3'000}, {WalletCharged{"o-1", 3'000}});
  s = accepts(s, Charge{"o-2", 3'000}, {WalletDeclined{"o-2", 3'000, "insufficient_funds"}});
  s = accepts(s, Charge{"o-3", 2'000}, {WalletCharged{"o-3", 2'000}});
  CHECK(s.balance_cents == 0);
  CHECK(s.orders.size() == 3);
}

TEST_CASE("a redelivered charge after it was processed yields no events, whatever the amount") {
  Wallet s = given({FundsDeposited{5'000, 5'000}, WalletCharged{"o-1", 3'000}});
  ignores(s, Charge{"o-1", 3'000});
  ignores(s, Charge{"o-1", 1'000});
  ignores(s, Charge{"o-1", 2'000});
  ignores(s, Charge{"o-1", 9'999});
  ignores(s, Charge{"o-1", 0});
}

TEST_CASE("a redelivered charge after it was declined yields no events, even once the money is there") {
  Wallet s = given({FundsDeposited{1'000, 1'000}, WalletDeclined{"o-1", 3'000, "insufficient_funds"}});
  ignores(s, Charge{"o-1", 3'000});
  ignores(s, Charge{"o-1", 500});
  s = accepts(s, Deposit{10'000}, {FundsDeposited{10'000, 11'000}});
  ignores(s, Charge{"o-1", 3'000});
  CHECK(s.orders.at("o-1").outcome == Payment::kDeclined);
}

// --- refunds.

TEST_CASE("a refund gives back exactly what the order was charged") {
  Wallet s = given({FundsDeposited{5'000, 5'000}, WalletCharged{"o-1", 3'000}, WalletCharged{"o-2", 1'500}});
  s = accepts(s, Refund{"o-1"}, {WalletRefunded{"o-1", 3'000}});
  CHECK(s.balance_cents == 3'500);
  CHECK(s.deposited_cents == 5'000);
  CHECK(s.orders.at("o-1") == OrderPayment{Payment::kRefunded, 3'000});
  CHECK(s.orders.at("o-2") == OrderPayment{Payment::kCharged, 1'500});
}

TEST_CASE("a refund is given only once: a second refund yields no events") {
  Wallet s = given({FundsDeposited{5'000, 5'000}, WalletCharged{"o-1", 3'000}});
  s = accepts(s, Refund{"o-1"}, {WalletRefunded{"o-1", 3'000}});
  ignores(s, Refund{"o-1"});
  CHECK(s.balance_cents == 5'000);
}

TEST_CASE("a refund for an order never asked to charge voids it: declined as voided, nothing moves") {
  Wallet s = given({FundsDeposited{5'000, 5'000}, WalletCharged{"o-2", 3'000}});
  s = accepts(s, Refund{"o-1"}, {WalletDeclined{"o-1", 0, "voided"}});
  CHECK(s.balance_cents == 2'000);
  CHECK(s.orders.at("o-1").outcome == Payment::kDeclined);
}

TEST_CASE("a charge that arrives after its order was voided yields no events: the money stays") {
  Wallet s = given({FundsDeposited{5'000, 5'000}, WalletDeclined{"o-1", 0, "voided"}});
  ignores(s, Charge{"o-1", 3'000});
  ignores(s, Refund{"o-1"});
  CHECK(s.balance_cents == 5'000);
}

TEST_CASE("a refund for an order whose charge was declined yields no events") {
  Wallet s = given({FundsDeposited{1'000, 1'000}, WalletDeclined{"o-1", 3'000, "insufficient_funds"}});
  ignores(s, Refund{"o-1"});
}

TEST_CASE("after a refund a new charge for the same order yields no events: at most one charge per order") {
  Wallet s = given({FundsDeposited{5'000, 5'000}, WalletCharged{"o-1", 3'000}, WalletRefunded{"o-1", 3'000}});
  ignores(s, Charge{"o-1", 3'000});
  ignores(s, Charge{"o-1", 100});
  ignores(s, Refund{"o-1"});
  CHECK(s.balance_cents == 5'000);
}

TEST_CASE("a command that yields no events leaves state and version as they were") {
  Wallet s = given({FundsDeposited{5'000, 5'000}, WalletCharged{"o-1", 3'000}});
  auto events = accepted(decide(s, Charge{"o-1", 3'000}));
  CHECK(fold(s, events) == s);
  CHECK(s.version == 2);
}

// --- the order's record: what the wallet knows of each order lives beside it.

TEST_CASE("a charge or a refund is decided by the order's record: the wallet's state names no order") {
  WalletState funded_state = given(funded());
  using Record = OrderPayment;
  auto events_of = [](const WalletDecision& d) { return accepted(d); };
  CHECK(events_of(decide(funded_state, Charge{"o-1", 3'000}, Record{})) == Events{WalletCharged{"o-1", 3'000}});
  CHECK(events_of(decide(funded_state, Charge{"o-1", 3'000}, Record{Payment::kCharged, 3'000})).empty());
  CHECK(events_of(decide(funded_state, Charge{"o-1", 3'000}, Record{Payment::kDeclined, 3'000})).empty());
  CHECK(events_of(decide(funded_state, Charge{"o-1", 3'000}, Record{Payment::kRefunded, 3'000})).empty());
  CHECK(events_of(decide(funded_state, Refund{"o-1"}, Record{})) == Events{WalletDeclined{"o-1", 0, "voided"}});
  CHECK(events_of(decide(funded_state, Refund{"o-1"}, Record{Payment::kCharged, 1'200})) ==
        Events{WalletRefunded{"o-1", 1'200}});
  CHECK(events_of(decide(funded_state, Refund{"o-1"}, Record{Payment::kDeclined, 1'200})).empty());
  CHECK(events_of(decide(funded_state, Refund{"o-1"}, Record{Payment::kRefunded, 1'200})).empty());
  // A deposit names no order: any record is ignored.
  CHECK(events_of(decide(funded_state, Deposit{10}, Record{Payment::kCharged, 1})) ==
        Events{FundsDeposited{10, 5'010}});
}

TEST_CASE("evolve gives an order's record the outcome of each event that names it; a deposit leaves it as it was") {
  OrderPayment r;
  r = evolve(r, WalletEvent(FundsDeposited{5'000, 5'000}));
  CHECK(r == OrderPayment{});
  r = evolve(r, WalletEvent(WalletCharged{"o-1", 3'000}));
  CHECK(r == OrderPayment{Payment::kCharged, 3'000});
  r = evolve(r, WalletEvent(WalletRefunded{"o-1", 3'000}));
  CHECK(r == OrderPayment{Payment::kRefunded, 3'000});
  CHECK(evolve(OrderPayment{}, WalletEvent(WalletDeclined{"o-1", 0, "voided"})) == OrderPayment{Payment::kDeclined, 0});
  CHECK(order_of(WalletEvent(FundsDeposited{1, 1})).empty());
  CHECK(order_of(WalletEvent(WalletDeclined{"o-9", 0, "voided"})) == "o-9");
  CHECK(order_of(WalletCommand(Refund{"o-8"})) == "o-8");
  CHECK(order_of(WalletCommand(Deposit{5})).empty());
}

TEST_CASE("a wallet's state is the same size however many orders it answered: balance, deposits and charges held") {
  // No container: four counters, whatever the number of orders.
  static_assert(sizeof(WalletState) == 4 * sizeof(uint64_t));
  Wallet w = given({FundsDeposited{1'000'000, 1'000'000}});
  for (int i = 0; i < 5'000; ++i) {
    std::string order = "o-" + std::to_string(i);
    w = fold(w, accepted(decide(w, Charge{order, 100})));
    if (i % 2) w = fold(w, accepted(decide(w, Refund{order})));
  }
  CHECK(w.orders.size() == 5'000);  // the records the test kept beside the wallet
  CHECK(static_cast<const WalletState&>(w) ==
        WalletState{1 + 5'000 + 2'500, 1'000'000 - 2'500 * 100, 1'000'000, 2'500 * 100});
}

// --- property: money is conserved over any sequence of commands.

TEST_CASE("over a long pseudo-random sequence of commands money is conserved and no order is charged twice") {
  std::mt19937_64 rng(20240607);
  constexpr int kOrders = 20;
  constexpr int kSteps = 4'000;
  auto pick = [&](uint64_t lo, uint64_t hi) { return std::uniform_int_distribution<uint64_t>(lo, hi)(rng); };
  auto order = [&] { return "o-" + std::to_string(pick(0, kOrders - 1)); };

  Wallet s;
  std::map<std::string, int> charges;  // WalletCharged events seen, per order
  std::map<std::string, int> refunds;  // WalletRefunded events seen, per order
  uint64_t model_balance = 0;          // the balance, kept by the test
  int processed = 0, declined = 0, refunded = 0, refusals = 0;

  for (int step = 0; step < kSteps; ++step) {
    WalletCommand command;
    switch (pick(0, 9)) {
      case 0:
      case 1:
      case 2: {  // deposits, mostly small, now and then invalid or huge
        uint64_t roll = pick(0, 19);
        command = Deposit{roll == 0 ? 0 : roll == 1 ? kMaxDepositCents + pick(1, 1'000) : roll == 2 ? kMaxDepositCents : pick(1, 10'000)};
        break;
      }
      case 3:
      case 4:
      case 5:
      case 6: {  // charges around the balance, including exactly the balance
        uint64_t roll = pick(0, 9);
        uint64_t amount = roll == 0 ? s.balance_cents : roll == 1 ? s.balance_cents + 1 : pick(0, 20'000);
        command = Charge{order(), amount};
        break;
      }
      default:
        command = Refund{order()};
    }
    INFO("step ", step, ": ", describe(command));

    WalletDecision decision = decide(s, command);
    if (std::holds_alternative<WalletRefusal>(decision)) {
      ++refusals;
      const auto* d = std::get_if<Deposit>(&command);
      REQUIRE(d != nullptr);  // only deposits are ever refused
      REQUIRE((d->amount_cents == 0 || d->amount_cents > kMaxDepositCents));
      continue;
    }
    const Events& events = std::get<Events>(decision);
    REQUIRE(events.size() <= 1);
    for (const auto& e : events) {
      std::visit(Overloaded{
                     [&](const FundsDeposited& ev) {
                       model_balance += ev.amount_cents;
                       REQUIRE(ev.balance_cents == model_balance);
                     },
                     [&](const WalletCharged& ev) {
                       REQUIRE(ev.amount_cents <= model_balance);
                       model_balance -= ev.amount_cents;
                       ++charges[ev.order_id];
                       ++processed;
                     },
                     [&](const WalletDeclined& ev) {
                       if (ev.reason == "voided") {  // a refund before any charge
                         REQUIRE(std::holds_alternative<Refund>(command));
                         REQUIRE(ev.amount_cents == 0);
                         REQUIRE(s.orders.count(ev.order_id) == 0);
                       } else {
                         REQUIRE(ev.amount_cents > model_balance);
                         REQUIRE(ev.reason == "insufficient_funds");
                       }
                       ++declined;
                     },
                     [&](const WalletRefunded& ev) {
                       model_balance += ev.amount_cents;
                       ++refunds[ev.order_id];
                       ++refunded;
                     },
                 },
                 e);
      s = evolve(std::move(s), e);
    }

    // Money is conserved: what came in is in the wallet or held by an order.
    uint64_t held = 0;
    for (const auto& [id, p] : s.orders) {
      if (p.outcome == Payment::kCharged) held += p.amount_cents;
    }
    REQUIRE(s.deposited_cents == s.balance_cents + held);
    REQUIRE(s.charged_cents == held);
    REQUIRE(s.balance_cents == model_balance);
    // The balance never goes negative, i.e. never wraps around.
    REQUIRE(s.balance_cents <= s.deposited_cents);
    REQUIRE(s.balance_cents <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()));
    // Each order is charged at most once, and refunded at most once after it.
    for (const auto& [id, n] : charges) REQUIRE(n <= 1);
    for (const auto& [id, n] : refunds) {
      REQUIRE(n <= 1);
      REQUIRE(charges[id] == 1);
    }
  }

  // The sequence really went through every road.
  CHECK(processed > 0);
  CHECK(declined > 0);
  CHECK(refunded > 0);
  CHECK(refusals > 0);
}
