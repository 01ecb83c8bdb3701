// CommandPipeline against a fake log: load and fold, decide, append at the
// version loaded, retries on conflict, If-Match, idempotent redelivery, the
// per-stream turn and snapshots, without RocksDB or a server.
//
// The fake keeps streams in memory and answers appends as EventLog does
// (ids first: all known is a retry, already_appended; then the expected
// version; then positions and side writes). It can hold appends until the
// test completes them, and can let "another writer" append to a stream just
// before the pipeline's append is checked.
#include "write/pipeline/command_pipeline.h"

#include "events/keys.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "events/envelope.h"

using namespace ordersd;
using namespace ordersd::write;
using namespace std::chrono_literals;

namespace {

// --- a counter aggregate.

struct CounterState {
  uint64_t version = 0;
  bool opened = false;
  int64_t value = 0;
  int64_t limit = 1'000'000;
};
struct Opened {
  int64_t limit;
};
struct Incremented {
  int64_t by;
};
using CounterEvent = std::variant<Opened, Incremented>;

struct Open {
  int64_t limit = 1'000'000;
};
// `events` events of `by` each.
struct Increment {
  int64_t by = 1;
  int events = 1;
};
using CounterCommand = std::variant<Open, Increment>;
struct CounterRefusal {
  std::string reason;
};

constexpr std::string_view kOpenedType = "counter.opened";
constexpr std::string_view kIncrementedType = "counter.incremented";

struct Counter {
  using State = CounterState;
  using Event = CounterEvent;
  using Command = CounterCommand;
  using Refusal = CounterRefusal;

  static std::string stream(std::string_view id) { return "counter-" + std::string(id); }

  static std::variant<std::vector<Event>, Refusal> decide(const State& s, const Command& c) {
    if (const auto* open = std::get_if<Open>(&c)) {
      if (s.version > 0) return Refusal{"exists"};
      return std::vector<Event>{Opened{open->limit}};
    }
    const auto& inc = std::get<Increment>(c);
    if (s.value + inc.by * inc.events > s.limit) return Refusal{"over the limit"};
    return std::vector<Event>(static_cast<size_t>(inc.events), Incremented{inc.by});
  }

  static State evolve(State s, const Event& e) {
    ++s.version;
    if (const auto* opened = std::get_if<Opened>(&e)) {
      s.opened = true;
      s.limit = opened->limit;
    } else {
      s.value += std::get<Incremented>(e).by;
    }
    return s;
  }

  static events::NewEvent encode(std::string_view, const Event& e, Uuid event_id, Uuid correlation_id) {
    events::NewEvent out;
    out.id = event_id;
    out.correlation_id = correlation_id;
    if (const auto* opened = std::get_if<Opened>(&e)) {
      out.type = kOpenedType;
      out.payload = std::to_string(opened->limit);
    } else {
      out.type = kIncrementedType;
      out.payload = std::to_string(std::get<Incremented>(e).by);
    }
    return out;
  }

  static Result<Event> decode(const events::RecordedEvent& r) {
    int64_t n = std::stoll(std::string(r.payload()));
    if (r.type() == kOpenedType) return Event{Opened{n}};
    if (r.type() == kIncrementedType) return Event{Incremented{n}};
    return Status::corruption("not a counter event", r.position());
  }

  static bool creates(const Command& c) { return std::holds_alternative<Open>(c); }
  static uint64_t version(const State& s) { return s.version; }

  static std::string encode_snapshot(const State& s) {
    return std::to_string(s.version) + " " + std::to_string(s.opened) + " " + std::to_string(s.value) + " " +
           std::to_string(s.limit);
  }
  static std::optional<State> decode_snapshot(std::string_view bytes) {
    State s;
    int opened = 0;
    long long value = 0, limit = 0;
    unsigned long long version = 0;
    if (std::sscanf(std::string(bytes).c_str(), "%llu %d %lld %lld", &version, &opened, &value, &limit) != 4) {
      return std::nullopt;
    }
    s.version = version;
    s.opened = opened != 0;
    s.value = value;
    s.limit = limit;
    return s;
  }
};
static_assert(Snapshotted<Counter>);

// --- the fake log.

class FakeLog {
 public:
  // What the pipeline asked to append (the attempt, whatever its answer).
  struct Attempt {
    std::string stream;
    events::ExpectedVersion expected;
    std::vector<Uuid> ids;
    std::vector<events::SideWrites::Op> side_writes;
  };

