// The order aggregate's specification, as a Decider:
//
//   given these events (folded with evolve from OrderState{}),
//   when this command (decide),
//   then these events and this next state, or this refusal.
//
// The first test cases tell the order's story lines; the table-driven ones
// below them go through every (status, command) pair of the transition table.
#include "write/domain/order.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <set>
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

using Events = std::vector<OrderEvent>;
using S = OrderStatus;

// --- readable failures: events print as "PaymentDeclined{3000, card_declined}".

using ordersd::test::describe;

}  // namespace

namespace doctest {
template <>
struct StringMaker<OrderEvent> {
  static String convert(const OrderEvent& e) { return describe(e).c_str(); }
};
template <>
struct StringMaker<Events> {
  static String convert(const Events& events) {
    std::string out = "{";
    for (size_t i = 0; i < events.size(); ++i) out += (i ? ", " : "") + describe(events[i]);
    return (out + "}").c_str();
  }
};
template <>
struct StringMaker<std::optional<std::string>> {
  static String convert(const std::optional<std::string>& v) {
    return v ? ("\"" + *v + "\"").c_str() : "nullopt";
  }
};
}  // namespace doctest

namespace {

// --- the order used throughout: two lines, 2 x 12.50 + 1 x 5.00 = 30.00.

const std::vector<OrderLine> kItems = {{"sku-beans", 2, 1'250}, {"sku-filter", 1, 500}};
const Address kAddress = {"NL", "Amsterdam", "Keizersgracht 1", "1015CD"};
constexpr uint64_t kTotal = 3'000;

PlaceOrder place_order() { return {"o-1", "c-1", kItems, kAddress}; }

// --- events, as the tests expect them.

OrderPlaced order_placed() { return {"o-1", "c-1", kItems, kAddress, kTotal}; }
PaymentProcessed payment_processed() { return {kTotal}; }
PaymentDeclined payment_declined() { return {kTotal, "card_declined"}; }
PaymentRefunded payment_refunded() { return {kTotal}; }
InventoryReserved inventory_reserved() { return {{{"sku-beans", 2}, {"sku-filter", 1}}}; }
InventoryReservationFailed reservation_failed() { return {"sku-beans", 2, 1, "insufficient_stock"}; }
InventoryReleased inventory_released() { return {{{"sku-beans", 2}, {"sku-filter", 1}}}; }
ShipmentInitiated shipment_initiated() { return {"ship-7", "NL"}; }
ShipmentFailed shipment_failed() { return {"NL", "no_carrier"}; }
OrderDelivered order_delivered() { return {}; }
CancellationRequested cancellation_requested(std::string reason = "customer_cancelled") {
  return {std::move(reason)};
}
OrderCancelled order_cancelled(std::string reason) { return {std::move(reason)}; }

// --- given / when / then.

using ordersd::test::accepted;
using ordersd::test::fold;
using ordersd::test::refused;

OrderState given(const Events& events) { return fold(OrderState{}, events); }

// A story step: `command` on `state` must yield exactly `expected`; returns the
// state after them.
OrderState accepts(const OrderState& state, const OrderCommand& command, const Events& expected) {
  INFO("when ", command_name(command), " on a ", status_name(state.status), " order");
  Events events = accepted(decide(state, command));
  CHECK(events == expected);
  return fold(state, events);
}

// A story step: `command` on `state` must be refused as `kind`; the state stays.
void refuses(const OrderState& state, const OrderCommand& command, Refusal::Kind kind) {
  INFO("when ", command_name(command), " on a ", status_name(state.status), " order");
  Refusal r = refused(decide(state, command));
  CHECK(r.kind == kind);
  CHECK(r.status == state.status);
}

// Whether `word` occurs in `text` as a whole name ("place" is not in "placed").
bool names(std::string_view text, std::string_view word) {
  auto is_name_char = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; };
  for (size_t at = text.find(word); at != std::string_view::npos; at = text.find(word, at + 1)) {
    bool starts = at == 0 || !is_name_char(text[at - 1]);
    bool ends = at + word.size() == text.size() || !is_name_char(text[at + word.size()]);
    if (starts && ends) return true;
  }
  return false;
}

// --- histories: the events that bring an order to a status.

namespace history {
Events none() { return {}; }
Events placed() { return {order_placed()}; }
Events paid() { return {order_placed(), payment_processed()}; }
Events reserved() { return {order_placed(), payment_processed(), inventory_reserved()}; }
Events shipped() { return {order_placed(), payment_processed(), inventory_reserved(), shipment_initiated()}; }
Events delivered() {
  return {order_placed(), payment_processed(), inventory_reserved(), shipment_initiated(), order_delivered()};
}
// Cancelling: nothing charged or reserved, charged, charged and reserved.
Events payment_was_declined() { return {order_placed(), payment_declined()}; }
Events cancelled_while_placed() { return {order_placed(), cancellation_requested()}; }
Events out_of_stock() { return {order_placed(), payment_processed(), reservation_failed()}; }
Events cancelled_while_paid() { return {order_placed(), payment_processed(), cancellation_requested()}; }
Events shipping_unavailable() {
  return {order_placed(), payment_processed(), inventory_reserved(), shipment_failed()};
}
Events cancelled_while_reserved() {
  return {order_placed(), payment_processed(), inventory_reserved(), cancellation_requested()};
}
// Cancelled, by each road.
Events cancelled_after_decline() { return {order_placed(), payment_declined(), order_cancelled("payment_declined")}; }
Events cancelled_by_customer() {
  return {order_placed(), payment_processed(), inventory_reserved(), cancellation_requested(), inventory_released(),
          payment_refunded(), order_cancelled("customer_cancelled")};
}

std::vector<std::pair<const char*, Events>> all() {
  return {{"none", none()},
          {"placed", placed()},
          {"paid", paid()},
          {"reserved", reserved()},
          {"shipped", shipped()},
          {"delivered", delivered()},
          {"payment_was_declined", payment_was_declined()},
          {"cancelled_while_placed", cancelled_while_placed()},
          {"out_of_stock", out_of_stock()},
          {"cancelled_while_paid", cancelled_while_paid()},
          {"shipping_unavailable", shipping_unavailable()},
          {"cancelled_while_reserved", cancelled_while_reserved()},
          {"cancelled_after_decline", cancelled_after_decline()},
          {"cancelled_by_customer", cancelled_by_customer()}};
}
}  // namespace history

const std::vector<S> kAllStatuses = {S::kNone,         S::kPlaced,         S::kPaymentProcessed,
                                     S::kInventoryReserved, S::kShipmentInitiated, S::kDelivered,
                                     S::kCancelling,   S::kCancelled};

// One command of each kind, in the variant's order.
std::vector<OrderCommand> one_of_each_command() {
  return {place_order(),
          CancelOrder{"changed_mind"},
          DeliverOrder{},
          RecordPayment{payment_processed()},
          RecordPaymentDeclined{payment_declined()},
          RecordReservation{inventory_reserved()},
          RecordReservationFailed{reservation_failed()},
          RecordShipment{shipment_initiated()},
          RecordShipmentFailed{shipment_failed()},
          RecordRefund{payment_refunded()},
          RecordRelease{inventory_released()},
          CompleteCancellation{"customer_cancelled"}};
}

// Every event of each kind, in the variant's order, with values and empty.
std::vector<OrderEvent> one_of_each_event() {
  return {order_placed(),        payment_processed(),   payment_declined(),     payment_refunded(),
          inventory_reserved(),  reservation_failed(),  inventory_released(),   shipment_initiated(),
          shipment_failed(),     order_delivered(),     cancellation_requested(), order_cancelled("step_timeout"),
          OrderPlaced{},         PaymentProcessed{},    PaymentDeclined{},      PaymentRefunded{},
          InventoryReserved{},   InventoryReservationFailed{}, InventoryReleased{}, ShipmentInitiated{},
          ShipmentFailed{},      CancellationRequested{}, OrderCancelled{}};
}

// --- the transition table, as the specification states it.

struct Next {
  S status;
  bool paid;
  bool reserved;
  std::optional<std::string> shipment_id;
  std::optional<std::string> cancel_reason;
};

struct Rule {
  Events given;
  OrderCommand when;
  Events then;
  Next next;
};

const std::optional<std::string> kNoShipment;
const std::optional<std::string> kNoReason;

// One row per legal (status, command): 20 rows.
const std::vector<Rule>& the_transition_table() {
  static const std::vector<Rule> rules = {
      // An order comes into being.
      {history::none(), place_order(), {order_placed()}, {S::kPlaced, false, false, kNoShipment, kNoReason}},

      // Placed: the payment step answers, or the customer cancels.
      {history::placed(), RecordPayment{payment_processed()}, {payment_processed()},
       {S::kPaymentProcessed, true, false, kNoShipment, kNoReason}},
      {history::placed(), RecordPaymentDeclined{payment_declined()}, {payment_declined()},
       {S::kCancelling, false, false, kNoShipment, "payment_declined"}},
      {history::placed(), CancelOrder{"changed_mind"}, {cancellation_requested("changed_mind")},
       {S::kCancelling, false, false, kNoShipment, "changed_mind"}},

      // Paid: the inventory step answers, or the customer cancels.
      {history::paid(), RecordReservation{inventory_reserved()}, {inventory_reserved()},
       {S::kInventoryReserved, true, true, kNoShipment, kNoReason}},
      {history::paid(), RecordReservationFailed{reservation_failed()}, {reservation_failed()},
       {S::kCancelling, true, false, kNoShipment, "out_of_stock"}},
      {history::paid(), CancelOrder{"changed_mind"}, {cancellation_requested("changed_mind")},
       {S::kCancelling, true, false, kNoShipment, "changed_mind"}},

      // Reserved: the shipping step answers, or the customer cancels.
      {history::reserved(), RecordShipment{shipment_initiated()}, {shipment_initiated()},
       {S::kShipmentInitiated, true, false, "ship-7", kNoReason}},
      {history::reserved(), RecordShipmentFailed{shipment_failed()}, {shipment_failed()},
       {S::kCancelling, true, true, kNoShipment, "shipping_unavailable"}},
      {history::reserved(), CancelOrder{"changed_mind"}, {cancellation_requested("changed_mind")},
       {S::kCancelling, true, true, kNoShipment, "changed_mind"}},

      // Shipped: only delivery.
      {history::shipped(), DeliverOrder{}, {order_delivered()},
       {S::kDelivered, true, false, "ship-7", kNoReason}},

      // Cancelling: outcomes of steps already under way are still recorded...
      {history::cancelled_while_placed(), RecordPayment{payment_processed()}, {payment_processed()},
       {S::kCancelling, true, false, kNoShipment, "customer_cancelled"}},
      {history::cancelled_while_placed(), RecordPaymentDeclined{payment_declined()}, {payment_declined()},
       {S::kCancelling, false, false, kNoShipment, "customer_cancelled"}},
      {history::cancelled_while_paid(), RecordReservation{inventory_reserved()}, {inventory_reserved()},
       {S::kCancelling, true, true, kNoShipment, "customer_cancelled"}},
      {history::cancelled_while_paid(), RecordReservationFailed{reservation_failed()}, {reservation_failed()},
       {S::kCancelling, true, false, kNoShipment, "customer_cancelled"}},
      // ...a shipment that went out anyway wins over the cancel...
      {history::cancelled_while_reserved(), RecordShipment{shipment_initiated()}, {shipment_initiated()},
       {S::kShipmentInitiated, true, false, "ship-7", kNoReason}},
      {history::cancelled_while_reserved(), RecordShipmentFailed{shipment_failed()}, {shipment_failed()},
       {S::kCancelling, true, true, kNoShipment, "customer_cancelled"}},
      // ...and the compensations are recorded until nothing is charged or held.
      {history::out_of_stock(), RecordRefund{payment_refunded()}, {payment_refunded()},
       {S::kCancelling, false, false, kNoShipment, "out_of_stock"}},
      {history::shipping_unavailable(), RecordRelease{inventory_released()}, {inventory_released()},
       {S::kCancelling, true, false, kNoShipment, "shipping_unavailable"}},
      {history::payment_was_declined(), CompleteCancellation{"payment_declined"}, {order_cancelled("payment_declined")},
       {S::kCancelled, false, false, kNoShipment, "payment_declined"}},
  };
  return rules;
}

bool legal_in_spec(S status, size_t command_index) {
  for (const auto& rule : the_transition_table()) {
    if (given(rule.given).status == status && rule.when.index() == command_index) return true;
  }
  return false;
}

Refusal::Kind expected_refusal(S status, const OrderCommand& command) {
  if (std::holds_alternative<PlaceOrder>(command)) return Refusal::Kind::kAlreadyExists;
  if (status == S::kNone) return Refusal::Kind::kNotFound;
  return Refusal::Kind::kIllegalTransition;
}

}  // namespace

// =============================================================================
// The story lines.
// =============================================================================

TEST_CASE("placing an order records who ordered what, where it goes and the total") {
  // given no order
  OrderState state = given({});
  // when the customer places it
  Events events = accepted(decide(state, place_order()));
  // then
  CHECK(events == Events{OrderPlaced{"o-1", "c-1", kItems, kAddress, 3'000}});
  state = fold(state, events);
  CHECK(state.status == S::kPlaced);
  CHECK(state.version == 1);
  CHECK(state.order_id == "o-1");
  CHECK(state.customer_id == "c-1");
  CHECK(state.items == kItems);
  CHECK(state.shipping_address == kAddress);
  CHECK(state.total_cents == 3'000);
  CHECK_FALSE(state.paid);
  CHECK_FALSE(state.reserved);
  CHECK(state.shipment_id == kNoShipment);
  CHECK(state.cancel_reason == kNoReason);
}

TEST_CASE("an order is placed once: placing it again is refused as already existing") {
  // given a placed order
  OrderState state = given(history::placed());
  // when it is placed again, then
  refuses(state, place_order(), Refusal::Kind::kAlreadyExists);
}

TEST_CASE("every other command on an order that does not exist is refused as not found") {
  OrderState nothing = given({});
  for (const auto& command : one_of_each_command()) {
    if (std::holds_alternative<PlaceOrder>(command)) continue;
    refuses(nothing, command, Refusal::Kind::kNotFound);
  }
}

TEST_CASE("the happy path: placed, paid, reserved, shipped, delivered") {
  OrderState s = given({});
  s = accepts(s, place_order(), {order_placed()});
  CHECK(s.status == S::kPlaced);

  s = accepts(s, RecordPayment{payment_processed()}, {payment_processed()});
  CHECK(s.status == S::kPaymentProcessed);
  CHECK(s.paid);

  s = accepts(s, RecordReservation{inventory_reserved()}, {inventory_reserved()});
  CHECK(s.status == S::kInventoryReserved);
  CHECK(s.reserved);

  s = accepts(s, RecordShipment{shipment_initiated()}, {shipment_initiated()});
  CHECK(s.status == S::kShipmentInitiated);
  CHECK(s.shipment_id == std::optional<std::string>("ship-7"));
  CHECK_FALSE(s.reserved);  // the reserved stock is now shipped stock
  CHECK(s.paid);

  s = accepts(s, DeliverOrder{}, {order_delivered()});
  CHECK(s.status == S::kDelivered);
  CHECK(s.version == 5);
  CHECK(s.cancel_reason == kNoReason);

  // A delivered order is final.
  for (const auto& command : one_of_each_command()) {
    refuses(s, command, expected_refusal(s.status, command));
  }
}

TEST_CASE("payment declined: the order is cancelling, then cancelled for payment_declined") {
  // given a placed order
  OrderState s = given(history::placed());
  // when the payment is declined
  s = accepts(s, RecordPaymentDeclined{payment_declined()}, {payment_declined()});
  // then it is cancelling, with nothing to compensate
  CHECK(s.status == S::kCancelling);
  CHECK(s.cancel_reason == std::optional<std::string>("payment_declined"));
  CHECK_FALSE(s.paid);
  CHECK_FALSE(s.reserved);
  refuses(s, RecordRefund{payment_refunded()}, Refusal::Kind::kIllegalTransition);
  refuses(s, RecordRelease{inventory_released()}, Refusal::Kind::kIllegalTransition);
  // when the cancellation completes, then it is cancelled
  s = accepts(s, CompleteCancellation{"payment_declined"}, {order_cancelled("payment_declined")});
  CHECK(s.status == S::kCancelled);
  CHECK(s.cancel_reason == std::optional<std::string>("payment_declined"));
  CHECK(s.version == 3);
}

TEST_CASE("out of stock after payment: the charge is refunded before the order is cancelled") {
  // given a paid order
  OrderState s = given(history::paid());
  // when the stock cannot be reserved
  s = accepts(s, RecordReservationFailed{reservation_failed()}, {reservation_failed()});
  // then it is cancelling for out_of_stock and still charged
  CHECK(s.status == S::kCancelling);
  CHECK(s.cancel_reason == std::optional<std::string>("out_of_stock"));
  CHECK(s.paid);
  CHECK_FALSE(s.reserved);
  // and cannot be cancelled before the refund
  refuses(s, CompleteCancellation{"out_of_stock"}, Refusal::Kind::kIllegalTransition);
  refuses(s, RecordRelease{inventory_released()}, Refusal::Kind::kIllegalTransition);
  s = accepts(s, RecordRefund{payment_refunded()}, {payment_refunded()});
  CHECK_FALSE(s.paid);
  CHECK(s.status == S::kCancelling);
  s = accepts(s, CompleteCancellation{"out_of_stock"}, {order_cancelled("out_of_stock")});
  CHECK(s.status == S::kCancelled);
  CHECK(s.cancel_reason == std::optional<std::string>("out_of_stock"));
}

TEST_CASE("shipping unavailable: the stock is released and the charge refunded, then the order is cancelled") {
  // given a paid, reserved order whose shipment failed
  OrderState s = given(history::reserved());
  s = accepts(s, RecordShipmentFailed{shipment_failed()}, {shipment_failed()});
  CHECK(s.status == S::kCancelling);
  CHECK(s.cancel_reason == std::optional<std::string>("shipping_unavailable"));
  CHECK(s.paid);
  CHECK(s.reserved);
  refuses(s, CompleteCancellation{"shipping_unavailable"}, Refusal::Kind::kIllegalTransition);

  SUBCASE("release first, then refund") {
    s = accepts(s, RecordRelease{inventory_released()}, {inventory_released()});
    CHECK_FALSE(s.reserved);
    refuses(s, CompleteCancellation{"shipping_unavailable"}, Refusal::Kind::kIllegalTransition);  // still charged
    s = accepts(s, RecordRefund{payment_refunded()}, {payment_refunded()});
  }
  SUBCASE("refund first, then release") {
    s = accepts(s, RecordRefund{payment_refunded()}, {payment_refunded()});
    CHECK_FALSE(s.paid);
    refuses(s, CompleteCancellation{"shipping_unavailable"}, Refusal::Kind::kIllegalTransition);  // still holds stock
    s = accepts(s, RecordRelease{inventory_released()}, {inventory_released()});
  }
  CHECK_FALSE(s.paid);
  CHECK_FALSE(s.reserved);
  s = accepts(s, CompleteCancellation{"shipping_unavailable"}, {order_cancelled("shipping_unavailable")});
  CHECK(s.status == S::kCancelled);
  CHECK(s.cancel_reason == std::optional<std::string>("shipping_unavailable"));
  CHECK(s.version == 7);  // placed, paid, reserved, shipment failed, released, refunded, cancelled
}

TEST_CASE("the customer can cancel a placed, paid or reserved order; what was done is undone first") {
  OrderState s;
  SUBCASE("placed: nothing to undo") {
    s = accepts(given(history::placed()), CancelOrder{"changed_mind"}, {cancellation_requested("changed_mind")});
    CHECK_FALSE(s.paid);
    CHECK_FALSE(s.reserved);
  }
  SUBCASE("paid: the charge is refunded") {
    s = accepts(given(history::paid()), CancelOrder{"changed_mind"}, {cancellation_requested("changed_mind")});
    CHECK(s.paid);
    CHECK_FALSE(s.reserved);
    refuses(s, CompleteCancellation{"changed_mind"}, Refusal::Kind::kIllegalTransition);
    s = accepts(s, RecordRefund{payment_refunded()}, {payment_refunded()});
  }
  SUBCASE("reserved: the stock is released and the charge refunded") {
    s = accepts(given(history::reserved()), CancelOrder{"changed_mind"}, {cancellation_requested("changed_mind")});
    CHECK(s.paid);
    CHECK(s.reserved);
    refuses(s, CompleteCancellation{"changed_mind"}, Refusal::Kind::kIllegalTransition);
    s = accepts(s, RecordRelease{inventory_released()}, {inventory_released()});
    refuses(s, CompleteCancellation{"changed_mind"}, Refusal::Kind::kIllegalTransition);
    s = accepts(s, RecordRefund{payment_refunded()}, {payment_refunded()});
  }
  CHECK(s.status == S::kCancelling);
  CHECK(s.cancel_reason == std::optional<std::string>("changed_mind"));
  s = accepts(s, CompleteCancellation{"changed_mind"}, {order_cancelled("changed_mind")});
  CHECK(s.status == S::kCancelled);
  CHECK(s.cancel_reason == std::optional<std::string>("changed_mind"));
}

TEST_CASE("a cancel without a reason is recorded as customer_cancelled") {
  OrderState s = given(history::placed());
  s = accepts(s, CancelOrder{}, {cancellation_requested("customer_cancelled")});
  CHECK(s.cancel_reason == std::optional<std::string>("customer_cancelled"));
}

TEST_CASE("an order that is shipped, delivered, already cancelling or cancelled cannot be cancelled") {
  for (const auto& h : {history::shipped(), history::delivered(), history::cancelled_while_reserved(),
                        history::cancelled_by_customer()}) {
    refuses(given(h), CancelOrder{"changed_mind"}, Refusal::Kind::kIllegalTransition);
  }
}

TEST_CASE("a payment that succeeds after the cancel is recorded and must be refunded before the order is cancelled") {
  // given an order cancelled while its payment was under way
  OrderState s = given(history::cancelled_while_placed());
  // when the payment succeeds anyway
  s = accepts(s, RecordPayment{payment_processed()}, {payment_processed()});
  // then the order stays cancelling but is now charged
  CHECK(s.status == S::kCancelling);
  CHECK(s.paid);
  CHECK(s.cancel_reason == std::optional<std::string>("customer_cancelled"));
  refuses(s, CompleteCancellation{"customer_cancelled"}, Refusal::Kind::kIllegalTransition);
  s = accepts(s, RecordRefund{payment_refunded()}, {payment_refunded()});
  s = accepts(s, CompleteCancellation{"customer_cancelled"}, {order_cancelled("customer_cancelled")});
  CHECK(s.status == S::kCancelled);
}

TEST_CASE("a reservation that succeeds after the cancel is recorded and must be released before the order is cancelled") {
  OrderState s = given(history::cancelled_while_paid());
  s = accepts(s, RecordReservation{inventory_reserved()}, {inventory_reserved()});
  CHECK(s.status == S::kCancelling);
  CHECK(s.reserved);
  s = accepts(s, RecordRefund{payment_refunded()}, {payment_refunded()});
  refuses(s, CompleteCancellation{"customer_cancelled"}, Refusal::Kind::kIllegalTransition);
  s = accepts(s, RecordRelease{inventory_released()}, {inventory_released()});
  s = accepts(s, CompleteCancellation{"customer_cancelled"}, {order_cancelled("customer_cancelled")});
  CHECK(s.status == S::kCancelled);
}

TEST_CASE("a failed step recorded while cancelling changes nothing but the version") {
  for (const auto& [h, command] : std::vector<std::pair<Events, OrderCommand>>{
           {history::cancelled_while_placed(), RecordPaymentDeclined{payment_declined()}},
           {history::cancelled_while_paid(), RecordReservationFailed{reservation_failed()}},
           {history::cancelled_while_reserved(), RecordShipmentFailed{shipment_failed()}}}) {
    OrderState before = given(h);
    OrderState after = fold(before, accepted(decide(before, command)));
    OrderState expected = before;
    expected.version += 1;
    CHECK(after == expected);
    CHECK(after.cancel_reason == std::optional<std::string>("customer_cancelled"));  // the first reason stands
  }
}

TEST_CASE("a shipment that succeeds while cancelling wins over the cancel") {
  // given a reserved order the customer cancelled while it was being shipped
  OrderState s = given(history::cancelled_while_reserved());
  // when the shipment goes out anyway
  s = accepts(s, RecordShipment{shipment_initiated()}, {shipment_initiated()});
  // then the order is shipped: the cancel is forgotten and nothing is compensated
  CHECK(s.status == S::kShipmentInitiated);
  CHECK(s.shipment_id == std::optional<std::string>("ship-7"));
  CHECK(s.cancel_reason == kNoReason);
  CHECK(s.paid);
  CHECK_FALSE(s.reserved);
  refuses(s, CompleteCancellation{"customer_cancelled"}, Refusal::Kind::kIllegalTransition);
  refuses(s, RecordRefund{payment_refunded()}, Refusal::Kind::kIllegalTransition);
  refuses(s, RecordRelease{inventory_released()}, Refusal::Kind::kIllegalTransition);
  refuses(s, CancelOrder{"changed_mind"}, Refusal::Kind::kIllegalTransition);
  s = accepts(s, DeliverOrder{}, {order_delivered()});
  CHECK(s.status == S::kDelivered);
}

TEST_CASE("guard: a refund is refused when nothing is charged, or the charge was already refunded") {
  SUBCASE("never charged") {
    refuses(given(history::payment_was_declined()), RecordRefund{payment_refunded()},
            Refusal::Kind::kIllegalTransition);
    refuses(given(history::cancelled_while_placed()), RecordRefund{payment_refunded()},
            Refusal::Kind::kIllegalTransition);
  }
  SUBCASE("already refunded") {
    OrderState s = given(history::out_of_stock());
    s = accepts(s, RecordRefund{payment_refunded()}, {payment_refunded()});
    refuses(s, RecordRefund{payment_refunded()}, Refusal::Kind::kIllegalTransition);
  }
}

TEST_CASE("guard: a release is refused when nothing is reserved, or the stock was already released") {
  SUBCASE("never reserved") {
    refuses(given(history::out_of_stock()), RecordRelease{inventory_released()}, Refusal::Kind::kIllegalTransition);
    refuses(given(history::cancelled_while_paid()), RecordRelease{inventory_released()},
            Refusal::Kind::kIllegalTransition);
  }
  SUBCASE("already released") {
    OrderState s = given(history::shipping_unavailable());
    s = accepts(s, RecordRelease{inventory_released()}, {inventory_released()});
    refuses(s, RecordRelease{inventory_released()}, Refusal::Kind::kIllegalTransition);
  }
}

TEST_CASE("guard: the cancellation cannot complete while the order is still charged or holds stock") {
  SUBCASE("charged") {
    refuses(given(history::out_of_stock()), CompleteCancellation{"out_of_stock"}, Refusal::Kind::kIllegalTransition);
  }
  SUBCASE("holds stock") {
    OrderState s = fold(given(history::shipping_unavailable()), Events{payment_refunded()});
    REQUIRE_FALSE(s.paid);
    REQUIRE(s.reserved);
    refuses(s, CompleteCancellation{"shipping_unavailable"}, Refusal::Kind::kIllegalTransition);
  }
  SUBCASE("both") {
    refuses(given(history::shipping_unavailable()), CompleteCancellation{"shipping_unavailable"},
            Refusal::Kind::kIllegalTransition);
  }
}

// =============================================================================
// Values.
// =============================================================================

TEST_CASE("the total of a placed order is the sum of quantity times unit price of its lines") {
  auto total_of = [](std::vector<OrderLine> items) {
    Events events = accepted(decide(OrderState{}, PlaceOrder{"o-1", "c-1", std::move(items), kAddress}));
    REQUIRE(events.size() == 1);
    REQUIRE(std::holds_alternative<OrderPlaced>(events[0]));
    return std::get<OrderPlaced>(events[0]).total_cents;
  };
  CHECK(total_of({}) == 0);
  CHECK(total_of({{"a", 1, 999}}) == 999);
  CHECK(total_of({{"a", 3, 250}, {"b", 0, 1'000'000}, {"c", 7, 1}}) == 757);
  CHECK(total_of(kItems) == 2 * 1'250 + 1 * 500);
  // quantity x price is computed in 64 bits, not in the 32 bits of the quantity
  constexpr uint32_t kMaxQuantity = std::numeric_limits<uint32_t>::max();
  CHECK(total_of({{"bulk", kMaxQuantity, 1'000}, {"a", 2, 5}}) == uint64_t{kMaxQuantity} * 1'000 + 10);
}

TEST_CASE("the placed event carries the command's lines and address unchanged") {
  PlaceOrder cmd{"o-9", "c-9", {{"x", 1, 1}, {"y", 2, 3}}, {"DE", "Berlin", "Unter den Linden 1", "10117"}};
  Events events = accepted(decide(OrderState{}, cmd));
  CHECK(events == Events{OrderPlaced{"o-9", "c-9", cmd.items, cmd.shipping_address, 7}});
}

TEST_CASE("version counts the events folded into the state") {
  CHECK(given({}).version == 0);
  for (const auto& [name, h] : history::all()) {
    INFO("history ", name);
    CHECK(given(h).version == h.size());
  }
  // Events that change nothing else still count.
  OrderState s = given(history::cancelled_while_placed());
  s = fold(s, Events{payment_declined(), reservation_failed(), shipment_failed()});
  CHECK(s.version == 5);
  CHECK(s.status == S::kCancelling);
}

TEST_CASE("status and command names") {
  CHECK(status_name(S::kNone) == "none");
  CHECK(status_name(S::kPlaced) == "placed");
  CHECK(status_name(S::kPaymentProcessed) == "payment_processed");
  CHECK(status_name(S::kInventoryReserved) == "inventory_reserved");
  CHECK(status_name(S::kShipmentInitiated) == "shipment_initiated");
  CHECK(status_name(S::kDelivered) == "delivered");
  CHECK(status_name(S::kCancelling) == "cancelling");
  CHECK(status_name(S::kCancelled) == "cancelled");
  const std::vector<std::string_view> expected = {"place",
                                                  "cancel",
                                                  "deliver",
                                                  "record_payment",
                                                  "record_payment_declined",
                                                  "record_reservation",
                                                  "record_reservation_failed",
                                                  "record_shipment",
                                                  "record_shipment_failed",
                                                  "record_refund",
                                                  "record_release",
                                                  "complete_cancellation"};
  auto commands = one_of_each_command();
  REQUIRE(commands.size() == expected.size());
  for (size_t i = 0; i < commands.size(); ++i) CHECK(command_name(commands[i]) == expected[i]);
}

// =============================================================================
// The transition table, every (status, command) pair.
// =============================================================================

TEST_CASE("the samples cover every status and every command") {
  auto commands = one_of_each_command();
  REQUIRE(commands.size() == std::variant_size_v<OrderCommand>);
  for (size_t i = 0; i < commands.size(); ++i) CHECK(commands[i].index() == i);
  REQUIRE(kAllStatuses.size() == 8);
  for (size_t i = 0; i < kAllStatuses.size(); ++i) CHECK(static_cast<size_t>(kAllStatuses[i]) == i);
  std::set<S> reached;
  for (const auto& [name, h] : history::all()) reached.insert(given(h).status);
  CHECK(reached.size() == kAllStatuses.size());
  CHECK(one_of_each_event().size() == 2 * std::variant_size_v<OrderEvent> - 1);  // OrderDelivered has no fields
}

TEST_CASE("the transition table has exactly one row per legal (status, command) pair") {
  std::set<std::pair<S, size_t>> pairs;
  for (const auto& rule : the_transition_table()) pairs.insert({given(rule.given).status, rule.when.index()});
  CHECK(the_transition_table().size() == 20);
  CHECK(pairs.size() == the_transition_table().size());

  // is_legal agrees with the table on all 8 x 12 pairs.
  size_t legal = 0;
  size_t illegal = 0;
  for (S status : kAllStatuses) {
    for (const auto& command : one_of_each_command()) {
      INFO("status ", status_name(status), ", command ", command_name(command));
      bool expected = pairs.count({status, command.index()}) > 0;
      CHECK(is_legal(status, command) == expected);
      ++(expected ? legal : illegal);
    }
  }
  CHECK(legal == 20);
  CHECK(illegal == 76);
}

TEST_CASE("every legal pair: given the history, when the command, then exactly these events and this state") {
  for (const auto& rule : the_transition_table()) {
    OrderState state = given(rule.given);
    INFO("given ", status_name(state.status), " (", rule.given.size(), " events), when ", command_name(rule.when));
    Events events = accepted(decide(state, rule.when));
    CHECK(events == rule.then);

    OrderState next = fold(state, events);
    CHECK(next.status == rule.next.status);
    CHECK(next.paid == rule.next.paid);
    CHECK(next.reserved == rule.next.reserved);
    CHECK(next.shipment_id == rule.next.shipment_id);
    CHECK(next.cancel_reason == rule.next.cancel_reason);
    CHECK(next.version == state.version + rule.then.size());
    // What the order is about never changes after it is placed.
    if (state.status != S::kNone) {
      CHECK(next.order_id == state.order_id);
      CHECK(next.customer_id == state.customer_id);
      CHECK(next.items == state.items);
      CHECK(next.shipping_address == state.shipping_address);
      CHECK(next.total_cents == state.total_cents);
    }
  }
}

TEST_CASE("every illegal pair is refused: already exists, not found, or an illegal transition, at the current status") {
  size_t checked_pairs = 0;
  std::set<std::pair<S, size_t>> covered;
  for (const auto& [name, h] : history::all()) {
    OrderState state = given(h);
    for (const auto& command : one_of_each_command()) {
      if (legal_in_spec(state.status, command.index())) continue;
      INFO("given ", name, " (", status_name(state.status), "), when ", command_name(command));
      Refusal r = refused(decide(state, command));
      CHECK(r.kind == expected_refusal(state.status, command));
      CHECK(r.status == state.status);
      CHECK_FALSE(r.message.empty());
      covered.insert({state.status, command.index()});
      ++checked_pairs;
    }
  }
  CHECK(covered.size() == 76);  // every illegal (status, command) pair, from at least one history
  CHECK(checked_pairs > 76);
}

TEST_CASE("every refusal message names the order's current status and the refused command") {
  auto check_message = [](const std::string& given_name, const OrderState& state, const OrderCommand& command) {
    Refusal r = refused(decide(state, command));
    INFO("given ", given_name, ", when ", command_name(command), ": \"", r.message, "\"");
    CHECK_MESSAGE(names(r.message, status_name(state.status)), "the message does not name the status");
    CHECK_MESSAGE(names(r.message, command_name(command)), "the message does not name the command");
  };
  SUBCASE("illegal pairs") {
    for (const auto& [name, h] : history::all()) {
      OrderState state = given(h);
      for (const auto& command : one_of_each_command()) {
        if (!legal_in_spec(state.status, command.index())) check_message(name, state, command);
      }
    }
  }
  SUBCASE("guards") {
    check_message("payment_was_declined", given(history::payment_was_declined()), RecordRefund{payment_refunded()});
    check_message("out_of_stock", given(history::out_of_stock()), RecordRelease{inventory_released()});
    check_message("out_of_stock", given(history::out_of_stock()), CompleteCancellation{"out_of_stock"});
  }
}

// =============================================================================
// evolve: total, never validates, never fails.
// =============================================================================

namespace {

// Every state reachable from OrderState{} by deciding sample commands, up to
// version (which only counts).
std::vector<OrderState> reachable_states() {
  auto key = [](OrderState s) {
    s.version = 0;
    return s;
  };
  std::vector<OrderCommand> commands = one_of_each_command();
  commands.push_back(CancelOrder{});
  commands.push_back(CompleteCancellation{"payment_declined"});
  std::vector<OrderState> seen;
  std::vector<OrderState> frontier = {OrderState{}};
  while (!frontier.empty()) {
    OrderState s = frontier.back();
    frontier.pop_back();
    bool known = false;
    for (const auto& k : seen) known = known || key(k) == key(s);
    if (known) continue;
    seen.push_back(s);
    for (const auto& c : commands) {
      Decision d = decide(s, c);
      if (const auto* events = std::get_if<Events>(&d)) frontier.push_back(fold(s, *events));
    }
  }
  return seen;
}

}  // namespace

TEST_CASE("evolve never throws: every event folds onto every reachable state and counts one version") {
  std::vector<OrderState> states = reachable_states();
  std::set<S> statuses;
  for (const auto& s : states) statuses.insert(s.status);
  CHECK(statuses.size() == kAllStatuses.size());
  CHECK(states.size() > 20);
  // Plus states no decide() would produce: evolve does not validate.
  states.push_back(given({order_cancelled("x"), order_placed(), order_delivered(), payment_refunded()}));
  states.push_back(given({inventory_released(), payment_refunded(), shipment_failed()}));

  for (const auto& state : states) {
    for (const auto& event : one_of_each_event()) {
      INFO("a ", status_name(state.status), " order (v", state.version, ") evolved by ", describe(event));
      CHECK_NOTHROW(evolve(state, event));
      CHECK(evolve(state, event).version == state.version + 1);
    }
  }
}

TEST_CASE("no reachable order is cancelled while still charged or holding stock, or delivered without a shipment") {
  for (const auto& s : reachable_states()) {
    INFO("a reachable ", status_name(s.status), " order");
    if (s.status == S::kCancelled) {
      CHECK_FALSE(s.paid);
      CHECK_FALSE(s.reserved);
      CHECK(s.cancel_reason.has_value());
    }
    if (s.status == S::kDelivered || s.status == S::kShipmentInitiated) {
      CHECK(s.shipment_id.has_value());
      CHECK_FALSE(s.reserved);
    }
    if (s.status == S::kCancelling) CHECK(s.cancel_reason.has_value());
  }
}
