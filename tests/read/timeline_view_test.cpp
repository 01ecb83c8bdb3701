// The timeline view as specifications: given events (with the correlation
// ids the server gives them), then the index rows.
#include "read/timeline_view.h"

#include <doctest/doctest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "events/envelope.h"
#include "events/event_log.h"
#include "support/space_rows.h"
#include "support/temp_dir.h"
#include "write/domain/order_codec.h"
#include "write/domain/service_codec.h"
#include "write/saga/saga_codec.h"

using namespace ordersd;
using namespace ordersd::read;
using nlohmann::json;
using ordersd::test::TempDir;
namespace w = ordersd::write;

namespace {

const Uuid kX{0x1111, 1};  // the order's conversation: its placement's correlation id
const Uuid kY{0x2222, 2};  // another command's (a deposit)
const Uuid kZ{0x3333, 3};  // a cancel's own

// Hands events, as the log would, to the projection, and reads its rows.
// By default each event goes through a projection of its own (no memory
// between events: every lookup reads the stored rows); `batch()` gathers
// events for one call of one long-lived projection instead.
class View {
 public:
  View() : log_(events::EventLog::open(dir_.path()).value()) {}

  uint64_t given(const std::string& stream, events::NewEvent e, Uuid correlation = {}) {
    uint64_t version = ++versions_[stream];
    events::RecordedEvent r(events::encode_envelope(
        {++position_, stream, version, e.id, e.type, 0, correlation, e.causation_id, e.payload}));
    if (batching_) {
      pending_.push_back(std::move(r));
    } else {
      ViewBatch batch(*log_, kTimelineViewSpace);
      REQUIRE(project_timeline({r}, batch));
      REQUIRE(log_->write(batch.take_writes()));
    }
    return position_;
  }
  void batch() { batching_ = true; }
  void flush(const Projector::Apply& apply) {
    ViewBatch batch(*log_, kTimelineViewSpace);
    REQUIRE(apply(pending_, batch));
    REQUIRE(log_->write(batch.take_writes()));
    pending_.clear();
    batching_ = false;
  }

  // The positions listed under a prefix ("t/{uuid}/" or "e/{order}/").
  std::vector<uint64_t> listed(const std::string& prefix) {
    std::vector<uint64_t> out;
    for (const auto& [key, value] : rows()) {
      if (key.starts_with(prefix)) {
        CHECK(key.size() == prefix.size() + 8);
        CHECK(value.empty());
        out.push_back(timeline_key_position(key));
      }
    }
    return out;
  }
  size_t count(const std::string& prefix) {
    size_t n = 0;
    for (const auto& [key, value] : rows()) n += key.starts_with(prefix);
    return n;
  }
  std::optional<json> order_row(const std::string& order_id) {
    auto stored = log_->get(kTimelineViewSpace, timeline_order_key(order_id)).value();
    if (!stored) return std::nullopt;
    return json::parse(*stored);
  }
  std::map<std::string, std::string> rows() { return test::space_rows(*log_, kTimelineViewSpace); }

 private:
  TempDir dir_;
  std::unique_ptr<events::EventLog> log_;
  std::map<std::string, uint64_t> versions_;
  uint64_t position_ = 0;
  bool batching_ = false;
  std::vector<events::RecordedEvent> pending_;
};

Uuid id(uint64_t n) { return Uuid{0xabc, n}; }

events::NewEvent placed(const std::string& order, const std::string& customer) {
  return w::to_new_event(order, w::OrderEvent(w::OrderPlaced{order, customer, {{"mug", 1, 1000}}, {"NL", "x", "y", "z"}, 1000}),
                         id(1));
}
events::NewEvent on_order(const std::string& order, w::OrderEvent e, uint64_t n) {
  return w::to_new_event(order, e, id(n));
}
events::NewEvent charge_requested(const std::string& order) {
  return w::to_new_event(order, w::SagaEvent(w::StepRequested{w::SagaStep::kCharge, {order, "ann", 1000, {}, "NL"}, 1, 0, ""}), id(2));
}
events::NewEvent typed(const std::string& type, uint64_t n) { return {id(n), type, "", {}, {}}; }

}  // namespace

