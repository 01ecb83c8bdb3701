// Behaviour of the event log through its public API, one test per rule.
#include "events/event_log.h"

#include <doctest/doctest.h>
#include <rocksdb/db.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <nlohmann/json.hpp>
#include <thread>

#include "events/event_json.h"
#include "events/event_types.h"
#include "events/keys.h"
#include "events/keys.h"
#include "support/sample_events.h"
#include "support/damage.h"
#include "support/temp_dir.h"

using namespace ordersd;
using namespace ordersd::events;
using ordersd::test::order_delivered;
using ordersd::test::order_placed;
using ordersd::test::TempDir;

namespace {

std::unique_ptr<EventLog> open_log(const std::string& dir, EventLogOptions options = {}) {
  auto log = EventLog::open(dir, std::move(options));
  REQUIRE_MESSAGE(log.is_ok(), log.status().to_string());
  return std::move(log).value();
}

std::vector<RecordedEvent> all_events(const EventLog& log) {
  auto events = log.read_all(1, 1'000'000);
  REQUIRE_MESSAGE(events.is_ok(), events.status().to_string());
  return std::move(events).value();
}

// Overwrites or deletes one raw record behind the log's back.
void tamper(const std::string& dir, uint64_t position, std::optional<std::string> value) {
  test::edit_raw(dir, [&](rocksdb::DB& db, const test::FamilyByName& family) {
    auto* log_cf = family(keys::kLogFamily);
    if (value) {
      REQUIRE(db.Put(rocksdb::WriteOptions(), log_cf, keys::position_key(position), *value).ok());
    } else {
      REQUIRE(db.Delete(rocksdb::WriteOptions(), log_cf, keys::position_key(position)).ok());
    }
  });
}

}  // namespace

TEST_CASE("a new log is empty") {
  TempDir dir;
  auto log = open_log(dir.path());
  CHECK(log->head() == 0);
  CHECK(all_events(*log).empty());
  CHECK(log->stream_version("order-1").value() == 0);
  CHECK(log->read_stream("order-1", 1, 10).value().empty());
}

TEST_CASE("the first append to a new stream gets version 1 at position 1") {
  TempDir dir;
  auto log = open_log(dir.path());
  auto r = log->append("order-1", ExpectedVersion::no_stream(), {order_placed("1")});
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  CHECK(r->first_position == 1);
  CHECK(r->last_position == 1);
  CHECK(r->next_version() == 1);
  CHECK_FALSE(r->already_appended);
  CHECK(log->head() == 1);
  CHECK(log->stream_version("order-1").value() == 1);
}

TEST_CASE("all events of one append commit together with consecutive positions and versions") {
  TempDir dir;
  auto log = open_log(dir.path());
  REQUIRE(log->append("other", ExpectedVersion::any(), {order_placed("x")}).is_ok());
  auto r = log->append("order-1", ExpectedVersion::no_stream(),
                       {order_placed("1"), order_delivered("1", Uuid{7, 7}), order_delivered("1", Uuid{7, 8})});
  REQUIRE(r.is_ok());
  CHECK(r->first_position == 2);
  CHECK(r->last_position == 4);
  CHECK(r->next_version() == 3);
  auto stream = log->read_stream("order-1", 1, 100).value();
  REQUIRE(stream.size() == 3);
  for (uint64_t i = 0; i < 3; ++i) {
    CHECK(stream[i].version() == i + 1);
    CHECK(stream[i].position() == i + 2);
    CHECK(stream[i].stream() == "order-1");
  }
}

TEST_CASE("an append whose expectation does not hold writes nothing and reports the actual version") {
  TempDir dir;
  auto log = open_log(dir.path());
  REQUIRE(log->append("order-1", ExpectedVersion::no_stream(), {order_placed("1")}).is_ok());

  struct Case {
    const char* name;
    std::string stream;
    ExpectedVersion expected;
    uint64_t actual;
  };
  for (const Case& c : {Case{"no stream, but it exists", "order-1", ExpectedVersion::no_stream(), 1},
                        Case{"stream exists, but it does not", "order-2", ExpectedVersion::stream_exists(), 0},
                        Case{"an exact version behind", "order-1", ExpectedVersion::exact(0), 1},
                        Case{"an exact version ahead", "order-1", ExpectedVersion::exact(2), 1}}) {
    CAPTURE(c.name);
    auto r = log->append(c.stream, c.expected, {order_placed("1")});
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == Status::Code::kWrongExpectedVersion);
    CHECK(r.status().actual_version() == c.actual);
    CHECK(log->head() == 1);
  }
  CHECK(all_events(*log).size() == 1);
}

