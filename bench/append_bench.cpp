// append_bench: the event log against raw RocksDB doing the same work, in one run.
//
// Appends: 1, 8, 64 and 256 concurrent appenders (--threads) each append single
// ~200-byte events to their own 16 streams for a fixed time, fsync on and off.
//   log: EventLog::append(stream, any, {event}) from that many blocking threads,
//        group-committed by its writer thread;
//   log cb: the same appends through append_async with that many appends in
//        flight, each completion callback issuing the caller's next append --
//        how the HTTP server calls the log (a few I/O threads, many requests);
//   raw: each appender builds its own WriteBatch with the same three Puts (log,
//        streams, ids; the keys of keys.h, the value a real envelope) and calls
//        DB::Write itself, so only RocksDB's own write grouping applies.
// Reads: read_all(from, 1024) paging over a populated log against a raw RocksDB
// iterator over the same files that copies every value into a std::string.
//
// Reading the ratio: log/raw is the share of raw RocksDB's throughput the log
// keeps for the same writes (or reads). Below 1.0 is the log's cost (envelope
// encoding, validation, id and version checks, one writer thread); above 1.0
// means its group commit gathers more per fsync than RocksDB's write grouping.
// "ev/commit" is the log's average events per group commit. The fdatasync line
// is this disk's floor under every durable commit, measured in the same run.
//
// Usage: append_bench [--seconds S] [--threads 1,8,64,256] [--quick] [--json]
// Prints the targets next to the figures; exits 0 whether they pass or not.

#include <fcntl.h>
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <latch>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "events/event_log.h"
#include "events/keys.h"
#include "support/sample_events.h"
#include "support/temp_dir.h"

namespace {

using namespace ordersd;
using Clock = std::chrono::steady_clock;
using Json = nlohmann::ordered_json;

constexpr size_t kStreamsPerAppender = 16;
constexpr size_t kReadPage = 1024;
constexpr int kSyncSamples = 100;
constexpr double kDurableTarget = 50000;  // events/s, fsync, 64 appenders
constexpr double kReadTarget = 0.5;       // read_all / raw iterator

struct Config {
  double seconds = 2.0;
  std::vector<int> threads = {1, 8, 64, 256};
  uint64_t read_events = 100000;
  bool json = false;
};

[[noreturn]] void fail(const std::string& what) {
  std::cerr << "append_bench: " << what << "\n";
  std::exit(1);
}

template <typename T>
T check(Result<T> r, const std::string& what) {
  if (!r) fail(what + ": " + r.status().to_string());
  return std::move(r).value();
}

void check(const rocksdb::Status& s, const std::string& what) {
  if (!s.ok()) fail(what + ": " + s.ToString());
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Nearest-rank percentile of `ns`, in microseconds; reorders `ns`.
double percentile_us(std::vector<int64_t>& ns, double p) {
  if (ns.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(ns.size())));
  auto nth = ns.begin() + static_cast<std::ptrdiff_t>(std::max<size_t>(rank, 1) - 1);
  std::nth_element(ns.begin(), nth, ns.end());
  return static_cast<double>(*nth) / 1000.0;
}

// --- the disk

// Median microseconds of a 4 KiB append plus fdatasync in a fresh temp
// directory: the floor under every durable commit, for reading the fsync rows.
double fdatasync_us(int samples) {
  test::TempDir dir;
  std::string path = dir.sub("probe");
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd < 0) fail("creating " + path);
  std::string block(4096, 'x');
  std::vector<int64_t> ns;
  for (int i = 0; i < samples; ++i) {
    auto begin = Clock::now();
    if (::write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size()) || ::fdatasync(fd) != 0) {
      fail("writing " + path);
    }
    ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - begin).count());
  }
  ::close(fd);
  return percentile_us(ns, 0.5);
}

// --- appends

struct Throughput {
  double events_per_s = 0;
  double p50_us = 0;
  double p99_us = 0;
  double events_per_commit = 0;  // the log only
};

// Rate and percentiles of every appender's latencies over `elapsed` seconds.
Throughput summarize(const std::vector<std::vector<int64_t>>& latencies, double elapsed) {
  std::vector<int64_t> all;
  for (auto& mine : latencies) all.insert(all.end(), mine.begin(), mine.end());
  Throughput out;
  out.events_per_s = static_cast<double>(all.size()) / elapsed;
  out.p50_us = percentile_us(all, 0.50);
  out.p99_us = percentile_us(all, 0.99);
  return out;
}

