// Concurrency tests for EventLog: many threads appending through the one
// writer thread (group commit), racing expected versions, conflicts inside a
// group commit, and readers blocked in wait_for(). Nothing here sleeps to
// synchronise: threads meet at latches and barriers, and the one place the
// test must hold the writer still uses the clock_us hook.
//
// Worker threads use CHECK (doctest assertions are thread-safe) and never
// REQUIRE: a REQUIRE throws, and an exception escaping a std::thread
// terminates the process.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdint>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "events/event_log.h"
#include "support/sample_events.h"
#include "support/temp_dir.h"

namespace ordersd::events {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// An event the test knows: where the log said it put it.
struct Acked {
  uint64_t position = 0;
  std::string stream;
  uint64_t version = 0;
  Uuid id;
};

NewEvent make_event(const std::string& stream) {
  static RandomUuidGenerator ids;  // thread-safe
  return test::order_delivered(stream, ids.next());
}

std::unique_ptr<EventLog> open_log(const std::string& dir, EventLogOptions options = {}) {
  auto log = EventLog::open(dir, std::move(options));
  REQUIRE_MESSAGE(log.is_ok(), log.status().to_string());
  return std::move(log).value();
}

// The events of an accepted request, in the order the log assigns positions:
// request order, stream by stream.
std::vector<Acked> acked_events(const AppendRequest& request, const AppendResult& result) {
  std::vector<Acked> out;
  uint64_t position = result.first_position;
  for (size_t k = 0; k < request.streams.size(); ++k) {
    const StreamAppend& part = request.streams[k];
    uint64_t version = result.stream_versions[k] - part.events.size();
    for (const NewEvent& e : part.events) out.push_back({position++, part.stream, ++version, e.id});
  }
  return out;
}

size_t count_events(const AppendRequest& request) {
  size_t n = 0;
  for (const auto& part : request.streams) n += part.events.size();
  return n;
}

// Checks that the result of an accepted, fresh append is shaped right and
// consistent with the expected versions the request carried.
void check_fresh_result(const AppendRequest& request, const AppendResult& r) {
  CHECK_FALSE(r.already_appended);
  CHECK(r.first_position >= 1);
  CHECK(r.last_position - r.first_position + 1 == count_events(request));
  CHECK(r.stream_versions.size() == request.streams.size());
  for (size_t k = 0; k < request.streams.size() && k < r.stream_versions.size(); ++k) {
    const StreamAppend& part = request.streams[k];
    CHECK(r.stream_versions[k] >= part.events.size());
    if (part.expected.kind == ExpectedVersion::Kind::kExact) {
      CHECK(r.stream_versions[k] == part.expected.version + part.events.size());
    }
  }
}

// Reads the whole log and checks it against what was acknowledged:
// positions 1..head dense, every acknowledged event at its position with its
// id/stream/version, ids unique, and every stream's versions dense 1..N, both
// through read_all and through read_stream.
void check_log_matches(const EventLog& log, const std::vector<Acked>& acked, const std::vector<std::string>& streams) {
  const uint64_t head = log.head();
  // Index the acknowledgements by position; two acks claiming one position is a bug.
  std::vector<const Acked*> by_position(head + 1, nullptr);
  for (const Acked& a : acked) {
    REQUIRE_MESSAGE(a.position >= 1, "an acknowledged event has position 0");
    REQUIRE_MESSAGE(a.position <= head, "acknowledged position " << a.position << " is past head " << head);
    CHECK_MESSAGE(by_position[a.position] == nullptr, "two acknowledgements claim position " << a.position);
    by_position[a.position] = &a;
  }

  auto all = log.read_all(1, head + 100);
  REQUIRE_MESSAGE(all.is_ok(), all.status().to_string());
  REQUIRE(all->size() == head);
  std::unordered_set<std::string> ids;
  std::map<std::string, uint64_t, std::less<>> last_version;
  for (size_t i = 0; i < all->size(); ++i) {
    const RecordedEvent& e = (*all)[i];
    REQUIRE_MESSAGE(e.position() == i + 1, "read_all has a gap or duplicate at index " << i);
    CHECK_MESSAGE(ids.insert(e.id().to_string()).second, "event id " << e.id().to_string() << " stored twice");
    uint64_t& v = last_version[std::string(e.stream())];
    CHECK_MESSAGE(e.version() == v + 1, "stream " << e.stream() << " jumps from version " << v << " to "
                                                  << e.version() << " at position " << e.position());
    v = e.version();
    if (const Acked* a = by_position[e.position()]) {
      CHECK(e.id() == a->id);
      CHECK(e.stream() == a->stream);
      CHECK(e.version() == a->version);
    }
  }

  // Per stream, through the stream index.
  std::map<std::pair<std::string, uint64_t>, const Acked*> by_stream_version;
  for (const Acked& a : acked) by_stream_version[{a.stream, a.version}] = &a;
  uint64_t total = 0;
  for (const std::string& s : streams) {
    auto events = log.read_stream(s, 1, 1'000'000);
    REQUIRE_MESSAGE(events.is_ok(), events.status().to_string());
    auto version = log.stream_version(s);
    REQUIRE(version.is_ok());
    CHECK(events->size() == *version);
    total += events->size();
    uint64_t previous_position = 0;
    for (size_t i = 0; i < events->size(); ++i) {
      const RecordedEvent& e = (*events)[i];
      CHECK(e.stream() == s);
      CHECK_MESSAGE(e.version() == i + 1, "stream " << s << " has version " << e.version() << " at index " << i);
      CHECK(e.position() > previous_position);
      previous_position = e.position();
      if (auto it = by_stream_version.find({s, e.version()}); it != by_stream_version.end()) {
        CHECK(e.position() == it->second->position);
        CHECK(e.id() == it->second->id);
      }
    }
  }
  CHECK(total == head);
}

}  // namespace

