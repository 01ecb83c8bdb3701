// The saga end to end in one process: a real event log, the orchestrator and
// the three participants on their own threads. Orders, deposits and restocks
// are appended as the HTTP routes would; the tests wait on conditions over
// the log, never on fixed sleeps.
#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "events/event_log.h"
#include "support/temp_dir.h"
#include "write/domain/order_codec.h"
#include "write/saga/saga_codec.h"
#include "write/saga/saga_runtime.h"
#include "write/domain/service_codec.h"
#include "write/pipeline/wallet_stock_pipelines.h"

using namespace ordersd;
using namespace ordersd::write;
using namespace std::chrono_literals;
using ordersd::test::TempDir;

namespace {

struct Line {
  std::string sku;
  uint32_t quantity;
};

class Saga {
 public:
  explicit Saga(const std::string& dir, SagaPolicy policy = {})
      : policy_(policy), log_(events::EventLog::open(dir).value()) {}
  ~Saga() { stop(); }

  void start(const std::vector<std::string>& paused = {}) {
    auto opened = SagaRuntime::open(*log_, SagaConfig{policy_, default_served_countries()}, turns_);
    REQUIRE(opened);
    runtime_ = std::move(opened).value();
    runtime_->start(paused);
  }
  void stop() { runtime_.reset(); }
  SagaRuntime& runtime() { return *runtime_; }
  StreamTurns& turns() { return turns_; }
  events::EventLog& log() { return *log_; }

  void deposit(const std::string& customer, uint64_t cents) {
    append(wallet_stream(customer), to_new_event(customer, WalletEvent(FundsDeposited{cents, cents}), ids_.next()));
  }
  void restock(const std::string& sku, uint64_t units) {
    append(sku_stream(sku), to_new_event(sku, StockEvent(StockRestocked{units, units}), ids_.next()));
  }
  void place(const std::string& order_id, const std::string& customer, const std::vector<Line>& lines,
             const std::string& country = "NL") {
    OrderPlaced placed{order_id, customer, {}, {country, "Amsterdam", "Dam 1", "1012"}, 0};
    for (const auto& l : lines) {
      placed.items.push_back({l.sku, l.quantity, 1'000});
      placed.total_cents += 1'000ull * l.quantity;
    }
    append(order_stream(order_id), to_new_event(order_id, OrderEvent(placed), ids_.next()));
  }
  void cancel(const std::string& order_id) {
    append(order_stream(order_id),
           to_new_event(order_id, OrderEvent(CancellationRequested{"customer_cancelled"}), ids_.next()));
  }

  std::vector<events::RecordedEvent> read(const std::string& stream) {
    return log_->read_stream(stream, 1, 1000).value();
  }
  std::vector<std::string> types(const std::string& stream) {
    std::vector<std::string> out;
    for (const auto& e : read(stream)) out.emplace_back(e.type());
    return out;
  }
  std::vector<SagaEvent> saga_events(const std::string& order_id) {
    std::vector<SagaEvent> out;
    for (const auto& e : read(saga_stream(order_id))) {
      out.push_back(saga_event_from(e).value());
    }
    return out;
  }
  OrderState order(const std::string& order_id) {
    OrderState s;
    for (const auto& e : read(order_stream(order_id))) {
      s = evolve(std::move(s), order_event_from(e).value());
    }
    return s;
  }
  SagaState saga(const std::string& order_id) { return SagaOrchestrator::load(*log_, order_id).value(); }
  WalletState wallet(const std::string& customer) {
    WalletState s;
    for (const auto& e : read(wallet_stream(customer))) {
      s = evolve(std::move(s), wallet_event_from(e).value());
    }
    return s;
  }
  StockState stock(const std::string& sku) {
    StockState s;
    for (const auto& e : read(sku_stream(sku))) {
      s = evolve(std::move(s), stock_event_from(e).value());
    }
    return s;
  }

  // Waits until `done` holds, re-checking whenever the log moves (and at
  // least every 20 ms, for deadlines that move nothing).
  bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() > until) return false;
      log_->wait_for(log_->head() + 1, std::min(until, std::chrono::steady_clock::now() + 20ms));
    }
    return true;
  }
  bool finished(const std::string& order_id) {
    return eventually([&] {
      auto status = order(order_id).status;
      return status == OrderStatus::kShipmentInitiated || status == OrderStatus::kCancelled;
    });
  }

 private:
  void append(const std::string& stream, events::NewEvent event) {
    REQUIRE(log_->append(stream, events::ExpectedVersion::any(), {std::move(event)}));
  }

