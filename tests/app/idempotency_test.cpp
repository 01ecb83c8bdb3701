// IdempotencyStore against a real EventLog in a temporary directory. Time is
// the test's: every store reads a std::atomic the test moves by hand.
#include "api/idempotency.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "events/event_log.h"
#include "support/eventually.h"
#include "support/sample_events.h"
#include "support/temp_dir.h"

using namespace ordersd;
using namespace std::chrono_literals;
using ordersd::api::IdempotencyStore;
using ordersd::api::StoredResponse;
using ordersd::events::EventLog;
using ordersd::events::EventLogOptions;
using ordersd::events::SideWrites;
using ordersd::test::TempDir;

using ordersd::test::eventually;

namespace {

constexpr int64_t kStart = 1'700'000'000'000'000;  // microseconds since the epoch
constexpr int64_t kSecond = 1'000'000;

std::unique_ptr<EventLog> open_log(const std::string& dir) {
  EventLogOptions options;
  options.durability = events::Durability::kAsync;  // nothing here crashes; keeps the suite quick
  auto log = EventLog::open(dir, std::move(options));
  REQUIRE_MESSAGE(log.is_ok(), log.status().to_string());
  return std::move(log).value();
}

// A log in a fresh directory and a clock the test moves. The store, declared
// last, goes first: its reaper never outlives the clock or the log.
struct Fixture {
  TempDir dir;
  std::unique_ptr<EventLog> log = open_log(dir.path());
  std::atomic<int64_t> now{kStart};

  IdempotencyStore::Clock clock() {
    return [this] { return now.load(); };
  }
  void advance(int64_t micros) { now += micros; }
};

// One log for the tests of claim()/release(), which never touch the disk:
// opening a log costs ~0.2 s.
EventLog& claims_log() {
  static TempDir dir;
  static std::unique_ptr<EventLog> log = open_log(dir.path());
  return *log;
}

StoredResponse response(std::string body, int status = 201) {
  StoredResponse r;
  r.fingerprint = IdempotencyStore::fingerprint("POST", "/orders", body);
  r.status = status;
  r.headers = {{"Content-Type", "application/json"}, {"Location", "/orders/o1"}};
  r.body = std::move(body);
  return r;
}

void record(EventLog& log, const IdempotencyStore& store, const std::string& key, StoredResponse r) {
  SideWrites writes;
  store.record(writes, key, std::move(r));
  Status s = log.write(writes);
  REQUIRE_MESSAGE(s.is_ok(), s.to_string());
}

std::optional<StoredResponse> find(const IdempotencyStore& store, const std::string& key) {
  auto found = store.find(key);
  REQUIRE_MESSAGE(found.is_ok(), found.status().to_string());
  return *found;
}

std::vector<std::string> keys_of(const EventLog& log, std::string_view space) {
  std::vector<std::string> keys;
  Status s = log.scan(space, "", [&](std::string_view k, std::string_view) {
    keys.emplace_back(k);
    return true;
  });
  REQUIRE_MESSAGE(s.is_ok(), s.to_string());
  return keys;
}

// The record keys named by the "idem-exp" space (its keys are created_us:u64be + key).
std::multiset<std::string> expiry_entries(const EventLog& log) {
  std::multiset<std::string> out;
  for (const auto& k : keys_of(log, "idem-exp")) {
    REQUIRE(k.size() >= 8);
    out.insert(k.substr(8));
  }
  return out;
}

size_t purge(IdempotencyStore& store, size_t max) {
  auto purged = store.purge_expired(max);
  REQUIRE_MESSAGE(purged.is_ok(), purged.status().to_string());
  return *purged;
}

}  // namespace

TEST_CASE("valid_key accepts 1 to 255 printable ASCII characters") {
  CHECK(IdempotencyStore::valid_key("a"));
  CHECK(IdempotencyStore::valid_key("550e8400-e29b-41d4-a716-446655440000"));
  CHECK(IdempotencyStore::valid_key(std::string(255, 'k')));
  std::string printable;
  for (char c = 0x21; c <= 0x7e; ++c) printable.push_back(c);
  CHECK(IdempotencyStore::valid_key(printable));
}