TEST_CASE("sixteen threads appending to shared streams lose, duplicate and reorder nothing") {
  test::TempDir dir;
  auto log = open_log(dir.sub("log"));

  constexpr int kThreads = 16;
  constexpr int kOpsPerThread = 120;
  std::vector<std::string> streams;
  for (int i = 0; i < 8; ++i) streams.push_back("order-shared-" + std::to_string(i));

  std::vector<std::vector<Acked>> acked(kThreads);
  std::atomic<uint64_t> conflicts{0}, retries{0}, multi{0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(1000 + t);
      auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
      std::vector<Acked>& mine = acked[t];
      AppendRequest previous;  // the last accepted request, for an idempotent retry
      AppendResult previous_result;
      start.arrive_and_wait();
      for (int op = 0; op < kOpsPerThread; ++op) {
        int kind = pick(100);
        if (kind < 5 && !previous.streams.empty()) {
          // Retry of an acknowledged append: recognised, nothing written.
          AppendRequest again = previous;
          for (auto& part : again.streams) part.expected = ExpectedVersion::exact(0);  // stale on purpose
          auto r = log->append(std::move(again));
          CHECK_MESSAGE(r.is_ok(), r.status().to_string());
          if (r) {
            CHECK(r->already_appended);
            CHECK(r->first_position == previous_result.first_position);
            CHECK(r->last_position == previous_result.last_position);
            CHECK(r->stream_versions == previous_result.stream_versions);
          }
          retries.fetch_add(1, std::memory_order_relaxed);
          continue;
        }

        // Build the request: one stream (any or exact) or 2..3 streams at once.
        std::vector<int> chosen;
        bool exact = false;
        if (kind < 45) {
          chosen = {pick(8)};
        } else if (kind < 85) {
          chosen = {pick(8)};
          exact = true;
        } else {
          int n = 2 + pick(2);
          while (static_cast<int>(chosen.size()) < n) {
            int s = pick(8);
            if (std::find(chosen.begin(), chosen.end(), s) == chosen.end()) chosen.push_back(s);
          }
          exact = pick(2) == 0;
          multi.fetch_add(1, std::memory_order_relaxed);
        }
        AppendRequest request;
        for (int s : chosen) {
          StreamAppend part{streams[s], ExpectedVersion::any(), {}};
          int n = 1 + pick(3);
          for (int i = 0; i < n; ++i) part.events.push_back(make_event(streams[s]));
          request.streams.push_back(std::move(part));
        }

        // Append; an exact append that loses a race re-reads the stream and retries.
        for (int attempt = 0;; ++attempt) {
          std::vector<uint64_t> read_versions;
          if (exact) {
            for (auto& part : request.streams) {
              auto v = log->stream_version(part.stream);
              CHECK(v.is_ok());
              part.expected = ExpectedVersion::exact(v ? *v : 0);
              read_versions.push_back(v ? *v : 0);
            }
          }
          auto r = log->append(request);
          if (r) {
            check_fresh_result(request, *r);
            for (Acked& a : acked_events(request, *r)) mine.push_back(std::move(a));
            previous = request;
            previous_result = *r;
            break;
          }
          CHECK_MESSAGE(r.status().code() == Status::Code::kWrongExpectedVersion, r.status().to_string());
          CHECK(exact);
          if (r.status().code() != Status::Code::kWrongExpectedVersion || !exact) break;
          // Versions only grow: the stream moved past what this thread read.
          bool moved = false;
          for (uint64_t v : read_versions) moved = moved || r.status().actual_version() > v;
          CHECK_MESSAGE(moved, r.status().to_string());
          conflicts.fetch_add(1, std::memory_order_relaxed);
          CHECK_MESSAGE(attempt < 500, "an exact append never got through");
          if (!moved || attempt >= 500) break;
        }
      }
    });
  }
  for (auto& th : threads) th.join();

  std::vector<Acked> all;
  for (auto& v : acked) all.insert(all.end(), v.begin(), v.end());
  MESSAGE("appended " << all.size() << " events; " << conflicts.load() << " version conflicts retried, "
                      << retries.load() << " idempotent retries, " << multi.load() << " multi-stream appends; "
                      << log->stats().commits << " group commits, largest " << log->stats().largest_batch);

  // Every append eventually succeeded, so the log holds exactly the acknowledged events.
  CHECK(log->head() == all.size());
  CHECK(log->stats().events == all.size());
  check_log_matches(*log, all, streams);

  // And the same holds for a fresh reader after reopening.
  log.reset();
  auto reopened = open_log(dir.sub("log"));
  CHECK(reopened->head() == all.size());
  check_log_matches(*reopened, all, streams);
}

