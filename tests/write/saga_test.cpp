// The order saga's specification, as a Decider:
//
//   given these saga events (folded with evolve from SagaState{}),
//   when this input arrives at this time (decide),
//   then exactly these saga events (the step requests) and these order events
//   (the outcomes recorded on the order), and the next state.
//
// The story tests follow the saga's steps forward, then each way back
// (failures, a customer's cancel, deadlines, late and void answers). A
// property test at the end runs the saga against the real wallet, stock,
// reservation and shipping Deciders under many random interleavings and
// checks that every saga ends shipped with the charge and the stock standing,
// or cancelled with nothing left charged or held.
#include "write/saga/saga.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "support/decider_steps.h"
#include "support/describe_events.h"
#include "write/domain/overloaded.h"
#include "write/domain/reservation.h"
#include "write/domain/shipping.h"
#include "write/domain/stock.h"
#include "write/domain/wallet.h"

using namespace ordersd::write;

namespace {

using SagaEvents = std::vector<SagaEvent>;
using OrderEvents = std::vector<OrderEvent>;
using Phase = SagaState::Phase;
using Step = SagaStep;
using ordersd::test::describe;

// --- readable failures: events print as "StepRequested{refund #2, deadline 1003000000, out_of_stock}".

std::string describe(const SagaOrder& o) {
  std::ostringstream out;
  out << "{" << o.order_id << ", " << o.customer_id << ", " << o.amount_cents << ", " << describe(o.lines) << ", "
      << o.country << "}";
  return out.str();
}

std::string describe(const SagaEvent& event) {
  std::ostringstream out;
  std::visit(Overloaded{
                 [&](const StepRequested& e) {
                   out << "StepRequested{" << step_name(e.step) << " #" << e.attempt << ", deadline " << e.deadline_us
                       << ", reason '" << e.cancel_reason << "', order " << describe(e.order) << "}";
                 },
                 [&](const CancelNoted& e) { out << "CancelNoted{" << e.reason << "}"; },
                 [&](const SagaParked& e) { out << "SagaParked{" << step_name(e.step) << ", " << e.attempts << "}"; },
                 [&](const SagaEnded& e) { out << "SagaEnded{" << e.outcome << ", " << e.reason << "}"; },
             },
             event);
  return out.str();
}

std::string describe(const SagaInput& input) {
  return std::visit(Overloaded{
                        [](const DeadlinePassed&) { return std::string("DeadlinePassed{}"); },
                        [](const RetryRequested&) { return std::string("RetryRequested{}"); },
                        [](const InventoryShipped& e) { return "InventoryShipped{" + describe(e.lines) + "}"; },
                        [](const auto& e) { return describe(OrderEvent(e)); },
                    },
                    input);
}

std::string describe(const SagaState& s) {
  std::ostringstream out;
  out << "SagaState{" << phase_name(s.phase) << ", v" << s.version << ", pending "
      << (s.pending ? std::string(step_name(*s.pending)) : "none") << " #" << s.attempt << ", deadline "
      << s.deadline_us << ", noted " << (s.cancel_noted ? "'" + *s.cancel_noted + "'" : "none") << ", reason '"
      << s.cancel_reason << "', order " << describe(s.order) << "}";
  return out.str();
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
struct StringMaker<SagaEvents> {
  static String convert(const SagaEvents& events) { return describe_all(events).c_str(); }
};
template <>
struct StringMaker<OrderEvents> {
  static String convert(const OrderEvents& events) { return describe_all(events).c_str(); }
};
template <>
struct StringMaker<SagaState> {
  static String convert(const SagaState& s) { return describe(s).c_str(); }
};
template <>
struct StringMaker<Phase> {
  static String convert(Phase p) { return std::string(phase_name(p)).c_str(); }
};
}  // namespace doctest

namespace {

// --- the order used throughout: beans twice (2 + 1) and a filter; 42.50 to NL.

constexpr int64_t kTimeout = 1'000'000;  // one second, doubled per retry
const SagaPolicy kPolicy{kTimeout, 3};
constexpr int64_t kT0 = 1'000'000'000;  // when the saga starts
constexpr uint64_t kTotal = 4'250;

const std::vector<OrderLine> kItems = {{"sku-beans", 2, 1'250}, {"sku-filter", 1, 500}, {"sku-beans", 1, 1'250}};
const std::vector<StockLine> kLines = {{"sku-beans", 3}, {"sku-filter", 1}};
const SagaOrder kOrder{"o-1", "c-1", kTotal, kLines, "NL"};

// --- inputs, as the participants answer.

OrderPlaced order_placed() { return {"o-1", "c-1", kItems, {"NL", "Amsterdam", "Dam 1", "1012JS"}, kTotal}; }
CancellationRequested customer_cancel() { return {"customer_cancelled"}; }
PaymentProcessed charged() { return {kTotal}; }
PaymentDeclined declined() { return {kTotal, "insufficient_funds"}; }
PaymentDeclined charge_voided() { return {0, "voided"}; }  // a refund of a charge never made
PaymentRefunded refunded() { return {kTotal}; }
InventoryReserved reserved() { return {kLines}; }
InventoryReservationFailed out_of_stock() { return {"sku-beans", 3, 1, "out_of_stock"}; }
InventoryReleased released() { return {kLines}; }
InventoryReleased reservation_voided() { return {}; }  // a release of a reservation never made
ShipmentInitiated shipment_initiated() { return {"shp-o-1", "NL"}; }
ShipmentFailed shipment_failed() { return {"NL", "shipping_unavailable"}; }
ShipmentFailed shipment_voided() { return {"", "voided"}; }  // a cancel of a shipment never made
InventoryShipped stock_shipped() { return {kLines}; }
OrderCancelled order_cancelled(std::string reason) { return {std::move(reason)}; }
SagaEnded saga_cancelled(std::string reason) { return {"cancelled", std::move(reason)}; }
SagaEnded saga_shipped() { return {"shipment_initiated", ""}; }

// Every input the saga reads, one of each kind.
std::vector<SagaInput> every_input() {
  return {order_placed(),      customer_cancel(),    charged(),         declined(),       charge_voided(),
          refunded(),          reserved(),           out_of_stock(),    released(),       reservation_voided(),
          shipment_initiated(), shipment_failed(),   shipment_voided(), stock_shipped(),   DeadlinePassed{},
          RetryRequested{}};
}

// --- saga events, as the tests expect them.

// The request of `step`'s `attempt` made at `at`: its deadline is step_deadline's.
StepRequested requested(Step step, int64_t at, uint32_t attempt = 1, std::string reason = {}) {
  return {step, kOrder, attempt, step_deadline(kPolicy, attempt, at), std::move(reason)};
}

// The deadline of a step's `attempt` when every attempt was requested as soon
// as the one before it expired, the first at kT0.
int64_t deadline_of(uint32_t attempt) {
  int64_t at = kT0;
  for (uint32_t a = 1; a < attempt; ++a) at = step_deadline(kPolicy, a, at);
  return step_deadline(kPolicy, attempt, at);
}
// When `attempt` was requested, under the same schedule.
int64_t requested_at(uint32_t attempt) { return attempt == 1 ? kT0 : deadline_of(attempt - 1); }

// --- given / when / then.

using ordersd::test::fold;

SagaEvents operator+(SagaEvents a, const SagaEvents& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

SagaState given(const SagaEvents& events) { return fold(SagaState{}, events); }

// A story step: `input` at `now` must decide exactly `saga` and `order`;
// returns the state after the saga events.
SagaState decides(const SagaState& state, const SagaInput& input, int64_t now, const SagaEvents& saga,
                  const OrderEvents& order = {}) {
  INFO("when ", describe(input), " at ", now, " on ", describe(state));
  SagaDecision decision = decide(state, input, kPolicy, now);
  CHECK(decision.saga == saga);
  CHECK(decision.order == order);
  return fold(state, decision.saga);
}

// `input` at `now` decides nothing at all.
void ignores(const SagaState& state, const SagaInput& input, int64_t now = kT0) { decides(state, input, now, {}, {}); }

// --- histories: the saga events that bring a saga to a point.

namespace history {
SagaEvents charging() { return {requested(Step::kCharge, kT0)}; }
SagaEvents reserving() { return charging() + SagaEvents{requested(Step::kReserve, kT0)}; }
SagaEvents shipping() { return reserving() + SagaEvents{requested(Step::kShip, kT0)}; }
SagaEvents stock_shipping() { return shipping() + SagaEvents{requested(Step::kStockShip, kT0)}; }
SagaEvents shipped() { return stock_shipping() + SagaEvents{saga_shipped()}; }
SagaEvents noted(SagaEvents before) { return before + SagaEvents{CancelNoted{"customer_cancelled"}}; }
// Compensating after a failure.
SagaEvents refunding_out_of_stock() {
  return reserving() + SagaEvents{requested(Step::kRefund, kT0, 1, "out_of_stock")};
}
SagaEvents releasing_unshippable() {
  return shipping() + SagaEvents{requested(Step::kRelease, kT0, 1, "shipping_unavailable")};
}
SagaEvents refunding_unshippable() {
  return releasing_unshippable() + SagaEvents{requested(Step::kRefund, kT0, 1, "shipping_unavailable")};
}
// `before`, then `step` at its last attempt, requested on the schedule of deadline_of().
SagaEvents last_attempt(SagaEvents before, Step step, std::string reason = {}) {
  return before + SagaEvents{requested(step, requested_at(2), 2, reason), requested(step, requested_at(3), 3, reason)};
}
// A forward step given up: voided by its compensation at the last deadline.
SagaEvents voiding(SagaEvents before, Step step, Step void_step) {
  return last_attempt(std::move(before), step) + SagaEvents{requested(void_step, deadline_of(3), 1, "step_timeout")};
}
SagaEvents refunding_timed_out_charge() { return voiding(charging(), Step::kCharge, Step::kRefund); }
SagaEvents releasing_timed_out_reservation() { return voiding(reserving(), Step::kReserve, Step::kRelease); }
SagaEvents cancelling_timed_out_shipment() { return voiding(shipping(), Step::kShip, Step::kShipmentCancel); }
// Parked after its refund went unanswered.
SagaEvents stuck_refunding() {
  return last_attempt(reserving() + SagaEvents{requested(Step::kRefund, kT0, 1, "out_of_stock")}, Step::kRefund,
                      "out_of_stock") +
         SagaEvents{SagaParked{Step::kRefund, 3}};
}
SagaEvents cancelled() {
  return charging() + SagaEvents{saga_cancelled("payment_declined")};
}
}  // namespace history

// A saga in each phase of its life, by name.
std::vector<std::pair<const char*, SagaEvents>> running_sagas() {
  return {{"charging", history::charging()},
          {"reserving", history::reserving()},
          {"shipping", history::shipping()},
          {"refunding after out_of_stock", history::refunding_out_of_stock()},
          {"releasing after shipping_unavailable", history::releasing_unshippable()},
          {"refunding a timed-out charge", history::refunding_timed_out_charge()},
          {"releasing a timed-out reservation", history::releasing_timed_out_reservation()},
          {"cancelling a timed-out shipment", history::cancelling_timed_out_shipment()}};
}

}  // namespace

// --- the steps forward.

TEST_CASE("an order placed starts the saga by requesting the charge of its total, its lines summed per sku") {
  SagaState s =
      decides(SagaState{}, order_placed(), kT0, {StepRequested{Step::kCharge, kOrder, 1, kT0 + kTimeout, ""}});
  CHECK(s == SagaState{Phase::kRunning, 1, kOrder, Step::kCharge, 1, kT0 + kTimeout, std::nullopt, ""});
}

TEST_CASE("a processed charge is recorded on the order and requests the reservation") {
  decides(given(history::charging()), charged(), kT0 + 10, {requested(Step::kReserve, kT0 + 10)}, {charged()});
}

TEST_CASE("a reservation is recorded on the order and requests the shipment") {
  decides(given(history::reserving()), reserved(), kT0 + 10, {requested(Step::kShip, kT0 + 10)}, {reserved()});
}

TEST_CASE("an initiated shipment is recorded on the order and requests stock_ship, which is awaited like every step") {
  SagaState s = decides(given(history::shipping()), shipment_initiated(), kT0 + 10,
                        {StepRequested{Step::kStockShip, kOrder, 1, kT0 + 10 + kTimeout, ""}}, {shipment_initiated()});
  CHECK(s.phase == Phase::kRunning);
  CHECK(s.pending == Step::kStockShip);
}

TEST_CASE("the stock shipped ends the saga shipped, recording nothing more on the order") {
  SagaState s = decides(given(history::stock_shipping()), stock_shipped(), kT0 + 10, {saga_shipped()});
  CHECK(s.phase == Phase::kShipped);
  CHECK_FALSE(s.pending.has_value());
}

TEST_CASE("the happy path: charge, reserve, ship, stock_ship, and the saga ends shipped") {
  SagaState s = decides(SagaState{}, order_placed(), kT0, {requested(Step::kCharge, kT0)});
  s = decides(s, charged(), kT0 + 1, {requested(Step::kReserve, kT0 + 1)}, {charged()});
  s = decides(s, reserved(), kT0 + 2, {requested(Step::kShip, kT0 + 2)}, {reserved()});
  s = decides(s, shipment_initiated(), kT0 + 3, {requested(Step::kStockShip, kT0 + 3)}, {shipment_initiated()});
  CHECK(s.phase == Phase::kRunning);
  s = decides(s, stock_shipped(), kT0 + 4, {saga_shipped()});
  CHECK(s.phase == Phase::kShipped);
  CHECK(s.version == 5);
  CHECK(s.cancel_reason.empty());
}

TEST_CASE("stock_ship that does not answer is requested again; after every attempt the saga parks as stuck (the "
          "shipment exists: nothing is undone), and an operator's retry asks again") {
  SagaState s = given(history::stock_shipping());
  s = decides(s, DeadlinePassed{}, deadline_of(1), {requested(Step::kStockShip, deadline_of(1), 2)});
  s = decides(s, DeadlinePassed{}, deadline_of(2), {requested(Step::kStockShip, deadline_of(2), 3)});
  s = decides(s, DeadlinePassed{}, deadline_of(3), {SagaParked{Step::kStockShip, 3}});
  CHECK(s.phase == Phase::kStuck);
  s = decides(s, RetryRequested{}, deadline_of(3) + 5, {requested(Step::kStockShip, deadline_of(3) + 5)});
  s = decides(s, stock_shipped(), deadline_of(3) + 6, {saga_shipped()});
  CHECK(s.phase == Phase::kShipped);
}

TEST_CASE("a stuck stock_ship still takes its late answer") {
  SagaState s = given(history::stock_shipping() + SagaEvents{SagaParked{Step::kStockShip, 3}});
  decides(s, stock_shipped(), kT0 + 10, {saga_shipped()});
}

TEST_CASE("a customer's cancel while the stock ships is too late and is ignored") {
  ignores(given(history::stock_shipping()), customer_cancel());
}

TEST_CASE("the stock shipped answers only stock_ship") {
  for (const auto& [name, events] : running_sagas()) {
    INFO(name);
    ignores(given(events), stock_shipped());
  }
}

TEST_CASE("a stock_ship request stored before stock_ship was awaited (no deadline) ends the saga shipped") {
  SagaState s = given(history::shipping() + SagaEvents{StepRequested{Step::kStockShip, kOrder, 1, 0, ""}});
  CHECK(s.phase == Phase::kShipped);
  CHECK_FALSE(s.pending.has_value());
}

TEST_CASE("an answer the pending step does not wait for moves nothing and records nothing") {
  SUBCASE("while charging") {
    SagaState s = given(history::charging());
    for (SagaInput in : {SagaInput(refunded()), SagaInput(reserved()), SagaInput(out_of_stock()), SagaInput(released()),
                         SagaInput(reservation_voided()), SagaInput(shipment_initiated()),
                         SagaInput(shipment_failed()), SagaInput(shipment_voided())}) {
      ignores(s, in);
    }
  }
  SUBCASE("while reserving") {
    SagaState s = given(history::reserving());
    for (SagaInput in : {SagaInput(charged()), SagaInput(declined()), SagaInput(refunded()), SagaInput(released()),
                         SagaInput(reservation_voided()), SagaInput(shipment_initiated()),
                         SagaInput(shipment_failed())}) {
      ignores(s, in);
    }
  }
  SUBCASE("while shipping") {
    SagaState s = given(history::shipping());
    for (SagaInput in : {SagaInput(charged()), SagaInput(declined()), SagaInput(refunded()), SagaInput(reserved()),
                         SagaInput(out_of_stock()), SagaInput(released())}) {
      ignores(s, in);
    }
  }
  SUBCASE("while refunding after out_of_stock") {
    SagaState s = given(history::refunding_out_of_stock());
    for (SagaInput in : {SagaInput(reserved()), SagaInput(out_of_stock()), SagaInput(released()),
                         SagaInput(shipment_initiated()), SagaInput(shipment_failed())}) {
      ignores(s, in);
    }
  }
}

TEST_CASE("a redelivered order placement does nothing to a saga already under way") {
  for (const auto& [name, events] : running_sagas()) {
    INFO("a saga ", name);
    ignores(given(events), order_placed());
  }
  ignores(given(history::stuck_refunding()), order_placed());
}

// --- failures, each with its exact compensation chain.

TEST_CASE("a declined charge cancels the order as payment_declined with nothing to undo") {
  SagaState s = decides(given(history::charging()), declined(), kT0 + 10, {saga_cancelled("payment_declined")},
                        {declined(), order_cancelled("payment_declined")});
  CHECK(s.phase == Phase::kCancelled);
  CHECK(s.cancel_reason == "payment_declined");
  CHECK_FALSE(s.pending.has_value());
}

TEST_CASE("a failed reservation refunds the charge, then cancels the order as out_of_stock") {
  SagaState s = decides(given(history::reserving()), out_of_stock(), kT0 + 10,
                        {requested(Step::kRefund, kT0 + 10, 1, "out_of_stock")}, {out_of_stock()});
  CHECK(s.cancel_reason == "out_of_stock");
  s = decides(s, refunded(), kT0 + 20, {saga_cancelled("out_of_stock")},
              {refunded(), order_cancelled("out_of_stock")});
  CHECK(s.phase == Phase::kCancelled);
}

TEST_CASE("a failed shipment releases the stock, then refunds the charge, then cancels the order as "
          "shipping_unavailable") {
  SagaState s = decides(given(history::shipping()), shipment_failed(), kT0 + 10,
                        {requested(Step::kRelease, kT0 + 10, 1, "shipping_unavailable")}, {shipment_failed()});
  s = decides(s, released(), kT0 + 20, {requested(Step::kRefund, kT0 + 20, 1, "shipping_unavailable")}, {released()});
  s = decides(s, refunded(), kT0 + 30, {saga_cancelled("shipping_unavailable")},
              {refunded(), order_cancelled("shipping_unavailable")});
  CHECK(s.phase == Phase::kCancelled);
  CHECK(s.cancel_reason == "shipping_unavailable");
}

// --- a customer's cancel: noted, and acted on when the step under way answers.

TEST_CASE("a customer's cancel is noted by a saga under a forward step, and records nothing on the order") {
  for (const auto& events : {history::charging(), history::reserving(), history::shipping()}) {
    SagaState before = given(events);
    SagaState s = decides(before, customer_cancel(), kT0 + 10, {CancelNoted{"customer_cancelled"}});
    INFO("pending ", step_name(*before.pending));
    CHECK(s.cancel_noted == std::optional<std::string>("customer_cancelled"));
    CHECK(s.pending == before.pending);  // the step under way goes on
    CHECK(s.cancel_reason.empty());
  }
}

TEST_CASE("a cancel without a reason is noted as customer_cancelled; one with a reason keeps it") {
  decides(given(history::charging()), CancellationRequested{""}, kT0, {CancelNoted{"customer_cancelled"}});
  decides(given(history::charging()), CancellationRequested{"fraud_suspected"}, kT0, {CancelNoted{"fraud_suspected"}});
}

TEST_CASE("a second cancel after one was noted does nothing") {
  ignores(given(history::noted(history::charging())), customer_cancel());
  ignores(given(history::noted(history::shipping())), CancellationRequested{"another_reason"});
}

TEST_CASE("a charge that succeeds after the customer's cancel is recorded and refunded; the order is cancelled as "
          "customer_cancelled") {
  SagaState s = decides(given(history::noted(history::charging())), charged(), kT0 + 10,
                        {requested(Step::kRefund, kT0 + 10, 1, "customer_cancelled")}, {charged()});
  decides(s, refunded(), kT0 + 20, {saga_cancelled("customer_cancelled")},
          {refunded(), order_cancelled("customer_cancelled")});
}

TEST_CASE("a charge declined after the customer's cancel cancels the order as customer_cancelled with nothing to "
          "undo") {
  decides(given(history::noted(history::charging())), declined(), kT0 + 10, {saga_cancelled("customer_cancelled")},
          {declined(), order_cancelled("customer_cancelled")});
}

TEST_CASE("a reservation that succeeds after the customer's cancel is recorded, released, then refunded") {
  SagaState s = decides(given(history::noted(history::reserving())), reserved(), kT0 + 10,
                        {requested(Step::kRelease, kT0 + 10, 1, "customer_cancelled")}, {reserved()});
  s = decides(s, released(), kT0 + 20, {requested(Step::kRefund, kT0 + 20, 1, "customer_cancelled")}, {released()});
  decides(s, refunded(), kT0 + 30, {saga_cancelled("customer_cancelled")},
          {refunded(), order_cancelled("customer_cancelled")});
}

TEST_CASE("a reservation that fails after the customer's cancel refunds the charge; the customer's reason wins over "
          "out_of_stock") {
  SagaState s = decides(given(history::noted(history::reserving())), out_of_stock(), kT0 + 10,
                        {requested(Step::kRefund, kT0 + 10, 1, "customer_cancelled")}, {out_of_stock()});
  decides(s, refunded(), kT0 + 20, {saga_cancelled("customer_cancelled")},
          {refunded(), order_cancelled("customer_cancelled")});
}

TEST_CASE("a shipment that fails after the customer's cancel releases, then refunds; the customer's reason wins over "
          "shipping_unavailable") {
  SagaState s = decides(given(history::noted(history::shipping())), shipment_failed(), kT0 + 10,
                        {requested(Step::kRelease, kT0 + 10, 1, "customer_cancelled")}, {shipment_failed()});
  s = decides(s, released(), kT0 + 20, {requested(Step::kRefund, kT0 + 20, 1, "customer_cancelled")}, {released()});
  decides(s, refunded(), kT0 + 30, {saga_cancelled("customer_cancelled")},
          {refunded(), order_cancelled("customer_cancelled")});
}

TEST_CASE("a shipment that succeeds after the customer's cancel wins: the stock ships and the saga ends shipped") {
  SagaState s = decides(given(history::noted(history::shipping())), shipment_initiated(), kT0 + 10,
                        {requested(Step::kStockShip, kT0 + 10)}, {shipment_initiated()});
  s = decides(s, stock_shipped(), kT0 + 20, {saga_shipped()});
  CHECK(s.phase == Phase::kShipped);
}

TEST_CASE("a cancel is ignored once the saga is compensating, including its own step_timeout cancel read back") {
  ignores(given(history::refunding_out_of_stock()), customer_cancel());
  ignores(given(history::releasing_unshippable()), customer_cancel());
  ignores(given(history::refunding_unshippable()), customer_cancel());
  // The saga records CancellationRequested{step_timeout} when it gives up, and reads it back.
  ignores(given(history::refunding_timed_out_charge()), CancellationRequested{"step_timeout"});
  ignores(given(history::releasing_timed_out_reservation()), CancellationRequested{"step_timeout"});
  ignores(given(history::cancelling_timed_out_shipment()), CancellationRequested{"step_timeout"});
  ignores(given(history::cancelling_timed_out_shipment()), customer_cancel());
  SagaEvents refunding_after_cancel =
      history::noted(history::charging()) + SagaEvents{requested(Step::kRefund, kT0, 1, "customer_cancelled")};
  ignores(given(refunding_after_cancel), customer_cancel());
}

TEST_CASE("a cancel is ignored by a stuck saga") { ignores(given(history::stuck_refunding()), customer_cancel()); }

// --- deadlines: retried with a doubled deadline, then given up.

TEST_CASE("step_deadline doubles the step timeout for each attempt after the first") {
  CHECK(step_deadline(kPolicy, 1, kT0) == kT0 + kTimeout);
  CHECK(step_deadline(kPolicy, 2, kT0) == kT0 + 2 * kTimeout);
  CHECK(step_deadline(kPolicy, 3, kT0) == kT0 + 4 * kTimeout);
  CHECK(step_deadline(kPolicy, 4, kT0) == kT0 + 8 * kTimeout);
  CHECK(step_deadline(SagaPolicy{250, 3}, 1, 0) == 250);
}

TEST_CASE("a deadline that has not passed yet does nothing; one that has just passed retries") {
  for (const auto& [name, events] : running_sagas()) {
    INFO("a saga ", name);
    SagaState s = given(events);
    ignores(s, DeadlinePassed{}, s.deadline_us - 1);
    ignores(s, DeadlinePassed{}, kT0);
    CHECK_FALSE(decide(s, DeadlinePassed{}, kPolicy, s.deadline_us).saga.empty());
  }
}

TEST_CASE("a step whose deadline passed is requested again with attempt + 1 and a doubled deadline") {
  for (Step step : {Step::kCharge, Step::kReserve, Step::kShip}) {
    INFO("step ", step_name(step));
    SagaState s = given({requested(step, kT0)});
    s = decides(s, DeadlinePassed{}, deadline_of(1), {requested(step, deadline_of(1), 2)});
    CHECK(s.deadline_us == deadline_of(1) + 2 * kTimeout);
    s = decides(s, DeadlinePassed{}, deadline_of(2), {requested(step, deadline_of(2), 3)});
    CHECK(s.deadline_us == deadline_of(2) + 4 * kTimeout);
    CHECK(s.attempt == 3);
    CHECK(s.pending == step);
  }
}

TEST_CASE("a compensation whose deadline passed is requested again with attempt + 1, a doubled deadline and its "
          "reason") {
  SagaState s = given(history::refunding_out_of_stock());
  s = decides(s, DeadlinePassed{}, deadline_of(1), {requested(Step::kRefund, deadline_of(1), 2, "out_of_stock")});
  s = decides(s, DeadlinePassed{}, deadline_of(2), {requested(Step::kRefund, deadline_of(2), 3, "out_of_stock")});
  CHECK(s.cancel_reason == "out_of_stock");

  s = given(history::releasing_unshippable());
  decides(s, DeadlinePassed{}, deadline_of(1), {requested(Step::kRelease, deadline_of(1), 2, "shipping_unavailable")});
  s = given(history::cancelling_timed_out_shipment());
  decides(s, DeadlinePassed{}, s.deadline_us,
          {requested(Step::kShipmentCancel, s.deadline_us, 2, "step_timeout")});
}

TEST_CASE("once a customer's cancel is noted, a forward step whose deadline passes is not asked again: it is voided "
          "at once under the customer's reason") {
  decides(given(history::noted(history::charging())), DeadlinePassed{}, deadline_of(1),
          {requested(Step::kRefund, deadline_of(1), 1, "customer_cancelled")});
  decides(given(history::noted(history::reserving())), DeadlinePassed{}, deadline_of(1),
          {requested(Step::kRelease, deadline_of(1), 1, "customer_cancelled")});
  SagaState s = decides(given(history::noted(history::shipping())), DeadlinePassed{}, deadline_of(1),
                        {requested(Step::kShipmentCancel, deadline_of(1), 1, "customer_cancelled")});
  // The late answer of the voided step is still recorded, and the undoing goes on.
  decides(s, shipment_voided(), deadline_of(1) + 5,
          {requested(Step::kRelease, deadline_of(1) + 5, 1, "customer_cancelled")});
}

TEST_CASE("a compensation under a customer's cancel is still asked again when its deadline passes") {
  SagaState s = given(history::noted(history::reserving()) +
                      SagaEvents{requested(Step::kRelease, kT0, 1, "customer_cancelled")});
  decides(s, DeadlinePassed{}, deadline_of(1), {requested(Step::kRelease, deadline_of(1), 2, "customer_cancelled")});
}

TEST_CASE("giving up on the charge voids it by a refund and requests cancellation of the order as step_timeout") {
  SagaState s = decides(given(history::last_attempt(history::charging(), Step::kCharge)), DeadlinePassed{},
                        deadline_of(3), {requested(Step::kRefund, deadline_of(3), 1, "step_timeout")},
                        {CancellationRequested{"step_timeout"}});
  CHECK(s.pending == Step::kRefund);
  CHECK(s.cancel_reason == "step_timeout");
}

TEST_CASE("giving up on the reservation voids it by a release and requests cancellation of the order as "
          "step_timeout") {
  decides(given(history::last_attempt(history::reserving(), Step::kReserve)), DeadlinePassed{}, deadline_of(3),
          {requested(Step::kRelease, deadline_of(3), 1, "step_timeout")}, {CancellationRequested{"step_timeout"}});
}

TEST_CASE("giving up on the shipment voids it by a shipment_cancel and requests cancellation of the order as "
          "step_timeout") {
  decides(given(history::last_attempt(history::shipping(), Step::kShip)), DeadlinePassed{}, deadline_of(3),
          {requested(Step::kShipmentCancel, deadline_of(3), 1, "step_timeout")},
          {CancellationRequested{"step_timeout"}});
}

TEST_CASE("giving up after a customer's cancel voids the step under the customer's reason and records no second "
          "cancellation") {
  decides(given(history::last_attempt(history::noted(history::charging()), Step::kCharge)), DeadlinePassed{},
          deadline_of(3), {requested(Step::kRefund, deadline_of(3), 1, "customer_cancelled")});
  decides(given(history::last_attempt(history::noted(history::shipping()), Step::kShip)), DeadlinePassed{},
          deadline_of(3), {requested(Step::kShipmentCancel, deadline_of(3), 1, "customer_cancelled")});
}

TEST_CASE("with max_attempts 1 a forward step gives up at its first deadline") {
  SagaPolicy once{kTimeout, 1};
  SagaDecision d = decide(given(history::reserving()), DeadlinePassed{}, once, kT0 + kTimeout);
  CHECK(d.saga == SagaEvents{StepRequested{Step::kRelease, kOrder, 1, kT0 + 2 * kTimeout, "step_timeout"}});
  CHECK(d.order == OrderEvents{CancellationRequested{"step_timeout"}});
}

TEST_CASE("a compensation that gives up parks the saga as stuck, recording nothing on the order") {
  SagaState s = decides(given(history::last_attempt(history::refunding_out_of_stock(), Step::kRefund, "out_of_stock")),
                        DeadlinePassed{}, deadline_of(3), {SagaParked{Step::kRefund, 3}});
  CHECK(s.phase == Phase::kStuck);
  CHECK(s.pending == Step::kRefund);

  s = decides(given(history::last_attempt(history::releasing_unshippable(), Step::kRelease, "shipping_unavailable")),
              DeadlinePassed{}, deadline_of(3), {SagaParked{Step::kRelease, 3}});
  CHECK(s.phase == Phase::kStuck);

  s = decides(given(history::last_attempt(
                  history::shipping() + SagaEvents{requested(Step::kShipmentCancel, kT0, 1, "step_timeout")},
                  Step::kShipmentCancel, "step_timeout")),
              DeadlinePassed{}, deadline_of(3), {SagaParked{Step::kShipmentCancel, 3}});
  CHECK(s.phase == Phase::kStuck);
}

TEST_CASE("a stuck saga ignores deadlines") {
  SagaState s = given(history::stuck_refunding());
  ignores(s, DeadlinePassed{}, s.deadline_us);
  ignores(s, DeadlinePassed{}, s.deadline_us + 100 * kTimeout);
}

TEST_CASE("an operator's retry of a stuck saga requests its step again at attempt 1 with a fresh deadline and its "
          "reason") {
  SagaState s = given(history::stuck_refunding());
  int64_t later = deadline_of(3) + 3'600'000'000;
  s = decides(s, RetryRequested{}, later, {requested(Step::kRefund, later, 1, "out_of_stock")});
  CHECK(s.phase == Phase::kRunning);
  CHECK(s.attempt == 1);
  CHECK(s.deadline_us == later + kTimeout);
  s = decides(s, refunded(), later + 10, {saga_cancelled("out_of_stock")},
              {refunded(), order_cancelled("out_of_stock")});
  CHECK(s.phase == Phase::kCancelled);
}

TEST_CASE("an operator's retry of a saga that is not stuck does nothing") {
  for (const auto& [name, events] : running_sagas()) {
    INFO("a saga ", name);
    ignores(given(events), RetryRequested{}, kT0 + 100 * kTimeout);
  }
}

TEST_CASE("a stuck saga still takes the late answer of the step it parked on") {
  decides(given(history::stuck_refunding()), refunded(), deadline_of(3) + 10, {saga_cancelled("out_of_stock")},
          {refunded(), order_cancelled("out_of_stock")});
}

// --- late answers to a voided step, and the void answers.

TEST_CASE("a refund answered as voided after a charge timeout cancels the order as step_timeout; the void is not "
          "recorded") {
  decides(given(history::refunding_timed_out_charge()), charge_voided(), deadline_of(3) + 10,
          {saga_cancelled("step_timeout")}, {order_cancelled("step_timeout")});
}

TEST_CASE("a charge processed late while its void refund is under way is recorded on the order, and the saga "
          "waits for the refund") {
  SagaState before = given(history::refunding_timed_out_charge());
  SagaState s = decides(before, charged(), deadline_of(3) + 10, {}, {charged()});
  CHECK(s == before);
  decides(s, refunded(), deadline_of(3) + 20, {saga_cancelled("step_timeout")},
          {refunded(), order_cancelled("step_timeout")});
}

TEST_CASE("a charge declined late while its void refund is under way is recorded, and ends the saga: nothing to "
          "refund") {
  decides(given(history::refunding_timed_out_charge()), declined(), deadline_of(3) + 10,
          {saga_cancelled("step_timeout")}, {declined(), order_cancelled("step_timeout")});
}

TEST_CASE("a release answered as voided after a reservation timeout is not recorded; the charge is refunded, then "
          "the order cancelled as step_timeout") {
  SagaState s = decides(given(history::releasing_timed_out_reservation()), reservation_voided(), deadline_of(3) + 10,
                        {requested(Step::kRefund, deadline_of(3) + 10, 1, "step_timeout")});
  decides(s, refunded(), deadline_of(3) + 20, {saga_cancelled("step_timeout")},
          {refunded(), order_cancelled("step_timeout")});
}

TEST_CASE("a reservation made late while its void release is under way is recorded; the release gives it back, "
          "then the refund follows") {
  SagaState before = given(history::releasing_timed_out_reservation());
  SagaState s = decides(before, reserved(), deadline_of(3) + 10, {}, {reserved()});
  CHECK(s == before);
  s = decides(s, released(), deadline_of(3) + 20, {requested(Step::kRefund, deadline_of(3) + 20, 1, "step_timeout")},
              {released()});
  decides(s, refunded(), deadline_of(3) + 30, {saga_cancelled("step_timeout")},
          {refunded(), order_cancelled("step_timeout")});
}

TEST_CASE("a reservation failed late while its void release is under way is recorded, and the refund follows") {
  decides(given(history::releasing_timed_out_reservation()), out_of_stock(), deadline_of(3) + 10,
          {requested(Step::kRefund, deadline_of(3) + 10, 1, "step_timeout")}, {out_of_stock()});
}

TEST_CASE("a shipment_cancel answered as voided after a shipment timeout is not recorded; release, refund, then "
          "the order is cancelled as step_timeout") {
  SagaState s = decides(given(history::cancelling_timed_out_shipment()), shipment_voided(), deadline_of(3) + 10,
                        {requested(Step::kRelease, deadline_of(3) + 10, 1, "step_timeout")});
  s = decides(s, released(), deadline_of(3) + 20, {requested(Step::kRefund, deadline_of(3) + 20, 1, "step_timeout")},
              {released()});
  decides(s, refunded(), deadline_of(3) + 30, {saga_cancelled("step_timeout")},
          {refunded(), order_cancelled("step_timeout")});
}

TEST_CASE("a shipment initiated late while its shipment_cancel is under way wins: recorded, stock shipped, the saga "
          "ends shipped") {
  SagaState s = decides(given(history::cancelling_timed_out_shipment()), shipment_initiated(), deadline_of(3) + 10,
                        {requested(Step::kStockShip, deadline_of(3) + 10)}, {shipment_initiated()});
  s = decides(s, stock_shipped(), deadline_of(3) + 20, {saga_shipped()});
  CHECK(s.phase == Phase::kShipped);
  CHECK_FALSE(s.pending.has_value());
}

// cancel_reason is "set once compensating"; a saga whose shipment won is not
// compensating any more, as the order's own evolve says when it resets its
// cancel_reason on ShipmentInitiated. GET /sagas/{id} shows it.
TEST_CASE("a saga that ends shipped after its shipment_cancel lost the race carries no cancel reason") {
  SagaState s = given(history::cancelling_timed_out_shipment());
  s = decides(s, shipment_initiated(), deadline_of(3) + 10, {requested(Step::kStockShip, deadline_of(3) + 10)},
              {shipment_initiated()});
  CHECK(s.cancel_reason == "");
  s = decides(s, stock_shipped(), deadline_of(3) + 20, {saga_shipped()});
  CHECK(s.phase == Phase::kShipped);
  CHECK(s.cancel_reason == "");
}

TEST_CASE("a shipment failed late while its shipment_cancel is under way is recorded, and the release follows") {
  decides(given(history::cancelling_timed_out_shipment()), shipment_failed(), deadline_of(3) + 10,
          {requested(Step::kRelease, deadline_of(3) + 10, 1, "step_timeout")}, {shipment_failed()});
}

TEST_CASE("void answers are never recorded on the order") {
  // Each void answer, to the compensation that asked for it.
  SagaDecision d = decide(given(history::refunding_timed_out_charge()), charge_voided(), kPolicy, kT0);
  CHECK(d.order == OrderEvents{order_cancelled("step_timeout")});
  d = decide(given(history::releasing_timed_out_reservation()), reservation_voided(), kPolicy, kT0);
  CHECK(d.order.empty());
  d = decide(given(history::cancelling_timed_out_shipment()), shipment_voided(), kPolicy, kT0);
  CHECK(d.order.empty());
}

// --- sagas that never started, and sagas that are over.

TEST_CASE("inputs for a saga that never started are ignored; only an order placement starts one") {
  for (const SagaInput& in : every_input()) {
    if (std::holds_alternative<OrderPlaced>(in)) continue;
    ignores(SagaState{}, in, kT0 + 100 * kTimeout);
  }
}

TEST_CASE("a finished saga ignores everything") {
  SagaState shipped = given(history::shipped());
  SagaState cancelled = given(history::cancelled());
  REQUIRE(shipped.phase == Phase::kShipped);
  REQUIRE(cancelled.phase == Phase::kCancelled);
  for (const SagaInput& in : every_input()) {
    ignores(shipped, in, kT0 + 100 * kTimeout);
    ignores(cancelled, in, kT0 + 100 * kTimeout);
  }
}

// --- evolve: the state a restart sees.

TEST_CASE("evolve folds the decided events to the state a restart would see") {
  SagaState s;
  auto step = [&](const SagaInput& in, int64_t now) {
    s = fold(s, decide(s, in, kPolicy, now).saga);
  };
  step(order_placed(), kT0);
  CHECK(s == SagaState{Phase::kRunning, 1, kOrder, Step::kCharge, 1, kT0 + kTimeout, std::nullopt, ""});
  step(charged(), kT0 + 5);
  CHECK(s == SagaState{Phase::kRunning, 2, kOrder, Step::kReserve, 1, kT0 + 5 + kTimeout, std::nullopt, ""});
  step(DeadlinePassed{}, kT0 + 5 + kTimeout);
  CHECK(s == SagaState{Phase::kRunning, 3, kOrder, Step::kReserve, 2, kT0 + 5 + 3 * kTimeout, std::nullopt, ""});
  step(customer_cancel(), kT0 + 6 + kTimeout);
  CHECK(s == SagaState{Phase::kRunning, 4, kOrder, Step::kReserve, 2, kT0 + 5 + 3 * kTimeout,
                       std::optional<std::string>("customer_cancelled"), ""});
  step(reserved(), kT0 + 7 * kTimeout);
  CHECK(s == SagaState{Phase::kRunning, 5, kOrder, Step::kRelease, 1, kT0 + 8 * kTimeout,
                       std::optional<std::string>("customer_cancelled"), "customer_cancelled"});
  step(DeadlinePassed{}, kT0 + 8 * kTimeout);
  step(DeadlinePassed{}, kT0 + 10 * kTimeout);
  CHECK(s.attempt == 3);
  CHECK(s.deadline_us == kT0 + 14 * kTimeout);
  step(DeadlinePassed{}, kT0 + 14 * kTimeout);
  CHECK(s == SagaState{Phase::kStuck, 8, kOrder, Step::kRelease, 3, kT0 + 14 * kTimeout,
                       std::optional<std::string>("customer_cancelled"), "customer_cancelled"});
  step(RetryRequested{}, kT0 + 20 * kTimeout);
  CHECK(s == SagaState{Phase::kRunning, 9, kOrder, Step::kRelease, 1, kT0 + 21 * kTimeout,
                       std::optional<std::string>("customer_cancelled"), "customer_cancelled"});
  step(released(), kT0 + 20 * kTimeout + 1);
  CHECK(s.pending == Step::kRefund);
  CHECK(s.version == 10);
  step(refunded(), kT0 + 20 * kTimeout + 2);
  CHECK(s == SagaState{Phase::kCancelled, 11, kOrder, std::nullopt, 1, kT0 + 21 * kTimeout + 1,
                       std::optional<std::string>("customer_cancelled"), "customer_cancelled"});
}

TEST_CASE("evolve of a shipped saga leaves nothing pending and no deadline") {
  CHECK(given(history::shipped()) ==
        SagaState{Phase::kShipped, 5, kOrder, std::nullopt, 1, kT0 + kTimeout, std::nullopt, ""});
}

// --- names, and the lines the saga reserves.

TEST_CASE("steps and phases have the names the log and the operator see") {
  CHECK(step_name(Step::kCharge) == "charge");
  CHECK(step_name(Step::kReserve) == "reserve");
  CHECK(step_name(Step::kShip) == "ship");
  CHECK(step_name(Step::kShipmentCancel) == "shipment_cancel");
  CHECK(step_name(Step::kRelease) == "release");
  CHECK(step_name(Step::kRefund) == "refund");
  CHECK(step_name(Step::kStockShip) == "stock_ship");
  for (Step s : {Step::kShipmentCancel, Step::kRelease, Step::kRefund}) CHECK(is_compensation(s));
  for (Step s : {Step::kCharge, Step::kReserve, Step::kShip, Step::kStockShip}) CHECK_FALSE(is_compensation(s));
  CHECK(phase_name(Phase::kNone) == "none");
  CHECK(phase_name(Phase::kRunning) == "running");
  CHECK(phase_name(Phase::kStuck) == "stuck");
  CHECK(phase_name(Phase::kShipped) == "shipment_initiated");
  CHECK(phase_name(Phase::kCancelled) == "cancelled");
}

TEST_CASE("stock_lines sums the quantities of each sku into one line, in sku order") {
  CHECK(stock_lines(kItems) == kLines);
  CHECK(stock_lines({{"sku-c", 1, 1}, {"sku-a", 2, 1}, {"sku-b", 3, 1}, {"sku-a", 4, 1}, {"sku-c", 5, 1}}) ==
        std::vector<StockLine>{{"sku-a", 6}, {"sku-b", 3}, {"sku-c", 6}});
  CHECK(stock_lines({}).empty());
  CHECK(stock_lines({{"sku-a", 7, 100}}) == std::vector<StockLine>{{"sku-a", 7}});
}

TEST_CASE("stock_lines caps a sku's summed quantity at the largest 32-bit count instead of wrapping") {
  constexpr uint32_t kMax = std::numeric_limits<uint32_t>::max();
  CHECK(stock_lines({{"sku-a", kMax, 1}, {"sku-a", 5, 1}}) == std::vector<StockLine>{{"sku-a", kMax}});
}

// --- property: against the real participants, under random interleavings.

namespace {

// One order's saga against the real wallet, reservation/stock and shipping
// Deciders. Each participant takes the requests addressed to it in log
// order, at its own pace; the saga takes the answers in the order they were
// appended; the clock, a customer's cancel, an operator's retry and a
// participant skipping a request it cannot act on come in between, at random.
class World {
 public:
  World(std::mt19937_64& rng, SagaPolicy policy) : rng_(rng), policy_(policy) {
    funds_ = pick(0, 3) ? kTotal + pick(0, 500) : kTotal - 1;      // enough, or just short
    stock_["sku-beans"] = restocked(pick(0, 1) ? 3 + pick(0, 2) : 2);  // enough, or short
    stock_["sku-filter"] = restocked(1 + pick(0, 1));
    wallet_ = evolve(WalletState{}, WalletEvent(FundsDeposited{funds_, funds_}));
    country_ = pick(0, 3) ? "NL" : "XX";  // XX is not served
    for (auto& w : weights_) w = static_cast<int>(pick(1, 10));
    OrderPlaced placed = order_placed();
    placed.shipping_address.country = country_;
    record_on_order(placed);
    to_saga_.push_back(placed);
  }

