// The customer, inventory and stats views as specifications: given events,
// then rows.
#include "read/summary_views.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "events/envelope.h"
#include "events/event_log.h"
#include "support/space_rows.h"
#include "support/temp_dir.h"
#include "write/domain/order_codec.h"
#include "write/domain/service_codec.h"

using namespace ordersd;
using namespace ordersd::read;
using nlohmann::json;
using ordersd::test::TempDir;
namespace w = ordersd::write;

namespace {

// Hands events, as the log would, to one projection, and reads its rows.
class View {
 public:
  View(Status (*project)(const std::vector<events::RecordedEvent>&, ViewBatch&), std::string space)
      : project_(project), space_(std::move(space)), log_(events::EventLog::open(dir_.path()).value()) {}

  void given(const std::string& stream, const events::NewEvent& e) {
    uint64_t version = ++versions_[stream];
    events::RecordedEvent r(events::encode_envelope(
        {++position_, stream, version, e.id, e.type, 0, e.correlation_id, e.causation_id, e.payload}));
    ViewBatch batch(*log_, space_);
    REQUIRE(project_({r}, batch));
    REQUIRE(log_->write(batch.take_writes()));
  }
  void order(const std::string& id, const w::OrderEvent& e) {
    given(w::order_stream(id), w::to_new_event(id, e, uuid_from_name(id + std::to_string(position_))));
  }
  void wallet(const std::string& customer, const w::WalletEvent& e) {
    given(w::wallet_stream(customer), w::to_new_event(customer, e, uuid_from_name(customer + std::to_string(position_))));
  }
  void sku(const std::string& sku, const w::StockEvent& e) {
    given(w::sku_stream(sku), w::to_new_event(sku, e, uuid_from_name(sku + std::to_string(position_))));
  }
  std::optional<json> row(const std::string& key) {
    auto stored = text(key);
    if (!stored) return std::nullopt;
    return json::parse(*stored);
  }
  std::optional<std::string> text(const std::string& key) { return log_->get(space_, key).value(); }

 private:
  Status (*project_)(const std::vector<events::RecordedEvent>&, ViewBatch&);
  std::string space_;
  TempDir dir_;
  std::unique_ptr<events::EventLog> log_;
  std::map<std::string, uint64_t> versions_;
  uint64_t position_ = 0;
};

w::OrderPlaced placed(const std::string& id, const std::string& customer, uint64_t total) {
  return {id, customer, {{"mug", 1, total}}, {"NL", "x", "y", "z"}, total};
}

}  // namespace

