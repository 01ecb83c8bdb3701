// Rebuilding a view beside the live one under traffic: the new generation
// takes over once caught up, equals a replay from scratch, and the old
// generation's rows go.
#include "read/view_slot.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <thread>

#include "read/order_view.h"
#include "read/replay.h"
#include "support/space_rows.h"
#include "support/temp_dir.h"
#include "write/order_codec.h"

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