  // --- what the pipeline calls.

  Result<std::vector<events::RecordedEvent>> read_stream(std::string_view stream, uint64_t from_version,
                                                         size_t max) const {
    std::lock_guard lk(mu_);
    reads_.push_back({std::string(stream), from_version});
    std::vector<events::RecordedEvent> out;
    auto it = streams_.find(std::string(stream));
    if (it == streams_.end()) return out;
    for (uint64_t v = std::max<uint64_t>(from_version, 1); v <= it->second.size() && out.size() < max; ++v) {
      out.emplace_back(it->second[v - 1]);
    }
    return out;
  }

  Result<std::optional<std::string>> get(std::string_view space, std::string_view key) const {
    std::lock_guard lk(mu_);
    auto it = kv_.find({std::string(space), std::string(key)});
    if (it == kv_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }

  Uuid name_id(std::string_view name) const { return uuid_from_name(name); }

  void append_async(events::AppendRequest request, events::EventLog::AppendCallback done) {
    {
      std::unique_lock lk(mu_);
      CHECK(request.streams.size() == 1);  // all the pipeline appends
      const events::StreamAppend& part = request.streams.front();
      Attempt attempt{part.stream, part.expected, {}, request.side_writes.ops()};
      for (const auto& e : part.events) attempt.ids.push_back(e.id);
      attempts_.push_back(std::move(attempt));
      if (hold_) {
        pending_.push_back({std::move(request), std::move(done)});
        cv_.notify_all();
        return;
      }
    }
    complete(std::move(request), std::move(done));
  }

  // --- the test's controls.

  // Appends now, as another writer would.
  Result<events::AppendResult> append_now(const std::string& stream, events::ExpectedVersion expected,
                                          std::vector<events::NewEvent> events) {
    events::AppendRequest request;
    request.streams.push_back({stream, expected, std::move(events)});
    std::lock_guard lk(mu_);
    return apply(request);
  }

  // From now on appends wait until complete_next() answers them.
  void hold_appends() {
    std::lock_guard lk(mu_);
    hold_ = true;
  }
  // Waits (up to 10 s) until `n` appends are held.
  bool wait_held(size_t n) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, 10s, [&] { return pending_.size() >= n; });
  }
  // Answers the oldest held append to `stream`, on this thread.
  void complete_next(const std::string& stream) {
    Held held;
    {
      std::lock_guard lk(mu_);
      auto it = std::find_if(pending_.begin(), pending_.end(),
                             [&](const Held& h) { return h.request.streams.front().stream == stream; });
      REQUIRE(it != pending_.end());
      held = std::move(*it);
      pending_.erase(it);
    }
    complete(std::move(held.request), std::move(held.done));
  }

  // The next `times` appends of the pipeline find that another writer has
  // just appended `event` (with a fresh id) to their stream.
  void interfere(int times, events::NewEvent event) {
    std::lock_guard lk(mu_);
    interfere_ = times;
    interloper_ = std::move(event);
  }
  int interference_left() const {
    std::lock_guard lk(mu_);
    return interfere_;
  }

  std::vector<Attempt> attempts() const {
    std::lock_guard lk(mu_);
    return attempts_;
  }
  // The from_version of every read of `stream`, in order.
  std::vector<uint64_t> reads_of(const std::string& stream) const {
    std::lock_guard lk(mu_);
    std::vector<uint64_t> out;
    for (const auto& [s, from] : reads_) {
      if (s == stream) out.push_back(from);
    }
    return out;
  }
  uint64_t version_of(const std::string& stream) const {
    std::lock_guard lk(mu_);
    auto it = streams_.find(stream);
    return it == streams_.end() ? 0 : it->second.size();
  }
  std::vector<events::RecordedEvent> events_of(const std::string& stream) const {
    std::lock_guard lk(mu_);
    std::vector<events::RecordedEvent> out;
    if (auto it = streams_.find(stream); it != streams_.end()) {
      for (const auto& bytes : it->second) out.emplace_back(bytes);
    }
    return out;
  }

 private:
  struct Held {
    events::AppendRequest request;
    events::EventLog::AppendCallback done;
  };

