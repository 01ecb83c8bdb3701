// Bounded state on the write side (docs/bounded-state.md): snapshots make a
// fold of a long stream short and give the same state as a fold from version
// 0; the participants' caches hold at most their capacity; the payment
// service keeps one record per order beside the wallet instead of in it, and
// builds the records of a wallet written before they existed from its stream.
#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <future>
#include <string>
#include <vector>

#include "events/event_log.h"
#include "support/space_rows.h"
#include "support/temp_dir.h"
#include "write/pipeline/aggregate_cache.h"
#include "write/pipeline/fold.h"
#include "write/pipeline/lru_map.h"
#include "write/domain/order_codec.h"
#include "write/domain/payment_records.h"
#include "write/saga/saga_codec.h"
#include "write/saga/saga_runtime.h"
#include "write/domain/service_codec.h"
#include "write/pipeline/wallet_stock_pipelines.h"

using namespace ordersd;
using namespace ordersd::write;
using namespace std::chrono_literals;
using ordersd::test::TempDir;

namespace {

// The wallet Decider without snapshots, counting what it folds: the reference
// a snapshot fold is compared with.
struct PlainWallet {
  using State = WalletState;
  using Event = WalletEvent;
  static inline int evolved = 0;
  static WalletState evolve(WalletState s, const WalletEvent& e) {
    ++evolved;
    return write::evolve(std::move(s), e);
  }
  static Result<WalletEvent> decode(const events::RecordedEvent& r) { return wallet_event_from(r); }
  static uint64_t version(const WalletState& s) { return s.version; }
};
// The same with the wallet's snapshots.
struct CountedWallet : PlainWallet {
  static std::string encode_snapshot(const WalletState& s) { return WalletDecider::encode_snapshot(s); }
  static std::optional<WalletState> decode_snapshot(std::string_view b) { return WalletDecider::decode_snapshot(b); }
};
struct PlainStock {
  using State = StockState;
  using Event = StockEvent;
  static StockState evolve(StockState s, const StockEvent& e) { return write::evolve(std::move(s), e); }
  static Result<StockEvent> decode(const events::RecordedEvent& r) { return stock_event_from(r); }
  static uint64_t version(const StockState& s) { return s.version; }
};
static_assert(Snapshotted<WalletDecider> && Snapshotted<StockDecider> && Snapshotted<CountedWallet>);
static_assert(!Snapshotted<PlainWallet> && !Snapshotted<PlainStock>);

template <typename D>
typename D::State fold_all(const events::EventLog& log, const std::string& stream, uint64_t up_to = UINT64_MAX) {
  typename D::State s{};
  REQUIRE(fold_stream<D>(log, stream, s, up_to));
  return s;
}

// Runs one command through the pipeline and waits for its outcome.
template <typename D>
Outcome<D> run(CommandPipeline<D>& pipeline, const std::string& id, typename D::Command command) {
  std::promise<Outcome<D>> done;
  auto future = done.get_future();
  pipeline.execute(CommandRequest<D>{id, std::move(command), {}, {}, {}, {}},
                   [&done](Outcome<D> outcome) { done.set_value(std::move(outcome)); });
  return future.get();
}

// One batch of a participant: `decide` adds events to the cache for `id`, then
// the batch is appended and committed.
template <typename D>
void batch(events::EventLog& log, AggregateCache<D>& cache, const std::string& id,
           const std::function<std::vector<typename D::Event>(const typename D::State&)>& decide,
           UuidGenerator& ids) {
  cache.begin();
  auto state = cache.get(id);
  REQUIRE(state);
  for (const auto& e : decide(**state)) cache.add(id, e, to_new_event(id, e, ids.next()));
  events::AppendRequest request;
  cache.append_to(request);
  REQUIRE(log.append(std::move(request)));
  cache.commit();
}

}  // namespace

// --- snapshots.