TEST_CASE("valid_key refuses an empty key, 256 characters, spaces, control characters and non-ASCII") {
  CHECK_FALSE(IdempotencyStore::valid_key(""));
  CHECK_FALSE(IdempotencyStore::valid_key(std::string(256, 'k')));
  CHECK_FALSE(IdempotencyStore::valid_key(" "));
  CHECK_FALSE(IdempotencyStore::valid_key("a b"));
  CHECK_FALSE(IdempotencyStore::valid_key("a\tb"));
  CHECK_FALSE(IdempotencyStore::valid_key("a\nb"));
  CHECK_FALSE(IdempotencyStore::valid_key("\x01"));
  CHECK_FALSE(IdempotencyStore::valid_key("a\x7f"));
  CHECK_FALSE(IdempotencyStore::valid_key(std::string_view("a\0b", 3)));
  CHECK_FALSE(IdempotencyStore::valid_key("caf\xc3\xa9"));  // "café"
  CHECK_FALSE(IdempotencyStore::valid_key("\x80"));
  CHECK_FALSE(IdempotencyStore::valid_key("\xff"));
}

TEST_CASE("the fingerprint is stable for equal requests and differs when the method, path or body differ") {
  auto base = IdempotencyStore::fingerprint("POST", "/orders", R"({"customer_id":"c1"})");
  CHECK(base == IdempotencyStore::fingerprint("POST", "/orders", R"({"customer_id":"c1"})"));
  CHECK(base != IdempotencyStore::fingerprint("PUT", "/orders", R"({"customer_id":"c1"})"));
  CHECK(base != IdempotencyStore::fingerprint("POST", "/orders/o1/cancel", R"({"customer_id":"c1"})"));
  CHECK(base != IdempotencyStore::fingerprint("POST", "/orders", R"({"customer_id":"c2"})"));
  CHECK(base != IdempotencyStore::fingerprint("POST", "/orders", ""));
  CHECK(IdempotencyStore::fingerprint("POST", "/orders", "") == IdempotencyStore::fingerprint("POST", "/orders", ""));
}

TEST_CASE("the fingerprint tells apart requests whose parts only split differently") {
  CHECK(IdempotencyStore::fingerprint("ab", "c", "") != IdempotencyStore::fingerprint("a", "bc", ""));
  CHECK(IdempotencyStore::fingerprint("x", "ab", "c") != IdempotencyStore::fingerprint("x", "a", "bc"));
  CHECK(IdempotencyStore::fingerprint("ab", "", "c") != IdempotencyStore::fingerprint("a", "", "bc"));
  CHECK(IdempotencyStore::fingerprint("", "ab", "") != IdempotencyStore::fingerprint("ab", "", ""));
}

TEST_CASE("a recorded response is found with its status, headers, body and fingerprint") {
  Fixture f;
  IdempotencyStore store(*f.log, 60s, f.clock());
  CHECK_FALSE(find(store, "k1"));

  record(*f.log, store, "k1", response(R"({"order_id":"o1"})"));
  auto found = find(store, "k1");
  REQUIRE(found);
  CHECK(found->status == 201);
  CHECK(found->fingerprint == IdempotencyStore::fingerprint("POST", "/orders", R"({"order_id":"o1"})"));
  CHECK(found->body == R"({"order_id":"o1"})");
  CHECK(found->created_us == kStart);
  REQUIRE(found->headers.size() == 2);
  CHECK(found->headers[0] == std::pair<std::string, std::string>{"Content-Type", "application/json"});
  CHECK(found->headers[1] == std::pair<std::string, std::string>{"Location", "/orders/o1"});
  CHECK_FALSE(find(store, "k2"));
}

TEST_CASE("a record with a binary body, no headers and an error status comes back byte for byte") {
  Fixture f;
  IdempotencyStore store(*f.log, 60s, f.clock());
  StoredResponse r;
  r.fingerprint = "fp";
  r.status = 422;
  r.body = std::string("line\n\"quoted\"\0end", 17);
  record(*f.log, store, "k", r);
  auto found = find(store, "k");
  REQUIRE(found);
  CHECK(found->status == 422);
  CHECK(found->headers.empty());
  CHECK(found->body == r.body);
  CHECK(found->fingerprint == "fp");
}

TEST_CASE("a recorded response survives reopening the log") {
  Fixture f;
  {
    IdempotencyStore store(*f.log, 60s, f.clock());
    record(*f.log, store, "k1", response("first"));
  }
  f.log.reset();
  f.log = open_log(f.dir.path());
  IdempotencyStore store(*f.log, 60s, f.clock());
  auto found = find(store, "k1");
  REQUIRE(found);
  CHECK(found->status == 201);
  CHECK(found->body == "first");
  CHECK(found->fingerprint == IdempotencyStore::fingerprint("POST", "/orders", "first"));
  CHECK(found->headers.size() == 2);
  CHECK(found->created_us == kStart);
}