  // Runs on the worker or the test's thread: CHECK, never REQUIRE (the
  // work queue would swallow the throw and the test would only time out).
  void complete(events::AppendRequest request, events::EventLog::AppendCallback done) {
    Result<events::AppendResult> result = [&] {
      std::lock_guard lk(mu_);
      if (interfere_ > 0) {
        --interfere_;
        events::NewEvent other = interloper_;
        other.id = other_ids_.next();
        events::AppendRequest theirs;
        theirs.streams.push_back({request.streams.front().stream, events::ExpectedVersion::any(), {other}});
        CHECK(apply(theirs).is_ok());
      }
      return apply(request);
    }();
    done(std::move(result));  // outside the lock, as the log's syncer would
  }

  // EventLog::stage()'s rules, for one stream.
  Result<events::AppendResult> apply(const events::AppendRequest& request) {
    const events::StreamAppend& part = request.streams.front();
    auto& stream = streams_[part.stream];
    size_t found = 0;
    events::AppendResult retry;
    retry.already_appended = true;
    retry.first_position = UINT64_MAX;
    uint64_t retry_version = 0;
    for (const auto& e : part.events) {
      auto it = stored_ids_.find(e.id);
      if (it == stored_ids_.end()) continue;
      if (it->second.stream != part.stream) return Status::duplicate_event_id("in another stream");
      ++found;
      retry.first_position = std::min(retry.first_position, it->second.position);
      retry.last_position = std::max(retry.last_position, it->second.position);
      retry_version = std::max(retry_version, it->second.version);
    }
    if (found > 0 && found == part.events.size()) {
      retry.stream_versions.push_back(retry_version);
      return retry;  // a retry writes nothing, side writes included
    }
    if (found > 0) return Status::duplicate_event_id("some but not all events are stored");
    uint64_t current = stream.size();
    if (!part.expected.matches(current)) {
      return Status::wrong_expected_version("stream '" + part.stream + "' is at version " + std::to_string(current),
                                            current);
    }
    events::AppendResult result;
    result.first_position = head_ + 1;
    result.last_position = head_ + part.events.size();
    result.stream_versions.push_back(current + part.events.size());
    for (const auto& op : request.side_writes.ops()) {
      if (op.kind == events::SideWrites::Op::Kind::kPutLastPosition) {
        kv_[{op.space, op.key}] = events::keys::position_key(result.last_position);
        continue;
      }
      CHECK(op.kind == events::SideWrites::Op::Kind::kPut);
      kv_[{op.space, op.key}] = op.value;
    }
    for (const auto& e : part.events) {
      ++head_;
      uint64_t version = stream.size() + 1;
      stream.push_back(events::encode_envelope({head_, part.stream, version, e.id, e.type, 1, e.correlation_id,
                                                e.causation_id, e.payload}));
      stored_ids_[e.id] = {part.stream, head_, version};
    }
    return result;
  }

  struct StoredId {
    std::string stream;
    uint64_t position;
    uint64_t version;
  };

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::vector<std::string>> streams_;  // envelopes, by version - 1
  std::map<Uuid, StoredId> stored_ids_;
  std::map<std::pair<std::string, std::string>, std::string> kv_;
  uint64_t head_ = 0;
  mutable std::vector<std::pair<std::string, uint64_t>> reads_;
  std::vector<Attempt> attempts_;
  bool hold_ = false;
  std::deque<Held> pending_;
  int interfere_ = 0;
  events::NewEvent interloper_;
  RandomUuidGenerator other_ids_;
};

// --- the pipeline over the fake, on one worker thread.

using Pipeline = CommandPipeline<Counter, FakeLog>;
using CounterOutcome = Outcome<Counter>;

struct Fixture {
  FakeLog log;
  StreamTurns turns;
  RandomUuidGenerator ids;
  std::unique_ptr<WorkQueue> work = std::make_unique<WorkQueue>(1);
  Pipeline pipeline{log, *work, ids, turns};

  // Joins the worker while the pipeline its jobs use still exists.
  ~Fixture() { work.reset(); }

