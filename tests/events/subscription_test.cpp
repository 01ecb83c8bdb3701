// A subscription reads the log after its checkpoint, hands batches to its
// handler and commits what the handler returns together with the checkpoint.
#include "events/subscription.h"

#include <doctest/doctest.h>

#include <atomic>
#include <mutex>

#include "support/sample_events.h"
#include "support/temp_dir.h"

using namespace ordersd;
using namespace ordersd::events;
using namespace std::chrono_literals;
using ordersd::test::TempDir;

namespace {

std::unique_ptr<EventLog> open_log(const std::string& dir) {
  auto log = EventLog::open(dir);
  REQUIRE_MESSAGE(log.is_ok(), log.status().to_string());
  return std::move(log).value();
}

void append_placed(EventLog& log, int appends, int per_append) {
  for (int i = 0; i < appends; ++i) {
    std::vector<NewEvent> events;
    for (int j = 0; j < per_append; ++j) events.push_back(test::order_placed("o"));
    REQUIRE(log.append("orders-" + std::to_string(i % 5), ExpectedVersion::any(), events).is_ok());
  }
}

// Records every position it is handed; writes the running count beside the checkpoint.
struct Recorder {
  std::mutex mu;
  std::vector<uint64_t> seen;

  Subscription::Handler handler() {
    return [this](const std::vector<RecordedEvent>& batch) -> Result<AppendRequest> {
      std::lock_guard lk(mu);
      for (const auto& e : batch) seen.push_back(e.position());
      AppendRequest writes;
      writes.side_writes.put("counts", "seen", std::to_string(seen.size()));
      return writes;
    };
  }
};

}  // namespace

TEST_CASE("a subscription hands every event to its handler once and in order, and commits its writes with its checkpoint") {
  TempDir dir;
  auto log = open_log(dir.path());
  append_placed(*log, 40, 25);
  Recorder recorder;
  Subscription sub(*log, "recorder", recorder.handler(), 64);
  append_placed(*log, 10, 3);  // arriving while it runs
  REQUIRE(sub.wait_for(log->head(), 10s));
  sub.stop();
  std::lock_guard lk(recorder.mu);
  REQUIRE(recorder.seen.size() == 1030);
  for (size_t i = 0; i < recorder.seen.size(); ++i) CHECK(recorder.seen[i] == i + 1);
  CHECK(log->checkpoint("recorder").value() == std::optional<uint64_t>(1030));
  CHECK(log->get("counts", "seen").value() == std::optional<std::string>("1030"));
  CHECK_FALSE(sub.failure());
}

TEST_CASE("a subscription started again resumes after its checkpoint") {
  TempDir dir;
  auto log = open_log(dir.path());
  append_placed(*log, 3, 10);
  {
    Recorder first;
    Subscription sub(*log, "projector", first.handler());
    REQUIRE(sub.wait_for(30, 10s));
  }
  append_placed(*log, 2, 5);
  Recorder second;
  Subscription sub(*log, "projector", second.handler());
  REQUIRE(sub.wait_for(40, 10s));
  sub.stop();
  REQUIRE(second.seen.size() == 10);
  CHECK(second.seen.front() == 31);
  CHECK(second.seen.back() == 40);
}

TEST_CASE("a handler that cannot apply an event stops the subscription as failed before it, naming the position") {
  TempDir dir;
  auto log = open_log(dir.path());
  append_placed(*log, 8, 1);
  std::atomic<int> calls{0};
  Subscription sub(
      *log, "picky",
      [&](const std::vector<RecordedEvent>& batch) -> Result<AppendRequest> {
        ++calls;
        if (batch.front().position() == 5) {
          return Status::corruption("cannot apply the event at position 5", 5);
        }
        return AppendRequest{};
      },
      1);
  CHECK_FALSE(sub.wait_for(8, 10s));  // returns once it fails
  auto failure = sub.failure();
  REQUIRE(failure);
  CHECK(failure->message().find("position 5") != std::string::npos);
  CHECK(sub.position() == 4);
  // Batches that write nothing move the checkpoint lazily, but never past the event.
  CHECK(log->checkpoint("picky").value().value_or(0) <= 4);
  CHECK(calls == 5);  // it never went past the event it could not apply
}