  // One random action; false when there was nothing to do for it.
  void act() {
    int total = 0;
    for (int w : weights_) total += w;
    int r = static_cast<int>(pick(0, total - 1));
    size_t a = 0;
    while (r >= weights_[a]) r -= weights_[a++];
    switch (a) {
      case 0: saga_takes_next(); break;
      case 1: payment_takes_next(); break;
      case 2: inventory_takes_next(); break;
      case 3: shipping_takes_next(); break;
      case 4: now_ += static_cast<int64_t>(pick(0, 2 * policy_.step_timeout_us)); break;
      case 5: saga(DeadlinePassed{}); break;  // early deadlines must do nothing
      case 6: if (pick(0, 20) == 0) customer_cancels(); break;
      case 7: if (pick(0, 20) == 0) to_saga_.push_back(RetryRequested{}); break;
      case 8: if (pick(0, 5) == 0) participant_drops_next(); break;
    }
  }

  // Lets everything settle: answers first, then deadlines, then an operator's retry.
  void settle() {
    for (int i = 0; i < 10'000; ++i) {
      if (!to_saga_.empty()) saga_takes_next();
      else if (!to_payment_.empty()) payment_takes_next();
      else if (!to_inventory_.empty()) inventory_takes_next();
      else if (!to_shipping_.empty()) shipping_takes_next();
      else if (state_.phase == Phase::kRunning) {
        now_ = std::max(now_, state_.deadline_us);
        saga(DeadlinePassed{});
      } else if (state_.phase == Phase::kStuck) {
        to_saga_.push_back(RetryRequested{});
      } else {
        return;
      }
    }
  }