// Runs `threads` appenders for `seconds`; append(t, n) makes appender t's n-th
// single-event append and returns once it is acknowledged.
template <typename Append>
Throughput drive(int threads, double seconds, Append append) {
  std::vector<std::vector<int64_t>> latencies(threads);
  std::atomic<bool> stop{false};
  std::latch ready(threads + 1);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::vector<int64_t>& mine = latencies[t];
      mine.reserve(1 << 14);
      ready.arrive_and_wait();
      for (uint64_t n = 0; !stop.load(std::memory_order_relaxed); ++n) {
        auto begin = Clock::now();
        append(t, n);
        mine.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - begin).count());
      }
    });
  }
  ready.arrive_and_wait();
  auto start = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& w : workers) w.join();
  return summarize(latencies, seconds_since(start));
}

std::vector<std::vector<std::string>> stream_names(int threads) {
  std::vector<std::vector<std::string>> names(threads);
  for (int t = 0; t < threads; ++t) {
    for (size_t k = 0; k < kStreamsPerAppender; ++k) {
      names[t].push_back("order-" + std::to_string(t) + "-" + std::to_string(k));
    }
  }
  return names;
}

// A fresh log and what its appenders append: appender t's n-th event goes to
// its stream n % kStreamsPerAppender.
struct LogUnderTest {
  test::TempDir dir;
  std::unique_ptr<events::EventLog> log;
  std::vector<std::vector<std::string>> names;
  std::vector<events::NewEvent> templates;
  RandomUuidGenerator ids;

  LogUnderTest(int appenders, events::Durability durability) : names(stream_names(appenders)) {
    events::EventLogOptions options;
    options.durability = durability;
    log = check(events::EventLog::open(dir.path(), options), "opening the event log");
    for (int t = 0; t < appenders; ++t) templates.push_back(test::order_placed("order-" + std::to_string(t)));
  }

  events::AppendRequest request(int t, uint64_t n) {
    events::NewEvent event = templates[t];
    event.id = ids.next();
    events::AppendRequest r;
    r.streams.push_back({names[t][n % kStreamsPerAppender], events::ExpectedVersion::any(), {std::move(event)}});
    return r;
  }

  double events_per_commit() const {
    events::EventLogStats stats = log->stats();
    return stats.commits ? static_cast<double>(stats.events) / static_cast<double>(stats.commits) : 0;
  }
};

Throughput log_appends(int threads, events::Durability durability, double seconds) {
  LogUnderTest under(threads, durability);
  Throughput out = drive(threads, seconds,
                         [&](int t, uint64_t n) { check(under.log->append(under.request(t, n)), "appending"); });
  out.events_per_commit = under.events_per_commit();
  return out;
}

// `callers` appends kept in flight through append_async: each completion
// issues that caller's next append, until `seconds` have gone by.
Throughput log_callback_appends(int callers, events::Durability durability, double seconds) {
  LogUnderTest under(callers, durability);
  std::vector<std::vector<int64_t>> latencies(callers);
  std::vector<uint64_t> sent(callers, 0);  // each touched by one caller's chain of callbacks only
  std::atomic<bool> stop{false};
  std::atomic<int> in_flight{callers};

  std::function<void(int)> submit = [&](int c) {
    events::AppendRequest request = under.request(c, sent[c]++);
    auto begin = Clock::now();
    under.log->append_async(std::move(request), [&, c, begin](Result<events::AppendResult> r) {
      check(std::move(r), "appending");
      latencies[c].push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - begin).count());
      if (!stop.load(std::memory_order_relaxed)) return submit(c);
      if (in_flight.fetch_sub(1) == 1) in_flight.notify_all();
    });
  };
  auto start = Clock::now();
  for (int c = 0; c < callers; ++c) submit(c);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (int left = in_flight.load(); left > 0; left = in_flight.load()) in_flight.wait(left);
  Throughput out = summarize(latencies, seconds_since(start));
  out.events_per_commit = under.events_per_commit();
  return out;
}

// Per-family options as the event log sets them: one shared block cache, a
// 10-bit bloom filter on the point-lookup families.
rocksdb::ColumnFamilyOptions family_options(const std::shared_ptr<rocksdb::Cache>& cache, bool point_lookups) {
  rocksdb::ColumnFamilyOptions cf;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  if (point_lookups) table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return cf;
}

rocksdb::DBOptions db_options() {
  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.max_background_jobs = 2;
  options.keep_log_file_num = 3;
  options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  return options;
}

