// Rebuilding a view beside the live one under traffic: the new generation
// takes over once caught up, equals a replay from scratch, and the old
// generation's rows go.
#include "read/view_slot.h"

#include <doctest/doctest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "http/router.h"

#include "read/order_view.h"
#include "api/query_api.h"
#include "read/replay.h"
#include "support/space_rows.h"
#include "support/damage.h"
#include "support/temp_dir.h"
#include "write/domain/order_codec.h"

using namespace ordersd;
using namespace std::chrono_literals;
using ordersd::test::space_rows;
using ordersd::test::TempDir;
namespace w = ordersd::write;

namespace {

void place(events::EventLog& log, int n) {
  std::string id = "o-" + std::to_string(n);
  w::OrderPlaced placed{id, "c-" + std::to_string(n % 7), {{"mug", 1, 100}}, {"NL", "x", "y", "z"}, 100};
  REQUIRE(log.append(w::order_stream(id), events::ExpectedVersion::no_stream(),
                     {w::to_new_event(id, w::OrderEvent(placed), uuid_from_name(id))}));
  if (n % 3 == 0) {
    REQUIRE(log.append(w::order_stream(id), events::ExpectedVersion::exact(1),
                       {w::to_new_event(id, w::OrderEvent(w::CancellationRequested{"customer_cancelled"}),
                                        uuid_from_name(id + "/cancel"))}));
  }
}

// Waits, re-checking whenever the log moves, until `done` holds.
bool eventually(events::EventLog& log, const std::function<bool()>& done) {
  auto until = std::chrono::steady_clock::now() + 10s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    log.wait_for(log.head() + 1, std::chrono::steady_clock::now() + 10ms);
  }
  return true;
}

}  // namespace

TEST_CASE("a view rebuilt under traffic takes over once caught up and equals a replay from scratch") {
  TempDir dir;
  auto log = events::EventLog::open(dir.path()).value();
  const read::ViewSpec& spec = *read::find_view(read::kOrderViewName);
  for (int n = 0; n < 200; ++n) place(*log, n);
  auto slot = read::ViewSlot::open(*log, spec).value();
  CHECK(slot->generation() == 0);
  REQUIRE(eventually(*log, [&] { return slot->current()->position() == log->head(); }));
  std::string old_space = slot->current()->space();
  CHECK(old_space == spec.space);

  std::atomic<bool> placing{true};
  std::atomic<int> placed{200};
  std::thread traffic([&] {
    while (placing) place(*log, placed++);
  });
  REQUIRE(slot->rebuild().value() == 1);
  CHECK(slot->rebuild().status().code() == Status::Code::kBusy);  // one at a time
  REQUIRE(eventually(*log, [&] { return slot->generation() == 1 && !slot->rebuilding(); }));
  placing = false;
  traffic.join();
  REQUIRE(eventually(*log, [&] { return slot->current()->position() == log->head(); }));

  std::string new_space = slot->current()->space();
  CHECK(new_space == spec.space + "#1");
  read::ViewSpec scratch{"scratch", "scratch-space", spec.make_apply};
  REQUIRE(read::replay(*log, scratch, [](const read::ReplayProgress&) {}));
  auto rebuilt = space_rows(*log, new_space);
  CHECK(rebuilt.size() >= 4 * 200);  // a row and three index entries per order
  CHECK(rebuilt == space_rows(*log, "scratch-space"));
  // The old generation is let go once no query reads it.
  REQUIRE(eventually(*log, [&] { return space_rows(*log, old_space).empty(); }));
  CHECK(log->get(read::kViewGenerationsSpace, spec.name).value() == std::optional<std::string>("1"));

  // A restart opens the recorded generation.
  slot.reset();
  auto reopened = read::ViewSlot::open(*log, spec).value();
  CHECK(reopened->generation() == 1);
  CHECK(reopened->current()->space() == new_space);
}

namespace {

// A view whose projectors are numbered in the order the slot makes them
// (0: the live one at open, 1: the first rebuild, ...). Each knows when it is
// destroyed, and the ones listed in `failing` refuse the first event.
struct CountingView {
  struct Alive {
    explicit Alive(std::atomic<bool>* d) : destroyed(d) {}
    Alive(const Alive&) = delete;
    ~Alive() { *destroyed = true; }
    std::atomic<bool>* destroyed;
  };
  std::array<std::atomic<bool>, 8> destroyed{};
  std::atomic<int> made{0};
  std::set<int> failing;
  read::ViewSpec spec;