  SagaPolicy policy_;
  std::unique_ptr<events::EventLog> log_;
  StreamTurns turns_;
  std::unique_ptr<SagaRuntime> runtime_;
  RandomUuidGenerator ids_;
};

using Types = std::vector<std::string>;

std::vector<StepRequested> requests(const std::vector<SagaEvent>& events, SagaStep step) {
  std::vector<StepRequested> out;
  for (const auto& e : events) {
    if (auto* r = std::get_if<StepRequested>(&e); r && r->step == step) out.push_back(*r);
  }
  return out;
}

}  // namespace

TEST_CASE("an order with the money, the stock and a served country ships, and its stream tells the whole story") {
  TempDir dir;
  Saga saga(dir.path());
  saga.deposit("alice", 10'000);
  saga.restock("mug", 5);
  saga.start();
  saga.place("o-1", "alice", {{"mug", 2}});
  REQUIRE(saga.finished("o-1"));
  // The saga ends once the inventory answers its stock_ship.
  REQUIRE(saga.eventually([&] { return saga.saga("o-1").phase == SagaState::Phase::kShipped; }));

  CHECK(saga.types("order-o-1") ==
        Types{"order.placed.v1", "payment.processed.v1", "inventory.reserved.v1", "shipment.initiated.v1"});
  CHECK(saga.types("saga-o-1") == Types{"saga.charge_requested.v1", "saga.reservation_requested.v1",
                                        "saga.shipment_requested.v1", "saga.stock_ship_requested.v1",
                                        "saga.completed.v1"});
  CHECK(saga.types("reservation-o-1") == Types{"inventory.reserved.v1", "inventory.shipped.v1"});
  CHECK(saga.order("o-1").shipment_id == "shp-o-1");
  CHECK(saga.wallet("alice").balance_cents == 8'000);
  REQUIRE(saga.eventually([&] { return saga.stock("mug").shipped == 2; }));
  StockState mug = saga.stock("mug");
  CHECK(mug.available == 3);
  CHECK(mug.reserved == 0);
  CHECK(saga.saga("o-1").phase == SagaState::Phase::kShipped);
}

TEST_CASE("each failure cancels the order with its reason after undoing, newest first, what was done") {
  TempDir dir;
  Saga saga(dir.path());
  saga.deposit("alice", 100'000);
  saga.deposit("bob", 500);
  saga.restock("mug", 3);
  saga.start();
  saga.place("declined", "bob", {{"mug", 1}});
  saga.place("short", "alice", {{"mug", 4}});
  saga.place("far", "alice", {{"mug", 1}}, "BR");
  for (const char* o : {"declined", "short", "far"}) REQUIRE(saga.finished(o));

  CHECK(saga.types("order-declined") ==
        Types{"order.placed.v1", "payment.declined.v1", "order.cancelled.v1"});
  CHECK(saga.order("declined").cancel_reason == "payment_declined");
  CHECK(saga.types("order-short") == Types{"order.placed.v1", "payment.processed.v1",
                                           "inventory.reservation_failed.v1", "payment.refunded.v1",
                                           "order.cancelled.v1"});
  CHECK(saga.order("short").cancel_reason == "out_of_stock");
  CHECK(saga.types("order-far") == Types{"order.placed.v1", "payment.processed.v1", "inventory.reserved.v1",
                                         "shipment.failed.v1", "inventory.released.v1", "payment.refunded.v1",
                                         "order.cancelled.v1"});
  CHECK(saga.order("far").cancel_reason == "shipping_unavailable");

  // Everything came back.
  CHECK(saga.wallet("alice").balance_cents == 100'000);
  CHECK(saga.wallet("bob").balance_cents == 500);
  StockState mug = saga.stock("mug");
  CHECK(mug.available == 3);
  CHECK(mug.reserved == 0);
  CHECK(mug.shipped == 0);
}

TEST_CASE("orders racing for the last units: each reservation takes every line or none") {
  TempDir dir;
  Saga saga(dir.path());
  saga.deposit("alice", 1'000'000);
  saga.restock("cup", 3);
  saga.restock("lid", 1);
  saga.place("first", "alice", {{"cup", 2}, {"lid", 1}});
  saga.place("second", "alice", {{"cup", 2}});
  saga.place("third", "alice", {{"cup", 1}, {"lid", 1}});
  saga.start();
  for (const char* o : {"first", "second", "third"}) REQUIRE(saga.finished(o));

  CHECK(saga.order("first").status == OrderStatus::kShipmentInitiated);
  CHECK(saga.order("second").cancel_reason == "out_of_stock");
  CHECK(saga.order("third").cancel_reason == "out_of_stock");
  // The third order's cup was available, yet not taken: lid was short.
  auto third = saga.log().read_stream("reservation-third", 1, 10).value();
  REQUIRE(third.size() == 1);
  auto failed = std::get<InventoryReservationFailed>(order_event_from(third[0]).value());
  CHECK(failed.sku == "lid");
  CHECK(failed.requested == 1);
  CHECK(failed.available == 0);
  REQUIRE(saga.eventually([&] { return saga.stock("cup").shipped == 2; }));
  CHECK(saga.stock("cup").available == 1);
  CHECK(saga.stock("lid").shipped == 1);
  CHECK(saga.wallet("alice").balance_cents == 1'000'000 - 3'000);
}

TEST_CASE("a customer's cancel during a step waits for the step's answer, then undoes everything done") {
  TempDir dir;
  Saga saga(dir.path());
  saga.deposit("alice", 10'000);
  saga.restock("mug", 5);
  saga.start({"inventory"});
  saga.place("o-1", "alice", {{"mug", 1}});
  REQUIRE(saga.eventually([&] { return saga.saga("o-1").pending == SagaStep::kReserve; }));
  saga.cancel("o-1");
  REQUIRE(saga.eventually([&] { return saga.saga("o-1").cancel_noted.has_value(); }));
  // Noted, and nothing undone while the reservation has not answered.
  CHECK(saga.saga("o-1").pending == SagaStep::kReserve);
  CHECK(saga.wallet("alice").balance_cents == 9'000);

  saga.runtime().find("inventory")->resume();
  REQUIRE(saga.finished("o-1"));
  CHECK(saga.types("order-o-1") == Types{"order.placed.v1", "payment.processed.v1",
                                         "order.cancellation_requested.v1", "inventory.reserved.v1",
                                         "inventory.released.v1", "payment.refunded.v1", "order.cancelled.v1"});
  CHECK(saga.order("o-1").cancel_reason == "customer_cancelled");
  CHECK(saga.wallet("alice").balance_cents == 10'000);
  CHECK(saga.stock("mug").available == 5);
}

TEST_CASE("a step that does not answer is requested again with a doubled deadline, then voided as step_timeout") {
  TempDir dir;
  SagaPolicy policy{30'000, 3};  // 30 ms, 3 attempts
  Saga saga(dir.path(), policy);
  saga.deposit("alice", 10'000);
  saga.restock("mug", 5);
  saga.start({"payment"});
  saga.place("o-1", "alice", {{"mug", 1}});

  // Three charges, then three refunds (the void), then parked.
  REQUIRE(saga.eventually([&] { return saga.saga("o-1").phase == SagaState::Phase::kStuck; }));
  auto events = saga.saga_events("o-1");
  auto charges = requests(events, SagaStep::kCharge);
  auto refunds = requests(events, SagaStep::kRefund);
  REQUIRE(charges.size() == 3);
  REQUIRE(refunds.size() == 3);
  for (uint32_t i = 0; i < 3; ++i) {
    CHECK(charges[i].attempt == i + 1);
    CHECK(refunds[i].attempt == i + 1);
    CHECK(refunds[i].cancel_reason == "step_timeout");
  }
  // Each retry is decided once the previous deadline passed, so the deadlines
  // are at least the doubled timeout apart.
  CHECK(charges[1].deadline_us - charges[0].deadline_us >= 60'000);
  CHECK(charges[2].deadline_us - charges[1].deadline_us >= 120'000);
  CHECK(std::holds_alternative<SagaParked>(events.back()));
  CHECK(saga.types("order-o-1") == Types{"order.placed.v1", "order.cancellation_requested.v1"});
  CHECK(saga.order("o-1").cancel_reason == "step_timeout");
  SagaStats stats = saga.runtime().orchestrator().stats();
  CHECK(stats.retries == 4);
  CHECK(stats.timeouts == 1);
  CHECK(stats.stuck == 1);
  CHECK(saga.log().get(kSagaStuckSpace, "o-1").value() == std::optional<std::string>("refund"));

  // The payment service comes back: it charges (the first request), ignores
  // the repeats, then refunds; the parked saga takes the answer and ends.
  saga.runtime().find("payment")->resume();
  REQUIRE(saga.finished("o-1"));
  CHECK(saga.types("order-o-1") == Types{"order.placed.v1", "order.cancellation_requested.v1",
                                         "payment.processed.v1", "payment.refunded.v1", "order.cancelled.v1"});
  CHECK(saga.order("o-1").cancel_reason == "step_timeout");
  CHECK(saga.wallet("alice").balance_cents == 10'000);
  CHECK(saga.runtime().orchestrator().stats().stuck == 0);
  CHECK(saga.log().get(kSagaStuckSpace, "o-1").value() == std::nullopt);
}

TEST_CASE("a stuck saga is retried only when an operator asks") {
  TempDir dir;
  Saga saga(dir.path(), SagaPolicy{20'000, 1});
  saga.deposit("alice", 10'000);
  saga.restock("mug", 5);
  saga.start({"payment"});
  saga.place("o-1", "alice", {{"mug", 1}});
  REQUIRE(saga.eventually([&] { return saga.saga("o-1").phase == SagaState::Phase::kStuck; }));
  size_t parked_at = saga.saga_events("o-1").size();
  // Parked means parked: the deadline of the last attempt passed and nothing follows it.
  uint64_t head = saga.log().head();
  saga.log().wait_for(head + 1, std::chrono::steady_clock::now() + 100ms);
  CHECK(saga.saga_events("o-1").size() == parked_at);

  REQUIRE(saga.log().append(operator_stream("o-1"), events::ExpectedVersion::any(),
                            {retry_request_event("o-1", uuid_from_name("retry-1"))}));
  REQUIRE(saga.eventually([&] { return saga.saga_events("o-1").size() > parked_at; }));
  auto events = saga.saga_events("o-1");
  auto again = std::get<StepRequested>(events[parked_at]);
  CHECK(again.step == SagaStep::kRefund);
  CHECK(again.attempt == 1);
  // Still no answer: it parks again, and again waits for an operator.
  REQUIRE(saga.eventually([&] { return saga.saga("o-1").phase == SagaState::Phase::kStuck; }));
  CHECK(saga.runtime().orchestrator().stats().parked == 2);
}

TEST_CASE("step deadlines survive a restart") {
  TempDir dir;
  SagaPolicy policy{300'000, 2};
  std::vector<StepRequested> before;
  {
    Saga saga(dir.path(), policy);
    saga.deposit("alice", 10'000);
    saga.restock("mug", 5);
    saga.start({"payment"});
    saga.place("o-1", "alice", {{"mug", 1}});
    REQUIRE(saga.eventually([&] { return saga.saga("o-1").pending == SagaStep::kCharge; }));
    before = requests(saga.saga_events("o-1"), SagaStep::kCharge);
  }  // stopped before the deadline
  REQUIRE(before.size() == 1);
  Saga saga(dir.path(), policy);
  saga.start({"payment"});
  REQUIRE(saga.eventually([&] { return requests(saga.saga_events("o-1"), SagaStep::kCharge).size() == 2; }));
  auto after = requests(saga.saga_events("o-1"), SagaStep::kCharge);
  CHECK(after[1].attempt == 2);
  CHECK(after[1].deadline_us - before[0].deadline_us >= 600'000);
  saga.runtime().find("payment")->resume();
  REQUIRE(saga.finished("o-1"));
  CHECK(saga.order("o-1").status == OrderStatus::kShipmentInitiated);
  CHECK(saga.wallet("alice").balance_cents == 9'000);
}

TEST_CASE("a saga restarted mid-way resumes where it was and answers nothing twice") {
  TempDir dir;
  {
    Saga saga(dir.path());
    saga.deposit("alice", 100'000);
    saga.restock("mug", 100);
    saga.start({"shipping"});
    for (int i = 0; i < 20; ++i) saga.place("o-" + std::to_string(i), "alice", {{"mug", 1}});
    REQUIRE(saga.eventually([&] {
      for (int i = 0; i < 20; ++i) {
        if (saga.saga("o-" + std::to_string(i)).pending != SagaStep::kShip) return false;
      }
      return true;
    }));
  }
  Saga saga(dir.path());
  saga.start();
  for (int i = 0; i < 20; ++i) REQUIRE(saga.finished("o-" + std::to_string(i)));
  for (int i = 0; i < 20; ++i) {
    std::string o = "o-" + std::to_string(i);
    CHECK(saga.types("order-" + o) ==
          Types{"order.placed.v1", "payment.processed.v1", "inventory.reserved.v1", "shipment.initiated.v1"});
  }
  CHECK(saga.wallet("alice").balance_cents == 100'000 - 20 * 1'000);
  REQUIRE(saga.eventually([&] { return saga.stock("mug").shipped == 20; }));
  CHECK(saga.stock("mug").available == 80);
}