  const SagaState& state() const { return state_; }
  const OrderState& order() const { return order_; }
  const std::string& trace() const { return trace_; }

  // What the order events say is still charged and still held, and what the
  // participants say.
  int net_charged_on_order() const { return charges_ - refunds_; }
  int net_reserved_on_order() const { return reservations_ - releases_; }
  uint64_t wallet_taken() const { return funds_ - wallet_.balance_cents; }
  uint64_t stock_held(const std::string& sku) const { return stock_.at(sku).reserved; }
  uint64_t stock_shipped(const std::string& sku) const { return stock_.at(sku).shipped; }
  bool shipped_while_paid_and_reserved() const { return shipped_while_paid_and_reserved_; }
  int order_events_after_end() const { return order_events_after_end_; }
  int refunds() const { return refunds_; }
  int releases() const { return releases_; }
  int cancellations() const { return cancellations_; }
  int voids_recorded() const { return voids_recorded_; }
  int timeout_cancels() const { return timeout_cancels_; }
  // Steps started anew (attempt 1 not asked for by an operator), in order.
  const std::vector<Step>& started() const { return started_; }
  bool settled() const {
    return to_saga_.empty() && to_payment_.empty() && to_inventory_.empty() && to_shipping_.empty();
  }

 private:
  uint64_t pick(uint64_t lo, uint64_t hi) { return std::uniform_int_distribution<uint64_t>(lo, hi)(rng_); }