  std::future<CounterOutcome> submit(CommandRequest<Counter> request) {
    auto done = std::make_shared<std::promise<CounterOutcome>>();
    auto future = done->get_future();
    pipeline.execute(std::move(request), [done](CounterOutcome outcome) { done->set_value(std::move(outcome)); });
    return future;
  }
  std::future<CounterOutcome> submit(const std::string& id, CounterCommand command) {
    return submit(CommandRequest<Counter>{id, std::move(command), {}, {}, {}, {}});
  }
  CounterOutcome run(CommandRequest<Counter> request) { return wait(submit(std::move(request))); }
  CounterOutcome run(const std::string& id, CounterCommand command) { return wait(submit(id, std::move(command))); }

  static CounterOutcome wait(std::future<CounterOutcome> future) {
    REQUIRE(future.wait_for(10s) == std::future_status::ready);
    return future.get();
  }
};

const Executed<Counter>& executed(const CounterOutcome& outcome) {
  REQUIRE(std::holds_alternative<Executed<Counter>>(outcome));
  return std::get<Executed<Counter>>(outcome);
}

bool is_exact(const events::ExpectedVersion& e, uint64_t version) {
  return e.kind == events::ExpectedVersion::Kind::kExact && e.version == version;
}
bool is_no_stream(const events::ExpectedVersion& e) { return e.kind == events::ExpectedVersion::Kind::kNoStream; }

events::NewEvent other_writers_increment(int64_t by) { return Counter::encode("", Incremented{by}, Uuid{}, Uuid{}); }

}  // namespace

TEST_CASE("a command loads its stream, decides, appends at the version it loaded and answers the state after") {
  Fixture f;
  const std::string stream = Counter::stream("c1");

  // A new aggregate: the load finds nothing, the append expects no stream.
  auto first = executed(f.run("c1", Increment{2, 3}));
  CHECK(f.log.reads_of(stream) == std::vector<uint64_t>{1});
  REQUIRE(f.log.attempts().size() == 1);
  CHECK(is_no_stream(f.log.attempts()[0].expected));
  CHECK(f.log.attempts()[0].ids.size() == 3);
  CHECK(first.state.version == 3);
  CHECK(first.state.value == 6);
  CHECK_FALSE(first.decided_nothing);
  CHECK_FALSE(first.append.already_appended);
  CHECK(first.append.first_position == 1);
  CHECK(first.append.last_position == 3);
  CHECK(first.append.stream_versions == std::vector<uint64_t>{3});

  // An existing one: folded from its events, appended at exactly that version.
  auto second = executed(f.run("c1", Increment{10, 1}));
  CHECK(f.log.reads_of(stream) == std::vector<uint64_t>{1, 1});
  REQUIRE(f.log.attempts().size() == 2);
  CHECK(is_exact(f.log.attempts()[1].expected, 3));
  CHECK(second.state.version == 4);
  CHECK(second.state.value == 16);
  CHECK(second.append.first_position == 4);
  CHECK(second.append.last_position == 4);
  CHECK(second.append.stream_versions == std::vector<uint64_t>{4});
  CHECK(f.log.version_of(stream) == 4);

  // The public load() folds the same state.
  auto loaded = f.pipeline.load("c1");
  REQUIRE(loaded);
  CHECK(loaded->version == 4);
  CHECK(loaded->value == 16);
}

TEST_CASE("a refusal appends nothing and answers the refusal") {
  Fixture f;
  REQUIRE(executed(f.run("c1", Open{10})).state.version == 1);
  auto outcome = f.run("c1", Increment{4, 3});
  REQUIRE(std::holds_alternative<CounterRefusal>(outcome));
  CHECK(std::get<CounterRefusal>(outcome).reason == "over the limit");
  CHECK(f.log.attempts().size() == 1);  // the Open only
  CHECK(f.log.version_of(Counter::stream("c1")) == 1);
}

TEST_CASE("a command that decides nothing appends nothing and answers the state as it is") {
  Fixture f;
  REQUIRE(executed(f.run("c1", Increment{1, 2})).state.version == 2);
  auto nothing = executed(f.run("c1", Increment{1, 0}));
  CHECK(nothing.decided_nothing);
  CHECK(nothing.state.version == 2);
  CHECK(nothing.state.value == 2);
  CHECK(f.log.attempts().size() == 1);
}

