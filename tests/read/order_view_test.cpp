// The order view's projection as a specification: given an order's events,
// then its row (and its list index entries).
#include "read/order_view.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "events/envelope.h"
#include "events/event_json.h"
#include "events/event_log.h"
#include "support/space_rows.h"
#include "support/temp_dir.h"
#include "write/domain/order_codec.h"

using namespace ordersd;
using namespace ordersd::read;
using ordersd::test::TempDir;
namespace w = ordersd::write;

namespace {

// An order's stream, as the log would hand it to the projector: versions
// from 1, positions from `first_position` stepping by 10, times 1 s apart.
class Stream {
 public:
  explicit Stream(std::string order_id, uint64_t first_position = 100)
      : order_id_(std::move(order_id)), position_(first_position) {}

  events::RecordedEvent next(const w::OrderEvent& event) { return at(++version_, event); }
  events::RecordedEvent at(uint64_t version, const w::OrderEvent& event) {
    events::NewEvent e = w::to_new_event(order_id_, event, uuid_from_name(order_id_ + std::to_string(version)));
    std::string stream = "order-" + order_id_;
    uint64_t position = position_;
    position_ += 10;
    return events::RecordedEvent(events::encode_envelope(
        {position, stream, version, e.id, e.type, 1'800'000'000'000'000 + int64_t(position) * 1'000'000,
         e.correlation_id, e.causation_id, e.payload}));
  }