TEST_CASE("the expectations that hold let the append through") {
  TempDir dir;
  auto log = open_log(dir.path());
  CHECK(log->append("s", ExpectedVersion::any(), {order_placed("1")}).is_ok());
  CHECK(log->append("s", ExpectedVersion::stream_exists(), {order_placed("1")}).is_ok());
  CHECK(log->append("s", ExpectedVersion::exact(2), {order_placed("1")}).is_ok());
  CHECK(log->append("s", ExpectedVersion::any(), {order_placed("1")}).is_ok());
  CHECK(log->stream_version("s").value() == 4);
}

TEST_CASE("an atomic append across several streams commits every stream or none") {
  TempDir dir;
  auto log = open_log(dir.path());
  REQUIRE(log->append("sku-b", ExpectedVersion::any(), {order_placed("seed")}).is_ok());

  AppendRequest ok;
  ok.streams.push_back({"sku-a", ExpectedVersion::no_stream(), {order_placed("1")}});
  ok.streams.push_back({"sku-b", ExpectedVersion::exact(1), {order_placed("1"), order_placed("1")}});
  auto r = log->append(std::move(ok));
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  CHECK(r->first_position == 2);
  CHECK(r->last_position == 4);
  CHECK(r->stream_versions == std::vector<uint64_t>{1, 3});

  AppendRequest refused;
  refused.streams.push_back({"sku-a", ExpectedVersion::exact(1), {order_placed("2")}});
  refused.streams.push_back({"sku-b", ExpectedVersion::exact(1), {order_placed("2")}});  // stale
  auto r2 = log->append(std::move(refused));
  REQUIRE_FALSE(r2.is_ok());
  CHECK(r2.status().code() == Status::Code::kWrongExpectedVersion);
  CHECK(r2.status().actual_version() == 3);
  CHECK(log->head() == 4);
  CHECK(log->stream_version("sku-a").value() == 1);
}

TEST_CASE("a stream part with no events only checks its expectation") {
  TempDir dir;
  auto log = open_log(dir.path());
  REQUIRE(log->append("guard", ExpectedVersion::any(), {order_placed("g")}).is_ok());
  AppendRequest guarded;
  guarded.streams.push_back({"guard", ExpectedVersion::exact(2), {}});
  guarded.streams.push_back({"order-1", ExpectedVersion::any(), {order_placed("1")}});
  auto r = log->append(std::move(guarded));
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == Status::Code::kWrongExpectedVersion);
  CHECK(log->head() == 1);
}

TEST_CASE("re-appending events whose ids are stored returns the original positions and writes nothing") {
  TempDir dir;
  auto log = open_log(dir.path());
  std::vector<NewEvent> batch = {order_placed("1"), order_placed("1")};
  auto first = log->append("order-1", ExpectedVersion::no_stream(), batch);
  REQUIRE(first.is_ok());
  REQUIRE(log->append("order-2", ExpectedVersion::no_stream(), {order_placed("2")}).is_ok());

  // A retry after a timeout: same ids, even with an expectation that no longer holds.
  auto retry = log->append("order-1", ExpectedVersion::no_stream(), batch);
  REQUIRE_MESSAGE(retry.is_ok(), retry.status().to_string());
  CHECK(retry->already_appended);
  CHECK(retry->first_position == first->first_position);
  CHECK(retry->last_position == first->last_position);
  CHECK(retry->next_version() == 2);
  CHECK(log->head() == 3);
}

TEST_CASE("a retry queued in the same group commit as the original is recognised") {
  TempDir dir;
  auto log = open_log(dir.path());
  NewEvent e = order_placed("1");
  std::atomic<int> done{0};
  std::vector<Result<AppendResult>> results(2, Status::io_error("unset"));
  for (int i = 0; i < 2; ++i) {
    AppendRequest req;
    req.streams.push_back({"order-1", ExpectedVersion::any(), {e}});
    log->append_async(std::move(req), [&, i](Result<AppendResult> r) {
      results[i] = std::move(r);
      done.fetch_add(1);
      done.notify_all();
    });
  }
  for (int seen = done.load(); seen < 2; seen = done.load()) done.wait(seen);
  REQUIRE(results[0].is_ok());
  REQUIRE(results[1].is_ok());
  CHECK(results[0]->first_position == results[1]->first_position);
  CHECK(results[0]->already_appended != results[1]->already_appended);
  CHECK(log->head() == 1);
}

TEST_CASE("an id re-appended to another stream, or only some ids re-appended, is refused") {
  TempDir dir;
  auto log = open_log(dir.path());
  NewEvent e = order_placed("1");
  REQUIRE(log->append("order-1", ExpectedVersion::any(), {e}).is_ok());

  auto elsewhere = log->append("order-2", ExpectedVersion::any(), {e});
  REQUIRE_FALSE(elsewhere.is_ok());
  CHECK(elsewhere.status().code() == Status::Code::kDuplicateEventId);

  auto partial = log->append("order-1", ExpectedVersion::any(), {e, order_placed("1")});
  REQUIRE_FALSE(partial.is_ok());
  CHECK(partial.status().code() == Status::Code::kDuplicateEventId);
  CHECK(log->head() == 1);
}