TEST_CASE("a creating command appends with no_stream without loading; one that exists conflicts, loads and is "
          "answered by the decider") {
  Fixture f;
  const std::string stream = Counter::stream("c1");

  // Its turn free, it runs on the caller's thread: with this fake, which
  // completes appends on the appending thread, it is answered before
  // execute() returns.
  auto future = f.submit("c1", Open{50});
  CHECK(future.wait_for(0s) == std::future_status::ready);
  auto created = executed(Fixture::wait(std::move(future)));
  CHECK(f.log.reads_of(stream).empty());
  REQUIRE(f.log.attempts().size() == 1);
  CHECK(is_no_stream(f.log.attempts()[0].expected));
  CHECK(created.state.opened);
  CHECK(created.state.limit == 50);
  CHECK(created.state.version == 1);
  CHECK(created.append.stream_versions == std::vector<uint64_t>{1});

  auto again = f.run("c1", Open{70});
  REQUIRE(std::holds_alternative<CounterRefusal>(again));
  CHECK(std::get<CounterRefusal>(again).reason == "exists");
  REQUIRE(f.log.attempts().size() == 2);
  CHECK(is_no_stream(f.log.attempts()[1].expected));  // tried as new first
  CHECK(f.log.reads_of(stream) == std::vector<uint64_t>{1});  // then loaded once
  CHECK(f.log.version_of(stream) == 1);
}

TEST_CASE("a conflict with another writer is retried against a state that includes its write") {
  Fixture f;
  const std::string stream = Counter::stream("c1");
  REQUIRE(executed(f.run("c1", Open{})).state.version == 1);

  f.log.interfere(3, other_writers_increment(100));
  auto done = executed(f.run("c1", Increment{1, 1}));
  CHECK(f.log.interference_left() == 0);
  CHECK(done.state.version == 5);  // open, three of the other writer's, ours
  CHECK(done.state.value == 301);
  CHECK(done.append.stream_versions == std::vector<uint64_t>{5});

  auto attempts = f.log.attempts();
  REQUIRE(attempts.size() == 5);  // the open, then ours four times
  CHECK(is_exact(attempts[1].expected, 1));
  CHECK(is_exact(attempts[2].expected, 2));
  CHECK(is_exact(attempts[3].expected, 3));
  CHECK(is_exact(attempts[4].expected, 4));
  // Each attempt loaded the stream afresh (no snapshot yet: from version 1).
  CHECK(f.log.reads_of(stream) == std::vector<uint64_t>{1, 1, 1, 1});
  // Event ids are not derived without a seed: each attempt has new ones.
  CHECK(attempts[1].ids != attempts[4].ids);
}

TEST_CASE("after kMaxAttempts conflicts the pipeline gives up with the conflict") {
  Fixture f;
  const std::string stream = Counter::stream("c1");
  REQUIRE(executed(f.run("c1", Open{})).state.version == 1);

  f.log.interfere(Pipeline::kMaxAttempts + 2, other_writers_increment(1));
  auto outcome = f.run("c1", Increment{5, 1});
  REQUIRE(std::holds_alternative<Status>(outcome));
  const Status& status = std::get<Status>(outcome);
  CHECK(status.code() == Status::Code::kWrongExpectedVersion);
  constexpr auto kMax = static_cast<size_t>(Pipeline::kMaxAttempts);
  CHECK(status.actual_version() == 1 + kMax);
  CHECK(f.log.attempts().size() == 1 + kMax);
  CHECK(f.log.interference_left() == 2);  // no attempt past the bound
  CHECK(f.log.reads_of(stream).size() == kMax);
  // Only the other writer's events were written.
  auto stored = f.log.events_of(stream);
  REQUIRE(stored.size() == 1 + kMax);
  for (size_t i = 1; i < stored.size(); ++i) CHECK(stored[i].payload() == "1");
}