  static StockState restocked(uint64_t units) { return evolve(StockState{}, StockEvent(StockRestocked{units, units})); }

  void saga(const SagaInput& input) {
    SagaDecision d = decide(state_, input, policy_, now_);
    if (!d.saga.empty() || !d.order.empty()) {
      trace_ += "@" + std::to_string(now_ - kT0) + " " + describe(input) + " -> " + describe_all(d.saga) + " " +
                describe_all(d.order) + "\n";
    }
    for (const auto& e : d.saga) {
      if (const auto* r = std::get_if<StepRequested>(&e)) {
        if (r->attempt == 1 && !std::holds_alternative<RetryRequested>(input)) started_.push_back(r->step);
        switch (r->step) {
          case Step::kCharge:
          case Step::kRefund: to_payment_.push_back(*r); break;
          case Step::kReserve:
          case Step::kRelease:
          case Step::kStockShip: to_inventory_.push_back(*r); break;
          case Step::kShip:
          case Step::kShipmentCancel: to_shipping_.push_back(*r); break;
        }
      }
      state_ = evolve(state_, e);
    }
    for (const auto& e : d.order) {
      record_on_order(e);
      // The saga reads cancellations back from the order's stream, its own included.
      if (const auto* c = std::get_if<CancellationRequested>(&e)) to_saga_.push_back(*c);
    }
  }

