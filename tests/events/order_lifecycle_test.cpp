// The order's vocabulary (events/order_lifecycle.h) against the two sides that
// use it without including each other:
//
//   the write side's Decider: every status it can reach has a name and back,
//   and evolve moves the status exactly as the vocabulary's table says;
//   the read side's projections: the order view's row (and its status index)
//   and the stats view's status counts name the same status as evolve, for
//   the same events.
//
// The states are every one the Decider reaches from an empty order by
// deciding sample commands, each with the events that brought it there.
#include "events/order_lifecycle.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "events/envelope.h"
#include "events/event_log.h"
#include "read/order_view.h"
#include "read/summary_views.h"
#include "support/decider_steps.h"
#include "support/describe_events.h"
#include "support/temp_dir.h"
#include "write/domain/order.h"
#include "write/domain/order_codec.h"

using namespace ordersd;
using events::EventType;
using events::OrderStatus;
using S = events::OrderStatus;
namespace w = ordersd::write;

namespace {

using Events = std::vector<w::OrderEvent>;

const std::vector<w::OrderLine> kItems = {{"sku-beans", 2, 1'250}, {"sku-filter", 1, 500}};
const w::Address kAddress = {"NL", "Amsterdam", "Keizersgracht 1", "1015CD"};

w::OrderPlaced order_placed() { return {"o-1", "c-1", kItems, kAddress, 3'000}; }
w::PaymentProcessed payment_processed() { return {3'000}; }
w::PaymentDeclined payment_declined() { return {3'000, "card_declined"}; }
w::PaymentRefunded payment_refunded() { return {3'000}; }
w::InventoryReserved inventory_reserved() { return {{{"sku-beans", 2}, {"sku-filter", 1}}}; }
w::InventoryReservationFailed reservation_failed() { return {"sku-beans", 2, 1, "insufficient_stock"}; }
w::InventoryReleased inventory_released() { return {{{"sku-beans", 2}, {"sku-filter", 1}}}; }
w::ShipmentInitiated shipment_initiated() { return {"ship-7", "NL"}; }
w::ShipmentFailed shipment_failed() { return {"NL", "no_carrier"}; }

// One event of each kind of the order's stream, in the variant's order.
Events one_of_each_event() {
  return {order_placed(),      payment_processed(),  payment_declined(),   payment_refunded(),
          inventory_reserved(), reservation_failed(), inventory_released(), shipment_initiated(),
          shipment_failed(),   w::OrderDelivered{},  w::CancellationRequested{"changed_mind"},
          w::OrderCancelled{"customer_cancelled"}};
}

// Commands enough to reach every status by every road.
std::vector<w::OrderCommand> commands() {
  return {w::PlaceOrder{"o-1", "c-1", kItems, kAddress},
          w::CancelOrder{"changed_mind"},
          w::CancelOrder{},
          w::DeliverOrder{},
          w::RecordPayment{payment_processed()},
          w::RecordPaymentDeclined{payment_declined()},
          w::RecordReservation{inventory_reserved()},
          w::RecordReservationFailed{reservation_failed()},
          w::RecordShipment{shipment_initiated()},
          w::RecordShipmentFailed{shipment_failed()},
          w::RecordRefund{payment_refunded()},
          w::RecordRelease{inventory_released()},
          w::CompleteCancellation{""}};
}

// The event's stored type, as the codec writes it: what the read side sees.
EventType type_of(const w::OrderEvent& e) {
  events::NewEvent stored = w::to_new_event("o-1", e, uuid_from_name("type"));
  const events::EventTypeInfo* info = events::find_event_type(stored.type);
  REQUIRE(info);
  return info->type;
}

struct Reached {
  Events history;  // from an empty order
  w::OrderState state;
};

// Every state the Decider reaches from OrderState{} by deciding commands(),
// up to version (which only counts), with a shortest history to it.
const std::vector<Reached>& reachable() {
  static const std::vector<Reached> all = [] {
    auto key = [](w::OrderState s) {
      s.version = 0;
      return s;
    };
    std::vector<Reached> seen;
    std::vector<Reached> frontier = {{{}, w::OrderState{}}};
    while (!frontier.empty()) {
      std::vector<Reached> next;
      for (auto& r : frontier) {
        if (std::any_of(seen.begin(), seen.end(), [&](const Reached& k) { return key(k.state) == key(r.state); })) {
          continue;
        }
        seen.push_back(r);
        for (const auto& c : commands()) {
          w::Decision d = w::decide(r.state, c);
          if (const auto* events = std::get_if<Events>(&d)) {
            Events history = r.history;
            history.insert(history.end(), events->begin(), events->end());
            next.push_back({history, test::fold(r.state, *events)});
          }
        }
      }
      frontier = std::move(next);
    }
    return seen;
  }();
  return all;
}

std::string describe(const Events& events) {
  std::string out = "{";
  for (size_t i = 0; i < events.size(); ++i) out += (i ? ", " : "") + test::describe(events[i]);
  return out + "}";
}

// What the read side makes of `events`, the stream of order `order_id`: the
// order view's row status, whether its status index holds the order under
// that name, and the stats view's orders per status.
struct ReadSide {
  std::string status;
  bool indexed = false;
  nlohmann::json stats_orders;
};

class Projections {
 public:
  Projections() : log_(events::EventLog::open(dir_.path()).value()) {}

  ReadSide project(const std::string& order_id, const Events& events) {
    std::vector<events::RecordedEvent> stream;
    uint64_t version = 0;
    for (const auto& e : events) {
      events::NewEvent n = w::to_new_event(order_id, e, uuid_from_name(order_id + std::to_string(version)));
      ++position_;
      stream.emplace_back(events::encode_envelope({position_, w::order_stream(order_id), ++version, n.id, n.type,
                                                   int64_t(position_), n.correlation_id, n.causation_id, n.payload}));
    }
    ReadSide out;
    read::ViewBatch orders(*log_, read::kOrderViewSpace);  // never committed: each call starts empty
    REQUIRE(read::project_orders(stream, orders));
    auto row = read::order_row_from_json(orders.get(read::order_row_key(order_id)).value().value());
    REQUIRE(row);
    out.status = row->status;
    std::string index = "s/" + row->status + "/" + read::order_rank(row->placed_position) + "/" + order_id;
    out.indexed = orders.get(index).value().has_value();

    read::ViewBatch stats(*log_, read::kStatsViewName);
    REQUIRE(read::project_stats(stream, stats));
    out.stats_orders = nlohmann::json::parse(stats.get(read::kStatsRowKey).value().value()).at("orders");
    return out;
  }

 private:
  test::TempDir dir_;
  std::unique_ptr<events::EventLog> log_;
  uint64_t position_ = 0;
};

}  // namespace

TEST_CASE("every status has its stable name, which parses back; no other name parses") {
  const std::vector<std::string_view> names = {"placed",     "payment_processed", "inventory_reserved",
                                               "shipment_initiated", "delivered", "cancelling", "cancelled"};
  REQUIRE(events::kOrderStatuses.size() == names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    OrderStatus s = events::kOrderStatuses[i];
    CHECK(events::order_status_name(s) == names[i]);
    CHECK(events::parse_order_status(names[i]) == s);
    CHECK(w::status_name(s) == names[i]);  // the Decider's names are the vocabulary's
  }
  CHECK(events::order_status_name(S::kNone) == "none");
  for (std::string_view other : {"none", "", "Placed", "placed ", "paid", "cancel"}) {
    INFO("name \"", other, "\"");
    CHECK_FALSE(events::parse_order_status(other).has_value());
  }
  CHECK(events::order_status_names() ==
        "placed, payment_processed, inventory_reserved, shipment_initiated, delivered, cancelling, cancelled");
}

TEST_CASE("every status the Decider reaches has a name in the vocabulary and back, and it reaches every one") {
  std::set<OrderStatus> reached;
  for (const auto& r : reachable()) reached.insert(r.state.status);
  CHECK(reached.count(S::kNone) == 1);
  reached.erase(S::kNone);
  for (OrderStatus s : reached) {
    INFO("status ", w::status_name(s));
    CHECK(events::parse_order_status(w::status_name(s)) == s);
  }
  CHECK(reached == std::set<OrderStatus>(events::kOrderStatuses.begin(), events::kOrderStatuses.end()));
}

TEST_CASE("each move of the vocabulary is what evolve does to an order in its from-status") {
  Events samples = one_of_each_event();
  size_t checked = 0;
  std::set<EventType> moving;
  for (const auto& move : events::order_status_moves()) {
    moving.insert(move.event);
    auto sample = std::find_if(samples.begin(), samples.end(), [&](const auto& e) { return type_of(e) == move.event; });
    REQUIRE(sample != samples.end());
    bool from_some_state = false;
    for (const auto& r : reachable()) {
      // A move without a from-status is from any status of an order placed.
      bool from = move.from ? r.state.status == *move.from : r.state.status != S::kNone;
      if (!from) continue;
      INFO(events::stored_name(move.event), " on a ", w::status_name(r.state.status), " order");
      CHECK(w::evolve(r.state, *sample).status == move.to);
      from_some_state = true;
      ++checked;
    }
    INFO(events::stored_name(move.event), " from ",
         move.from ? events::order_status_name(*move.from) : std::string_view("any status"));
    CHECK_MESSAGE(from_some_state, "no reachable order is in the move's from-status");
  }
  CHECK(moving.size() == events::order_status_moves().size());  // one row per event
  CHECK(checked > events::order_status_moves().size());
}

TEST_CASE("evolve moves no status the vocabulary does not: every event on every reachable order") {
  for (const auto& r : reachable()) {
    for (const auto& e : one_of_each_event()) {
      EventType type = type_of(e);
      // An order's stream starts with its placement and has one: decide
      // refuses a second, the order view refuses anything else first, and
      // evolve, which never validates, is not asked.
      if ((r.state.status == S::kNone) != (type == EventType::kOrderPlaced)) continue;
      INFO(test::describe(e), " on a ", w::status_name(r.state.status), " order");
      OrderStatus expected = events::next_order_status(r.state.status, type).value_or(r.state.status);
      CHECK(w::evolve(r.state, e).status == expected);
    }
  }
}

TEST_CASE("the read side's projections name the status evolve reaches, for the same events") {
  Projections read_side;
  size_t order = 0;
  for (const auto& r : reachable()) {
    for (const auto& e : one_of_each_event()) {
      if ((r.state.status == S::kNone) != (type_of(e) == EventType::kOrderPlaced)) continue;  // as above
      Events events = r.history;
      events.push_back(e);
      std::string expected(w::status_name(w::evolve(r.state, e).status));
      INFO("events ", describe(events));
      ReadSide seen = read_side.project("o-" + std::to_string(++order), events);
      CHECK(seen.status == expected);
      CHECK(seen.indexed);
      CHECK(seen.stats_orders == nlohmann::json{{expected, 1}});
    }
  }
  CHECK(order > 100);
}

TEST_CASE("the console draws the same moves: src/console/src/lifecycle.js lists each one, and no other") {
  std::ifstream in(std::string(ORDERSD_SOURCE_DIR) + "/src/console/src/lifecycle.js");
  REQUIRE(in);
  // One move per line: ["type", "from" or null, "to"],
  const std::regex move_line(R"re(^\s*\["([a-z_.0-9]+)", (null|"[a-z_]+"), "([a-z_]+)"\],\s*$)re");
  std::set<std::string> drawn;
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, move_line)) drawn.insert(m[1].str() + " " + m[2].str() + " " + m[3].str());
  }
  std::set<std::string> moves;
  for (const auto& move : events::order_status_moves()) {
    std::string from = move.from ? "\"" + std::string(events::order_status_name(*move.from)) + "\"" : "null";
    moves.insert(std::string(events::stored_name(move.event)) + " " + from + " " +
                 std::string(events::order_status_name(move.to)));
  }
  CHECK(drawn == moves);
}