TEST_CASE("a wallet folded from its snapshot equals the wallet folded from version 0, and reads at most "
          "kSnapshotEvery events") {
  TempDir dir;
  auto log = events::EventLog::open(dir.path()).value();
  WorkQueue work(1);
  RandomUuidGenerator ids;
  StreamTurns turns;
  WalletPipeline wallets(*log, work, ids, turns);
  constexpr int kDeposits = 1'000;
  for (int i = 1; i <= kDeposits; ++i) {
    auto outcome = run(wallets, "alice", Deposit{static_cast<uint64_t>(i)});
    REQUIRE(std::holds_alternative<Executed<WalletDecider>>(outcome));
  }

  // The pipeline saved the state at the last multiple of kSnapshotEvery.
  auto saved = log->get(kSnapshotSpace, "wallet-alice").value();
  REQUIRE(saved);
  auto snapshot = wallet_snapshot_from(*saved);
  REQUIRE(snapshot);
  CHECK(snapshot->version == kDeposits / kSnapshotEvery * kSnapshotEvery);

  PlainWallet::evolved = 0;
  WalletState from_zero = fold_all<PlainWallet>(*log, "wallet-alice");
  CHECK(PlainWallet::evolved == kDeposits);
  PlainWallet::evolved = 0;
  WalletState from_snapshot = fold_all<CountedWallet>(*log, "wallet-alice");
  CHECK(PlainWallet::evolved == kDeposits % kSnapshotEvery);
  CHECK(from_snapshot == from_zero);
  CHECK(from_zero.version == kDeposits);
  CHECK(from_zero.balance_cents == uint64_t{kDeposits} * (kDeposits + 1) / 2);
  // What the HTTP routes load is the same state.
  CHECK(wallets.load("alice").value() == from_zero);

  // Folding up to a version below the snapshot ignores it.
  for (uint64_t v : {uint64_t{1}, kSnapshotEvery - 1, kSnapshotEvery, kSnapshotEvery + 5, uint64_t{kDeposits}}) {
    CAPTURE(v);
    CHECK(fold_all<WalletDecider>(*log, "wallet-alice", v) == fold_all<PlainWallet>(*log, "wallet-alice", v));
  }
}

TEST_CASE("a missing or unreadable snapshot is a fold from version 0, never a different state") {
  TempDir dir;
  auto log = events::EventLog::open(dir.path()).value();
  WorkQueue work(1);
  RandomUuidGenerator ids;
  StreamTurns turns;
  WalletPipeline wallets(*log, work, ids, turns);
  for (int i = 0; i < 300; ++i) REQUIRE(std::holds_alternative<Executed<WalletDecider>>(run(wallets, "bob", Deposit{7})));
  WalletState expected = fold_all<PlainWallet>(*log, "wallet-bob");

  events::SideWrites damage;
  damage.put(kSnapshotSpace, "wallet-bob", "not a snapshot");
  REQUIRE(log->write(damage));
  CHECK(fold_all<WalletDecider>(*log, "wallet-bob") == expected);

  events::SideWrites gone;
  gone.erase_space(kSnapshotSpace);
  REQUIRE(log->write(gone));
  CHECK(fold_all<WalletDecider>(*log, "wallet-bob") == expected);
  // The next append past a multiple writes one again.
  for (int i = 0; i < static_cast<int>(kSnapshotEvery); ++i) run(wallets, "bob", Deposit{1});
  CHECK(log->get(kSnapshotSpace, "wallet-bob").value().has_value());
  CHECK(fold_all<WalletDecider>(*log, "wallet-bob") == fold_all<PlainWallet>(*log, "wallet-bob"));
}

TEST_CASE("a sku folded from the snapshot a participant saved equals the sku folded from version 0, reservations "
          "in flight included") {
  TempDir dir;
  auto log = events::EventLog::open(dir.path()).value();
  RandomUuidGenerator ids;
  AggregateCache<StockDecider> skus(*log, true);
  batch<StockDecider>(*log, skus, "mug", [](const StockState&) { return std::vector<StockEvent>{StockRestocked{10'000, 10'000}}; }, ids);
  // 400 orders reserve; each but the last three ships or releases a few batches later.
  for (int i = 0; i < 400; ++i) {
    batch<StockDecider>(
        *log, skus, "mug",
        [i](const StockState&) {
          std::vector<StockEvent> out{StockReserved{"o-" + std::to_string(i), 2}};
          if (i >= 3) {
            std::string done = "o-" + std::to_string(i - 3);
            if (i % 4) {
              out.push_back(StockShipped{done, 2});
            } else {
              out.push_back(StockReleased{done, 2});
            }
          }
          return out;
        },
        ids);
  }
  auto saved = log->get(kSnapshotSpace, "sku-mug").value();
  REQUIRE(saved);
  REQUIRE(stock_snapshot_from(*saved));
  StockState from_zero = fold_all<PlainStock>(*log, "sku-mug");
  StockState from_snapshot = fold_all<StockDecider>(*log, "sku-mug");
  CHECK(from_snapshot == from_zero);
  CHECK(from_zero.reservations.size() == 3);
  CHECK(from_zero.restocked == from_zero.available + from_zero.reserved + from_zero.shipped);
  // A cache that never saw the sku starts from the snapshot too.
  AggregateCache<StockDecider> fresh(*log, true);
  auto got = fresh.get("mug");
  REQUIRE(got);
  CHECK(**got == from_zero);
}