  // A participant that cannot act on a request skips it; only the saga's
  // deadline notices.
  void participant_drops_next() {
    std::deque<StepRequested>* queues[] = {&to_payment_, &to_inventory_, &to_shipping_};
    auto& q = *queues[pick(0, 2)];
    if (q.empty()) return;
    trace_ += "@" + std::to_string(now_ - kT0) + " dropped " + describe(SagaEvent(q.front())) + "\n";
    q.pop_front();
  }

  void saga_takes_next() {
    if (to_saga_.empty()) return;
    SagaInput in = to_saga_.front();
    to_saga_.pop_front();
    saga(in);
  }

  void record_on_order(const OrderEvent& e) {
    if (const auto* d = std::get_if<PaymentDeclined>(&e); d && d->reason == "voided") ++voids_recorded_;
    if (const auto* r = std::get_if<InventoryReleased>(&e); r && r->lines.empty()) ++voids_recorded_;
    if (const auto* f = std::get_if<ShipmentFailed>(&e); f && f->reason == "voided") ++voids_recorded_;
    if (order_.status == OrderStatus::kCancelled || order_.status == OrderStatus::kShipmentInitiated) {
      ++order_events_after_end_;
    }
    std::visit(Overloaded{
                   [&](const PaymentProcessed&) { ++charges_; },
                   [&](const PaymentRefunded&) { ++refunds_; },
                   [&](const InventoryReserved&) { ++reservations_; },
                   [&](const InventoryReleased&) { ++releases_; },
                   [&](const ShipmentInitiated&) {
                     shipped_while_paid_and_reserved_ = charges_ - refunds_ == 1 && reservations_ - releases_ == 1;
                   },
                   [&](const OrderCancelled&) { ++cancellations_; },
                   [&](const CancellationRequested& c) { timeout_cancels_ += c.reason == "step_timeout"; },
                   [&](const auto&) {},
               },
               e);
    order_ = evolve(order_, e);
  }