TEST_CASE("concurrent appends stay dense when the stream-head cache is tiny and batches are small") {
  // A cache of 2 heads for 8 streams forces the writer to seek most stream
  // heads, and max_batch_events = 3 splits the queue into many commits.
  test::TempDir dir;
  EventLogOptions options;
  options.stream_cache_capacity = 2;
  options.max_batch_events = 3;
  options.durability = Durability::kAsync;  // correctness here does not depend on fsync
  auto log = open_log(dir.sub("log"), options);

  constexpr int kThreads = 8;
  std::vector<std::string> streams;
  for (int i = 0; i < 8; ++i) streams.push_back("order-small-" + std::to_string(i));
  std::vector<std::vector<Acked>> acked(kThreads);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(77 + t);
      start.arrive_and_wait();
      for (int op = 0; op < 150; ++op) {
        AppendRequest request;
        int s = static_cast<int>(rng() % 8);
        request.streams.push_back({streams[s], ExpectedVersion::any(), {make_event(streams[s])}});
        if (rng() % 3 == 0) {
          int s2 = (s + 1 + static_cast<int>(rng() % 7)) % 8;
          request.streams.push_back({streams[s2], ExpectedVersion::any(), {make_event(streams[s2])}});
        }
        bool exact = rng() % 2 == 0;
        for (int attempt = 0; attempt < 500; ++attempt) {
          if (exact) {
            for (auto& part : request.streams) {
              auto v = log->stream_version(part.stream);
              part.expected = ExpectedVersion::exact(v ? *v : 0);
            }
          }
          auto r = log->append(request);
          if (r) {
            check_fresh_result(request, *r);
            for (Acked& a : acked_events(request, *r)) acked[t].push_back(std::move(a));
            break;
          }
          CHECK_MESSAGE(r.status().code() == Status::Code::kWrongExpectedVersion, r.status().to_string());
          if (r.status().code() != Status::Code::kWrongExpectedVersion) break;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  std::vector<Acked> all;
  for (auto& v : acked) all.insert(all.end(), v.begin(), v.end());
  CHECK(log->head() == all.size());
  CHECK(log->stats().largest_batch <= 3);
  check_log_matches(*log, all, streams);
}

TEST_CASE("of appends racing with the same expected version exactly one wins") {
  test::TempDir dir;
  auto log = open_log(dir.sub("log"));
  const std::string stream = "order-race";

  constexpr int kRacers = 8;
  constexpr int kRounds = 300;
  struct Outcome {
    bool ok = false;
    uint64_t version = 0;      // stream version after the append, when ok
    uint64_t position = 0;     // when ok
    Status::Code code = Status::Code::kOk;
    uint64_t actual = 0;       // actual_version, when refused
    Uuid id;
  };
  std::vector<Outcome> outcomes(kRacers);
  std::barrier sync(kRacers + 1);  // the racers and this thread
  std::atomic<uint64_t> round_version{0};

  std::vector<std::thread> racers;
  for (int t = 0; t < kRacers; ++t) {
    racers.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        NewEvent event = make_event(stream);  // built before the start line
        Outcome& out = outcomes[t];
        out = Outcome{};
        out.id = event.id;
        sync.arrive_and_wait();  // start: everyone released together
        auto r = log->append(stream, ExpectedVersion::exact(round_version.load()), {std::move(event)});
        if (r) {
          out.ok = true;
          out.version = r->next_version();
          out.position = r->first_position;
          out.code = Status::Code::kOk;
        } else {
          out.code = r.status().code();
          out.actual = r.status().actual_version();
        }
        sync.arrive_and_wait();  // finish: the main thread checks this round
        sync.arrive_and_wait();  // the main thread has checked and set the next version
      }
    });
  }

  std::vector<Uuid> winners;
  for (int round = 0; round < kRounds; ++round) {
    const uint64_t v = static_cast<uint64_t>(round);
    round_version.store(v);
    sync.arrive_and_wait();  // start
    sync.arrive_and_wait();  // finish
    int wins = 0;
    for (const Outcome& o : outcomes) {
      if (o.ok) {
        ++wins;
        CHECK(o.version == v + 1);
        CHECK(o.position == log->head());
        winners.push_back(o.id);
      } else {
        CHECK_MESSAGE(o.code == Status::Code::kWrongExpectedVersion, "round " << round << ": " << code_name(o.code));
        CHECK_MESSAGE(o.actual == v + 1, "round " << round << ": a loser saw version " << o.actual);
      }
    }
    CHECK_MESSAGE(wins == 1, "round " << round << " had " << wins << " winners");
    // (No REQUIRE while the racers wait at the barrier: a throw here would abandon them.)
    auto version = log->stream_version(stream);
    CHECK(version.is_ok());
    CHECK((version.is_ok() && *version == v + 1));
    sync.arrive_and_wait();  // next round
  }
  for (auto& th : racers) th.join();

  // The stream is exactly the winners, in round order.
  auto events = log->read_stream(stream, 1, kRounds + 10);
  REQUIRE(events.is_ok());
  REQUIRE(events->size() == winners.size());
  for (size_t i = 0; i < events->size(); ++i) {
    CHECK((*events)[i].version() == i + 1);
    CHECK((*events)[i].position() == i + 1);
    CHECK((*events)[i].id() == winners[i]);
  }
  CHECK(log->head() == static_cast<uint64_t>(kRounds));
  CHECK(log->stats().refused == static_cast<uint64_t>(kRounds) * (kRacers - 1));
  MESSAGE("largest group commit while racing: " << log->stats().largest_batch << " appends");
}