TEST_CASE("events a handler appends commit together with its checkpoint, and it reads them back like any other") {
  TempDir dir;
  auto log = open_log(dir.path());
  append_placed(*log, 20, 1);
  std::atomic<int> own_seen{0};
  Subscription sub(*log, "deriver", [&](const std::vector<RecordedEvent>& batch) -> Result<AppendRequest> {
    AppendRequest writes;
    std::vector<NewEvent> derived;
    for (const auto& e : batch) {
      if (e.stream() == "derived") {
        ++own_seen;  // its own output: explicitly ignored
        continue;
      }
      derived.push_back(test::order_delivered("o", uuid_from_name("derived/" + std::to_string(e.position()))));
    }
    if (!derived.empty()) writes.streams.push_back({"derived", ExpectedVersion::any(), std::move(derived)});
    return writes;
  });
  REQUIRE(sub.wait_for(40, 10s));  // 20 sources and 20 derived
  REQUIRE(sub.wait_for(log->head(), 10s));
  sub.stop();
  CHECK(log->head() == 40);
  CHECK(log->stream_version("derived").value() == 20);
  CHECK(own_seen == 20);
  CHECK(log->checkpoint("deriver").value() == std::optional<uint64_t>(40));
}

TEST_CASE("a subscription waiting for events stops when asked and commits nothing") {
  TempDir dir;
  auto log = open_log(dir.path());
  Recorder recorder;
  Subscription sub(*log, "idle", recorder.handler());
  sub.stop();  // wakes its wait on the log through the stop token
  sub.stop();  // idempotent
  CHECK(recorder.seen.empty());
  CHECK(log->checkpoint("idle").value() == std::nullopt);
  CHECK_FALSE(sub.failure());
}

TEST_CASE("batches that write nothing move the checkpoint lazily, and stopping writes it") {
  TempDir dir;
  auto log = open_log(dir.path());
  append_placed(*log, 10, 1);
  Subscription sub(*log, "quiet", [](const std::vector<RecordedEvent>&) -> Result<AppendRequest> {
    return AppendRequest{};
  });
  REQUIRE(sub.wait_for(10, 10s));
  // Handled, but nothing committed for it yet (the first lazy write is a second away).
  CHECK(log->checkpoint("quiet").value().value_or(0) < 10);
  sub.stop();
  CHECK(log->checkpoint("quiet").value() == std::optional<uint64_t>(10));
}

TEST_CASE("a paused subscription handles nothing until resumed; one started paused begins held") {
  TempDir dir;
  auto log = open_log(dir.path());
  append_placed(*log, 3, 1);
  Recorder recorder;
  Subscription::Options options;
  options.start_paused = true;
  Subscription sub(*log, "held", recorder.handler(), options);
  CHECK(sub.paused());
  // The log moves on while it is held: it sees nothing of it.
  append_placed(*log, 3, 1);
  CHECK_FALSE(sub.wait_for(1, 50ms));
  {
    std::lock_guard lk(recorder.mu);
    CHECK(recorder.seen.empty());
  }
  sub.resume();
  REQUIRE(sub.wait_for(6, 10s));
  sub.pause();
  append_placed(*log, 2, 1);
  CHECK_FALSE(sub.wait_for(8, 50ms));
  CHECK(sub.position() == 6);
  sub.resume();
  REQUIRE(sub.wait_for(8, 10s));
  std::lock_guard lk(recorder.mu);
  CHECK(recorder.seen == std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7, 8});
}

TEST_CASE("a commit that meets another writer is decided again from the same batch") {
  TempDir dir;
  auto log = open_log(dir.path());
  append_placed(*log, 1, 1);
  std::atomic<int> calls{0}, conflicts{0}, commits{0};
  Subscription::Options options;
  options.abandoned = [&] { ++conflicts; };
  options.committed = [&] { ++commits; };
  Subscription sub(
      *log, "racer",
      [&](const std::vector<RecordedEvent>& batch) -> Result<AppendRequest> {
        AppendRequest writes;
        if (batch.empty() || batch.front().stream() == "derived") return writes;
        uint64_t version = log->stream_version("derived").value();
        writes.streams.push_back({"derived",
                                  version == 0 ? ExpectedVersion::no_stream() : ExpectedVersion::exact(version),
                                  {test::order_placed("mine")}});
        if (++calls == 1) {
          // Someone else appends to the stream between this decision and its commit.
          REQUIRE(log->append("derived", ExpectedVersion::no_stream(), {test::order_placed("theirs")}));
        }
        return writes;
      },
      options);
  REQUIRE(sub.wait_for(1, 10s));
  sub.stop();
  CHECK(calls == 2);
  CHECK(conflicts == 1);
  CHECK(commits >= 1);
  // Theirs, then mine decided again on top of it.
  CHECK(log->stream_version("derived").value() == 2);
  CHECK(sub.failure() == std::nullopt);
}