TEST_CASE("events of other streams that carry a correlation id are listed under it; the order's own streams are not") {
  View v;
  uint64_t p1 = v.given(w::order_stream("o-1"), placed("o-1", "ann"), kX);
  v.given(w::saga_stream("o-1"), charge_requested("o-1"), kX);
  uint64_t p3 = v.given(w::wallet_stream("ann"), w::to_new_event("ann", w::WalletEvent(w::WalletCharged{"o-1", 1000}), id(3)), kX);
  uint64_t p4 = v.given(w::wallet_stream("bob"), w::to_new_event("bob", w::WalletEvent(w::FundsDeposited{500, 500}), id(4)), kY);
  v.given(w::order_stream("o-1"), on_order("o-1", w::PaymentProcessed{1000}, 5), kX);  // the saga's record
  uint64_t p6 = v.given(w::sku_stream("mug"), w::to_new_event("mug", w::StockEvent(w::StockReserved{"o-1", 1}), id(6)), kX);
  v.given(w::reservation_stream("o-1"), on_order("o-1", w::InventoryReserved{{{"mug", 1}}}, 7), kX);
  v.given(w::shipment_stream("o-1"), on_order("o-1", w::ShipmentInitiated{"shp-1", "NL"}, 8), kX);

  // order-, saga-, reservation- and shipment-o-1 are read by name at query time.
  CHECK(v.listed(timeline_correlation_prefix(kX)) == std::vector<uint64_t>{p3, p6});
  CHECK(v.listed(timeline_correlation_prefix(kY)) == std::vector<uint64_t>{p4});  // the deposit's own conversation
  CHECK(v.count("e/") == 0);
  CHECK(timeline_own_streams("o-1") == std::vector<std::string>{w::order_stream("o-1"), w::saga_stream("o-1"),
                                                                w::reservation_stream("o-1"), w::shipment_stream("o-1")});
  auto row = v.order_row("o-1");
  REQUIRE(row);
  CHECK(*row == json{{"correlation_id", kX.to_string()}, {"customer_id", "ann"}, {"placed_position", p1}});
  CHECK_FALSE(v.order_row("bob"));
  CHECK(v.rows().size() == 4);  // the order row and three list entries, for eight events
}

TEST_CASE("an operator's retry, which carries no correlation id, is listed under the order") {
  View v;
  v.given(w::order_stream("o-1"), placed("o-1", "ann"), kX);
  // The customer's cancel is a command of its own, in the order's own stream.
  v.given(w::order_stream("o-1"), on_order("o-1", w::CancellationRequested{"changed my mind"}, 2), kZ);
  uint64_t retry = v.given(w::operator_stream("o-1"), w::retry_request_event("o-1", id(3)));
  // Other operator- streams are not orders' (an order may be called "component-view-orders").
  uint64_t action = v.given("operator-component-view-orders", typed("operator.component_action.v1", 4), kY);
  v.given("operator-audit:root", typed("operator.action_audited.v1", 5));

  CHECK(v.listed(timeline_order_prefix("o-1")) == std::vector<uint64_t>{retry});
  CHECK(v.count("e/") == 1);  // nothing for an order "component-view-orders"
  CHECK(v.listed(timeline_correlation_prefix(kZ)).empty());  // in the order's own stream
  CHECK(v.listed(timeline_correlation_prefix(kY)) == std::vector<uint64_t>{action});
}

TEST_CASE("with no correlation ids at all, nothing but the order row is written: its own streams make its story") {
  View v;
  v.given(w::order_stream("o-2"), placed("o-2", "ann"));
  v.given(w::saga_stream("o-2"), charge_requested("o-2"));
  v.given(w::wallet_stream("ann"), w::to_new_event("ann", w::WalletEvent(w::WalletCharged{"o-2", 1000}), id(3)));
  v.given(w::order_stream("o-2"), on_order("o-2", w::PaymentProcessed{1000}, 4));
  // The wallet's answer names no order in its stream, and has no conversation: it cannot be linked.
  CHECK(v.rows().size() == 1);
  auto row = v.order_row("o-2");
  REQUIRE(row);
  CHECK((*row)["correlation_id"] == Uuid{}.to_string());
}

TEST_CASE("an answer that lands before the placement it descends from (over the bus) is still in the story") {
  View v;
  uint64_t early = v.given(w::wallet_stream("ann"), w::to_new_event("ann", w::WalletEvent(w::WalletCharged{"o-3", 1000}), id(1)), kX);
  v.given(w::order_stream("o-3"), placed("o-3", "ann"), kX);
  CHECK(v.listed(timeline_correlation_prefix(kX)) == std::vector<uint64_t>{early});
  REQUIRE(v.order_row("o-3"));
}

TEST_CASE("batches of any size write the same rows") {
  auto story = [](View& v) {
    v.given(w::order_stream("a"), placed("a", "ann"), kX);
    v.given(w::wallet_stream("ann"), w::to_new_event("ann", w::WalletEvent(w::WalletCharged{"a", 1000}), id(2)), kX);
    v.given(w::order_stream("b"), placed("b", "bob"), kY);
    v.given(w::order_stream("a"), on_order("a", w::CancellationRequested{"x"}, 4), kZ);
    v.given(w::order_stream("b"), on_order("b", w::PaymentProcessed{1000}, 5), kY);
    v.given(w::operator_stream("a"), w::retry_request_event("a", id(6)));
  };
  View each;
  story(each);
  View batched;
  auto apply = timeline_projection();
  batched.batch();
  story(batched);
  batched.flush(apply);
  CHECK(batched.rows() == each.rows());
  CHECK(each.listed(timeline_order_prefix("a")) == std::vector<uint64_t>{6});
  CHECK(each.listed(timeline_correlation_prefix(kX)) == std::vector<uint64_t>{2});
}