// A raw RocksDB with the families of the event log that the benchmark touches.
class RawDb {
 public:
  // Read-write with default, log, streams and ids; or read-only with default and log.
  RawDb(const std::string& dir, bool read_only) {
    auto cache = rocksdb::NewLRUCache(64 << 20);
    std::vector<rocksdb::ColumnFamilyDescriptor> families = {
        {rocksdb::kDefaultColumnFamilyName, family_options(cache, false)},
        {events::keys::kLogFamily, family_options(cache, false)},
    };
    if (!read_only) {
      families.push_back({events::keys::kStreamsFamily, family_options(cache, true)});
      families.push_back({events::keys::kIdsFamily, family_options(cache, true)});
    }
    rocksdb::DB* db = nullptr;
    check(read_only ? rocksdb::DB::OpenForReadOnly(db_options(), dir, families, &handles_, &db)
                    : rocksdb::DB::Open(db_options(), dir, families, &handles_, &db),
          "opening raw RocksDB in " + dir);
    db_.reset(db);
  }
  ~RawDb() {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_->Close().PermitUncheckedError();
  }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  rocksdb::DB& db() { return *db_; }
  rocksdb::ColumnFamilyHandle* log() { return handles_[1]; }
  rocksdb::ColumnFamilyHandle* streams() { return handles_[2]; }
  rocksdb::ColumnFamilyHandle* ids() { return handles_[3]; }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

// The bytes the event log stores for one sample event: the raw side's value.
std::string sample_envelope() {
  test::TempDir dir;
  events::EventLogOptions options;
  options.durability = events::Durability::kAsync;
  auto log = check(events::EventLog::open(dir.path(), options), "opening the event log");
  check(log->append("order-0-0", events::ExpectedVersion::any(), {test::order_placed("order-0")}), "appending");
  auto events = check(log->read_all(1, 1), "reading");
  return events.at(0).envelope_bytes();
}

Throughput raw_appends(int threads, bool sync, double seconds, const std::string& value) {
  test::TempDir dir;
  RawDb raw(dir.path(), /*read_only=*/false);
  rocksdb::WriteOptions write_options;
  write_options.sync = sync;
  auto names = stream_names(threads);
  std::vector<std::vector<uint64_t>> versions(threads, std::vector<uint64_t>(kStreamsPerAppender, 0));
  std::atomic<uint64_t> next_position{1};
  RandomUuidGenerator ids;

  return drive(threads, seconds, [&](int t, uint64_t n) {
    size_t k = n % kStreamsPerAppender;
    std::string position = events::keys::position_key(next_position.fetch_add(1, std::memory_order_relaxed));
    rocksdb::WriteBatch batch;
    check(batch.Put(raw.log(), position, value), "batching");
    check(batch.Put(raw.streams(), events::keys::stream_key(names[t][k], ++versions[t][k]), position), "batching");
    check(batch.Put(raw.ids(), events::keys::id_key(ids.next()), position), "batching");
    check(raw.db().Write(write_options, &batch), "writing");
  });
}

// --- reads

struct ReadComparison {
  uint64_t events = 0;
  double log_events_per_s = 0;
  double raw_events_per_s = 0;
};

// Fills a log in `dir` with `count` events, 1,000 per append, without fsync.
void populate(const std::string& dir, uint64_t count) {
  events::EventLogOptions options;
  options.durability = events::Durability::kAsync;
  auto log = check(events::EventLog::open(dir, options), "opening the event log");
  for (uint64_t done = 0, append = 0; done < count; ++append) {
    std::vector<events::NewEvent> batch;
    for (; batch.size() < 1000 && done < count; ++done) {
      batch.push_back(test::order_placed("order-" + std::to_string(done)));
    }
    check(log->append("read-" + std::to_string(append), events::ExpectedVersion::any(), std::move(batch)),
          "populating");
  }
}

// Events per second of `pass` (which returns the events it read): one
// warm-up pass, then passes until `seconds` have gone by.
template <typename Pass>
double read_rate(uint64_t expected, double seconds, Pass pass) {
  if (pass() != expected) fail("a read pass did not see every event");
  uint64_t read = 0;
  auto start = Clock::now();
  do {
    read += pass();
  } while (seconds_since(start) < seconds);
  return static_cast<double>(read) / seconds_since(start);
}

ReadComparison read_all_vs_iterator(uint64_t count, double seconds) {
  test::TempDir dir;
  populate(dir.path(), count);
  ReadComparison out;
  out.events = count;
  {
    // Reopening flushes the recovered write-ahead log, so both readers see the same table files.
    auto log = check(events::EventLog::open(dir.path()), "reopening the event log");
    out.log_events_per_s = read_rate(count, seconds, [&] {
      uint64_t read = 0;
      for (uint64_t from = 1;;) {
        auto page = check(log->read_all(from, kReadPage), "read_all");
        if (page.empty()) return read;
        read += page.size();
        from = page.back().position() + 1;
      }
    });
  }
  RawDb raw(dir.path(), /*read_only=*/true);
  out.raw_events_per_s = read_rate(count, seconds, [&] {
    uint64_t read = 0;
    std::vector<std::string> page;
    page.reserve(kReadPage);
    std::unique_ptr<rocksdb::Iterator> it(raw.db().NewIterator(rocksdb::ReadOptions(), raw.log()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      page.emplace_back(it->value().data(), it->value().size());
      if (page.size() == kReadPage) {
        read += page.size();
        page.clear();
      }
    }
    check(it->status(), "iterating");
    return read + page.size();
  });
  return out;
}

// --- report

struct Row {
  int threads;
  bool fsync;
  Throughput log;
  Throughput log_cb;
  Throughput raw;
  double ratio() const { return raw.events_per_s > 0 ? log.events_per_s / raw.events_per_s : 0; }
  double cb_ratio() const { return raw.events_per_s > 0 ? log_cb.events_per_s / raw.events_per_s : 0; }
};

struct Report {
  double seconds_per_row = 0;
  double fdatasync_us = 0;
  std::vector<Row> rows;
  ReadComparison reads;

  double read_ratio() const { return reads.raw_events_per_s > 0 ? reads.log_events_per_s / reads.raw_events_per_s : 0; }
  // The most 64 appenders can reach when every commit carries all 64 events.
  double durable_ceiling() const { return fdatasync_us > 0 ? 64 * 1e6 / fdatasync_us : 0; }
};

struct Target {
  std::string name;
  std::string goal;
  std::optional<double> value;  // nullopt when its row was not run
  bool percent;                 // value is a ratio, shown as a percentage
  bool pass;
};

std::vector<Target> targets(const Report& report) {
  Target threads{"durable, 64 blocking threads", ">= 50,000 ev/s", std::nullopt, false, false};
  Target callbacks{"durable, 64 callback callers", ">= 50,000 ev/s", std::nullopt, false, false};
  for (const Row& row : report.rows) {
    if (row.fsync && row.threads == 64) {
      threads.value = row.log.events_per_s;
      threads.pass = row.log.events_per_s >= kDurableTarget;
      callbacks.value = row.log_cb.events_per_s;
      callbacks.pass = row.log_cb.events_per_s >= kDurableTarget;
    }
  }
  Target read{"read_all vs raw iterator", ">= 50% of raw", report.read_ratio(), true,
              report.read_ratio() >= kReadTarget};
  return {threads, callbacks, read};
}

Json throughput_json(const Throughput& t, bool with_commits) {
  Json j = {{"events_per_s", t.events_per_s}, {"p50_us", t.p50_us}, {"p99_us", t.p99_us}};
  if (with_commits) j["events_per_commit"] = t.events_per_commit;
  return j;
}

void print_json(const Report& report) {
  Json out;
  out["seconds_per_row"] = report.seconds_per_row;
  out["streams_per_appender"] = kStreamsPerAppender;
  out["fdatasync_p50_us"] = report.fdatasync_us;
  out["appends"] = Json::array();
  for (const Row& row : report.rows) {
    out["appends"].push_back({{"appenders", row.threads},
                              {"durability", row.fsync ? "fsync" : "async"},
                              {"log", throughput_json(row.log, true)},
                              {"log_callbacks", throughput_json(row.log_cb, true)},
                              {"raw", throughput_json(row.raw, false)},
                              {"ratio", row.ratio()},
                              {"callbacks_ratio", row.cb_ratio()}});
  }
  const ReadComparison& reads = report.reads;
  out["read_all"] = {{"events", reads.events},
                     {"page", kReadPage},
                     {"log_events_per_s", reads.log_events_per_s},
                     {"raw_events_per_s", reads.raw_events_per_s},
                     {"ratio", report.read_ratio()}};
  out["targets"] = Json::array();
  for (const Target& t : targets(report)) {
    out["targets"].push_back({{"name", t.name},
                              {"goal", t.goal},
                              {"measured", t.value ? Json(*t.value) : Json(nullptr)},
                              {"pass", t.pass}});
  }
  std::cout << out.dump(2) << "\n";
}

void print_table(const Report& report) {
  std::printf("append_bench: %.2f s per row, single-event appends, %zu streams per appender\n",
              report.seconds_per_row, kStreamsPerAppender);
  std::printf("fdatasync of a 4 KiB append here: p50 %.0f us (64 events per fsync allow at most %.0f ev/s)\n\n",
              report.fdatasync_us, report.durable_ceiling());
  std::printf("%9s %6s | %10s %7s %7s %6s | %10s %7s %7s %6s | %10s %7s %7s | %7s %6s\n", "appenders", "sync",
              "log ev/s", "p50 us", "p99 us", "ev/cmt", "cb ev/s", "p50 us", "p99 us", "ev/cmt", "raw ev/s",
              "p50 us", "p99 us", "log/raw", "cb/raw");
  for (const Row& row : report.rows) {
    std::printf("%9d %6s | %10.0f %7.0f %7.0f %6.1f | %10.0f %7.0f %7.0f %6.1f | %10.0f %7.0f %7.0f | %7.2f %6.2f\n",
                row.threads, row.fsync ? "fsync" : "async", row.log.events_per_s, row.log.p50_us, row.log.p99_us,
                row.log.events_per_commit, row.log_cb.events_per_s, row.log_cb.p50_us, row.log_cb.p99_us,
                row.log_cb.events_per_commit, row.raw.events_per_s, row.raw.p50_us, row.raw.p99_us, row.ratio(),
                row.cb_ratio());
  }
  const ReadComparison& reads = report.reads;
  std::printf("\nread_all (%llu events, pages of %zu): log %.0f ev/s, raw iterator %.0f ev/s, log/raw %.2f\n",
              static_cast<unsigned long long>(reads.events), kReadPage, reads.log_events_per_s,
              reads.raw_events_per_s, report.read_ratio());
  std::printf("\ntargets\n");
  for (const Target& t : targets(report)) {
    if (!t.value) {
      std::printf("  %-30s %-16s not measured (no such row)\n", t.name.c_str(), t.goal.c_str());
    } else if (t.percent) {
      std::printf("  %-30s %-16s measured %8.0f%%     %s\n", t.name.c_str(), t.goal.c_str(), *t.value * 100,
                  t.pass ? "PASS" : "MISS");
    } else {
      std::printf("  %-30s %-16s measured %8.0f ev/s %s\n", t.name.c_str(), t.goal.c_str(), *t.value,
                  t.pass ? "PASS" : "MISS");
    }
  }
}

// --- command line

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "append_bench: " << problem << "\n"
            << "usage: append_bench [--seconds S] [--threads 1,8,64,256] [--quick] [--json]\n";
  std::exit(2);
}

std::vector<int> parse_threads(const std::string& list) {
  std::vector<int> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = std::min(list.find(',', start), list.size());
    std::string item = list.substr(start, comma - start);
    char* end = nullptr;
    long n = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || n < 1 || n > 4096) usage("bad --threads list '" + list + "'");
    out.push_back(static_cast<int>(n));
    start = comma + 1;
  }
  return out;
}