TEST_CASE("a record is not found once its ttl has passed") {
  Fixture f;
  IdempotencyStore store(*f.log, 10s, f.clock());
  record(*f.log, store, "k", response("x"));
  f.advance(10 * kSecond - 1);
  CHECK(find(store, "k"));
  f.advance(2);
  CHECK_FALSE(find(store, "k"));
  // Still on disk until purged: find only hides it.
  CHECK(keys_of(*f.log, "idem") == std::vector<std::string>{"k"});
}

TEST_CASE("purge_expired erases exactly the expired records from both spaces and returns how many") {
  Fixture f;
  IdempotencyStore store(*f.log, 10s, f.clock());
  record(*f.log, store, "a", response("a"));
  record(*f.log, store, "b", response("b"));
  f.advance(5 * kSecond);
  record(*f.log, store, "c", response("c"));
  CHECK(purge(store, 100) == 0);  // nothing expired yet
  CHECK(keys_of(*f.log, "idem").size() == 3);

  f.advance(5 * kSecond + 1);  // a and b are 10 s + 1 us old, c 5 s + 1 us
  CHECK(purge(store, 100) == 2);
  CHECK_FALSE(find(store, "a"));
  CHECK_FALSE(find(store, "b"));
  auto c = find(store, "c");
  REQUIRE(c);
  CHECK(c->body == "c");
  CHECK(keys_of(*f.log, "idem") == std::vector<std::string>{"c"});
  CHECK(expiry_entries(*f.log) == std::multiset<std::string>{"c"});
  CHECK(purge(store, 100) == 0);

  f.advance(5 * kSecond);
  CHECK(purge(store, 100) == 1);
  CHECK(keys_of(*f.log, "idem").empty());
  CHECK(keys_of(*f.log, "idem-exp").empty());
}

TEST_CASE("purge_expired erases at most max records per call, oldest first") {
  Fixture f;
  IdempotencyStore store(*f.log, 1s, f.clock());
  for (int i = 0; i < 5; ++i) {
    record(*f.log, store, "k" + std::to_string(i), response("r"));
    f.advance(1);
  }
  f.advance(2 * kSecond);
  CHECK(purge(store, 0) == 0);
  CHECK(keys_of(*f.log, "idem").size() == 5);
  CHECK(purge(store, 2) == 2);
  CHECK(expiry_entries(*f.log) == std::multiset<std::string>{"k2", "k3", "k4"});
  CHECK(keys_of(*f.log, "idem") == std::vector<std::string>{"k2", "k3", "k4"});
  CHECK(purge(store, 2) == 2);
  CHECK(purge(store, 2) == 1);
  CHECK(purge(store, 2) == 0);
  CHECK(keys_of(*f.log, "idem").empty());
  CHECK(keys_of(*f.log, "idem-exp").empty());
}

TEST_CASE("purge_expired keeps a key that was recorded again after its first record expired") {
  Fixture f;
  IdempotencyStore store(*f.log, 10s, f.clock());
  record(*f.log, store, "k", response("old"));
  f.advance(11 * kSecond);
  REQUIRE_FALSE(find(store, "k"));
  record(*f.log, store, "k", response("new", 200));  // the key is reused once the first answer expired
  CHECK(expiry_entries(*f.log) == std::multiset<std::string>{"k", "k"});

  f.advance(1 * kSecond);
  CHECK(purge(store, 100) == 1);  // only the first record's expiry entry
  auto found = find(store, "k");
  REQUIRE(found);
  CHECK(found->body == "new");
  CHECK(found->status == 200);
  CHECK(found->created_us == kStart + 11 * kSecond);
  CHECK(keys_of(*f.log, "idem") == std::vector<std::string>{"k"});
  CHECK(expiry_entries(*f.log) == std::multiset<std::string>{"k"});

  f.advance(10 * kSecond);
  CHECK(purge(store, 100) == 1);
  CHECK(keys_of(*f.log, "idem").empty());
  CHECK(keys_of(*f.log, "idem-exp").empty());
}

TEST_CASE("purge_expired erases a reused key once both of its records have expired") {
  Fixture f;
  IdempotencyStore store(*f.log, 10s, f.clock());
  record(*f.log, store, "k", response("old"));
  f.advance(11 * kSecond);
  record(*f.log, store, "k", response("new"));
  f.advance(11 * kSecond);  // both expiry entries are past the cutoff and purged in one call
  CHECK(purge(store, 100) == 2);
  CHECK_FALSE(find(store, "k"));
  CHECK(keys_of(*f.log, "idem").empty());
  CHECK(keys_of(*f.log, "idem-exp").empty());
}