TEST_CASE("a conflicting append in a group commit fails alone and the others queued with it succeed") {
  // The writer thread asks options.clock_us for the commit time once per
  // group commit, before staging it. A clock that parks the writer there (for
  // one commit, when armed) lets the test queue several appends while the
  // writer is busy, so that they are all gathered into the next group commit.
  // The parked commit holds only the blocker; the rest queue behind it.
  std::atomic<bool> park_next_commit{false};
  std::latch writer_parked(1);
  std::latch release_writer(1);
  EventLogOptions options;
  options.clock_us = [&]() -> int64_t {
    if (park_next_commit.exchange(false)) {
      writer_parked.count_down();
      release_writer.wait();
    }
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  test::TempDir dir;
  auto log = open_log(dir.sub("log"), options);

  // Stream "order-a" starts at version 1.
  auto seed = log->append("order-a", ExpectedVersion::no_stream(), {make_event("order-a")});
  REQUIRE(seed.is_ok());
  const auto before = log->stats();

  std::latch blocker_done(1);
  AppendRequest blocker;
  blocker.streams.push_back({"order-blocker", ExpectedVersion::any(), {make_event("order-blocker")}});
  park_next_commit = true;
  log->append_async(std::move(blocker), [&](Result<AppendResult> r) {
    CHECK(r.is_ok());
    blocker_done.count_down();
  });
  writer_parked.wait();  // the writer has taken the blocker alone and waits in clock_us

  struct Slot {
    std::latch done{1};
    std::optional<Result<AppendResult>> result;
  };
  std::vector<std::unique_ptr<Slot>> slots;
  std::vector<AppendRequest> requests;
  auto queue = [&](AppendRequest request) {
    requests.push_back(request);
    slots.push_back(std::make_unique<Slot>());
    Slot* slot = slots.back().get();
    log->append_async(std::move(request), [slot](Result<AppendResult> r) {
      slot->result.emplace(std::move(r));
      slot->done.count_down();
    });
  };
  auto single = [](std::string stream, ExpectedVersion expected, NewEvent e) {
    AppendRequest r;
    r.streams.push_back({std::move(stream), expected, {std::move(e)}});
    return r;
  };

  NewEvent first_of_b = make_event("order-b");
  // 0: ok, a 1 -> 2
  queue(single("order-a", ExpectedVersion::exact(1), make_event("order-a")));
  // 1: conflict: a is already at 2 within this batch
  queue(single("order-a", ExpectedVersion::exact(1), make_event("order-a")));
  // 2: ok, a new stream
  queue(single("order-b", ExpectedVersion::no_stream(), first_of_b));
  // 3: conflict in one part of a multi-stream append: nothing of it is written, not even its side writes
  {
    AppendRequest r;
    r.streams.push_back({"order-c", ExpectedVersion::no_stream(), {make_event("order-c")}});
    r.streams.push_back({"order-b", ExpectedVersion::no_stream(), {make_event("order-b")}});
    r.side_writes.put("test", "must-not-exist", "x");
    queue(std::move(r));
  }
  // 4: ok, sees 0's version through the batch overlay: a 2 -> 4
  {
    AppendRequest r;
    r.streams.push_back({"order-a", ExpectedVersion::exact(2), {make_event("order-a"), make_event("order-a")}});
    r.side_writes.put("test", "must-exist", "y");
    queue(std::move(r));
  }
  // 5: duplicate id: the event of 2 again, but in another stream
  queue(single("order-c", ExpectedVersion::any(), test::order_delivered("order-c", first_of_b.id)));
  // 6: a retry of 2 in the same batch: recognised, nothing new written
  queue(single("order-b", ExpectedVersion::no_stream(), first_of_b));
  // 7: ok, c is still a new stream (3 was refused as a whole)
  queue(single("order-c", ExpectedVersion::no_stream(), make_event("order-c")));
  // 8: conflict: stream_exists on a stream that does not exist
  queue(single("order-d", ExpectedVersion::stream_exists(), make_event("order-d")));

  release_writer.count_down();
  blocker_done.wait();
  for (auto& s : slots) s->done.wait();

  const auto after = log->stats();
  CHECK_MESSAGE(after.commits - before.commits == 2, "the queued appends were not one group commit");
  CHECK(after.largest_batch == slots.size());

  auto result = [&](size_t i) -> const Result<AppendResult>& { return *slots[i]->result; };
  const uint64_t base = seed->last_position + 1;  // the blocker's position
  CHECK(result(0).is_ok());
  CHECK(result(2).is_ok());
  CHECK(result(4).is_ok());
  CHECK(result(6).is_ok());
  CHECK(result(7).is_ok());
  REQUIRE(result(0).is_ok());
  REQUIRE(result(2).is_ok());
  REQUIRE(result(4).is_ok());
  REQUIRE(result(6).is_ok());
  REQUIRE(result(7).is_ok());

  // Positions are dense across the accepted appends; the refused ones left no holes.
  CHECK(result(0)->first_position == base + 1);
  CHECK(result(0)->stream_versions == std::vector<uint64_t>{2});
  CHECK(result(2)->first_position == base + 2);
  CHECK(result(2)->stream_versions == std::vector<uint64_t>{1});
  CHECK(result(4)->first_position == base + 3);
  CHECK(result(4)->last_position == base + 4);
  CHECK(result(4)->stream_versions == std::vector<uint64_t>{4});
  CHECK(result(6)->already_appended);
  CHECK(result(6)->first_position == result(2)->first_position);
  CHECK(result(7)->first_position == base + 5);
  CHECK(result(7)->stream_versions == std::vector<uint64_t>{1});
  CHECK(log->head() == base + 5);

  REQUIRE_FALSE(result(1).is_ok());
  CHECK(result(1).status().code() == Status::Code::kWrongExpectedVersion);
  CHECK(result(1).status().actual_version() == 2);
  REQUIRE_FALSE(result(3).is_ok());
  CHECK(result(3).status().code() == Status::Code::kWrongExpectedVersion);
  CHECK(result(3).status().actual_version() == 1);  // order-b, made by 2 earlier in this batch
  REQUIRE_FALSE(result(5).is_ok());
  CHECK(result(5).status().code() == Status::Code::kDuplicateEventId);
  REQUIRE_FALSE(result(8).is_ok());
  CHECK(result(8).status().code() == Status::Code::kWrongExpectedVersion);
  CHECK(result(8).status().actual_version() == 0);

  // The log holds the accepted events and nothing of the refused ones.
  std::vector<Acked> acked;
  for (size_t i : {0, 2, 4, 7}) {
    for (Acked& a : acked_events(requests[i], *result(i))) acked.push_back(std::move(a));
  }
  std::set<std::string> refused_ids;
  for (size_t i : {1, 3, 8}) {
    for (const auto& part : requests[i].streams) {
      for (const auto& e : part.events) refused_ids.insert(e.id.to_string());
    }
  }
  auto all = log->read_all(1, 100);
  REQUIRE(all.is_ok());
  CHECK(all->size() == base + 5);
  for (const RecordedEvent& e : *all) CHECK(refused_ids.count(e.id().to_string()) == 0);
  check_log_matches(*log, acked, {"order-a", "order-b", "order-c", "order-d", "order-blocker"});
  auto d_version = log->stream_version("order-d");
  REQUIRE(d_version.is_ok());
  CHECK(*d_version == 0);

  // Side writes commit with their append or not at all.
  auto missing = log->get("test", "must-not-exist");
  REQUIRE(missing.is_ok());
  CHECK_FALSE(missing->has_value());
  auto present = log->get("test", "must-exist");
  REQUIRE(present.is_ok());
  CHECK(present->value_or("") == "y");
}

TEST_CASE("wait_for wakes a reader blocked in another thread when an append commits") {
  test::TempDir dir;
  auto log = open_log(dir.sub("log"));
  REQUIRE(log->append("order-w", ExpectedVersion::any(), {make_event("order-w")}).is_ok());

  // Several readers wait for successive positions; the appender moves the
  // head one event at a time, each time only after every reader is about to
  // wait. A missed wake-up would hold a reader until its deadline (20 s); the
  // test requires each to return well before that.
  constexpr int kReaders = 4;
  constexpr int kSteps = 20;
  const uint64_t start_head = log->head();
  std::atomic<int> woken_late{0};
  std::atomic<int> saw_missing{0};
  for (int step = 1; step <= kSteps; ++step) {
    const uint64_t target = start_head + static_cast<uint64_t>(step);
    std::latch waiting(kReaders);
    std::vector<std::jthread> readers;  // jthread: a failing REQUIRE below stops and joins them
    for (int i = 0; i < kReaders; ++i) {
      readers.emplace_back([&](std::stop_token stop) {
        waiting.count_down();
        const auto begun = Clock::now();
        const bool reached = log->wait_for(target, begun + 20s, stop);
        const auto took = Clock::now() - begun;
        CHECK(reached);
        if (took > 10s) woken_late.fetch_add(1);
        // What wait_for promised is readable at once.
        auto events = log->read_all(target, 1);
        if (!events.is_ok() || events->size() != 1 || (*events)[0].position() != target) saw_missing.fetch_add(1);
      });
    }
    waiting.wait();
    auto r = log->append("order-w", ExpectedVersion::exact(target - 1), {make_event("order-w")});
    REQUIRE(r.is_ok());
    REQUIRE(r->first_position == target);
    for (auto& th : readers) th.join();
    REQUIRE_MESSAGE(woken_late.load() == 0, "a reader slept until its deadline: a missed wake-up");
  }
  CHECK(saw_missing.load() == 0);

  // A head already reached returns at once; an unreached one gives false at its deadline.
  CHECK(log->wait_for(log->head(), Clock::now() + 20s));
  const auto begun = Clock::now();
  CHECK_FALSE(log->wait_for(log->head() + 1, begun + 50ms));
  CHECK(Clock::now() - begun >= 50ms);
}

TEST_CASE("wait_for returns false promptly when its stop token is requested") {
  test::TempDir dir;
  auto log = open_log(dir.sub("log"));
  REQUIRE(log->append("order-s", ExpectedVersion::any(), {make_event("order-s")}).is_ok());

  for (int round = 0; round < 10; ++round) {
    std::latch waiting(1);
    std::atomic<bool> returned{false}, result{true};
    std::chrono::nanoseconds took{};
    std::jthread reader([&](std::stop_token stop) {
      waiting.count_down();
      const auto begun = Clock::now();
      result = log->wait_for(log->head() + 1000, begun + 20s, stop);
      took = Clock::now() - begun;
      returned = true;
    });
    waiting.wait();
    reader.request_stop();
    reader.join();
    CHECK(returned.load());
    CHECK_FALSE(result.load());
    REQUIRE(took < 10s);  // woken by the stop, not by the 20 s deadline
  }

  // A token stopped before the call returns false without waiting.
  std::stop_source stopped;
  stopped.request_stop();
  const auto begun = Clock::now();
  CHECK_FALSE(log->wait_for(log->head() + 1, begun + 20s, stopped.get_token()));
  CHECK(Clock::now() - begun < 10s);
  // But a position already reached is true even with a stopped token.
  CHECK(log->wait_for(log->head(), Clock::now() + 20s, stopped.get_token()));

  // A stop does not disturb other waiters: one is stopped, the other is woken by an append.
  std::latch waiting(2);
  std::atomic<bool> stopped_result{true}, woken_result{false};
  std::chrono::nanoseconds stopped_took{}, woken_took{};
  const uint64_t target = log->head() + 1;
  std::jthread stopped_reader([&](std::stop_token stop) {
    waiting.count_down();
    const auto t0 = Clock::now();
    stopped_result = log->wait_for(target + 1000, t0 + 20s, stop);
    stopped_took = Clock::now() - t0;
  });
  std::jthread woken_reader([&](std::stop_token stop) {
    waiting.count_down();
    const auto t0 = Clock::now();
    woken_result = log->wait_for(target, t0 + 20s, stop);
    woken_took = Clock::now() - t0;
  });
  waiting.wait();
  stopped_reader.request_stop();
  stopped_reader.join();
  CHECK_FALSE(stopped_result.load());
  CHECK(stopped_took < 10s);
  REQUIRE(log->append("order-s", ExpectedVersion::any(), {make_event("order-s")}).is_ok());
  woken_reader.join();
  CHECK(woken_result.load());
  CHECK(woken_took < 10s);
}

}  // namespace ordersd::events
