// A view rebuilt by replay is the view built live, byte for byte.
#include "read/replay.h"

#include <doctest/doctest.h>

#include <chrono>
#include <map>

#include "read/projector_group.h"
#include "read/summary_views.h"
#include "read/views.h"
#include "support/space_rows.h"
#include "support/temp_dir.h"
#include "write/domain/order_codec.h"
#include "write/saga/saga_runtime.h"
#include "write/domain/service_codec.h"

using namespace ordersd;
using namespace std::chrono_literals;
using ordersd::test::space_rows;
using ordersd::test::TempDir;
namespace w = ordersd::write;

namespace {

void append(events::EventLog& log, const std::string& stream, events::NewEvent e) {
  REQUIRE(log.append(stream, events::ExpectedVersion::any(), {std::move(e)}));
}

}  // namespace

TEST_CASE("every view rebuilt by replay, alone or all in one pass, equals byte for byte the view built live") {
  TempDir dir;
  auto log = events::EventLog::open(dir.path()).value();
  RandomUuidGenerator ids;
  // Orders of every ending, carried by the real saga while the projectors run.
  append(*log, w::wallet_stream("ann"), w::to_new_event("ann", w::WalletEvent(w::FundsDeposited{50'000, 50'000}), ids.next()));
  append(*log, w::wallet_stream("bob"), w::to_new_event("bob", w::WalletEvent(w::FundsDeposited{100, 100}), ids.next()));
  append(*log, w::sku_stream("mug"), w::to_new_event("mug", w::StockEvent(w::StockRestocked{5, 5}), ids.next()));
  w::StreamTurns turns;
  auto saga = w::SagaRuntime::open(*log, {}, turns).value();
  saga->start();
  // As serve runs them: one thread for every view.
  read::ProjectorGroup group(*log, /*batch_size=*/7);
  std::vector<std::unique_ptr<read::Projector>> live;
  for (const auto& v : read::all_views()) {
    live.push_back(std::make_unique<read::Projector>(*log, v.name, v.space, v.make_apply(), nullptr, &group));
    live.back()->start();
  }
  int n = 0;
  for (auto [customer, quantity, country] : {std::tuple{"ann", 1, "NL"}, {"bob", 1, "NL"}, {"ann", 9, "NL"},
                                             {"ann", 1, "BR"}, {"ann", 2, "SE"}, {"ann", 1, "DE"}}) {
    std::string id = "o-" + std::to_string(++n);
    w::OrderPlaced placed{id, customer, {{"mug", uint32_t(quantity), 1'000}}, {country, "x", "y", "z"},
                          1'000ull * quantity};
    append(*log, w::order_stream(id), w::to_new_event(id, w::OrderEvent(placed), ids.next()));
  }
  append(*log, w::order_stream("o-6"),
         w::to_new_event("o-6", w::OrderEvent(w::CancellationRequested{"customer_cancelled"}), ids.next()));
  // Quiet: the saga has nothing left to do and every view has applied the head.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  for (;;) {
    uint64_t head = log->head();
    bool done = saga->orchestrator().stats().running == 0;
    for (auto* p : saga->participants()) done = done && p->position() == head;
    for (auto& p : live) done = done && p->position() == head;
    if (done) break;
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    log->wait_for(head + 1, std::chrono::steady_clock::now() + 20ms);
  }
  saga->stop();
  for (auto& p : live) p->stop();
  uint64_t head = log->head();

  std::map<std::string, std::map<std::string, std::string>> built_live_rows;
  for (const auto& v : read::all_views()) {
    INFO(v.name);
    auto built_live = space_rows(*log, v.space);
    built_live_rows[v.name] = built_live;
    CHECK(built_live.size() >= 1);
    std::vector<read::ReplayProgress> seen;
    REQUIRE(read::replay(*log, v, [&](const read::ReplayProgress& p) { seen.push_back(p); }));
    CHECK(space_rows(*log, v.space) == built_live);
    CHECK(log->checkpoint(v.name).value() == std::optional<uint64_t>(head));
    REQUIRE_FALSE(seen.empty());
    CHECK(seen.back().position == head);
    CHECK(seen.back().head == head);
  }
  auto stats = space_rows(*log, read::kStatsViewName);
  CHECK(stats.at("stats").find("\"shipping_unavailable\":1") != std::string::npos);

  std::vector<const read::ViewSpec*> every;
  for (const auto& v : read::all_views()) every.push_back(&v);
  REQUIRE(read::replay(*log, every, [](const read::ReplayProgress&) {}));
  for (const auto& v : read::all_views()) {
    INFO(v.name);
    CHECK(space_rows(*log, v.space) == built_live_rows[v.name]);
    CHECK(log->checkpoint(v.name).value() == std::optional<uint64_t>(head));
  }
}

TEST_CASE("replay erases what a view holds before rebuilding it, so nothing stale survives") {
  TempDir dir;
  auto log = events::EventLog::open(dir.path()).value();
  const read::ViewSpec& orders = *read::find_view("view-orders");
  events::SideWrites stale;
  stale.put(orders.space, "o/ghost", "{}");
  stale.set_checkpoint(orders.name, 0);
  REQUIRE(log->write(stale));
  REQUIRE(read::replay(*log, orders, [](const read::ReplayProgress&) {}));
  CHECK(space_rows(*log, orders.space).empty());
}

TEST_CASE("in one pass, a view that cannot apply an event stops the replay, naming the view and the position") {
  TempDir dir;
  auto log = events::EventLog::open(dir.path()).value();
  RandomUuidGenerator ids;
  for (int i = 0; i < 3; ++i) {
    std::string id = "o-" + std::to_string(i);
    w::OrderPlaced placed{id, "ann", {{"mug", 1, 100}}, {"NL", "x", "y", "z"}, 100};
    append(*log, w::order_stream(id), w::to_new_event(id, w::OrderEvent(placed), ids.next()));
  }
  read::ViewSpec refusing{"view-refusing", "view-refusing", [] {
                            return read::Projector::Apply(
                                [](const std::vector<events::RecordedEvent>& batch, read::ViewBatch&) -> Status {
                                  for (const auto& e : batch) {
                                    if (e.position() == 2) return Status::corruption("cannot apply it", 2);
                                  }
                                  return Status::ok();
                                });
                          }};
  const read::ViewSpec& orders = *read::find_view("view-orders");
  Status s = read::replay(*log, {&orders, &refusing}, [](const read::ReplayProgress&) {});
  REQUIRE_FALSE(s);
  CHECK(s.code() == Status::Code::kCorruption);
  CHECK(s.position() == 2);
  CHECK(s.message().find("view-refusing") != std::string::npos);
  CHECK(log->checkpoint("view-refusing").value() == std::optional<uint64_t>(0));  // nothing of the batch committed
}
