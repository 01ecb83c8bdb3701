// Crash tests for EventLog: a separate process (crash_appender) appends with
// fsync durability and reports every acknowledged append on a pipe; the test
// SIGKILLs it at a random moment and checks, after reopening the directory,
// that everything acknowledged is there and the log is dense. Also: retries
// across a restart, kBusy for a directory another process holds, and (by
// watching fdatasync/fsync) that nothing is acknowledged before its WAL fsync.
//
// The random choices (how many acks before the kill, how long to let it run)
// come from one seed, printed on failure; set CRASH_TEST_SEED to repeat them
// (the thread interleaving inside the appender is not repeatable).
#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <future>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include "events/event_log.h"
#include "support/sample_events.h"
#include "support/temp_dir.h"

extern char** environ;

// --- fsync observation and fault injection ---------------------------------------
//
// This binary defines fdatasync() and fsync(), so RocksDB's calls (through
// librocksdb.so or a static librocksdb.a) land here. They pass straight to
// the system call, counting syncs of write-ahead log files ("*.log") when a
// test asks for it; a test may also arm a failure: then the next WAL sync
// announces itself, waits until the test releases it, and fails with EIO.
// (A SIGKILL cannot tell a missing fsync: the page cache survives the
// process. Watching the syncs can.)
namespace {
namespace fault {
std::mutex mu;
std::condition_variable cv;
bool armed = false;          // fail the next WAL sync
bool failing = false;        // a WAL sync is parked, about to fail
bool released = false;       // let the parked sync fail now
std::atomic<bool> any_armed{false};

bool is_wal(int fd) {
  char target[4096];
  ssize_t n = ::readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), target, sizeof target - 1);
  return n > 4 && std::string_view(target, static_cast<size_t>(n)).ends_with(".log");
}

// WAL syncs begun, and the highest begin number of a WAL sync that succeeded.
std::atomic<uint64_t> wal_syncs_begun{0};
std::atomic<uint64_t> wal_synced_through{0};
std::atomic<bool> counting{false};

void count_begin(int fd, uint64_t& number) {
  number = 0;
  if (counting.load() && is_wal(fd)) number = ++wal_syncs_begun;
}
void count_end(uint64_t number, int rc) {
  if (number == 0 || rc != 0) return;
  uint64_t seen = wal_synced_through.load();
  while (seen < number && !wal_synced_through.compare_exchange_weak(seen, number)) {
  }
}

// -1 with errno = EIO when this sync is the armed failure.
int intercept(int fd) {
  if (!any_armed.load() || !is_wal(fd)) return 0;
  std::unique_lock lk(mu);
  if (!armed) return 0;
  armed = false;
  any_armed = false;
  failing = true;
  cv.notify_all();
  cv.wait_for(lk, std::chrono::seconds(60), [] { return released; });
  errno = EIO;
  return -1;
}
}  // namespace fault
}  // namespace

extern "C" int fdatasync(int fd) {
  if (fault::intercept(fd) < 0) return -1;
  uint64_t number;
  fault::count_begin(fd, number);
  int rc = static_cast<int>(::syscall(SYS_fdatasync, fd));
  fault::count_end(number, rc);
  return rc;
}
extern "C" int fsync(int fd) {
  if (fault::intercept(fd) < 0) return -1;
  uint64_t number;
  fault::count_begin(fd, number);
  int rc = static_cast<int>(::syscall(SYS_fsync, fd));
  fault::count_end(number, rc);
  return rc;
}