TEST_CASE("a snapshot round-trips every field, and bytes of another kind are refused") {
  WalletState w{900, 1'234, 5'000, 3'766};
  CHECK(wallet_snapshot_from(encode_snapshot(w)) == w);
  StockState s{77, 100, 60, 15, 25, {{"o-1", 5}, {"o-2", 10}}};
  CHECK(stock_snapshot_from(encode_snapshot(s)) == s);
  CHECK_FALSE(wallet_snapshot_from(encode_snapshot(s)));
  CHECK_FALSE(stock_snapshot_from(encode_snapshot(w)));
  CHECK_FALSE(wallet_snapshot_from(encode_snapshot(w).substr(0, 20)));
  CHECK_FALSE(stock_snapshot_from(""));
  OrderPayment p{OrderPayment::Outcome::kRefunded, 4'200};
  CHECK(order_payment_from(encode_order_payment(p)) == p);
  CHECK_FALSE(order_payment_from("P"));
}

// --- bounded caches.

TEST_CASE("an LruMap holds at most its capacity and drops the entry used least recently") {
  LruMap<std::string, int> m(3);
  m.insert_or_assign("a", 1);
  m.insert_or_assign("b", 2);
  m.insert_or_assign("c", 3);
  REQUIRE(m.find("a") != m.end());  // a is now the most recently used; b the least
  m.insert_or_assign("d", 4);
  CHECK(m.size() == 3);
  CHECK(m.find("b") == m.end());
  CHECK(m.find("a")->second == 1);
  m.insert_or_assign("c", 30);  // an update, not a new entry
  CHECK(m.size() == 3);
  CHECK(m.find("c")->second == 30);
  m.erase(m.find("a"));
  CHECK(m.size() == 2);
  for (int i = 0; i < 1'000; ++i) m.insert_or_assign("k" + std::to_string(i), i);
  CHECK(m.size() == 3);
  CHECK(m.find("k999") != m.end());
  LruMap<std::string, int> none(0);
  none.insert_or_assign("a", 1);
  CHECK(none.size() == 0);
}

TEST_CASE("a participant's cache keeps at most its capacity of states, and a state that left it loads the same") {
  TempDir dir;
  auto log = events::EventLog::open(dir.path()).value();
  RandomUuidGenerator ids;
  AggregateCache<WalletDecider> wallets(*log, true, nullptr, 4);
  for (int round = 0; round < 3; ++round) {
    for (int c = 0; c < 20; ++c) {
      std::string customer = "c-" + std::to_string(c);
      batch<WalletDecider>(
          *log, wallets, customer,
          [c](const WalletState& s) {
            return std::vector<WalletEvent>{FundsDeposited{uint64_t(c + 1), s.balance_cents + uint64_t(c + 1)}};
          },
          ids);
      CHECK(wallets.cached() <= 4);
    }
  }
  CHECK(wallets.cached() == 4);
  for (int c = 0; c < 20; ++c) {
    std::string customer = "c-" + std::to_string(c);
    wallets.begin();
    auto state = wallets.get(customer);
    REQUIRE(state);
    CHECK((*state)->balance_cents == 3 * uint64_t(c + 1));
    CHECK((*state)->version == 3);
  }
}

// --- the payment service's order records, in the running saga.

namespace {

class Saga {
 public:
  explicit Saga(const std::string& dir) : log_(events::EventLog::open(dir).value()) {}
  StreamTurns turns_;  // before the runtime, which uses it
  ~Saga() { stop(); }
  void start(const std::vector<std::string>& paused = {}) {
    auto opened = SagaRuntime::open(*log_, SagaConfig{SagaPolicy{}, default_served_countries()}, turns_);
    REQUIRE(opened);
    runtime_ = std::move(opened).value();
    runtime_->start(paused);
  }
  void stop() { runtime_.reset(); }
  events::EventLog& log() { return *log_; }

  void deposit(const std::string& customer, uint64_t cents) {
    append(wallet_stream(customer), to_new_event(customer, WalletEvent(FundsDeposited{cents, cents}), ids_.next()));
  }
  void restock(const std::string& sku, uint64_t units) {
    append(sku_stream(sku), to_new_event(sku, StockEvent(StockRestocked{units, units}), ids_.next()));
  }
  void place(const std::string& order_id, const std::string& customer, const std::string& country = "NL") {
    OrderPlaced placed{order_id, customer, {{"mug", 1, 1'000}}, {country, "Amsterdam", "Dam 1", "1012"}, 1'000};
    append(order_stream(order_id), to_new_event(order_id, OrderEvent(placed), ids_.next()));
  }
  OrderState order(const std::string& order_id) {
    OrderState s;
    std::vector<events::RecordedEvent> stream = log_->read_stream(order_stream(order_id), 1, 1'000).value();
    for (const auto& e : stream) {
      s = evolve(std::move(s), order_event_from(e).value());
    }
    return s;
  }
  WalletState wallet(const std::string& customer) { return fold_all<PlainWallet>(*log_, wallet_stream(customer)); }
  bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = 30s) {
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
  std::unique_ptr<events::EventLog> log_;
  std::unique_ptr<SagaRuntime> runtime_;
  RandomUuidGenerator ids_;
};

}  // namespace

TEST_CASE("after many orders for one customer the wallet's state and snapshot keep their size; each order's outcome "
          "is a record of its own") {
  TempDir dir;
  Saga saga(dir.path());
  saga.deposit("alice", 1'000'000);
  saga.restock("mug", 1'000);
  saga.start();
  constexpr int kOrders = 300;
  for (int i = 0; i < kOrders; ++i) saga.place("o-" + std::to_string(i), "alice", i % 10 == 0 ? "BR" : "NL");
  for (int i = 0; i < kOrders; ++i) REQUIRE(saga.finished("o-" + std::to_string(i)));

  // Every tenth order was not shippable: charged, then refunded.
  WalletState alice = saga.wallet("alice");
  CHECK(alice.balance_cents == 1'000'000 - (kOrders - kOrders / 10) * 1'000);
  CHECK(alice.charged_cents == (kOrders - kOrders / 10) * 1'000);
  CHECK(alice.version == 1 + kOrders + kOrders / 10);

  auto records = ordersd::test::space_rows(saga.log(), std::string(kPaymentRecordSpace));
  CHECK(records.size() == kOrders + 1);  // one per order, and the wallet's "complete" marker
  CHECK(records.count("alice/") == 1);
  CHECK(order_payment_from(records.at("alice/o-0")) == OrderPayment{OrderPayment::Outcome::kRefunded, 1'000});
  CHECK(order_payment_from(records.at("alice/o-1")) == OrderPayment{OrderPayment::Outcome::kCharged, 1'000});

  // The saved state is the same size as a one-order wallet's, and folds to the same state.
  auto saved = saga.log().get(kSnapshotSpace, "wallet-alice").value();
  REQUIRE(saved);
  CHECK(saved->size() == encode_snapshot(WalletState{}).size());
  CHECK(fold_all<WalletDecider>(saga.log(), "wallet-alice") == alice);
}

TEST_CASE("a wallet written before the order records were kept still refunds exactly what an order was charged") {
  TempDir dir;
  {
    Saga saga(dir.path());
    saga.deposit("alice", 10'000);
    saga.restock("mug", 5);
    saga.start({"shipping"});
    saga.place("far", "alice", "BR");  // shipping will fail: the charge is refunded
    saga.place("near", "alice");
    REQUIRE(saga.eventually([&] { return saga.wallet("alice").balance_cents == 8'000; }));
    saga.stop();
    // What a data directory of an earlier build holds: the same events, no records, no snapshots.
    events::SideWrites earlier;
    earlier.erase_space(kPaymentRecordSpace);
    earlier.erase_space(kSnapshotSpace);
    REQUIRE(saga.log().write(earlier));
    REQUIRE(ordersd::test::space_rows(saga.log(), std::string(kPaymentRecordSpace)).empty());
  }
  Saga saga(dir.path());
  saga.start();
  REQUIRE(saga.finished("far"));
  REQUIRE(saga.finished("near"));
  CHECK(saga.order("far").cancel_reason == "shipping_unavailable");
  CHECK(saga.order("near").status == OrderStatus::kShipmentInitiated);
  // Refunded the 1,000 it was charged (not voided, which would keep the money).
  CHECK(saga.wallet("alice").balance_cents == 9'000);
  CHECK(saga.wallet("alice").charged_cents == 1'000);
  auto records = ordersd::test::space_rows(saga.log(), std::string(kPaymentRecordSpace));
  CHECK(records.count("alice/") == 1);
  CHECK(order_payment_from(records.at("alice/far")) == OrderPayment{OrderPayment::Outcome::kRefunded, 1'000});
  CHECK(order_payment_from(records.at("alice/near")) == OrderPayment{OrderPayment::Outcome::kCharged, 1'000});
}