TEST_CASE("an id marked unique is neither looked up nor indexed: the same id again is a new event") {
  TempDir dir;
  auto log = open_log(dir.path());
  NewEvent e = order_placed("1");
  e.unique_id = true;
  REQUIRE(log->append("order-1", ExpectedVersion::any(), {e}).is_ok());
  // Its id was never indexed: nothing recognises it as stored.
  NewEvent same = e;
  same.unique_id = false;
  auto again = log->append("order-2", ExpectedVersion::any(), {same});
  REQUIRE_MESSAGE(again.is_ok(), again.status().to_string());
  CHECK_FALSE(again->already_appended);
  CHECK(again->first_position == 2);
  // An indexed id is looked up even by an append that marks another event unique.
  NewEvent fresh = order_placed("3");
  fresh.unique_id = true;
  auto mixed = log->append("order-2", ExpectedVersion::any(), {same, fresh});
  REQUIRE_FALSE(mixed.is_ok());
  CHECK(mixed.status().code() == Status::Code::kDuplicateEventId);
  CHECK(log->head() == 2);
}

TEST_CASE("idempotent re-append holds across a restart") {
  TempDir dir;
  NewEvent e = order_placed("1");
  AppendResult original;
  {
    auto log = open_log(dir.path());
    original = log->append("order-1", ExpectedVersion::no_stream(), {e}).value();
  }
  auto log = open_log(dir.path());
  auto retry = log->append("order-1", ExpectedVersion::no_stream(), {e});
  REQUIRE(retry.is_ok());
  CHECK(retry->already_appended);
  CHECK(retry->first_position == original.first_position);
  CHECK(log->head() == 1);
}

TEST_CASE("malformed appends are refused before anything is written") {
  TempDir dir;
  auto log = open_log(dir.path());
  NewEvent good = order_placed("1");
  NewEvent nil_id = good;
  nil_id.id = Uuid{};
  NewEvent unknown_type = order_placed("1");
  unknown_type.type = "order.teleported.v1";
  NewEvent bad_payload = order_placed("1");
  bad_payload.payload = "not a flatbuffer";
  NewEvent wrong_table = order_placed("1");
  wrong_table.type = std::string(stored_name(EventType::kShipmentInitiated));
  wrong_table.payload = std::string(4, '\0');

  auto expect_invalid = [&](AppendRequest req) {
    auto r = log->append(std::move(req));
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == Status::Code::kInvalidArgument);
  };
  auto one = [](std::string stream, std::vector<NewEvent> events) {
    AppendRequest req;
    req.streams.push_back({std::move(stream), ExpectedVersion::any(), std::move(events)});
    return req;
  };
  expect_invalid(AppendRequest{});
  expect_invalid(one("", {good}));
  expect_invalid(one(std::string(256, 's'), {good}));
  expect_invalid(one("s", {}));
  expect_invalid(one("s", {nil_id}));
  expect_invalid(one("s", {unknown_type}));
  expect_invalid(one("s", {bad_payload}));
  expect_invalid(one("s", {wrong_table}));
  expect_invalid(one("s", {good, good}));  // the same id twice
  AppendRequest twice = one("s", {good});
  twice.streams.push_back({"s", ExpectedVersion::any(), {order_placed("2")}});
  expect_invalid(std::move(twice));
  CHECK(log->head() == 0);
}

TEST_CASE("read_stream starts at a version and stops at a maximum") {
  TempDir dir;
  auto log = open_log(dir.path());
  for (int i = 0; i < 10; ++i) {
    REQUIRE(log->append("s", ExpectedVersion::any(), {order_placed("1")}).is_ok());
    REQUIRE(log->append("t", ExpectedVersion::any(), {order_placed("2")}).is_ok());
  }
  auto page = log->read_stream("s", 4, 3).value();
  REQUIRE(page.size() == 3);
  CHECK(page[0].version() == 4);
  CHECK(page[2].version() == 6);
  CHECK(page[0].position() == 7);
  CHECK(log->read_stream("s", 11, 10).value().empty());
  CHECK(log->read_stream("s", 0, 100).value().size() == 10);  // version 0 reads from the start
}

TEST_CASE("read_all pages through the whole log in global order") {
  TempDir dir;
  auto log = open_log(dir.path());
  for (int i = 0; i < 25; ++i) {
    REQUIRE(log->append("s" + std::to_string(i % 4), ExpectedVersion::any(), {order_placed("1")}).is_ok());
  }
  uint64_t next = 1;
  std::vector<uint64_t> seen;
  for (;;) {
    auto page = log->read_all(next, 7).value();
    if (page.empty()) break;
    for (auto& e : page) seen.push_back(e.position());
    next = page.back().position() + 1;
  }
  REQUIRE(seen.size() == 25);
  for (size_t i = 0; i < seen.size(); ++i) CHECK(seen[i] == i + 1);
  CHECK(log->read_all(26, 10).value().empty());
}