TEST_CASE("claim gives a key to one holder and resumes a parked claimant exactly once on release") {
  IdempotencyStore store(claims_log(), 60s);
  int first_resumed = 0, second_resumed = 0;
  CHECK(store.claim("k", [&] { ++first_resumed; }));
  CHECK_FALSE(store.claim("k", [&] { ++second_resumed; }));
  CHECK(store.claim("other", [] {}));  // keys are independent
  CHECK(second_resumed == 0);

  store.release("k");
  CHECK(second_resumed == 1);
  CHECK(first_resumed == 0);  // the holder's own callback is never called

  CHECK(store.claim("k", [] {}));  // free again
  store.release("k");
  CHECK(second_resumed == 1);
  store.release("other");
}

TEST_CASE("every parked claimant is resumed once and may claim the key again from its resume") {
  IdempotencyStore store(claims_log(), 60s);
  REQUIRE(store.claim("k", [] {}));
  std::vector<int> resumed(3, 0);
  std::vector<bool> reclaimed(3, false);
  for (int i = 0; i < 3; ++i) {
    CHECK_FALSE(store.claim("k", [&, i] {
      ++resumed[i];
      reclaimed[i] = store.claim("k", [] {});  // looks again, as a retried request does
    }));
  }
  store.release("k");
  CHECK(resumed == std::vector<int>{1, 1, 1});
  CHECK(reclaimed == std::vector<bool>{true, false, false});  // the first to look again wins
  store.release("k");
  CHECK(resumed == std::vector<int>{1, 1, 1});
}

TEST_CASE("releasing a key nobody holds is harmless") {
  IdempotencyStore store(claims_log(), 60s);
  store.release("never-claimed");
  CHECK(store.claim("never-claimed", [] {}));
  store.release("never-claimed");
  store.release("never-claimed");
  CHECK(store.claim("never-claimed", [] {}));
  store.release("never-claimed");
}

TEST_CASE("of many threads claiming one key at once exactly one holds it and the others are resumed") {
  IdempotencyStore store(claims_log(), 60s);
  constexpr int kThreads = 8;
  std::atomic<int> holders{0}, resumed{0};
  std::latch start(kThreads);
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&] {
        start.arrive_and_wait();
        if (store.claim("k", [&] { ++resumed; })) ++holders;
      });
    }
  }
  CHECK(holders == 1);
  CHECK(resumed == 0);
  store.release("k");
  CHECK(resumed == kThreads - 1);
}

TEST_CASE("the reaper purges expired records and leaves unexpired ones") {
  Fixture f;
  IdempotencyStore store(*f.log, 10s, f.clock());
  record(*f.log, store, "old", response("old"));
  f.advance(5 * kSecond);
  record(*f.log, store, "young", response("young"));
  f.advance(5 * kSecond + 1);  // "old" has expired, "young" has not
  store.start_reaper(5ms);

  CHECK(eventually([&] { return keys_of(*f.log, "idem") == std::vector<std::string>{"young"}; }));
  CHECK(expiry_entries(*f.log) == std::multiset<std::string>{"young"});
  CHECK(find(store, "young"));

  f.advance(5 * kSecond);
  CHECK(eventually([&] { return keys_of(*f.log, "idem").empty() && keys_of(*f.log, "idem-exp").empty(); }));
}

TEST_CASE("the store's destructor stops the reaper promptly") {
  Fixture f;
  for (auto interval : {std::chrono::milliseconds(1), std::chrono::milliseconds(std::chrono::hours(1))}) {
    CAPTURE(interval.count());
    auto store = std::make_unique<IdempotencyStore>(*f.log, 10s, f.clock());
    store->start_reaper(interval);
    auto t0 = std::chrono::steady_clock::now();
    store.reset();
    CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  }
}