  void customer_cancels() {
    auto decided = decide(order_, OrderCommand(CancelOrder{""}));
    if (auto* events = std::get_if<std::vector<OrderEvent>>(&decided)) {
      trace_ += "@" + std::to_string(now_ - kT0) + " customer cancels\n";
      for (const auto& e : *events) {
        record_on_order(e);
        if (const auto* c = std::get_if<CancellationRequested>(&e)) to_saga_.push_back(*c);
      }
    }
  }

  void payment_takes_next() {
    if (to_payment_.empty()) return;
    StepRequested r = to_payment_.front();
    to_payment_.pop_front();
    WalletCommand command = r.step == Step::kCharge ? WalletCommand(Charge{r.order.order_id, r.order.amount_cents})
                                                    : WalletCommand(Refund{r.order.order_id});
    auto decided = decide(wallet_, command, payment_);
    REQUIRE(std::holds_alternative<std::vector<WalletEvent>>(decided));
    for (const auto& e : std::get<std::vector<WalletEvent>>(decided)) {
      wallet_ = evolve(wallet_, e);
      payment_ = evolve(payment_, e);
      std::visit(Overloaded{
                     [&](const WalletCharged& w) { to_saga_.push_back(PaymentProcessed{w.amount_cents}); },
                     [&](const WalletDeclined& w) { to_saga_.push_back(PaymentDeclined{w.amount_cents, w.reason}); },
                     [&](const WalletRefunded& w) { to_saga_.push_back(PaymentRefunded{w.amount_cents}); },
                     [&](const FundsDeposited&) {},
                 },
                 e);
    }
  }