TEST_CASE("a handler is woken with an empty batch when the time it asked for passes") {
  TempDir dir;
  auto log = open_log(dir.path());
  std::atomic<int> wakeups{0};
  auto wake = std::chrono::steady_clock::now() + 30ms;
  Subscription::Options options;
  options.wake_at = [&] { return wakeups == 0 ? wake : std::chrono::steady_clock::time_point::max(); };
  Subscription sub(
      *log, "alarm",
      [&](const std::vector<RecordedEvent>& batch) -> Result<AppendRequest> {
        AppendRequest writes;
        if (batch.empty()) {
          CHECK(std::chrono::steady_clock::now() >= wake);
          ++wakeups;
          writes.streams.push_back({"alarms", ExpectedVersion::any(), {test::order_placed("rang")}});
        }
        return writes;
      },
      options);
  // Its own append is the first event of the log.
  REQUIRE(log->wait_for(1, std::chrono::steady_clock::now() + 10s));
  CHECK(wakeups == 1);
  CHECK(log->stream_version("alarms").value() == 1);
}

TEST_CASE("a batch that fails is handled again one event at a time: everything before the bad event commits, and the failure is at it") {
  TempDir dir;
  auto log = open_log(dir.path());
  append_placed(*log, 10, 5);  // positions 1..50
  const uint64_t bad = 23;
  std::vector<uint64_t> applied;
  Subscription sub(
      *log, "picky",
      [&](const std::vector<RecordedEvent>& batch) -> Result<AppendRequest> {
        for (const auto& e : batch) {
          if (e.position() == bad) return Status::invalid_argument("cannot apply position 23");
        }
        for (const auto& e : batch) applied.push_back(e.position());
        AppendRequest writes;
        writes.side_writes.put("picky", "last", std::to_string(batch.back().position()));
        return writes;
      },
      64);
  // It fails; wait_for returns once it has.
  CHECK_FALSE(sub.wait_for(50, 10s));
  REQUIRE(sub.failure());
  CHECK(sub.failure()->code() == Status::Code::kInvalidArgument);
  CHECK(sub.position() == bad - 1);
  std::vector<uint64_t> expected;
  for (uint64_t p = 1; p < bad; ++p) expected.push_back(p);
  CHECK(applied == expected);
  CHECK(log->checkpoint("picky").value() == bad - 1);
  CHECK(log->get("picky", "last").value() == std::to_string(bad - 1));
}

TEST_CASE("a failed subscription restarts from its checkpoint and carries on") {
  TempDir dir;
  auto log = open_log(dir.path());
  append_placed(*log, 4, 5);  // 1..20
  std::atomic<bool> broken{true};
  std::mutex mu;
  std::vector<uint64_t> seen;
  Subscription sub(
      *log, "flaky",
      [&](const std::vector<RecordedEvent>& batch) -> Result<AppendRequest> {
        if (broken && batch.front().position() > 10) return Status::io_error("injected: the disk went away");
        std::lock_guard lk(mu);
        for (const auto& e : batch) seen.push_back(e.position());
        AppendRequest writes;
        writes.side_writes.put("flaky", "n", std::to_string(seen.size()));
        return writes;
      },
      5);
  CHECK_FALSE(sub.wait_for(20, 10s));
  REQUIRE(sub.failure());
  CHECK(sub.failure()->code() == Status::Code::kIoError);
  CHECK(sub.position() == 10);
  broken = false;
  sub.restart();
  CHECK_FALSE(sub.failure());
  append_placed(*log, 2, 5);  // 21..30 arrive after the restart
  REQUIRE(sub.wait_for(30, 10s));
  std::lock_guard lk(mu);
  std::vector<uint64_t> expected;
  for (uint64_t p = 1; p <= 30; ++p) expected.push_back(p);
  CHECK(seen == expected);  // nothing twice, nothing skipped
}