 private:
  std::string order_id_;
  uint64_t position_;
  uint64_t version_ = 0;
};

w::OrderPlaced placed(const std::string& order_id = "o-1") {
  return {order_id, "ann", {{"mug", 2, 1'250}, {"lid", 1, 300}}, {"NL", "Utrecht", "Oudegracht 1", "3511"}, 2'800};
}

// Folds `events` into a fresh row; every one must apply.
OrderRow given(Stream& stream, const std::vector<w::OrderEvent>& events) {
  OrderRow row;
  for (const auto& e : events) REQUIRE(apply(row, stream.next(e)));
  return row;
}

std::vector<std::string> statuses(const OrderRow& row) {
  std::vector<std::string> out;
  for (const auto& c : row.history) out.push_back(c.status);
  return out;
}

using Statuses = std::vector<std::string>;

// The row as nlohmann::json writes it: the reference for the fast writer.
std::string reference_json(const OrderRow& row) {
  using nlohmann::ordered_json;
  ordered_json j;
  j["order_id"] = row.order_id;
  j["customer_id"] = row.customer_id;
  j["status"] = row.status;
  j["items"] = ordered_json::array();
  for (const auto& i : row.items) {
    j["items"].push_back({{"sku", i.sku}, {"quantity", i.quantity}, {"unit_price_cents", i.unit_price_cents}});
  }
  j["total_cents"] = row.total_cents;
  j["shipping_address"] = {{"country", row.country}, {"city", row.city}};
  ordered_json payment = {{"status", row.payment.status}, {"amount_cents", row.payment.amount_cents}};
  if (!row.payment.reason.empty()) payment["reason"] = row.payment.reason;
  j["payment"] = row.payment.status.empty() ? ordered_json(nullptr) : payment;
  ordered_json reservation = {{"status", row.reservation.status}, {"lines", ordered_json::array()}};
  for (const auto& l : row.reservation.lines) reservation["lines"].push_back({{"sku", l.sku}, {"quantity", l.quantity}});
  if (!row.reservation.reason.empty()) reservation["reason"] = row.reservation.reason;
  if (!row.reservation.sku.empty()) reservation["sku"] = row.reservation.sku;
  j["reservation"] = row.reservation.status.empty() ? ordered_json(nullptr) : reservation;
  ordered_json shipment = {{"status", row.shipment.status}, {"country", row.shipment.country}};
  if (!row.shipment.shipment_id.empty()) shipment["shipment_id"] = row.shipment.shipment_id;
  if (!row.shipment.reason.empty()) shipment["reason"] = row.shipment.reason;
  j["shipment"] = row.shipment.status.empty() ? ordered_json(nullptr) : shipment;
  j["cancel_reason"] = row.cancel_reason.empty() ? ordered_json(nullptr) : ordered_json(row.cancel_reason);
  j["history"] = ordered_json::array();
  for (const auto& c : row.history) {
    j["history"].push_back({{"status", c.status}, {"time", events::format_time_us(c.time_us)}, {"position", c.position}});
  }
  j["version"] = row.version;
  j["placed_position"] = row.placed_position;
  j["position"] = row.position;
  return j.dump();
}


}  // namespace

TEST_CASE("a placed order's row holds its customer, items, total and address, in status placed at version 1") {
  Stream s("o-1");
  OrderRow row = given(s, {placed()});
  CHECK(row.order_id == "o-1");
  CHECK(row.customer_id == "ann");
  CHECK(row.status == "placed");
  CHECK(row.items == std::vector<OrderRow::Item>{{"mug", 2, 1'250}, {"lid", 1, 300}});
  CHECK(row.total_cents == 2'800);
  CHECK(row.country == "NL");
  CHECK(row.city == "Utrecht");
  CHECK(row.payment.status.empty());
  CHECK(row.version == 1);
  CHECK(row.placed_position == 100);
  CHECK(row.position == 100);
  REQUIRE(row.history.size() == 1);
  CHECK(row.history[0] == OrderRow::Change{"placed", 100, 1'800'000'000'000'000 + 100 * 1'000'000});
}

TEST_CASE("an order that ships and is delivered moves through every status, each in its history once") {
  Stream s("o-1");
  OrderRow row = given(s, {placed(), w::PaymentProcessed{2'800}, w::InventoryReserved{{{"lid", 1}, {"mug", 2}}},
                           w::ShipmentInitiated{"shp-o-1", "NL"}, w::OrderDelivered{}});
  CHECK(statuses(row) ==
        Statuses{"placed", "payment_processed", "inventory_reserved", "shipment_initiated", "delivered"});
  CHECK(row.payment == OrderRow::Payment{"charged", 2'800, ""});
  CHECK(row.reservation.status == "reserved");
  CHECK(row.reservation.lines == std::vector<OrderRow::Line>{{"lid", 1}, {"mug", 2}});
  CHECK(row.shipment == OrderRow::Shipment{"initiated", "shp-o-1", "NL", ""});
  CHECK(row.cancel_reason.empty());
  CHECK(row.history[3].position == 130);
  CHECK(row.version == 5);
}

TEST_CASE("a declined payment cancels the order as payment_declined") {
  Stream s("o-1");
  OrderRow row = given(s, {placed(), w::PaymentDeclined{2'800, "insufficient_funds"}, w::OrderCancelled{"payment_declined"}});
  CHECK(statuses(row) == Statuses{"placed", "cancelling", "cancelled"});
  CHECK(row.payment == OrderRow::Payment{"declined", 2'800, "insufficient_funds"});
  CHECK(row.cancel_reason == "payment_declined");
}

TEST_CASE("a failed reservation is undone by a refund and ends out_of_stock, naming the sku short") {
  Stream s("o-1");
  OrderRow row = given(s, {placed(), w::PaymentProcessed{2'800}, w::InventoryReservationFailed{"mug", 2, 1, "out_of_stock"},
                           w::PaymentRefunded{2'800}, w::OrderCancelled{"out_of_stock"}});
  CHECK(statuses(row) == Statuses{"placed", "payment_processed", "cancelling", "cancelled"});
  CHECK(row.payment.status == "refunded");
  CHECK(row.reservation.status == "failed");
  CHECK(row.reservation.sku == "mug");
  CHECK(row.cancel_reason == "out_of_stock");
}

TEST_CASE("a failed shipment is undone by a release and a refund and ends shipping_unavailable") {
  Stream s("o-1");
  OrderRow row = given(s, {placed(), w::PaymentProcessed{2'800}, w::InventoryReserved{{{"mug", 2}}},
                           w::ShipmentFailed{"BR", "shipping_unavailable"}, w::InventoryReleased{{{"mug", 2}}},
                           w::PaymentRefunded{2'800}, w::OrderCancelled{"shipping_unavailable"}});
  CHECK(statuses(row) == Statuses{"placed", "payment_processed", "inventory_reserved", "cancelling", "cancelled"});
  CHECK(row.shipment == OrderRow::Shipment{"failed", "", "BR", "shipping_unavailable"});
  CHECK(row.reservation.status == "released");
  CHECK(row.cancel_reason == "shipping_unavailable");
}

TEST_CASE("a customer's cancel during a step: outcomes arriving while cancelling move no status") {
  Stream s("o-1");
  OrderRow row = given(s, {placed(), w::PaymentProcessed{2'800}, w::CancellationRequested{"customer_cancelled"},
                           w::InventoryReserved{{{"mug", 2}}}});
  CHECK(row.status == "cancelling");
  CHECK(row.reservation.status == "reserved");
  CHECK(row.cancel_reason == "customer_cancelled");
}

TEST_CASE("a shipment that succeeds while cancelling wins: shipment_initiated, no cancel reason") {
  Stream s("o-1");
  OrderRow row = given(s, {placed(), w::PaymentProcessed{2'800}, w::InventoryReserved{{{"mug", 2}}},
                           w::CancellationRequested{"customer_cancelled"}, w::ShipmentInitiated{"shp-o-1", "NL"}});
  CHECK(statuses(row) ==
        Statuses{"placed", "payment_processed", "inventory_reserved", "cancelling", "shipment_initiated"});
  CHECK(row.cancel_reason.empty());
}

TEST_CASE("an event the view cannot take next is refused, naming its position, and the row is unchanged") {
  SUBCASE("an outcome before the order was placed") {
    Stream s("o-1");
    OrderRow row;
    Status st = apply(row, s.next(w::PaymentProcessed{1}));
    CHECK(st.code() == Status::Code::kCorruption);
    CHECK(st.message().find("position 100") != std::string::npos);
    CHECK(row == OrderRow{});
  }
  SUBCASE("a version that skips one") {
    Stream s("o-1");
    OrderRow row = given(s, {placed()});
    OrderRow before = row;
    Status st = apply(row, s.at(3, w::PaymentProcessed{1}));
    CHECK(st.code() == Status::Code::kCorruption);
    CHECK(row == before);
  }
  SUBCASE("an order placed twice") {
    Stream s("o-1");
    OrderRow row = given(s, {placed()});
    CHECK(apply(row, s.next(placed())).code() == Status::Code::kCorruption);
  }
}

TEST_CASE("the row's JSON is exactly what nlohmann writes for it, escapes and all") {
  Stream s("o-1");
  w::OrderPlaced odd = placed();
  odd.shipping_address.city = "Z\u00fcrich \"centre\"\\\n\t\x01";
  OrderRow row = given(s, {odd, w::PaymentProcessed{2'800}, w::InventoryReserved{{{"mug", 2}}},
                           w::ShipmentFailed{"BR", "shipping_unavailable"}, w::InventoryReleased{{{"mug", 2}}},
                           w::CancellationRequested{"x"}});
  CHECK(to_json(row) == reference_json(row));
  CHECK(to_json(OrderRow{}) == reference_json(OrderRow{}));
}

TEST_CASE("a row survives its JSON form unchanged") {
  Stream s("o-1");
  OrderRow row = given(s, {placed(), w::PaymentProcessed{2'800}, w::InventoryReserved{{{"mug", 2}}},
                           w::ShipmentFailed{"BR", "shipping_unavailable"}});
  auto back = order_row_from_json(to_json(row));
  REQUIRE(back);
  CHECK(*back == row);
  CHECK(order_row_from_json("{\"order_id\": 1}").status().code() == Status::Code::kCorruption);
}

TEST_CASE("a row stored with time_us beside each time still reads, and is answered without it") {
  Stream s("o-1");
  OrderRow row = given(s, {placed(), w::PaymentProcessed{2'800}});
  std::string now = to_json(row);
  CHECK(now.find("time_us") == std::string::npos);
  CHECK(order_answer(now) == now);
  // The history as rows were written before: position, time, time_us.
  auto old = nlohmann::ordered_json::parse(now);
  for (auto& c : old["history"]) {
    int64_t us = *events::parse_time_us(c["time"].get<std::string>());
    nlohmann::ordered_json before = {{"status", c["status"]}, {"position", c["position"]}, {"time", c["time"]},
                                     {"time_us", us}};
    c = before;
  }
  auto back = order_row_from_json(old.dump());
  REQUIRE(back);
  CHECK(*back == row);
  CHECK(order_answer(old.dump()) == now);
  // A time_us that disagrees with time: time_us, as stored, is what the row held.
  old["history"][0]["time_us"] = 1;
  CHECK(order_row_from_json(old.dump())->history[0].time_us == 1);
  // Neither, or a time that is not RFC 3339: damaged.
  old["history"][0].erase("time_us");
  old["history"][0]["time"] = "yesterday";
  CHECK(order_row_from_json(old.dump()).status().code() == Status::Code::kCorruption);
}

TEST_CASE("the projection keeps one row per order and moves it between status indexes as its status changes") {
  TempDir dir;
  auto log = events::EventLog::open(dir.path()).value();
  Stream s("o-1", 7);
  std::string rank = order_rank(7);
  CHECK(rank == "fffffffffffffff8");
  CHECK(order_rank(8) < order_rank(7));  // newer first

  ViewBatch view(*log, kOrderViewSpace);
  REQUIRE(project_order(s.next(placed()), view));
  CHECK(view.get("t/" + rank + "/o-1").value() == std::optional<std::string>(""));
  CHECK(view.get("c/ann/" + rank + "/o-1").value() == std::optional<std::string>(""));
  CHECK(view.get("s/placed/" + rank + "/o-1").value() == std::optional<std::string>(""));
  REQUIRE(project_order(s.next(w::PaymentProcessed{2'800}), view));
  CHECK(view.get("s/placed/" + rank + "/o-1").value() == std::nullopt);
  CHECK(view.get("s/payment_processed/" + rank + "/o-1").value() == std::optional<std::string>(""));
  auto row = order_row_from_json(view.get(order_row_key("o-1")).value().value());
  REQUIRE(row);
  CHECK(row->status == "payment_processed");
  CHECK(row->version == 2);

  // Events of other streams are not the order view's: nothing is written.
  ViewBatch other(*log, kOrderViewSpace);
  events::NewEvent e = w::to_new_event("o-9", w::OrderEvent(placed("o-9")), uuid_from_name("x"));
  events::RecordedEvent in_wallet(events::encode_envelope(
      {50, "wallet-ann", 1, e.id, e.type, 0, e.correlation_id, e.causation_id, e.payload}));
  REQUIRE(project_order(in_wallet, other));
  CHECK(other.take_writes().empty());
}

TEST_CASE("the projection writes the order's row whatever the environment says") {
  // A production projection depends on event data only; it once wrote empty
  // rows when EMPTY was set, for a benchmark.
  ::setenv("EMPTY", "1", 1);
  TempDir dir;
  auto log = events::EventLog::open(dir.path()).value();
  Stream s("o-1", 7);
  ViewBatch view(*log, kOrderViewSpace);
  REQUIRE(project_order(s.next(placed()), view));
  ::unsetenv("EMPTY");
  auto stored = view.get(order_row_key("o-1")).value();
  REQUIRE(stored);
  CHECK(order_row_from_json(*stored));
}

TEST_CASE("a projection that keeps its rows between batches writes what a fresh one per event writes") {
  // Three orders whose events interleave across batches of every size from 1 to 5.
  Stream a("o-a", 1), b("o-b", 2), c("o-c", 3);
  std::vector<events::RecordedEvent> events = {
      a.next(placed("o-a")), b.next(placed("o-b")), a.next(w::PaymentProcessed{2'800}),
      c.next(placed("o-c")), b.next(w::PaymentDeclined{2'800, "insufficient_funds"}),
      a.next(w::InventoryReserved{{{"mug", 2}, {"lid", 1}}}), b.next(w::OrderCancelled{"payment_declined"}),
      c.next(w::CancellationRequested{"customer_cancelled"}), a.next(w::ShipmentInitiated{"shp-1", "NL"}),
      c.next(w::OrderCancelled{"customer_cancelled"}), a.next(w::OrderDelivered{})};
  TempDir one_dir;
  auto one_by_one = events::EventLog::open(one_dir.path()).value();
  for (const auto& e : events) {
    ViewBatch view(*one_by_one, kOrderViewSpace);
    REQUIRE(project_order(e, view));
    REQUIRE(one_by_one->write(view.take_writes()));
  }
  for (size_t size = 1; size <= 5; ++size) {
    CAPTURE(size);
    TempDir dir;
    auto log = events::EventLog::open(dir.path()).value();
    Projector::Apply projection = order_projection();
    for (size_t at = 0; at < events.size(); at += size) {
      std::vector<events::RecordedEvent> batch(events.begin() + at, events.begin() + std::min(at + size, events.size()));
      ViewBatch view(*log, kOrderViewSpace);
      REQUIRE(projection(batch, view));
      REQUIRE(log->write(view.take_writes()));
    }
    CHECK(test::space_rows(*log, kOrderViewSpace) == test::space_rows(*one_by_one, kOrderViewSpace));
  }
}

TEST_CASE("a refused batch leaves nothing of itself in the projection's memory") {
  TempDir dir;
  auto log = events::EventLog::open(dir.path()).value();
  Projector::Apply projection = order_projection();
  Stream s("o-1");
  auto commit = [&](std::vector<events::RecordedEvent> batch) {
    ViewBatch view(*log, kOrderViewSpace);
    Status st = projection(batch, view);
    if (st) REQUIRE(log->write(view.take_writes()));
    return st;
  };
  REQUIRE(commit({s.next(placed())}));
  events::RecordedEvent paid = s.next(w::PaymentProcessed{2'800});
  events::RecordedEvent gap = s.at(9, w::OrderCancelled{"x"});
  // The payment applies in memory before the gap refuses the batch; nothing is committed.
  CHECK(commit({paid, gap}).code() == Status::Code::kCorruption);
  // The same payment again is the order's next event, not a repeat.
  REQUIRE(commit({paid}));
  auto row = order_row_from_json(log->get(kOrderViewSpace, order_row_key("o-1")).value().value());
  REQUIRE(row);
  CHECK(row->status == "payment_processed");
  CHECK(row->version == 2);
}