  void inventory_takes_next() {
    if (to_inventory_.empty()) return;
    StepRequested r = to_inventory_.front();
    to_inventory_.pop_front();
    const std::string& id = r.order.order_id;
    ReservationCommand command = r.step == Step::kReserve   ? ReservationCommand(ReserveStock{id, r.order.lines})
                                 : r.step == Step::kRelease ? ReservationCommand(ReleaseStock{id})
                                                            : ReservationCommand(ShipStock{id});
    SkuStates skus;
    for (const auto& sku : skus_of(reservation_, command)) skus.emplace(sku, &stock_[sku]);
    ReservationDecision d = decide(reservation_, command, skus);
    for (const auto& [sku, e] : d.stock) stock_[sku] = evolve(stock_[sku], e);
    for (const auto& e : d.reservation) {
      reservation_ = evolve(reservation_, e);
      std::visit([&](const auto& answer) { to_saga_.push_back(answer); }, e);
    }
  }

  void shipping_takes_next() {
    if (to_shipping_.empty()) return;
    StepRequested r = to_shipping_.front();
    to_shipping_.pop_front();
    ShipmentCommand command = r.step == Step::kShip ? ShipmentCommand(CreateShipment{r.order.order_id, r.order.country})
                                                    : ShipmentCommand(CancelShipment{r.order.order_id});
    for (const auto& e : decide(shipment_, command, default_served_countries())) {
      shipment_ = evolve(shipment_, e);
      std::visit([&](const auto& answer) { to_saga_.push_back(answer); }, e);
    }
  }