TEST_CASE("a customer's row: the balance follows deposits, charges and refunds; spent is charges not refunded") {
  View v(project_customers, kCustomerViewName);
  v.wallet("ann", w::FundsDeposited{10'000, 10'000});
  v.wallet("ann", w::WalletCharged{"o-1", 2'500});
  v.wallet("ann", w::WalletCharged{"o-2", 1'000});
  v.wallet("ann", w::WalletDeclined{"o-3", 50'000, "insufficient_funds"});
  v.wallet("ann", w::WalletRefunded{"o-2", 1'000});
  auto ann = v.row(customer_row_key("ann"));
  REQUIRE(ann);
  CHECK((*ann)["balance_cents"] == 7'500);
  CHECK((*ann)["deposited_cents"] == 10'000);
  CHECK((*ann)["spent_cents"] == 2'500);
  CHECK_FALSE(v.row(customer_row_key("bob")));
}

TEST_CASE("a customer's row counts its orders per status, moving each order as its status changes") {
  View v(project_customers, kCustomerViewName);
  v.order("o-1", placed("o-1", "ann", 100));
  v.order("o-2", placed("o-2", "ann", 100));
  v.order("o-3", placed("o-3", "bob", 100));
  CHECK((*v.row(customer_row_key("ann")))["orders"] == json{{"placed", 2}});
  v.order("o-1", w::PaymentProcessed{100});
  v.order("o-2", w::PaymentDeclined{100, "insufficient_funds"});
  v.order("o-2", w::OrderCancelled{"payment_declined"});
  CHECK((*v.row(customer_row_key("ann")))["orders"] == json{{"cancelled", 1}, {"payment_processed", 1}});
  CHECK((*v.row(customer_row_key("bob")))["orders"] == json{{"placed", 1}});
}

TEST_CASE("a sku's row: restocked, and units moving from available to reserved and on to shipped or back") {
  View v(project_inventory, kInventoryViewName);
  v.sku("mug", w::StockRestocked{10, 10});
  v.sku("mug", w::StockReserved{"o-1", 3});
  v.sku("mug", w::StockReserved{"o-2", 2});
  v.sku("mug", w::StockShipped{"o-1", 3});
  v.sku("mug", w::StockReleased{"o-2", 2});
  v.sku("mug", w::StockRestocked{5, 12});
  auto mug = v.row(stock_row_key("mug"));
  REQUIRE(mug);
  CHECK(*mug == json{{"sku", "mug"}, {"restocked", 15}, {"available", 12}, {"reserved", 0}, {"shipped", 3}});
}

TEST_CASE("stats: orders per status, revenue as charges not refunded, cancellations per reason") {
  View v(project_stats, kStatsViewName);
  v.order("o-1", placed("o-1", "ann", 100));
  v.order("o-2", placed("o-2", "ann", 200));
  v.order("o-3", placed("o-3", "bob", 300));
  v.wallet("ann", w::WalletCharged{"o-1", 100});
  v.order("o-1", w::PaymentProcessed{100});
  v.wallet("ann", w::WalletCharged{"o-2", 200});
  v.order("o-2", w::PaymentProcessed{200});
  v.order("o-2", w::CancellationRequested{"customer_cancelled"});
  v.wallet("ann", w::WalletRefunded{"o-2", 200});
  v.order("o-2", w::PaymentRefunded{200});
  v.order("o-2", w::OrderCancelled{"customer_cancelled"});
  v.order("o-3", w::PaymentDeclined{300, "insufficient_funds"});
  v.order("o-3", w::OrderCancelled{"payment_declined"});
  auto stats = v.row(kStatsRowKey);
  REQUIRE(stats);
  CHECK((*stats)["orders"] == json{{"cancelled", 2}, {"payment_processed", 1}});
  CHECK((*stats)["revenue_cents"] == 100);
  CHECK((*stats)["cancellations"] == json{{"customer_cancelled", 1}, {"payment_declined", 1}});
  // Orders per status in the order of an order's life; reasons by name.
  CHECK(*v.text(kStatsRowKey) ==
        R"({"orders":{"payment_processed":1,"cancelled":2},"revenue_cents":100,"cancellations":{"customer_cancelled":1,"payment_declined":1}})");
}

TEST_CASE("rows are the API's answers in its key order, identity first; rows in the sorted order of before are re-encoded") {
  View customers(project_customers, kCustomerViewName);
  customers.wallet("ann", w::FundsDeposited{500, 500});
  customers.order("o-1", placed("o-1", "ann", 100));
  customers.order("o-2", placed("o-2", "ann", 100));
  customers.order("o-2", w::PaymentDeclined{100, "insufficient_funds"});
  customers.order("o-2", w::OrderCancelled{"payment_declined"});
  std::string ann = *customers.text(customer_row_key("ann"));
  CHECK(ann == R"({"customer_id":"ann","balance_cents":500,"deposited_cents":500,"spent_cents":0,"orders":{"placed":1,"cancelled":1}})");
  CHECK(customer_answer(ann) == ann);
  // As an earlier build stored it.
  CHECK(customer_answer(R"({"balance_cents":500,"customer_id":"ann","deposited_cents":500,"orders":{"cancelled":1,"placed":1},"spent_cents":0})") == ann);

  View stock(project_inventory, kInventoryViewName);
  stock.sku("mug", w::StockRestocked{10, 10});
  stock.sku("mug", w::StockReserved{"o-1", 3});
  std::string mug = *stock.text(stock_row_key("mug"));
  CHECK(mug == R"({"sku":"mug","restocked":10,"available":7,"reserved":3,"shipped":0})");
  CHECK(stock_answer(mug) == mug);
  CHECK(stock_answer(R"({"available":7,"reserved":3,"restocked":10,"shipped":0,"sku":"mug"})") == mug);
  // A damaged row is answered as it is, as before.
  CHECK(stock_answer("{\"available\":") == "{\"available\":");
}

TEST_CASE("an event a sku's row cannot take stops the inventory view, naming the position") {
  TempDir dir;
  auto log = events::EventLog::open(dir.path()).value();
  events::NewEvent e = w::to_new_event("o-1", w::OrderEvent(placed("o-1", "ann", 1)), uuid_from_name("x"));
  events::RecordedEvent odd(
      events::encode_envelope({42, "sku-mug", 1, e.id, e.type, 0, e.correlation_id, e.causation_id, e.payload}));
  ViewBatch batch(*log, kInventoryViewName);
  Status s = project_inventory({odd}, batch);
  CHECK(s.code() == Status::Code::kCorruption);
  CHECK(s.message().find("position 42") != std::string::npos);
}

namespace {

// A log's worth of events of every stream the three views read, interleaved.
std::vector<events::RecordedEvent> mixed_events() {
  std::vector<events::RecordedEvent> out;
  std::map<std::string, uint64_t> versions;
  auto add = [&](const std::string& stream, const events::NewEvent& e) {
    uint64_t position = out.size() + 1;
    out.emplace_back(events::encode_envelope(
        {position, stream, ++versions[stream], e.id, e.type, 0, e.correlation_id, e.causation_id, e.payload}));
  };
  auto id = [&] { return uuid_from_name("e" + std::to_string(out.size())); };
  auto order = [&](const std::string& o, const w::OrderEvent& e) { add(w::order_stream(o), w::to_new_event(o, e, id())); };
  auto wallet = [&](const std::string& c, const w::WalletEvent& e) { add(w::wallet_stream(c), w::to_new_event(c, e, id())); };
  auto sku = [&](const std::string& s, const w::StockEvent& e) { add(w::sku_stream(s), w::to_new_event(s, e, id())); };
  wallet("ann", w::FundsDeposited{1'000, 1'000});
  sku("mug", w::StockRestocked{10, 10});
  order("o-1", placed("o-1", "ann", 100));
  order("o-2", placed("o-2", "ann", 200));
  wallet("ann", w::WalletCharged{"o-1", 100});
  order("o-3", placed("o-3", "bob", 300));
  order("o-1", w::PaymentProcessed{100});
  sku("mug", w::StockReserved{"o-1", 1});
  wallet("ann", w::WalletCharged{"o-2", 200});
  order("o-2", w::PaymentProcessed{200});
  order("o-3", w::PaymentDeclined{300, "insufficient_funds"});
  order("o-2", w::CancellationRequested{"customer_cancelled"});
  sku("mug", w::StockShipped{"o-1", 1});
  wallet("ann", w::WalletRefunded{"o-2", 200});
  order("o-3", w::OrderCancelled{"payment_declined"});
  order("o-2", w::PaymentRefunded{200});
  order("o-2", w::OrderCancelled{"customer_cancelled"});
  return out;
}

}  // namespace

TEST_CASE("each view kept in memory between batches writes what a fresh projection per event writes") {
  struct Case {
    const char* space;
    Status (*per_event)(const std::vector<events::RecordedEvent>&, ViewBatch&);
    Projector::Apply (*kept)();
  };
  std::vector<events::RecordedEvent> events = mixed_events();
  for (const Case& c : {Case{kCustomerViewName, project_customers, customer_projection},
                        Case{kInventoryViewName, project_inventory, inventory_projection},
                        Case{kStatsViewName, project_stats, stats_projection}}) {
    CAPTURE(c.space);
    TempDir one_dir;
    auto one_by_one = events::EventLog::open(one_dir.path()).value();
    for (const auto& e : events) {
      ViewBatch view(*one_by_one, c.space);
      REQUIRE(c.per_event({e}, view));
      REQUIRE(one_by_one->write(view.take_writes()));
    }
    CHECK_FALSE(test::space_rows(*one_by_one, c.space).empty());
    for (size_t size = 2; size <= 6; ++size) {
      CAPTURE(size);
      TempDir dir;
      auto log = events::EventLog::open(dir.path()).value();
      Projector::Apply projection = c.kept();
      for (size_t at = 0; at < events.size(); at += size) {
        std::vector<events::RecordedEvent> batch(events.begin() + at, events.begin() + std::min(at + size, events.size()));
        ViewBatch view(*log, c.space);
        REQUIRE(projection(batch, view));
        REQUIRE(log->write(view.take_writes()));
      }
      CHECK(test::space_rows(*log, c.space) == test::space_rows(*one_by_one, c.space));
    }
  }
}
