// RowCache keeps rows between batches; past its limit it forgets the rows
// that say they are settled first, and all of them only if that is not
// enough. Whatever it forgot is read back as stored, never lost.
#include "read/row_cache.h"

#include <doctest/doctest.h>

#include <string>

#include "support/temp_dir.h"

using namespace ordersd;
using ordersd::test::TempDir;

namespace {

int parses = 0;  // how often a row was read back from the log

struct CountRow {
  int count = 0;
  bool done = false;
  static Result<CountRow> parse(std::string_view text) {
    ++parses;
    return CountRow{std::stoi(std::string(text.substr(1))), text[0] == 'd'};
  }
  std::string to_json() const { return (done ? "d" : "o") + std::to_string(count); }
  bool settled() const { return done; }
};

constexpr const char* kSpace = "rows";

// One batch: every key in `keys` counted once (and settled when asked), then flushed and committed.
void batch(events::EventLog& log, read::RowCache<CountRow>& cache, int from, int to, bool settle) {
  read::ViewBatch view(log, kSpace);
  for (int k = from; k < to; ++k) {
    auto row = cache.change(view, "k" + std::to_string(k), [] { return CountRow{}; });
    REQUIRE(row);
    ++(*row)->count;
    (*row)->done = settle;
  }
  cache.flush(view);
  REQUIRE(log.write(view.take_writes()));
}

int stored(events::EventLog& log, int k) {
  auto v = log.get(kSpace, "k" + std::to_string(k)).value();
  REQUIRE(v);
  return CountRow::parse(*v).value().count;
}

}  // namespace

TEST_CASE("past its limit the cache forgets settled rows first, and reads back what it forgot") {
  TempDir dir;
  auto log = events::EventLog::open(dir.path()).value();
  read::RowCache<CountRow> cache(10);
  batch(*log, cache, 0, 8, /*settle=*/true);    // 8 settled rows
  batch(*log, cache, 100, 103, /*settle=*/false);  // 3 open rows: 11 > 10, the settled go
  parses = 0;
  batch(*log, cache, 100, 103, false);  // the open rows were kept: nothing read back
  CHECK(parses == 0);
  batch(*log, cache, 0, 2, false);  // two settled rows were forgotten: read back, as stored
  CHECK(parses == 2);
  CHECK(stored(*log, 0) == 2);
  CHECK(stored(*log, 100) == 2);

  // When forgetting the settled is not enough, everything goes.
  read::RowCache<CountRow> open_rows(4);
  batch(*log, open_rows, 200, 206, false);  // 6 open rows > 4: all forgotten
  parses = 0;
  batch(*log, open_rows, 200, 206, false);
  CHECK(parses == 6);
  for (int k = 200; k < 206; ++k) CHECK(stored(*log, k) == 2);
}