  std::mt19937_64& rng_;
  const SagaPolicy policy_;
  int64_t now_ = kT0;
  std::array<int, 9> weights_{};
  uint64_t funds_ = 0;
  std::string country_;

  SagaState state_;
  OrderState order_;
  WalletState wallet_;
  OrderPayment payment_;  // the payment service's record of this order
  ReservationState reservation_;
  std::map<std::string, StockState> stock_;
  ShipmentState shipment_;

  std::deque<SagaInput> to_saga_;
  std::deque<StepRequested> to_payment_, to_inventory_, to_shipping_;

  int charges_ = 0, refunds_ = 0, reservations_ = 0, releases_ = 0, cancellations_ = 0;
  int order_events_after_end_ = 0, voids_recorded_ = 0, timeout_cancels_ = 0;
  bool shipped_while_paid_and_reserved_ = false;
  std::vector<Step> started_;
  std::string trace_;
};

}  // namespace

TEST_CASE("under any interleaving of answers, deadlines, cancels and retries, a saga ends shipped with the charge "
          "and the stock standing, or cancelled with nothing charged or held, and runs no compensation twice") {
  const std::set<std::string> reasons = {"payment_declined", "out_of_stock", "shipping_unavailable",
                                         "customer_cancelled", "step_timeout"};
  std::map<std::string, int> endings;
  for (uint64_t seed = 1; seed <= 3'000; ++seed) {
    std::mt19937_64 rng(seed);
    SagaPolicy policy{kTimeout, static_cast<uint32_t>(1 + rng() % 3)};
    World world(rng, policy);
    int actions = static_cast<int>(rng() % 300);
    for (int i = 0; i < actions; ++i) world.act();
    world.settle();

    const SagaState& s = world.state();
    const OrderState& o = world.order();
    INFO("seed ", seed, ", max_attempts ", policy.max_attempts, "\n", world.trace());
    REQUIRE(world.settled());
    REQUIRE((s.phase == Phase::kShipped || s.phase == Phase::kCancelled));

    if (s.phase == Phase::kShipped) {
      ++endings["shipped"];
      CHECK(world.shipped_while_paid_and_reserved());
      CHECK(o.status == OrderStatus::kShipmentInitiated);
      CHECK(world.net_charged_on_order() == 1);
      CHECK(world.wallet_taken() == kTotal);
      CHECK(world.stock_held("sku-beans") == 0);
      CHECK(world.stock_shipped("sku-beans") == 3);
      CHECK(world.stock_shipped("sku-filter") == 1);
      CHECK(world.cancellations() == 0);
    } else {
      ++endings[s.cancel_reason];
      CHECK(reasons.count(s.cancel_reason) == 1);
      CHECK(o.status == OrderStatus::kCancelled);
      CHECK(o.cancel_reason == std::optional<std::string>(s.cancel_reason));
      CHECK(world.net_charged_on_order() == 0);
      CHECK(world.net_reserved_on_order() == 0);
      CHECK_FALSE(o.paid);
      CHECK_FALSE(o.reserved);
      CHECK(world.wallet_taken() == 0);
      for (const char* sku : {"sku-beans", "sku-filter"}) {
        CHECK(world.stock_held(sku) == 0);
        CHECK(world.stock_shipped(sku) == 0);
      }
      CHECK(world.cancellations() == 1);
      // A saga that gave up on a step said so on the order before cancelling it.
      if (s.cancel_reason == "step_timeout") CHECK(world.timeout_cancels() == 1);
    }
    CHECK(world.timeout_cancels() <= 1);
    CHECK(world.voids_recorded() == 0);
    // The order's story agrees with the participants, and ends where the saga ends.
    CHECK(world.net_charged_on_order() == (world.wallet_taken() == kTotal ? 1 : 0));
    CHECK(world.order_events_after_end() == 0);
    // No compensation twice: no step is started anew after the saga left it.
    CHECK(world.refunds() <= 1);
    CHECK(world.releases() <= 1);
    std::set<Step> seen(world.started().begin(), world.started().end());
    CHECK(seen.size() == world.started().size());
  }
  // The random worlds reach every ending (a sanity check of the property itself).
  INFO("endings: shipped ", endings["shipped"], ", payment_declined ", endings["payment_declined"], ", out_of_stock ",
       endings["out_of_stock"], ", shipping_unavailable ", endings["shipping_unavailable"], ", customer_cancelled ",
       endings["customer_cancelled"], ", step_timeout ", endings["step_timeout"]);
  for (const char* ending : {"shipped", "payment_declined", "out_of_stock", "shipping_unavailable",
                             "customer_cancelled", "step_timeout"}) {
    CHECK(endings[ending] > 0);
  }
}
