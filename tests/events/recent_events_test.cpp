// RecentEvents holds the envelopes committed last, up to its bytes, and
// answers a read only when it holds every position from the one asked for
// up to the head; otherwise the log reads RocksDB. What the log returns from
// memory is byte for byte what it returns from disk.
#include "events/recent_events.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "events/envelope.h"
#include "events/event_log.h"
#include "support/sample_events.h"
#include "support/temp_dir.h"

using namespace ordersd;
using namespace ordersd::events;
using ordersd::test::TempDir;

namespace {

// Real envelopes of positions first.. first + n - 1, as a log writes them.
std::vector<std::string> envelopes(uint64_t first, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    uint64_t p = first + static_cast<uint64_t>(i);
    NewEvent e = test::order_placed("o-" + std::to_string(p));
    out.push_back(encode_envelope({p, "order-o-" + std::to_string(p), 1, e.id, e.type, 1, {}, {}, e.payload}));
  }
  return out;
}

}  // namespace

TEST_CASE("reads from what it holds up to the limit; older or beyond-the-head positions are not its to answer") {
  RecentEvents recent(1 << 20);
  CHECK_FALSE(recent.read(1, 10, 5));  // holds nothing
  recent.add(1, envelopes(1, 5));
  auto all = recent.read(1, 100, 5);
  REQUIRE(all);
  REQUIRE(all->size() == 5);
  for (uint64_t p = 1; p <= 5; ++p) CHECK((*all)[p - 1].position() == p);
  CHECK(recent.read(3, 2, 5)->size() == 2);
  CHECK(recent.read(4, 100, 4)->size() == 1);   // never past the limit (the published head)
  CHECK(recent.read(6, 100, 5)->empty());        // past the head: nothing yet
  CHECK_FALSE(recent.read(1, 100, 7));           // the head is past what it holds: not its to answer
  recent.add(6, envelopes(6, 2));
  CHECK(recent.read(5, 100, 7)->size() == 3);
  recent.add(20, envelopes(20, 1));              // not what follows: starts over
  CHECK_FALSE(recent.read(7, 100, 20));
  CHECK(recent.read(20, 100, 20)->size() == 1);
}

TEST_CASE("past its bytes the oldest go first") {
  auto some = envelopes(1, 10);
  size_t each = some.front().size();
  RecentEvents recent(each * 4);
  recent.add(1, std::move(some));
  CHECK_FALSE(recent.read(6, 100, 10));
  auto kept = recent.read(7, 100, 10);
  REQUIRE(kept);
  CHECK(kept->size() == 4);
  CHECK(kept->front().position() == 7);
}

TEST_CASE("the log reads the same bytes from memory at the head as from disk after a reopen, also past what memory holds") {
  TempDir dir;
  std::vector<std::string> live;
  {
    EventLogOptions options;
    options.cache_bytes = size_t{16} << 20;  // a sixteenth, 1 MiB, for recent events: less than the log below
    auto log = EventLog::open(dir.path(), options).value();
    for (int i = 0; i < 6000; ++i) {
      std::string id = "o-" + std::to_string(i);
      REQUIRE(log->append("order-" + id, ExpectedVersion::no_stream(), {test::order_placed(id)}));
    }
    for (uint64_t from = 1; from <= log->head(); from += 1000) {
      auto read = log->read_all(from, 1000);
      REQUIRE_MESSAGE(read.is_ok(), read.status().to_string());
      for (const auto& e : *read) live.emplace_back(e.envelope_bytes());
    }
  }
  auto reopened = EventLog::open(dir.path()).value();
  std::vector<std::string> stored;
  auto read = reopened->read_all(1, 10000);
  REQUIRE_MESSAGE(read.is_ok(), read.status().to_string());
  for (const auto& e : *read) stored.emplace_back(e.envelope_bytes());
  REQUIRE(stored.size() == 6000);
  CHECK(live == stored);
}