namespace ordersd::events {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// --- the appender process ----------------------------------------------------

// crash_appender running with its stdout on a pipe; its stderr is ours, so
// its complaints show up in the test output. Killed and reaped on destruction.
class Appender {
 public:
  Appender(const std::string& dir, uint64_t seed) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);  // dup2 clears O_CLOEXEC
    std::string path = CRASH_APPENDER_PATH, seed_text = std::to_string(seed);
    std::vector<char*> argv = {path.data(), const_cast<char*>(dir.c_str()), seed_text.data(), nullptr};
    int rc = ::posix_spawn(&pid_, path.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    fd_ = fds[0];
    if (rc != 0) {
      ::close(fd_);
      throw std::runtime_error("cannot start " + path + ": " + std::to_string(rc));
    }
  }
  ~Appender() {
    if (!reaped_) kill_and_wait();
    ::close(fd_);
  }
  Appender(const Appender&) = delete;
  Appender& operator=(const Appender&) = delete;

  enum class Read { kLine, kEof, kTimeout };

  // The next complete line (without its '\n'), waiting on the pipe until
  // `deadline`. A partial line at EOF is not a line: it is dropped.
  Read next_line(Clock::time_point deadline, std::string& line) {
    for (;;) {
      if (size_t nl = buffer_.find('\n', scanned_); nl != std::string::npos) {
        line.assign(buffer_, 0, nl);
        buffer_.erase(0, nl + 1);
        scanned_ = 0;
        return Read::kLine;
      }
      scanned_ = buffer_.size();
      if (eof_) return Read::kEof;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return Read::kTimeout;
      pollfd p{fd_, POLLIN, 0};
      int ready = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 60'000)));
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) throw std::runtime_error("poll failed");
      if (ready == 0) continue;  // re-check the deadline
      char chunk[65536];
      ssize_t n = ::read(fd_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw std::runtime_error("read failed");
      if (n == 0) {
        eof_ = true;
        continue;
      }
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

  // SIGKILL and reap; the wait status.
  int kill_and_wait() {
    if (reaped_) return status_;
    ::kill(pid_, SIGKILL);
    return wait();
  }

  // Reaps a process that is exiting on its own (or was killed); the wait status.
  int wait() {
    while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    return status_;
  }

  // After the process is gone: every complete line still in the pipe.
  std::vector<std::string> remaining_lines() {
    std::vector<std::string> lines;
    std::string line;
    while (next_line(Clock::now() + 30s, line) == Read::kLine) lines.push_back(line);
    partial_tail_ = buffer_.size();
    return lines;
  }
  size_t partial_tail_bytes() const { return partial_tail_; }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string buffer_;
  size_t scanned_ = 0;
  bool eof_ = false;
  bool reaped_ = false;
  int status_ = 0;
  size_t partial_tail_ = 0;
};

std::string describe_wait_status(int status) {
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  return "wait status " + std::to_string(status);
}

// --- acknowledgements ----------------------------------------------------------

struct AckedEvent {
  std::string stream;
  uint64_t version = 0;
  Uuid id;
};

// One acknowledged append: events[i] is at first + i.
struct Ack {
  uint64_t first = 0;
  uint64_t last = 0;
  std::vector<AckedEvent> events;
};

// "<first> <last> (<stream> <version> <id>)..." or nullopt when malformed.
std::optional<Ack> parse_ack(const std::string& line) {
  std::istringstream in(line);
  Ack ack;
  if (!(in >> ack.first >> ack.last)) return std::nullopt;
  std::string stream, id;
  uint64_t version;
  while (in >> stream >> version >> id) {
    auto parsed = Uuid::parse(id);
    if (!parsed) return std::nullopt;
    ack.events.push_back({stream, version, *parsed});
  }
  if (!in.eof() || ack.events.empty() || ack.first == 0 || ack.last < ack.first ||
      ack.last - ack.first + 1 != ack.events.size()) {
    return std::nullopt;
  }
  return ack;
}

// "open <head>": the head the appender found when it opened the log.
std::optional<uint64_t> parse_open(const std::string& line) {
  if (line.rfind("open ", 0) != 0) return std::nullopt;
  return std::strtoull(line.c_str() + 5, nullptr, 10);
}

uint64_t test_seed() {
  if (const char* text = std::getenv("CRASH_TEST_SEED"); text && *text) return std::strtoull(text, nullptr, 10);
  return std::random_device{}();
}

std::unique_ptr<EventLog> open_log(const std::string& dir) {
  auto log = EventLog::open(dir);
  REQUIRE_MESSAGE(log.is_ok(), log.status().to_string());
  return std::move(log).value();
}

// Reads the whole log and checks it against every acknowledgement so far:
// positions 1..head dense, each acknowledged event at its reported position
// with its stream, version and id, ids unique, and each stream's versions
// dense 1..N through read_all, read_stream and stream_version.
void check_log(const EventLog& log, const std::map<uint64_t, AckedEvent>& acked) {
  const uint64_t head = log.head();
  if (!acked.empty()) {
    REQUIRE_MESSAGE(acked.rbegin()->first <= head,
                    "acknowledged position " << acked.rbegin()->first << " is past the recovered head " << head);
  }
  std::unordered_set<std::string> ids;
  std::map<std::string, std::vector<uint64_t>> stream_positions;  // position of version i+1
  uint64_t next = 1;
  size_t matched = 0;
  while (next <= head) {
    auto chunk = log.read_all(next, 4096);
    REQUIRE_MESSAGE(chunk.is_ok(), chunk.status().to_string());
    REQUIRE_MESSAGE(!chunk->empty(), "read_all(" << next << ") is empty below head " << head);
    for (const RecordedEvent& e : *chunk) {
      REQUIRE_MESSAGE(e.position() == next, "read_all gave position " << e.position() << " where " << next
                                                                     << " was due");
      CHECK_MESSAGE(ids.insert(e.id().to_string()).second, "event id " << e.id().to_string() << " is stored twice");
      auto& positions = stream_positions[std::string(e.stream())];
      CHECK_MESSAGE(e.version() == positions.size() + 1, "stream " << e.stream() << " has version " << e.version()
                                                                   << " after " << positions.size()
                                                                   << " events, at position " << e.position());
      positions.push_back(e.position());
      if (auto it = acked.find(e.position()); it != acked.end()) {
        ++matched;
        CHECK_MESSAGE(e.id() == it->second.id, "position " << e.position() << " holds " << e.id().to_string()
                                                           << ", acknowledged as " << it->second.id.to_string());
        CHECK(e.stream() == it->second.stream);
        CHECK(e.version() == it->second.version);
      }
      ++next;
    }
  }
  CHECK(matched == acked.size());
  auto past = log.read_all(head + 1, 10);
  REQUIRE(past.is_ok());
  CHECK(past->empty());

  for (const auto& [stream, positions] : stream_positions) {
    auto version = log.stream_version(stream);
    REQUIRE(version.is_ok());
    CHECK(*version == positions.size());
    auto events = log.read_stream(stream, 1, positions.size() + 10);
    REQUIRE_MESSAGE(events.is_ok(), events.status().to_string());
    REQUIRE(events->size() == positions.size());
    for (size_t i = 0; i < events->size(); ++i) {
      CHECK((*events)[i].version() == i + 1);
      CHECK((*events)[i].position() == positions[i]);
    }
  }
}

// The request an acknowledged append was: runs of events of one stream are
// its parts (a request names each stream once). Expected versions are what an
// exact-version client would have sent then; the streams have moved on since.
AppendRequest request_of(const Ack& ack) {
  AppendRequest request;
  for (const AckedEvent& e : ack.events) {
    if (request.streams.empty() || request.streams.back().stream != e.stream) {
      request.streams.push_back({e.stream, ExpectedVersion::exact(e.version - 1), {}});
    }
    request.streams.back().events.push_back(test::order_delivered(e.stream, e.id));
  }
  return request;
}

std::vector<uint64_t> versions_after(const Ack& ack) {
  std::vector<uint64_t> out;
  std::string stream;
  for (const AckedEvent& e : ack.events) {
    if (out.empty() || stream != e.stream) out.push_back(0);
    stream = e.stream;
    out.back() = e.version;
  }
  return out;
}

}  // namespace

TEST_CASE("every acknowledged append survives SIGKILL of the appending process") {
  const uint64_t seed = test_seed();
  INFO("CRASH_TEST_SEED=" << seed);
  std::mt19937_64 rng(seed);
  test::TempDir dir;
  const std::string path = dir.sub("log");

  constexpr int kRounds = 5;
  std::map<uint64_t, AckedEvent> acked;  // every acknowledged event so far, by position
  uint64_t previous_head = 0;
  for (int round = 0; round < kRounds; ++round) {
    INFO("round " << round);
    const size_t target_acks = std::uniform_int_distribution<size_t>(50, 2000)(rng);
    const auto budget = std::chrono::milliseconds(std::uniform_int_distribution<int>(100, 2000)(rng));
    std::vector<Ack> acks;
    uint64_t reported_open_head = 0;
    {
      Appender appender(path, seed * 16 + static_cast<uint64_t>(round));  // distinct event ids per round
      std::string line;
      const auto hard_deadline = Clock::now() + 30s;
      REQUIRE_MESSAGE(appender.next_line(hard_deadline, line) == Appender::Read::kLine,
                      "the appender did not open the log: " << describe_wait_status(appender.kill_and_wait()));
      auto opened = parse_open(line);
      REQUIRE_MESSAGE(opened.has_value(), "unexpected first line: " << line);
      reported_open_head = *opened;

      // Read acknowledgements until the target count, or the time budget once
      // a few came in; then kill the appender wherever it is.
      const auto budget_end = Clock::now() + budget;
      for (;;) {
        if (acks.size() >= target_acks) break;
        if (acks.size() >= 20 && Clock::now() >= budget_end) break;
        auto deadline = acks.size() >= 20 ? std::min(budget_end, hard_deadline) : hard_deadline;
        auto got = appender.next_line(deadline, line);
        if (got == Appender::Read::kTimeout && Clock::now() < hard_deadline) continue;
        REQUIRE_MESSAGE(got == Appender::Read::kLine,
                        "the appender stopped reporting after " << acks.size() << " acknowledgements: "
                                                                << describe_wait_status(appender.kill_and_wait()));
        auto ack = parse_ack(line);
        REQUIRE_MESSAGE(ack.has_value(), "malformed acknowledgement: " << line);
        acks.push_back(std::move(*ack));
      }
      const int status = appender.kill_and_wait();
      CHECK_MESSAGE((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL),
                    "the appender was not killed by SIGKILL: " << describe_wait_status(status));
      // Lines written before the kill are acknowledgements too; a torn last line is not.
      for (const std::string& rest : appender.remaining_lines()) {
        auto ack = parse_ack(rest);
        REQUIRE_MESSAGE(ack.has_value(), "malformed acknowledgement: " << rest);
        acks.push_back(std::move(*ack));
      }
      CHECK(appender.partial_tail_bytes() == 0);  // lines are single atomic writes
    }

    // The appender continued the log where the previous round left it.
    CHECK(reported_open_head == previous_head);
    REQUIRE_FALSE(acks.empty());
    for (const Ack& ack : acks) {
      CHECK_MESSAGE(ack.first > previous_head, "an acknowledgement of this round reuses position " << ack.first);
      for (size_t i = 0; i < ack.events.size(); ++i) {
        bool fresh = acked.emplace(ack.first + i, ack.events[i]).second;
        CHECK_MESSAGE(fresh, "two acknowledgements claim position " << ack.first + i);
      }
    }

    auto log = open_log(path);
    const uint64_t head = log->head();
    CHECK(head >= previous_head);
    check_log(*log, acked);

    // An acknowledged append retried after the crash is recognised, not written twice.
    const Ack& retried = acks[std::uniform_int_distribution<size_t>(0, acks.size() - 1)(rng)];
    auto again = log->append(request_of(retried));
    REQUIRE_MESSAGE(again.is_ok(), again.status().to_string());
    CHECK(again->already_appended);
    CHECK(again->first_position == retried.first);
    CHECK(again->last_position == retried.last);
    CHECK(again->stream_versions == versions_after(retried));
    CHECK(log->head() == head);

    MESSAGE("round " << round << ": killed after " << acks.size() << " acknowledged appends (target "
                     << target_acks << ", budget " << budget.count() << " ms); head " << previous_head << " -> "
                     << head << ", " << head - acked.rbegin()->first
                     << " committed events past the last acknowledgement");
    previous_head = head;
  }
}

TEST_CASE("an append retried after a restart is recognised as already appended") {
  test::TempDir dir;
  const std::string path = dir.sub("log");
  const Uuid single_id = uuid_from_name("retry-after-restart/single");
  const Uuid multi_a = uuid_from_name("retry-after-restart/multi-a");
  const Uuid multi_b = uuid_from_name("retry-after-restart/multi-b");
  const Uuid multi_c = uuid_from_name("retry-after-restart/multi-c");
  auto single_request = [&] {
    AppendRequest r;
    r.streams.push_back({"order-retry-1", ExpectedVersion::no_stream(), {test::order_delivered("1", single_id)}});
    return r;
  };
  auto multi_request = [&] {
    AppendRequest r;
    r.streams.push_back({"order-retry-2", ExpectedVersion::any(),
                         {test::order_delivered("2", multi_a), test::order_delivered("2", multi_b)}});
    r.streams.push_back({"order-retry-3", ExpectedVersion::no_stream(), {test::order_delivered("3", multi_c)}});
    return r;
  };

  AppendResult single, multi;
  uint64_t head_before = 0;
  {
    auto log = open_log(path);
    REQUIRE(log->append("order-other", ExpectedVersion::any(), {test::order_placed("o")}).is_ok());
    auto r1 = log->append(single_request());
    REQUIRE_MESSAGE(r1.is_ok(), r1.status().to_string());
    single = *r1;
    auto r2 = log->append(multi_request());
    REQUIRE_MESSAGE(r2.is_ok(), r2.status().to_string());
    multi = *r2;
    // The streams move on after the originals.
    REQUIRE(log->append("order-retry-1", ExpectedVersion::exact(1), {test::order_placed("1")}).is_ok());
    REQUIRE(log->append("order-retry-3", ExpectedVersion::exact(1), {test::order_placed("3")}).is_ok());
    head_before = log->head();
  }  // closed

  auto log = open_log(path);
  REQUIRE(log->head() == head_before);

  // The single-event retry says "no stream", which is no longer true: still a retry, not a conflict.
  auto again = log->append(single_request());
  REQUIRE_MESSAGE(again.is_ok(), again.status().to_string());
  CHECK(again->already_appended);
  CHECK(again->first_position == single.first_position);
  CHECK(again->last_position == single.last_position);
  CHECK(again->stream_versions == single.stream_versions);
  CHECK(log->head() == head_before);

  auto again_multi = log->append(multi_request());
  REQUIRE_MESSAGE(again_multi.is_ok(), again_multi.status().to_string());
  CHECK(again_multi->already_appended);
  CHECK(again_multi->first_position == multi.first_position);
  CHECK(again_multi->last_position == multi.last_position);
  CHECK(again_multi->stream_versions == multi.stream_versions);
  CHECK(log->head() == head_before);

  // Nothing was written by either retry.
  CHECK(log->stats().events == 0);
  auto stream = log->read_stream("order-retry-1", 1, 10);
  REQUIRE(stream.is_ok());
  CHECK(stream->size() == 2);

  // A retry that is only partly the original, or moves an id to another stream, is refused.
  AppendRequest partial;
  partial.streams.push_back({"order-retry-1", ExpectedVersion::any(),
                             {test::order_delivered("1", single_id), test::order_placed("1")}});
  auto refused = log->append(std::move(partial));
  REQUIRE_FALSE(refused.is_ok());
  CHECK(refused.status().code() == Status::Code::kDuplicateEventId);
  auto moved = log->append("order-elsewhere", ExpectedVersion::any(), {test::order_delivered("x", single_id)});
  REQUIRE_FALSE(moved.is_ok());
  CHECK(moved.status().code() == Status::Code::kDuplicateEventId);
  CHECK(log->head() == head_before);
}

TEST_CASE("opening a data directory held by a running appender gives kBusy instead of crashing") {
  test::TempDir dir;
  const std::string path = dir.sub("log");
  std::vector<Ack> acks;
  {
    Appender appender(path, test_seed());
    std::string line;
    const auto deadline = Clock::now() + 30s;
    REQUIRE(appender.next_line(deadline, line) == Appender::Read::kLine);
    REQUIRE(parse_open(line).has_value());
    REQUIRE_MESSAGE(appender.next_line(deadline, line) == Appender::Read::kLine, "no first acknowledgement");
    auto first = parse_ack(line);
    REQUIRE(first.has_value());
    acks.push_back(*first);

    // The appender is running and holds the directory.
    auto busy = EventLog::open(path);
    REQUIRE_FALSE(busy.is_ok());
    CHECK_MESSAGE(busy.status().code() == Status::Code::kBusy, busy.status().to_string());

    // The refused open did not disturb the appender: it keeps acknowledging.
    REQUIRE_MESSAGE(appender.next_line(Clock::now() + 30s, line) == Appender::Read::kLine,
                    "the appender stopped after the refused open");
    auto next = parse_ack(line);
    REQUIRE(next.has_value());
    acks.push_back(*next);

    const int status = appender.kill_and_wait();
    CHECK_MESSAGE((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL), describe_wait_status(status));
    for (const std::string& rest : appender.remaining_lines()) {
      auto ack = parse_ack(rest);
      REQUIRE(ack.has_value());
      acks.push_back(*ack);
    }
  }

  // Once the holder is gone, the directory opens and holds what was acknowledged.
  auto log = open_log(path);
  std::map<uint64_t, AckedEvent> acked;
  for (const Ack& ack : acks) {
    for (size_t i = 0; i < ack.events.size(); ++i) acked.emplace(ack.first + i, ack.events[i]);
  }
  check_log(*log, acked);
}

}  // namespace ordersd::events