Config parse(int argc, char** argv) {
  Config config;
  bool seconds_given = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--json") {
      config.json = true;
    } else if (arg == "--quick") {
      config.read_events = 20000;
      if (!seconds_given) config.seconds = 0.25;
    } else if (arg == "--seconds") {
      std::string text = value();
      char* end = nullptr;
      config.seconds = std::strtod(text.c_str(), &end);
      if (*end != '\0' || !(config.seconds > 0)) usage("bad --seconds '" + text + "'");
      seconds_given = true;
    } else if (arg == "--threads") {
      config.threads = parse_threads(value());
    } else {
      usage("unknown argument '" + arg + "'");
    }
  }
  return config;
}

}  // namespace

int main(int argc, char** argv) {
  Config config = parse(argc, argv);
  Report report;
  report.seconds_per_row = config.seconds;
  report.fdatasync_us = fdatasync_us(kSyncSamples);
  std::string value = sample_envelope();

  for (bool fsync : {true, false}) {
    for (int threads : config.threads) {
      if (!config.json) std::fprintf(stderr, "running %d appenders, %s...\n", threads, fsync ? "fsync" : "async");
      Row row{threads, fsync, {}, {}, {}};
      auto durability = fsync ? events::Durability::kFsync : events::Durability::kAsync;
      row.log = log_appends(threads, durability, config.seconds);
      row.log_cb = log_callback_appends(threads, durability, config.seconds);
      row.raw = raw_appends(threads, fsync, config.seconds, value);
      report.rows.push_back(row);
    }
  }
  if (!config.json) std::fprintf(stderr, "running read_all...\n");
  report.reads = read_all_vs_iterator(config.read_events, config.seconds);

  if (config.json) {
    print_json(report);
  } else {
    print_table(report);
  }
  return 0;
}