  explicit CountingView(std::string name, std::set<int> fail = {}) : failing(std::move(fail)) {
    spec = {name, name + "-space", [this] {
              int n = made++;
              auto alive = std::make_shared<Alive>(&destroyed.at(static_cast<size_t>(n)));
              bool fails = failing.count(n) > 0;
              return read::Projector::Apply(
                  [alive, fails](const std::vector<events::RecordedEvent>& batch, read::ViewBatch& view) -> Status {
                    if (fails && !batch.empty()) {
                      return Status::corruption("refused for the test", batch.front().position());
                    }
                    for (const auto& e : batch) view.put(std::to_string(e.position()), std::string(e.type()));
                    return Status::ok();
                  });
            }};
  }
};

}  // namespace

TEST_CASE("a rebuild asked for while the previous generation is still in use answers at once, and so does current()") {
  TempDir dir;
  auto log = events::EventLog::open(dir.path()).value();
  for (int n = 0; n < 20; ++n) place(*log, n);
  CountingView view("counting");
  auto slot = read::ViewSlot::open(*log, view.spec).value();
  // A query still reading generation 0 keeps it from being let go.
  std::shared_ptr<read::Projector> reading = slot->current();
  REQUIRE(slot->rebuild().value() == 1);
  REQUIRE(eventually(*log, [&] { return slot->generation() == 1 && !slot->rebuilding(); }));

  auto again = std::async(std::launch::async, [&] { return slot->rebuild(); });
  bool answered = again.wait_for(5s) == std::future_status::ready;
  auto current = std::async(std::launch::async, [&] { return slot->current(); });
  bool current_answered = current.wait_for(5s) == std::future_status::ready;
  reading.reset();  // lets a blocked rebuild go, so that the test ends either way
  CHECK(answered);
  CHECK(current_answered);
  auto second = again.get();
  if (!second) {
    CHECK(second.status().code() == Status::Code::kBusy);
    CHECK(second.status().message().find("still") != std::string::npos);
    // Once the old generation is let go, a rebuild starts.
    REQUIRE(eventually(*log, [&] { return view.destroyed[0].load(); }));
    REQUIRE(eventually(*log, [&] {
      auto r = slot->rebuild();
      return r.is_ok() && *r == 2;
    }));
  }
  REQUIRE(eventually(*log, [&] { return slot->generation() == 2 && !slot->rebuilding(); }));
  CHECK(current.get()->space().find("counting-space") == 0);
}

TEST_CASE("a failed rebuild lets go of its generation, says why, and a new rebuild can start") {
  TempDir dir;
  auto log = events::EventLog::open(dir.path()).value();
  for (int n = 0; n < 20; ++n) place(*log, n);
  CountingView view("counting", {1});  // the first rebuild's projector refuses its first event
  auto slot = read::ViewSlot::open(*log, view.spec).value();
  CHECK_FALSE(slot->failed_rebuild());
  REQUIRE(slot->rebuild().value() == 1);
  REQUIRE(eventually(*log, [&] { return !slot->rebuilding(); }));
  CHECK(slot->generation() == 0);  // the live view keeps serving
  auto failed = slot->failed_rebuild();
  REQUIRE(failed);
  CHECK(failed->generation == 1);
  CHECK(failed->position == 0);  // applied nothing: the first event was refused
  CHECK(failed->reason.find("refused for the test") != std::string::npos);
  CHECK(view.destroyed[1]);

  REQUIRE(slot->rebuild().value() == 1);  // not 409: nothing is pending any more
  CHECK_FALSE(slot->failed_rebuild());
  REQUIRE(eventually(*log, [&] { return slot->generation() == 1 && !slot->rebuilding(); }));
  CHECK(space_rows(*log, "counting-space#1").size() == log->head());
}

