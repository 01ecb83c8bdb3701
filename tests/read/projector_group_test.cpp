// One thread for several views: each member applies every event exactly
// once, with its rows and checkpoint committed together; a member that
// cannot apply an event fails exactly there while the others go on; one
// restarted behind the others catches up without the others applying
// anything twice.
#include "read/projector_group.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "read/projector.h"
#include "support/sample_events.h"
#include "support/temp_dir.h"

using namespace ordersd;
using namespace std::chrono_literals;
using ordersd::test::TempDir;

namespace {

void append_orders(events::EventLog& log, int from, int to) {
  for (int i = from; i < to; ++i) {
    std::string id = "o-" + std::to_string(i);
    REQUIRE(log.append("order-" + id, events::ExpectedVersion::no_stream(), {test::order_placed(id)}));
  }
}

// A view that counts how often it applied each position (in memory, shared
// with the test) and writes one row per event; it refuses `refuse_at` while
// `refusing` is set.
struct Counting {
  std::mutex mu;
  std::map<uint64_t, int> applied;  // committed or not
  std::atomic<uint64_t> refuse_at{0};

  read::Projector::Apply apply() {
    return [this](const std::vector<events::RecordedEvent>& batch, read::ViewBatch& view) -> Status {
      for (const auto& e : batch) {
        if (e.position() == refuse_at.load()) {
          return Status::corruption("cannot apply position " + std::to_string(e.position()), e.position());
        }
        view.put(std::to_string(e.position()), std::string(e.stream()));
      }
      std::lock_guard lk(mu);
      for (const auto& e : batch) ++applied[e.position()];
      return Status::ok();
    };
  }
  int times(uint64_t position) {
    std::lock_guard lk(mu);
    return applied.count(position) ? applied[position] : 0;
  }
};

bool has_row(events::EventLog& log, const std::string& space, uint64_t position) {
  auto row = log.get(space, std::to_string(position));
  return row && *row;
}

}  // namespace

TEST_CASE("members of one group each apply every event once, rows and checkpoint together") {
  TempDir dir;
  auto log = std::move(events::EventLog::open(dir.path())).value();
  append_orders(*log, 0, 300);
  read::ProjectorGroup group(*log, /*batch_size=*/64);
  Counting a, b;
  read::Projector pa(*log, "view-a", "rows-a", a.apply(), {}, &group);
  read::Projector pb(*log, "view-b", "rows-b", b.apply(), {}, &group);
  pa.start();
  pb.start();
  append_orders(*log, 300, 600);
  REQUIRE(pa.wait_for(600, 10s));
  REQUIRE(pb.wait_for(600, 10s));
  for (uint64_t p = 1; p <= 600; ++p) {
    CHECK(a.times(p) == 1);
    CHECK(b.times(p) == 1);
  }
  CHECK(has_row(*log, "rows-a", 600));
  CHECK(has_row(*log, "rows-b", 1));
  pa.stop();
  pb.stop();
  CHECK(log->checkpoint("view-a").value() == std::optional<uint64_t>(600));
  CHECK(log->checkpoint("view-b").value() == std::optional<uint64_t>(600));
}

TEST_CASE("a member that cannot apply an event fails exactly there; the others go on; restarted, it catches up") {
  TempDir dir;
  auto log = std::move(events::EventLog::open(dir.path())).value();
  read::ProjectorGroup group(*log, /*batch_size=*/100);
  Counting good, bad;
  bad.refuse_at = 150;
  read::Projector healthy(*log, "view-good", "rows-good", good.apply(), [&] { return good.apply(); }, &group);
  read::Projector failing(*log, "view-bad", "rows-bad", bad.apply(), [&] { return bad.apply(); }, &group);
  healthy.start();
  failing.start();
  append_orders(*log, 0, 400);

  REQUIRE(healthy.wait_for(400, 10s));
  CHECK_FALSE(failing.wait_for(150, 2s));
  REQUIRE(failing.failure().has_value());
  CHECK(failing.failure()->message().find("150") != std::string::npos);
  CHECK(failing.position() == 149);  // everything before it committed, one by one
  CHECK(has_row(*log, "rows-bad", 149));
  CHECK_FALSE(has_row(*log, "rows-bad", 150));
  CHECK(log->checkpoint("view-bad").value() == std::optional<uint64_t>(149));

  // Restarted from its checkpoint, it catches up alone: the healthy member
  // applies nothing again, while new events still reach both.
  bad.refuse_at = 0;
  REQUIRE(failing.restart());
  // Nothing new is appended: joining wakes the group, which reads from the
  // restarted member's checkpoint.
  REQUIRE(failing.wait_for(400, 10s));
  append_orders(*log, 400, 450);
  REQUIRE(failing.wait_for(450, 10s));
  REQUIRE(healthy.wait_for(450, 10s));
  CHECK_FALSE(failing.failure().has_value());
  for (uint64_t p = 1; p <= 450; ++p) CHECK(good.times(p) == 1);
  // The refused batch was applied (not committed) once before it was taken
  // apart; past it every position was committed once.
  for (uint64_t p = 151; p <= 450; ++p) CHECK(has_row(*log, "rows-bad", p));
  CHECK(bad.times(449) == 1);
  healthy.stop();
  failing.stop();
}

TEST_CASE("read-your-writes: when_reached answers once the member has the position, or at the deadline") {
  TempDir dir;
  auto log = std::move(events::EventLog::open(dir.path())).value();
  read::ProjectorGroup group(*log);
  Counting a;
  read::Projector p(*log, "view-a", "rows-a", a.apply(), {}, &group);
  p.start();
  std::promise<bool> reached, timed_out;
  p.when_reached(10, 10s, [&](bool ok) { reached.set_value(ok); });
  p.when_reached(1'000'000, 50ms, [&](bool ok) { timed_out.set_value(ok); });
  append_orders(*log, 0, 10);
  CHECK(reached.get_future().get());
  CHECK_FALSE(timed_out.get_future().get());
  p.stop();
}

TEST_CASE("stopped before the log closes, the group leaves nothing waiting on it") {
  TempDir dir;
  auto log = std::move(events::EventLog::open(dir.path())).value();
  read::ProjectorGroup group(*log);
  Counting a;
  read::Projector p(*log, "view-a", "rows-a", a.apply(), {}, &group);
  p.start();
  append_orders(*log, 0, 5);
  REQUIRE(p.wait_for(5, 10s));
  group.stop();  // its thread was waiting on the log for position 6
  p.stop();      // leaving a stopped group returns at once
  group.stop();  // idempotent
  log.reset();   // nothing of the group touches the log any more (ASan would say)
  CHECK(a.times(5) == 1);
}