TEST_CASE("If-Match: another version answers PreconditionFailed without appending; a conflict under it "
          "answers PreconditionFailed with the actual version") {
  Fixture f;
  const std::string stream = Counter::stream("c1");
  REQUIRE(executed(f.run("c1", Increment{1, 2})).state.version == 2);

  SUBCASE("a stale version") {
    auto outcome = f.run(CommandRequest<Counter>{"c1", Increment{1, 1}, 1, {}, {}, {}});
    REQUIRE(std::holds_alternative<PreconditionFailed>(outcome));
    CHECK(std::get<PreconditionFailed>(outcome).current_version == 2);
    CHECK(f.log.attempts().size() == 1);
    CHECK(f.log.version_of(stream) == 2);
  }
  SUBCASE("the right version executes at it") {
    auto done = executed(f.run(CommandRequest<Counter>{"c1", Increment{1, 1}, 2, {}, {}, {}}));
    CHECK(done.state.version == 3);
    REQUIRE(f.log.attempts().size() == 2);
    CHECK(is_exact(f.log.attempts()[1].expected, 2));
  }
  SUBCASE("another writer between the load and the append: no retry") {
    f.log.interfere(1, other_writers_increment(100));
    auto outcome = f.run(CommandRequest<Counter>{"c1", Increment{1, 1}, 2, {}, {}, {}});
    REQUIRE(std::holds_alternative<PreconditionFailed>(outcome));
    CHECK(std::get<PreconditionFailed>(outcome).current_version == 3);
    CHECK(f.log.attempts().size() == 2);
    CHECK(f.log.reads_of(stream).size() == 2);  // the first command's load and this one's
    CHECK(f.log.version_of(stream) == 3);       // the other writer's event only
  }
  SUBCASE("a creating command under If-Match loads like any other") {
    auto outcome = f.run(CommandRequest<Counter>{"c2", Open{}, 0, {}, {}, {}});
    auto done = executed(outcome);
    CHECK(done.state.version == 1);
    CHECK(f.log.reads_of(Counter::stream("c2")) == std::vector<uint64_t>{1});
  }
}

TEST_CASE("idempotent redelivery: the same id_seed derives the same ids and the second execution appends "
          "nothing new") {
  Fixture f;
  const std::string stream = Counter::stream("c1");
  int side_writes_called = 0;
  auto request = [&] {
    CommandRequest<Counter> r{"c1", Increment{5, 2}, {}, std::string("key/nonce-1"), {}, {}};
    r.side_writes = [&](const CounterState& after, events::SideWrites& writes) {
      ++side_writes_called;
      writes.put("answers", "key", std::to_string(after.value));
      writes.put_last_position("answers", "key-position");
    };
    return r;
  };

  auto first = executed(f.run(request()));
  CHECK_FALSE(first.append.already_appended);
  CHECK(first.append.first_position == 1);
  CHECK(first.append.last_position == 2);
  auto answer = f.log.get("answers", "key");
  REQUIRE(answer);
  CHECK(*answer == std::optional<std::string>("10"));
  CHECK(f.log.get("answers", "key-position").value() == std::optional<std::string>(events::keys::position_key(2)));

  auto second = executed(f.run(request()));
  CHECK_FALSE(second.decided_nothing);
  CHECK(second.append.already_appended);
  CHECK(second.append.first_position == 1);
  CHECK(second.append.last_position == 2);
  CHECK(second.append.stream_versions == std::vector<uint64_t>{2});
  // Made for the second execution too (before its append), but the log took
  // the append for a retry and wrote none of it.
  CHECK(side_writes_called == 2);
  CHECK(f.log.get("answers", "key").value() == std::optional<std::string>("10"));
  CHECK(f.log.version_of(stream) == 2);

  auto attempts = f.log.attempts();
  REQUIRE(attempts.size() == 2);
  CHECK(is_no_stream(attempts[0].expected));
  CHECK(is_exact(attempts[1].expected, 2));
  CHECK(attempts[0].ids == attempts[1].ids);
  CHECK(attempts[0].ids ==
        std::vector<Uuid>{uuid_from_name(stream + "/key/nonce-1/0"), uuid_from_name(stream + "/key/nonce-1/1")});
}