TEST_CASE("GET /admin/views shows a failed rebuild with its reason and position") {
  TempDir dir;
  auto log = events::EventLog::open(dir.path()).value();
  for (int n = 0; n < 5; ++n) place(*log, n);
  CountingView a("a", {1}), b("b"), c("c"), d("d"), e("e");
  auto sa = read::ViewSlot::open(*log, a.spec).value();
  auto sb = read::ViewSlot::open(*log, b.spec).value();
  auto sc = read::ViewSlot::open(*log, c.spec).value();
  auto sd = read::ViewSlot::open(*log, d.spec).value();
  auto se = read::ViewSlot::open(*log, e.spec).value();
  api::QueryApi api(*log, {*sa, *sb, *sc, *sd, *se}, [](std::function<void()> f) { f(); });
  http::Router router;
  auto open_access = auth::Authenticator::open({}).value();  // no credentials: every caller may do anything
  api::AuditTrail audit(*log);
  api::Access access(*open_access, {}, audit);
  api.add_routes(access, router);
  auto get = [&](const std::string& method, const std::string& target) {
    // An admin action answers once its audit event is in the log, from the log's thread.
    auto answer = std::make_shared<std::promise<http::Response>>();
    http::Request request;
    request.method = method;
    request.target = target;
    router.dispatch(request, [answer](http::Response r) { answer->set_value(std::move(r)); });
    return answer->get_future().get();
  };
  REQUIRE(get("POST", "/admin/views/a/rebuild").status == 202);
  REQUIRE(eventually(*log, [&] { return sa->failed_rebuild().has_value(); }));
  auto views = nlohmann::json::parse(get("GET", "/admin/views").body);
  auto first = views["views"][0];
  CHECK(first["name"] == "a");
  CHECK_FALSE(first.contains("rebuild"));
  REQUIRE(first.contains("rebuild_failure"));
  CHECK(first["rebuild_failure"]["generation"] == 1);
  CHECK(first["rebuild_failure"]["position"] == 0);
  CHECK(first["rebuild_failure"]["reason"].get<std::string>().find("refused for the test") != std::string::npos);
  CHECK_FALSE(views["views"][1].contains("rebuild_failure"));
  CHECK(get("POST", "/admin/views/a/rebuild").status == 202);  // not 409
}

TEST_CASE("a query's lease keeps its generation's projector alive through a swap and a shutdown") {
  TempDir dir;
  auto log = events::EventLog::open(dir.path()).value();
  for (int n = 0; n < 20; ++n) place(*log, n);
  CountingView view("counting");
  auto slot = read::ViewSlot::open(*log, view.spec).value();
  std::shared_ptr<read::Projector> reading = slot->current();  // a queued read-your-writes job
  REQUIRE(slot->rebuild().value() == 1);
  REQUIRE(eventually(*log, [&] { return slot->generation() == 1 && !slot->rebuilding(); }));
  slot.reset();  // shutdown while the old generation still has a reader
  CHECK_FALSE(view.destroyed[0]);
  CHECK(reading->space() == "counting-space");
  CHECK(reading->position() <= log->head());
  reading.reset();
  CHECK(view.destroyed[0]);
}

TEST_CASE("a rebuild that meets a damaged record fails, naming its position, instead of stalling") {
  TempDir dir;
  {
    auto log = events::EventLog::open(dir.path()).value();
    for (int n = 0; n < 30; ++n) place(*log, n);
  }
  test::overwrite_log_record(dir.path(), 20, "not an envelope");  // no envelope at position 20
  auto log = events::EventLog::open(dir.path()).value();
  const read::ViewSpec* orders = read::find_view(read::kOrderViewName);
  REQUIRE(orders);
  auto slot = read::ViewSlot::open(*log, *orders).value();
  REQUIRE(slot->rebuild().value() == 1);
  REQUIRE(eventually(*log, [&] { return !slot->rebuilding(); }));
  CHECK(slot->generation() == 0);  // the live generation stays
  auto failed = slot->failed_rebuild();
  REQUIRE(failed);
  CHECK(failed->generation == 1);
  CHECK(failed->reason.find("20") != std::string::npos);
  CHECK(failed->position < 20);  // it never got past the damaged record
  // The log says so too, for /health.
  REQUIRE(log->corruption());
  CHECK(log->corruption()->position() == 20);
}