TEST_CASE("purge_expired leaves a key alone while an execution holds it, and purges it once let go") {
  // An execution that found the record expired holds the key and writes the
  // key's new record; a purge in between must not erase what it writes.
  Fixture f;
  IdempotencyStore store(*f.log, 10s, f.clock());
  record(*f.log, store, "k", response("old"));
  record(*f.log, store, "other", response("other"));
  f.advance(11 * kSecond);
  REQUIRE(store.claim("k", [] {}));  // the new execution
  CHECK(purge(store, 100) == 1);     // "other" only
  CHECK(keys_of(*f.log, "idem") == std::vector<std::string>{"k"});
  CHECK(expiry_entries(*f.log) == std::multiset<std::string>{"k"});
  record(*f.log, store, "k", response("new", 200));
  store.release("k");
  CHECK(purge(store, 100) == 1);  // the old record's expiry entry; the new record stays
  auto found = find(store, "k");
  REQUIRE(found);
  CHECK(found->body == "new");
  // A purge holds the key while it decides: an execution that comes then is
  // parked and resumed once the purge is done.
  f.advance(11 * kSecond);
  CHECK(purge(store, 100) == 1);
  CHECK(keys_of(*f.log, "idem").empty());
  CHECK(store.claim("k", [] {}));  // the purge let go of it
  store.release("k");
}

TEST_CASE("a reaper whose purge fails stops and says why; restarted, it purges again") {
  TempDir dir;
  {
    auto log = open_log(dir.path());
    IdempotencyStore store(*log, std::chrono::seconds(1), [] { return kStart; });
    SideWrites writes;
    store.record(writes, "k-1", StoredResponse{"fp", 200, {}, "{}", 0, std::nullopt});
    REQUIRE(log->write(writes));
  }
  // Read-only, the expired record cannot be erased: the purge fails.
  EventLogOptions read_only;
  read_only.read_only = true;
  auto log = EventLog::open(dir.path(), read_only).value();
  IdempotencyStore store(*log, std::chrono::seconds(1), [] { return kStart + 10 * kSecond; });
  store.start_reaper(1ms);
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!store.reaper_failure() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  REQUIRE(store.reaper_failure());
  CHECK(store.reaper_failure()->to_string().find("read-only") != std::string::npos);
  // A restart clears the failure and tries again (and fails again here).
  REQUIRE(store.restart_reaper());
  deadline = std::chrono::steady_clock::now() + 10s;
  while (!store.reaper_failure() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  CHECK(store.reaper_failure());
}

TEST_CASE("a record whose answer quotes its position gets it from the append it goes with") {
  Fixture f;
  IdempotencyStore store(*f.log, std::chrono::seconds(60), f.clock());
  StoredResponse r = response(R"({"order_id":"o1","position":})");
  r.position_at = r.body.size() - 1;  // before the closing brace
  events::AppendRequest append;
  append.streams.push_back({"order-o1", events::ExpectedVersion::no_stream(),
                            {events::NewEvent{Uuid{1, 1}, "order.delivered.v1", test::order_delivered_payload("o1"),
                                              {}, {}}}});
  store.record(append.side_writes, "k-pos", r);
  auto appended = f.log->append(std::move(append));
  REQUIRE_MESSAGE(appended.is_ok(), appended.status().to_string());
  auto found = find(store, "k-pos");
  REQUIRE(found);
  CHECK(found->body == R"({"order_id":"o1","position":)" + std::to_string(appended->last_position) + "}");
  CHECK_FALSE(found->position_at);
}

TEST_CASE("the fingerprint is SHA-256 of the length-prefixed method, path and body") {
  // Computed independently: sha256 over, for each part, its length as 8
  // big-endian bytes and its bytes.
  CHECK(IdempotencyStore::fingerprint("POST", "/orders", R"({"customer_id":"c1"})") ==
        "sha256:a69cc60836f912ffb964600c564d4acabc7ba6a1f9546a2899d67f7c3ee9476b");
}

TEST_CASE("a record stored with the legacy fingerprint still matches its own request, and only it") {
  const std::string body = R"({"customer_id":"c1"})";
  std::string legacy = IdempotencyStore::legacy_fingerprint("POST", "/orders", body);
  CHECK(legacy == "75ef6f8513937e74:20");  // the form stored before SHA-256
  CHECK(IdempotencyStore::same_request(legacy, "POST", "/orders", body));
  CHECK_FALSE(IdempotencyStore::same_request(legacy, "POST", "/orders", R"({"customer_id":"c2"})"));
  std::string current = IdempotencyStore::fingerprint("POST", "/orders", body);
  CHECK(IdempotencyStore::same_request(current, "POST", "/orders", body));
  CHECK_FALSE(IdempotencyStore::same_request(current, "PUT", "/orders", body));
  // A stored SHA-256 form is never compared by the weak hash.
  CHECK_FALSE(IdempotencyStore::same_request("sha256:" + legacy, "POST", "/orders", body));
}