TEST_CASE("commands on one aggregate never overlap; commands on another proceed") {
  Fixture f;
  const std::string one = Counter::stream("c1"), other = Counter::stream("c2");
  REQUIRE(executed(f.run("c1", Open{})).state.version == 1);
  f.log.hold_appends();

  auto a = f.submit("c1", Increment{1, 1});
  REQUIRE(f.log.wait_held(1));
  CHECK(f.log.reads_of(one).size() == 1);

  // b waits for a's turn: it must not even load.
  auto b = f.submit("c1", Increment{10, 1});
  // c, posted to the one worker after b would have been, loads and appends.
  auto c = f.submit("c2", Increment{7, 1});
  REQUIRE(f.log.wait_held(2));
  CHECK(f.log.reads_of(other).size() == 1);
  CHECK(f.log.reads_of(one).size() == 1);
  CHECK(f.turns.waits() == 1);
  CHECK(b.wait_for(0s) == std::future_status::timeout);

  f.log.complete_next(other);
  CHECK(executed(Fixture::wait(std::move(c))).state.value == 7);
  CHECK(f.log.reads_of(one).size() == 1);  // c2's answer gave c1 no turn

  // a's append completes: b gets the turn, loads a state with a's write and
  // appends after it.
  f.log.complete_next(one);
  auto a_done = executed(Fixture::wait(std::move(a)));
  CHECK(a_done.state.version == 2);
  REQUIRE(f.log.wait_held(1));
  CHECK(f.log.reads_of(one).size() == 2);
  auto attempts = f.log.attempts();
  REQUIRE(attempts.size() == 4);  // open, a, c, b
  CHECK(attempts[3].stream == one);
  CHECK(is_exact(attempts[3].expected, 2));

  f.log.complete_next(one);
  auto b_done = executed(Fixture::wait(std::move(b)));
  CHECK(b_done.state.version == 3);
  CHECK(b_done.state.value == 11);
  CHECK(f.turns.held() == 0);
}

TEST_CASE("a creating command waits for its aggregate's turn like any other") {
  Fixture f;
  REQUIRE(executed(f.run("c1", Increment{1, 1})).state.version == 1);
  f.log.hold_appends();
  auto a = f.submit("c1", Increment{1, 1});
  REQUIRE(f.log.wait_held(1));
  auto open = f.submit("c1", Open{});
  CHECK(f.log.attempts().size() == 2);  // the open has not been tried
  f.log.complete_next(Counter::stream("c1"));
  CHECK(executed(Fixture::wait(std::move(a))).state.version == 2);
  // Granted the turn, it runs on the worker: tried as new, it conflicts and
  // is answered after a load.
  REQUIRE(f.log.wait_held(1));
  CHECK(is_no_stream(f.log.attempts()[2].expected));
  f.log.complete_next(Counter::stream("c1"));
  auto outcome = Fixture::wait(std::move(open));
  REQUIRE(std::holds_alternative<CounterRefusal>(outcome));
  CHECK(std::get<CounterRefusal>(outcome).reason == "exists");
}

TEST_CASE("a snapshot is added to the append that reaches a multiple of kSnapshotEvery, and loads start from it") {
  static_assert(kSnapshotEvery == 128, "the versions below assume 128");
  Fixture f;
  const std::string stream = Counter::stream("c1");
  auto snapshot_of = [&](size_t attempt) -> std::optional<std::string> {
    auto attempts = f.log.attempts();
    REQUIRE(attempt < attempts.size());
    std::optional<std::string> out;
    for (const auto& op : attempts[attempt].side_writes) {
      REQUIRE(op.space == kSnapshotSpace);
      CHECK(op.key == stream);
      CHECK_FALSE(out);
      out = op.value;
    }
    return out;
  };

  REQUIRE(executed(f.run("c1", Increment{1, 127})).state.version == 127);
  CHECK_FALSE(snapshot_of(0));

  auto at_128 = executed(f.run("c1", Increment{1, 1}));
  REQUIRE(at_128.state.version == 128);
  CHECK(snapshot_of(1) == Counter::encode_snapshot(at_128.state));

  REQUIRE(executed(f.run("c1", Increment{1, 3})).state.version == 131);
  CHECK_FALSE(snapshot_of(2));
  // That load started from the snapshot, reading only what came after it.
  CHECK(f.log.reads_of(stream) == std::vector<uint64_t>{1, 1, 129});

  // An append of several events across a multiple saves the state after it.
  REQUIRE(executed(f.run("c1", Increment{1, 123})).state.version == 254);
  CHECK_FALSE(snapshot_of(3));
  auto at_257 = executed(f.run("c1", Increment{1, 3}));
  REQUIRE(at_257.state.version == 257);
  CHECK(snapshot_of(4) == Counter::encode_snapshot(at_257.state));
  CHECK(at_257.state.value == 257);

  auto loaded = f.pipeline.load("c1");
  REQUIRE(loaded);
  CHECK(loaded->version == 257);
  CHECK(loaded->value == 257);
  CHECK(f.log.reads_of(stream).back() == 258);
}