namespace ordersd::events {

// Only RocksDB's LOCK-file errors mean "in use by another process"; an
// ordinary I/O failure on a path that happens to contain "lock" is kIoError.
TEST_CASE("an I/O error on a path that merely contains \"lock\" is not reported as kBusy") {
  test::TempDir dir;
  // A regular file where the data directory's parent should be: opening fails with ENOTDIR.
  for (const std::string name : {"plain", "clock"}) {
    const std::string file = dir.sub(name);
    int fd = ::open(file.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    REQUIRE(fd >= 0);
    ::close(fd);
    auto log = EventLog::open(file + "/log");
    REQUIRE_FALSE(log.is_ok());
    INFO(name << ": " << log.status().to_string());
    CHECK(log.status().code() == Status::Code::kIoError);  // "clock" gives kBusy
  }
}

}  // namespace ordersd::events

namespace ordersd::events {

TEST_CASE("an append is acknowledged only after a write-ahead-log fsync that began after it was queued") {
  // A SIGKILL keeps what the process wrote in the page cache, so the crash
  // test above cannot notice a missing fsync; this one watches the syncs.
  test::TempDir dir;
  auto log = open_log(dir.sub("log"));
  fault::counting = true;
  struct StopCounting {
    ~StopCounting() { fault::counting = false; }
  } stop_counting;

  constexpr int kThreads = 4;
  constexpr int kAppends = 60;
  std::atomic<int> acked{0}, early{0};
  std::latch start(kThreads);
  std::vector<std::jthread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kAppends; ++i) {
        const std::string stream = "order-sync-" + std::to_string(t % 2);
        const uint64_t begun_before = fault::wal_syncs_begun.load();
        AppendRequest request;
        request.streams.push_back({stream, ExpectedVersion::any(), {test::order_placed(stream)}});
        std::promise<bool> durable;
        log->append_async(std::move(request), [&](Result<AppendResult> r) {
          CHECK_MESSAGE(r.is_ok(), r.status().to_string());
          // In the completion: a WAL sync that began after queueing has finished.
          durable.set_value(fault::wal_synced_through.load() > begun_before);
        });
        if (durable.get_future().get()) {
          acked.fetch_add(1);
        } else {
          early.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(early.load() == 0);
  CHECK(acked.load() == kThreads * kAppends);
  CHECK(fault::wal_syncs_begun.load() > 0);  // the observation works at all
  MESSAGE((kThreads * kAppends) << " appends acknowledged with " << fault::wal_syncs_begun.load()
                              << " WAL fsyncs");
}

}  // namespace ordersd::events

namespace ordersd::events {

// When the fsync of a batch fails, nothing staged after that batch may be
// acknowledged either: here a retry of the failing append, recognised by its
// event id in the written-but-unsynced batch, must fail too. The log then
// refuses appends and state reads until it is reopened.
TEST_CASE("a failed fsync fails its append and every append that depends on it") {
  // The writer asks clock_us once per group commit before staging it: counting
  // the calls tells the test when the writer has moved on to the next commit.
  std::mutex clock_mu;
  std::condition_variable clock_cv;
  int commits_begun = 0;
  EventLogOptions options;
  options.clock_us = [&]() -> int64_t {
    {
      std::lock_guard lk(clock_mu);
      ++commits_begun;
    }
    clock_cv.notify_all();
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  auto wait_commits = [&](int n) {
    std::unique_lock lk(clock_mu);
    return clock_cv.wait_for(lk, 30s, [&] { return commits_begun >= n; });
  };

  test::TempDir dir;
  auto opened = EventLog::open(dir.sub("log"), options);
  REQUIRE(opened.is_ok());
  auto log = std::move(opened).value();
  REQUIRE(log->append("order-warm", ExpectedVersion::any(), {test::order_placed("warm")}).is_ok());
  const uint64_t head_before = log->head();

  NewEvent original = test::order_delivered("order-f", uuid_from_name("failed-fsync/original"));
  auto request = [&] {
    AppendRequest r;
    r.streams.push_back({"order-f", ExpectedVersion::no_stream(), {original}});
    r.side_writes.put("view", "order-f", "delivered");
    return r;
  };
  std::promise<Result<AppendResult>> first_done, retry_done, probe_done;

  // 1. The append whose WAL fsync will fail; wait until that fsync is parked.
  auto release_fault = [] {
    {
      std::lock_guard lk(fault::mu);
      fault::armed = false;
      fault::any_armed = false;
      fault::released = true;
    }
    fault::cv.notify_all();
  };
  struct ReleaseOnExit {  // a failing REQUIRE must not leave the syncer parked
    decltype(release_fault)& release;
    ~ReleaseOnExit() { release(); }
  } release_on_exit{release_fault};
  {
    std::lock_guard lk(fault::mu);
    fault::armed = true;
    fault::failing = false;
    fault::released = false;
    fault::any_armed = true;
  }
  int begun;
  {
    std::lock_guard lk(clock_mu);
    begun = commits_begun;
  }
  log->append_async(request(), [&](Result<AppendResult> r) { first_done.set_value(std::move(r)); });
  {
    std::unique_lock lk(fault::mu);
    REQUIRE_MESSAGE(fault::cv.wait_for(lk, 30s, [] { return fault::failing; }),
                    "the fault injection did not intercept the WAL sync");
  }
  // 2. While it is parked, the client retries the same append (same event id).
  log->append_async(request(), [&](Result<AppendResult> r) { retry_done.set_value(std::move(r)); });
  REQUIRE_MESSAGE(wait_commits(begun + 2),  // the writer has taken the retry's commit
                  "the writer began no commit while an fsync was in progress (it does not pipeline)");
  // 3. One more retry: once the writer begins its commit, the first retry's
  //    commit has been handed to the syncer.
  log->append_async(request(), [&](Result<AppendResult> r) { probe_done.set_value(std::move(r)); });
  REQUIRE(wait_commits(begun + 3));
  // While the fsync is still running, the side write is already readable.
  auto early = log->get("view", "order-f");
  REQUIRE(early.is_ok());
  INFO("side write visible while its fsync was in progress: " << early->has_value());
  release_fault();

  auto first = first_done.get_future().get();
  auto retry = retry_done.get_future().get();
  auto probe = probe_done.get_future().get();
  REQUIRE_FALSE(first.is_ok());
  CHECK(first.status().code() == Status::Code::kIoError);
  CHECK(log->head() == head_before);

  // The retries must not report the failed append as stored.
  CHECK_MESSAGE(!retry.is_ok(), "the retry was acknowledged: already_appended="
                                    << (retry.is_ok() && retry->already_appended) << " at position "
                                    << (retry.is_ok() ? retry->first_position : 0) << ", head " << log->head());
  CHECK_MESSAGE(!probe.is_ok(), "the second retry was acknowledged too");
  // The log is failed from now on: its state may hold what never became
  // durable, so it refuses to serve it, and refuses new appends.
  auto view = log->get("view", "order-f");
  REQUIRE_FALSE(view.is_ok());
  CHECK(view.status().code() == Status::Code::kIoError);
  auto after = log->append("order-g", ExpectedVersion::any(), {test::order_placed("order-g")});
  REQUIRE_FALSE(after.is_ok());
  CHECK(after.status().code() == Status::Code::kIoError);
}

}  // namespace ordersd::events

namespace ordersd::events {

// A side write whose fsync fails leaves the log failed, as an append's does:
// its pages may be lost, and a later fsync that succeeds would acknowledge
// appends over them. Every later append and write is refused with that
// failure until the log is reopened.
TEST_CASE("a failed side write refuses every later append and write until the log is reopened") {
  test::TempDir dir;
  {
    auto opened = EventLog::open(dir.sub("log"));
    REQUIRE(opened.is_ok());
    auto log = std::move(opened).value();
    REQUIRE(log->append("order-warm", ExpectedVersion::any(), {test::order_placed("warm")}).is_ok());
    {
      std::lock_guard lk(fault::mu);
      fault::released = true;  // fail at once, without parking
      fault::armed = true;
      fault::any_armed = true;
    }
    SideWrites side;
    side.put("view", "k", "v");
    Status failed = log->write(side);
    CHECK(failed.code() == Status::Code::kIoError);
    {
      std::lock_guard lk(fault::mu);
      CHECK_FALSE(fault::armed);  // the fault was the one that failed it
      fault::released = false;
      fault::failing = false;
    }
    auto later = log->append("order-later", ExpectedVersion::any(), {test::order_placed("later")});
    REQUIRE_FALSE(later.is_ok());
    CHECK(later.status().code() == Status::Code::kIoError);
    CHECK(later.status().message() == failed.message());
    Status again = log->write(side);
    CHECK(again.code() == Status::Code::kIoError);
    CHECK(again.message() == failed.message());
    Status derived = log->write_derived(side);
    CHECK(derived.message() == failed.message());
    auto read = log->get("view", "k");  // written, perhaps lost: not served
    REQUIRE_FALSE(read.is_ok());
    CHECK(read.status().message() == failed.message());
    CHECK(log->head() == 1);
  }
  auto reopened = EventLog::open(dir.sub("log"));
  REQUIRE_MESSAGE(reopened.is_ok(), reopened.status().to_string());
  CHECK((*reopened)->append("order-after", ExpectedVersion::any(), {test::order_placed("after")}).is_ok());
}

}  // namespace ordersd::events