TEST_CASE("a stored event carries its type, commit time, ids and payload") {
  TempDir dir;
  EventLogOptions options;
  options.clock_us = [] { return int64_t{1'790'000'000'123'456}; };
  auto log = open_log(dir.path(), options);
  NewEvent e = order_placed("order-9");
  e.correlation_id = Uuid{1, 2};
  e.causation_id = Uuid{3, 4};
  REQUIRE(log->append("order-9", ExpectedVersion::no_stream(), {e}).is_ok());
  auto stored = log->read_stream("order-9", 1, 1).value().at(0);
  CHECK(stored.id() == e.id);
  CHECK(stored.type() == "order.placed.v1");
  CHECK(stored.time_us() == 1'790'000'000'123'456);
  CHECK(stored.correlation_id() == Uuid{1, 2});
  CHECK(stored.causation_id() == Uuid{3, 4});
  CHECK(stored.payload() == e.payload);

  auto json = nlohmann::json::parse(event_to_json(stored));
  CHECK(json["position"] == 1);
  CHECK(json["stream"] == "order-9");
  CHECK(json["type"] == "order.placed.v1");
  CHECK(json["time"] == "2026-09-21T14:13:20.123456Z");
  CHECK(json["id"] == e.id.to_string());
  CHECK(json["payload"]["order_id"] == "order-9");
  CHECK(json["payload"]["items"][0]["quantity"] == 2);
  CHECK(json["payload"]["shipping_address"]["country"] == "NL");
}

TEST_CASE("every event type has a distinct stored name and a payload table that renders as JSON") {
  std::set<std::string_view> names;
  for (const auto& info : all_event_types()) {
    CHECK(names.insert(info.stored_name).second);
    CHECK(find_event_type(info.stored_name) == &info);
    CHECK(&event_type_info(info.type) == &info);
    // An empty table of every type is a valid payload and renders.
    {
      // 12-byte minimal buffer: root offset, vtable (4 bytes), table (4 bytes).
      const uint8_t empty[] = {8, 0, 0, 0, 4, 0, 4, 0, 4, 0, 0, 0};
      std::string payload(reinterpret_cast<const char*>(empty), sizeof empty);
      CHECK(info.verify_payload(empty, sizeof empty));
      auto json = payload_to_json(info.stored_name, payload);
      CHECK_MESSAGE(json.is_ok(), json.status().to_string());
    }
  }
  CHECK(names.size() == 31);
  CHECK(find_event_type("order.unknown.v1") == nullptr);
}

TEST_CASE("checkpoints and side writes commit with an append, or alone") {
  TempDir dir;
  auto log = open_log(dir.path());
  AppendRequest req;
  req.streams.push_back({"order-1", ExpectedVersion::no_stream(), {order_placed("1")}});
  req.side_writes.put("idempotency", "key-1", "response");
  req.side_writes.set_checkpoint("saga", 1);
  REQUIRE(log->append(std::move(req)).is_ok());
  CHECK(log->get("idempotency", "key-1").value() == std::optional<std::string>("response"));
  CHECK(log->checkpoint("saga").value() == std::optional<uint64_t>(1));
  CHECK(log->checkpoint("projector").value() == std::nullopt);

  // A refused append takes its side writes down with it.
  AppendRequest refused;
  refused.streams.push_back({"order-1", ExpectedVersion::no_stream(), {order_placed("1")}});
  refused.side_writes.put("idempotency", "key-2", "response");
  refused.side_writes.set_checkpoint("saga", 2);
  REQUIRE_FALSE(log->append(std::move(refused)).is_ok());
  CHECK(log->get("idempotency", "key-2").value() == std::nullopt);
  CHECK(log->checkpoint("saga").value() == std::optional<uint64_t>(1));

  SideWrites view;
  view.put("orders", "b", "2");
  view.put("orders", "a", "1");
  view.put("ordersx", "a", "other space");
  view.erase("idempotency", "key-1");
  view.set_checkpoint("projector", 1);
  REQUIRE(log->write(view).is_ok());
  CHECK(log->get("idempotency", "key-1").value() == std::nullopt);
  CHECK(log->checkpoint("projector").value() == std::optional<uint64_t>(1));
  std::vector<std::pair<std::string, std::string>> rows;
  REQUIRE(log->scan("orders", "", [&](std::string_view k, std::string_view v) {
                rows.emplace_back(k, v);
                return true;
              }).is_ok());
  CHECK(rows == std::vector<std::pair<std::string, std::string>>{{"a", "1"}, {"b", "2"}});
}

TEST_CASE("a read from memory answers from the memtable or the block cache, and says so when it would need the disk") {
  TempDir dir;
  {
    auto log = open_log(dir.path());
    SideWrites w;
    w.put("orders", "o/1", "row");
    REQUIRE(log->write(w).is_ok());
    auto in_memtable = log->get_from_memory("orders", "o/1");
    REQUIRE(in_memtable);
    CHECK(in_memtable->value() == std::optional<std::string>("row"));
    auto absent = log->get_from_memory("orders", "o/2");
    REQUIRE(absent);  // the memtable's filter and the (empty) files say no without a read
    CHECK(absent->value() == std::nullopt);
    log->close();  // flushes the memtable to a file
  }
  auto log = open_log(dir.path());
  CHECK_FALSE(log->get_from_memory("orders", "o/1"));  // only on disk now
  CHECK(log->get("orders", "o/1").value() == std::optional<std::string>("row"));
  auto cached = log->get_from_memory("orders", "o/1");  // the read above brought its block into the cache
  REQUIRE(cached);
  CHECK(cached->value() == std::optional<std::string>("row"));
}

TEST_CASE("erasing a space removes every key of it, and of no other space, in the same batch as other writes") {
  TempDir dir;
  auto log = open_log(dir.path());
  SideWrites rows;
  for (int i = 0; i < 1000; ++i) rows.put("orders", "k" + std::to_string(i), "v");
  rows.put("order", "sk", "a space whose name the other extends");
  rows.put("orders2", "a", "a space whose name extends the other");
  REQUIRE(log->write(rows).is_ok());

  SideWrites erase;
  erase.erase_space("orders");
  erase.put("orders", "new", "written after the erase in the same batch");
  erase.set_checkpoint("projector", 0);
  REQUIRE(log->write(erase).is_ok());
  auto keys_of = [&](const char* space) {
    std::vector<std::string> keys;
    REQUIRE(log->scan(space, "", [&](std::string_view k, std::string_view) {
                  keys.emplace_back(k);
                  return true;
                }).is_ok());
    return keys;
  };
  CHECK(keys_of("orders") == std::vector<std::string>{"new"});
  CHECK(keys_of("order") == std::vector<std::string>{"sk"});
  CHECK(keys_of("orders2") == std::vector<std::string>{"a"});
  CHECK(log->get("orders", "k7").value() == std::nullopt);
}

TEST_CASE("the head and the stream versions survive a restart") {
  TempDir dir;
  {
    auto log = open_log(dir.path());
    for (int i = 0; i < 5; ++i) REQUIRE(log->append("s", ExpectedVersion::any(), {order_placed("1")}).is_ok());
  }
  auto log = open_log(dir.path());
  CHECK(log->head() == 5);
  auto r = log->append("s", ExpectedVersion::exact(5), {order_placed("1")});
  REQUIRE(r.is_ok());
  CHECK(r->first_position == 6);
  CHECK(r->next_version() == 6);
}

namespace {
// Bytes of the write-ahead-log files (*.log) in `dir`.
uint64_t wal_bytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::error_code size_ec;
    if (entry.path().extension() == ".log") total += entry.file_size(size_ec);
  }
  return total;
}

// Entries an open of `dir` replays from the WAL (they land in the memtables;
// what an SST already holds is skipped).
uint64_t replayed_entries(const std::string& dir) {
  rocksdb::DBOptions options;
  std::vector<std::string> names;
  REQUIRE(rocksdb::DB::ListColumnFamilies(options, dir, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (auto& n : names) families.push_back({n, rocksdb::ColumnFamilyOptions()});
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  REQUIRE(rocksdb::DB::OpenForReadOnly(options, dir, families, &handles, &db).ok());
  uint64_t total = 0;
  for (auto* h : handles) {
    uint64_t n = 0;
    REQUIRE(db->GetIntProperty(h, "rocksdb.num-entries-active-mem-table", &n));
    total += n;
    db->DestroyColumnFamilyHandle(h);
  }
  delete db;
  return total;
}
}  // namespace

TEST_CASE("the write-ahead log stays within max_wal_bytes though a family is written only once, and a closed log "
          "leaves none to replay") {
  TempDir dir;
  EventLogOptions options;  // fsync: each append waits, so flushes keep pace as they would in service
  options.cache_bytes = size_t{1} << 30;  // memtables that would hold everything: only the WAL bound flushes
  options.max_wal_bytes = uint64_t{4} << 20;
  uint64_t most = 0;
  {
    auto log = EventLog::open(dir.path(), options).value();
    // The checkpoints family is written once and never again: without the
    // bound its memtable would keep every WAL file since then alive.
    SideWrites once;
    once.set_checkpoint("rarely", 1);
    REQUIRE(log->write(once));
    for (int batch = 0; batch < 240; ++batch) {
      std::vector<NewEvent> events;
      for (int i = 0; i < 1'000; ++i) events.push_back(order_placed(std::to_string(batch) + "-" + std::to_string(i)));
      REQUIRE(log->append("s-" + std::to_string(batch), ExpectedVersion::no_stream(), std::move(events)));
      most = std::max(most, wal_bytes(dir.path()));
    }
    CHECK(log->checkpoint("rarely").value() == std::optional<uint64_t>(1));
  }
  INFO("the WAL reached ", most, " bytes");
  // 240,000 events are some 110 MB of WAL. The bound is soft: the WAL goes
  // on growing while the flushes it asked for run, a few memtables' worth.
  CHECK(most < (uint64_t{32} << 20));
  CHECK(replayed_entries(dir.path()) == 0);
  auto log = EventLog::open(dir.path(), options).value();
  CHECK(log->head() == 240'000);
  CHECK(log->checkpoint("rarely").value() == std::optional<uint64_t>(1));
}

TEST_CASE("stream heads stay exact when there are more streams than the head cache holds") {
  TempDir dir;
  EventLogOptions options;
  options.stream_cache_capacity = 4;
  auto log = open_log(dir.path(), options);
  for (uint64_t round = 0; round < 3; ++round) {
    for (int s = 0; s < 50; ++s) {
      auto r = log->append("stream-" + std::to_string(s), ExpectedVersion::exact(round), {order_placed("1")});
      REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
    }
  }
  auto stale = log->append("stream-0", ExpectedVersion::exact(2), {order_placed("1")});
  REQUIRE_FALSE(stale.is_ok());
  CHECK(stale.status().actual_version() == 3);
}

TEST_CASE("a second open of a data directory in use gives busy, not a crash") {
  TempDir dir;
  auto log = open_log(dir.path());
  auto second = EventLog::open(dir.path());
  REQUIRE_FALSE(second.is_ok());
  CHECK(second.status().code() == Status::Code::kBusy);
  CHECK(second.status().message().find("in use") != std::string::npos);
}

TEST_CASE("a damaged record is reported as corruption naming its position") {
  TempDir dir;
  {
    auto log = open_log(dir.path());
    for (int i = 0; i < 3; ++i) REQUIRE(log->append("s", ExpectedVersion::any(), {order_placed("1")}).is_ok());
  }
  tamper(dir.path(), 2, std::string("\x04\x00\x00\x00garbage", 11));
  auto log = open_log(dir.path());
  auto all = log->read_all(1, 10);
  REQUIRE_FALSE(all.is_ok());
  CHECK(all.status().code() == Status::Code::kCorruption);
  CHECK(all.status().position() == 2);
  CHECK(all.status().message().find("position 2") != std::string::npos);
  auto stream = log->read_stream("s", 1, 10);
  REQUIRE_FALSE(stream.is_ok());
  CHECK(stream.status().position() == 2);
  CHECK(log->read_all(3, 10).is_ok());  // records after the damage still read
}

TEST_CASE("a record missing from the middle of the log is reported as a gap") {
  TempDir dir;
  {
    auto log = open_log(dir.path());
    for (int i = 0; i < 3; ++i) REQUIRE(log->append("s", ExpectedVersion::any(), {order_placed("1")}).is_ok());
  }
  tamper(dir.path(), 2, std::nullopt);
  auto log = open_log(dir.path());
  auto all = log->read_all(1, 10);
  REQUIRE_FALSE(all.is_ok());
  CHECK(all.status().code() == Status::Code::kCorruption);
  CHECK(all.status().position() == 2);
}

TEST_CASE("closing the log commits every append already queued") {
  TempDir dir;
  std::atomic<int> ok{0};
  {
    auto log = open_log(dir.path());
    for (int i = 0; i < 200; ++i) {
      AppendRequest req;
      req.streams.push_back({"s" + std::to_string(i % 7), ExpectedVersion::any(), {order_placed("1")}});
      log->append_async(std::move(req), [&](Result<AppendResult> r) { ok += r.is_ok(); });
    }
  }
  CHECK(ok == 200);
  auto log = open_log(dir.path());
  CHECK(log->head() == 200);
}

TEST_CASE("a read-only log reads but refuses to write") {
  TempDir dir;
  {
    auto log = open_log(dir.path());
    REQUIRE(log->append("s", ExpectedVersion::any(), {order_placed("1")}).is_ok());
  }
  EventLogOptions options;
  options.read_only = true;
  auto log = open_log(dir.path(), options);
  CHECK(log->head() == 1);
  CHECK(all_events(*log).size() == 1);
  auto r = log->append("s", ExpectedVersion::any(), {order_placed("1")});
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == Status::Code::kInvalidArgument);
  SideWrites w;
  w.set_checkpoint("x", 1);
  CHECK_FALSE(log->write(w).is_ok());
}

TEST_CASE("wait_for returns at once for a position already reached and times out for one that is not") {
  TempDir dir;
  auto log = open_log(dir.path());
  REQUIRE(log->append("s", ExpectedVersion::any(), {order_placed("1")}).is_ok());
  CHECK(log->wait_for(1, std::chrono::steady_clock::now()));
  CHECK_FALSE(log->wait_for(2, std::chrono::steady_clock::now() + std::chrono::milliseconds(20)));
}

TEST_CASE("stats count commits, appends, events and refusals") {
  TempDir dir;
  auto log = open_log(dir.path());
  REQUIRE(log->append("s", ExpectedVersion::any(), {order_placed("1"), order_placed("1")}).is_ok());
  REQUIRE_FALSE(log->append("s", ExpectedVersion::no_stream(), {order_placed("1")}).is_ok());
  auto s = log->stats();
  CHECK(s.commits == 1);
  CHECK(s.appends == 1);
  CHECK(s.events == 2);
  CHECK(s.refused == 1);
  CHECK(s.largest_batch >= 1);
}

TEST_CASE("a closed log completes what was queued, refuses new appends and still reads") {
  TempDir dir;
  auto log = open_log(dir.path());
  std::atomic<int> ok{0};
  for (int i = 0; i < 50; ++i) {
    AppendRequest req;
    req.streams.push_back({"s", ExpectedVersion::any(), {order_placed("1")}});
    log->append_async(std::move(req), [&](Result<AppendResult> r) { ok += r.is_ok(); });
  }
  log->close();
  CHECK(ok == 50);
  auto late = log->append("s", ExpectedVersion::any(), {order_placed("1")});
  REQUIRE_FALSE(late.is_ok());
  CHECK(late.status().code() == Status::Code::kShuttingDown);
  CHECK(log->head() == 50);
  CHECK(all_events(*log).size() == 50);
  log->close();  // idempotent
}

TEST_CASE("put_last_position stores where the append's last event landed, in the same batch; never alone") {
  TempDir dir;
  auto log = open_log(dir.path());
  REQUIRE(log->append("order-o0", ExpectedVersion::no_stream(), {order_placed("o0")}).is_ok());
  AppendRequest first, second;
  first.streams.push_back({"order-o1", ExpectedVersion::no_stream(), {order_placed("o1"), order_placed("o1")}});
  first.side_writes.put_last_position("space", "first");
  second.streams.push_back({"order-o2", ExpectedVersion::no_stream(), {order_placed("o2")}});
  second.side_writes.put_last_position("space", "second");
  std::optional<Result<AppendResult>> a, b;
  log->append_async(std::move(first), [&](Result<AppendResult> r) { a = std::move(r); });
  log->append_async(std::move(second), [&](Result<AppendResult> r) { b = std::move(r); });
  REQUIRE(log->append("order-o3", ExpectedVersion::no_stream(), {order_placed("o3")}).is_ok());
  REQUIRE(a->is_ok());
  REQUIRE(b->is_ok());
  CHECK(log->get("space", "first").value() == std::optional<std::string>(keys::position_key(a->value().last_position)));
  CHECK(log->get("space", "second").value() == std::optional<std::string>(keys::position_key(b->value().last_position)));
  CHECK(a->value().last_position == 3);
  // A refused append writes no position; side writes alone cannot ask for one.
  AppendRequest refused;
  refused.streams.push_back({"order-o1", ExpectedVersion::no_stream(), {order_placed("o1")}});
  refused.side_writes.put_last_position("space", "refused");
  CHECK_FALSE(log->append(std::move(refused)).is_ok());
  CHECK(log->get("space", "refused").value() == std::nullopt);
  SideWrites alone;
  alone.put_last_position("space", "alone");
  CHECK(log->write(alone).code() == Status::Code::kInvalidArgument);
}

TEST_CASE("a completion that throws does not stop the log from completing the others") {
  TempDir dir;
  auto log = open_log(dir.path());
  std::atomic<int> completed{0};
  log->append_async({{{"order-o1", ExpectedVersion::no_stream(), {order_placed("o1")}}}, {}},
                    [&](Result<AppendResult>) {
                      ++completed;
                      throw std::runtime_error("parsing a damaged row");
                    });
  log->append_async({{{"order-o2", ExpectedVersion::no_stream(), {order_placed("o2")}}}, {}},
                    [&](Result<AppendResult>) { ++completed; });
  CHECK(log->append("order-o3", ExpectedVersion::no_stream(), {order_placed("o3")}).is_ok());
  CHECK(completed == 2);
  CHECK(log->head() == 3);
}

namespace {

// Deletes the directory's name-id record: what a directory written before
// the record existed looks like.
void erase_name_ids_record(const std::string& dir) {
  test::edit_raw(dir, [](rocksdb::DB& db, const test::FamilyByName&) {
    REQUIRE(db.Delete(rocksdb::WriteOptions(), db.DefaultColumnFamily(), keys::kNameIdsKey).ok());
  });
}

}  // namespace

TEST_CASE("a new directory derives event ids with SHA-1 (version 5) and keeps doing so") {
  TempDir dir;
  {
    auto log = open_log(dir.path());
    CHECK(log->name_ids() == NameIdScheme::kSha1);
    CHECK(log->name_id("saga/o-1/x/0") == uuid_from_name("saga/o-1/x/0"));
    REQUIRE(log->append("order-1", ExpectedVersion::any(), {order_delivered("order-1", log->name_id("a"))}));
  }
  auto log = open_log(dir.path());
  CHECK(log->name_ids() == NameIdScheme::kSha1);
  EventLogOptions read_only;
  read_only.read_only = true;
  log.reset();
  CHECK(open_log(dir.path(), read_only)->name_ids() == NameIdScheme::kSha1);
}

TEST_CASE("a directory written with the legacy name ids keeps them through restarts, so retries are recognised") {
  TempDir dir;
  const std::string seed = "order-1/idempotency/key-1/";
  {
    // What an older ordersd wrote: events with legacy name-derived ids, no record.
    auto log = open_log(dir.path());
    REQUIRE(log->append("order-1", ExpectedVersion::no_stream(),
                        {order_delivered("order-1", legacy_uuid_from_name(seed + "0")),
                         order_delivered("order-1", legacy_uuid_from_name(seed + "1"))}));
  }
  erase_name_ids_record(dir.path());
  for (int restart = 0; restart < 2; ++restart) {
    CAPTURE(restart);
    {
      EventLogOptions read_only;
      read_only.read_only = true;
      CHECK(open_log(dir.path(), read_only)->name_ids() == NameIdScheme::kLegacyFnv);
    }
    auto log = open_log(dir.path());
    CHECK(log->name_ids() == NameIdScheme::kLegacyFnv);
    CHECK(log->name_id(seed + "0") == legacy_uuid_from_name(seed + "0"));
    // The retry of the same command derives the same ids: already written.
    auto retry = log->append("order-1", ExpectedVersion::no_stream(),
                             {order_delivered("order-1", log->name_id(seed + "0")),
                              order_delivered("order-1", log->name_id(seed + "1"))});
    REQUIRE_MESSAGE(retry.is_ok(), retry.status().to_string());
    CHECK(retry->already_appended);
    CHECK(log->head() == 2);
  }
}

TEST_CASE("a follower sees what the writer appends after it opened, once it catches up") {
  TempDir dir;
  auto writer = open_log(dir.sub("log"));
  REQUIRE(writer->append("order-1", ExpectedVersion::no_stream(), {order_placed("order-1")}).is_ok());

  EventLogOptions follow;
  follow.read_only = true;
  follow.follower_dir = dir.sub("follower");
  std::filesystem::create_directories(follow.follower_dir);
  auto follower = open_log(dir.sub("log"), follow);
  CHECK(follower->head() == 1);

  REQUIRE(writer->append("order-1", ExpectedVersion::exact(1), {order_placed("order-1")}).is_ok());
  REQUIRE(writer->append("order-2", ExpectedVersion::no_stream(), {order_placed("order-2")}).is_ok());
  CHECK(follower->head() == 1);  // nothing moves by itself
  auto head = follower->catch_up();
  REQUIRE(head.is_ok());
  CHECK(*head == 3);
  CHECK(follower->head() == 3);
  CHECK(all_events(*follower).size() == 3);
  auto stream = follower->read_stream("order-1", 1, 10);
  REQUIRE(stream.is_ok());
  CHECK(stream->size() == 2);
  CHECK(follower->stream_version("order-2").value() == 1);
  CHECK(follower->append("order-3", ExpectedVersion::any(), {order_placed("order-3")}).status().code() ==
        Status::Code::kInvalidArgument);

  // A log that is no follower has nothing to catch up with.
  CHECK(writer->catch_up().status().code() == Status::Code::kInvalidArgument);
}

TEST_CASE("opening a missing directory read-only, or without create_if_missing, creates nothing") {
  TempDir dir;
  EventLogOptions read_only;
  read_only.read_only = true;
  CHECK_FALSE(EventLog::open(dir.sub("a"), read_only).is_ok());
  CHECK_FALSE(std::filesystem::exists(dir.sub("a")));
  EventLogOptions no_create;
  no_create.create_if_missing = false;
  CHECK_FALSE(EventLog::open(dir.sub("b"), no_create).is_ok());
  CHECK_FALSE(std::filesystem::exists(dir.sub("b")));
}
