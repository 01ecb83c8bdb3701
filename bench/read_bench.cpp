// read_bench: the read side in one run — replaying the views, how far the
// projectors trail the log under order load, and how many GET /orders/{id}
// the server answers against GET /health.
//
// 1. Projection lag: a fresh `ordersd serve` with the saga running; K
//    customers get money and S skus get stock, then N orders are placed over
//    C keep-alive connections as saga_bench places them. Meanwhile another
//    connection samples GET /health every 10 ms: per view the lag in events
//    (head - position) and the lag in time (the sample's time minus the time
//    of the first earlier sample whose head was already past the view's
//    position: how long the oldest event the view has not applied has been
//    in the log, at 10 ms resolution). Every 16th order's connection also
//    reads its own write: after the 201 it sends
//    GET /orders/{id}?min_position=<position of the 201> until a 200 and
//    times that (read-your-writes latency). Then every saga is waited for.
// 2. Replay: that server is stopped and its data directory, now a log of the
//    saga's real mix of events, is opened in-process. `read::replay` rebuilds
//    each view (timed per view, events/s = log head / time of the call,
//    erasing the old rows included) against the same log scanned raw: pages
//    of EventLog::read_all (4096 and 1024) and a raw
//    RocksDB iterator over the "log" family (opened read-only, after the
//    EventLog is closed). And each view's rows as the replay left them,
//    written once in key order into a fresh raw RocksDB: the floor under
//    any replay that writes its rows through a memtable, as events/s.
// 3. Reads: a fresh server with the saga paused takes M orders, waits until
//    every view lag is 0, then the same C keep-alive connections (one client
//    thread each, closed loop) send GET /health for T s, GET /orders/{id} of
//    random placed orders for T s, and GET /health again for T s. Every
//    answer must be 200. Ratio = orders / mean of the two /health runs.
//
// Usage: read_bench [--orders N] [--read-orders M] [--connections C] [--seconds T]
//                   [--durability fsync|async] [--log DIR] [--replay-only] [--quick] [--json]
// --log DIR keeps the log of phases 1-2 in DIR; a DIR that already holds a
// log skips phase 1 and replays that log. --replay-only skips phase 3.
// Prints the targets next to the figures; exits 0 whether they are met or not.

#include <rocksdb/db.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <latch>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "events/event_log.h"
#include "events/keys.h"
#include "read/replay.h"
#include "read/views.h"
#include "support/http_client.h"
#include "support/server_process.h"
#include "support/temp_dir.h"
#include "http_load.h"
#include "load_options.h"

namespace {

using namespace ordersd;
using namespace ordersd::test;
using namespace ordersd::bench;
using Json = nlohmann::ordered_json;

constexpr auto kHealthEvery = std::chrono::milliseconds(10);
constexpr auto kPollEvery = std::chrono::milliseconds(20);
constexpr auto kStallLimit = std::chrono::seconds(60);
constexpr int kReadYourWritesEvery = 16;
constexpr double kReplayTarget = 1'000'000;  // events/s per view
constexpr double kReplayRawTarget = 0.30;    // replay / raw read_all scan
constexpr double kReadTarget = 0.80;         // GET /orders/{id} / GET /health

struct Config : LoadOptions {
  Config() {
    orders = 30000;
    connections = 64;
  }
  int read_orders = 10000;
  double seconds = 5;
  int replay_runs = 2;
  std::string log_dir;  // "": a temporary directory
  bool replay_only = false;
};

template <typename T>
double maximum(const std::vector<T>& values) {
  return values.empty() ? 0 : static_cast<double>(*std::max_element(values.begin(), values.end()));
}

double self_cpu_seconds() {
  rusage self{};
  getrusage(RUSAGE_SELF, &self);
  return static_cast<double>(self.ru_utime.tv_sec + self.ru_stime.tv_sec) +
         static_cast<double>(self.ru_utime.tv_usec + self.ru_stime.tv_usec) / 1e6;
}

// --- the server's own figures

struct Health {
  uint64_t head = 0;
  std::vector<std::string> names;
  std::vector<uint64_t> positions;
  uint64_t max_lag = 0;
};

Health read_health(HttpClient& client) {
  HttpResponse res = client.get("/health");
  if (res.status != 200) fail("GET /health answered " + std::to_string(res.status));
  Json j = Json::parse(res.body);
  Health h;
  h.head = j.at("head").get<uint64_t>();
  for (const Json& v : j.at("views")) {
    if (v.contains("failure")) fail("view " + v.at("name").get<std::string>() + " failed: " + v.at("failure").dump());
    h.names.push_back(v.at("name").get<std::string>());
    h.positions.push_back(v.at("position").get<uint64_t>());
    h.max_lag = std::max(h.max_lag, v.at("lag").get<uint64_t>());
  }
  return h;
}

struct SagaMetrics {
  uint64_t shipped = 0, cancelled = 0, lag = 0;
};

SagaMetrics read_saga(HttpClient& client) {
  HttpResponse res = client.get("/metrics");
  if (res.status != 200) fail("GET /metrics answered " + std::to_string(res.status));
  SagaMetrics out;
  std::istringstream lines(res.body);
  std::string line;
  auto value = [&line] { return std::stoull(line.substr(line.rfind(' ') + 1)); };
  while (std::getline(lines, line)) {
    if (line.starts_with("ordersd_sagas_shipped_total ")) out.shipped = value();
    else if (line.starts_with("ordersd_sagas_cancelled_total ")) out.cancelled = value();
    else if (line.starts_with("ordersd_participant_lag_events{")) out.lag += value();
  }
  return out;
}

// Until every saga of `orders` is final (when orders > 0), the saga readers
// have handled everything and every view is at the head.
void wait_settled(HttpClient& client, uint64_t orders) {
  auto deadline = Steady::now() + kStallLimit;
  for (;;) {
    SagaMetrics m = read_saga(client);
    Health h = read_health(client);
    if (m.shipped + m.cancelled >= orders && m.lag == 0 && h.max_lag == 0) return;
    if (Steady::now() > deadline) fail("the server never settled (views or saga readers behind)");
    std::this_thread::sleep_for(kPollEvery);
  }
}

// --- 1. projection lag under the end-to-end order load

struct HealthSample {
  Steady::time_point at;
  uint64_t head;
  std::vector<uint64_t> positions;
};

struct ViewLag {
  std::string name;
  std::vector<uint64_t> events;  // per sample during the load
  std::vector<double> ms;        // per sample during the load
};

struct LagPhase {
  int orders = 0;
  double seconds = 0;  // placing
  double post_p50_ms = 0, post_p99_ms = 0;
  size_t samples = 0;
  double sample_interval_ms = 0;  // mean, during the load
  std::vector<ViewLag> views;
  std::vector<int64_t> ryw_ns;   // read-your-writes
  uint64_t ryw_retries = 0;      // 503s on the way
  double catch_up_s = 0;         // last answer -> every view at the head at that moment
  uint64_t head_after = 0;
  double settle_s = 0;           // last answer -> every saga final and every view at the head
};

uint64_t position_of(const std::string& body) {
  auto at = body.find("\"position\":");
  if (at == std::string::npos) fail("no position in " + body);
  return std::stoull(body.substr(at + 11));
}

LagPhase run_lag(const Config& config, const std::string& dir) {
  ServerProcess server(dir, {"--durability", config.durability});
  fund_and_stock(server.port);
  HttpClient observer(server.port);
  wait_settled(observer, 0);

  std::vector<HealthSample> samples;
  std::vector<std::string> names = read_health(observer).names;
  std::atomic<bool> stop{false};
  std::string sampler_failure;
  std::thread sampler([&] {
    try {
      HttpClient client(server.port);
      auto next = Steady::now();
      while (!stop.load()) {
        auto at = Steady::now();
        Health h = read_health(client);
        samples.push_back({at, h.head, std::move(h.positions)});
        next += kHealthEvery;
        std::this_thread::sleep_until(next);
        if (Steady::now() > next + kHealthEvery) next = Steady::now();  // fell behind: no burst
      }
    } catch (const std::exception& e) {
      sampler_failure = e.what();
    }
  });

  std::mutex ryw_mu;
  LagPhase out;
  out.orders = config.orders;
  std::atomic<uint64_t> retries{0};
  LoadResult load;
  try {
    load = run_load(server.port, config.connections, config.orders, 201, place_order,
                    [&](int n, HttpClient& client, const HttpResponse& res) {
                      if (n % kReadYourWritesEvery != 0) return;
                      uint64_t position = position_of(res.body);
                      std::string target =
                          "/orders/" + order_id(n) + "?min_position=" + std::to_string(position) + "&wait_ms=10000";
                      auto begin = Steady::now();
                      for (;;) {
                        HttpResponse got = client.get(target);
                        if (got.status == 200) break;
                        if (got.status != 503) fail("GET " + target + " answered " + std::to_string(got.status));
                        retries.fetch_add(1);
                        if (Steady::now() - begin > kStallLimit) fail("GET " + target + " never reached its position");
                      }
                      int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Steady::now() - begin).count();
                      std::lock_guard lk(ryw_mu);
                      out.ryw_ns.push_back(ns);
                    });
  } catch (...) {
    stop = true;
    sampler.join();
    throw;
  }
  // Every view at the head as of the last answer.
  uint64_t head_at_end = read_health(observer).head;
  for (;;) {
    Health h = read_health(observer);
    if (*std::min_element(h.positions.begin(), h.positions.end()) >= head_at_end) break;
    if (Steady::now() - load.end > kStallLimit) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  out.catch_up_s = seconds_between(load.end, Steady::now());
  stop = true;
  sampler.join();
  if (!sampler_failure.empty()) fail("sampling /health: " + sampler_failure);
  wait_settled(observer, static_cast<uint64_t>(config.orders));
  out.settle_s = seconds_between(load.end, Steady::now());
  out.head_after = read_health(observer).head;
  out.ryw_retries = retries.load();

  out.seconds = load.seconds();
  out.post_p50_ms = percentile(load.latency_ns, 0.50) / 1e6;
  out.post_p99_ms = percentile(load.latency_ns, 0.99) / 1e6;
  for (const auto& name : names) out.views.push_back({name, {}, {}});
  Steady::time_point first{}, last{};
  for (const HealthSample& s : samples) {
    if (s.at < load.start || s.at > load.end) continue;
    if (out.samples == 0) first = s.at;
    last = s.at;
    ++out.samples;
    for (size_t v = 0; v < out.views.size() && v < s.positions.size(); ++v) {
      uint64_t pos = s.positions[v];
      uint64_t lag = s.head > pos ? s.head - pos : 0;
      out.views[v].events.push_back(lag);
      double ms = 0;
      if (lag > 0) {
        // The first sample whose head was past `pos`: the oldest unapplied event was in the log by then.
        auto it = std::partition_point(samples.begin(), samples.end(),
                                       [pos](const HealthSample& e) { return e.head <= pos; });
        if (it != samples.end() && it->at <= s.at) ms = std::chrono::duration<double, std::milli>(s.at - it->at).count();
      }
      out.views[v].ms.push_back(ms);
    }
  }
  out.sample_interval_ms = out.samples > 1 ? seconds_between(first, last) * 1e3 / static_cast<double>(out.samples - 1) : 0;
  if (int rc = server.stop(); rc != 0) fail("the server exited with " + std::to_string(rc));
  return out;
}

// --- 2. replay against raw scans of the same log

template <typename T>
T check(Result<T> r, const std::string& what) {
  if (!r) fail(what + ": " + r.status().to_string());
  return std::move(*r);
}

void check(const Status& s, const std::string& what) {
  if (!s) fail(what + ": " + s.to_string());
}

void check(const rocksdb::Status& s, const std::string& what) {
  if (!s.ok()) fail(what + ": " + s.ToString());
}

struct ReplayRun {
  std::string view;
  std::vector<double> events_per_s;  // one per run
  double first_batch_ms = 0;         // last run: start -> the first batch committed (erasing the old rows included)
  double batch_ms = 0;               // last run: mean time of each later batch (replay's own size)
  double async_events_per_s = 0;     // the same replay with the log opened without fsync
  // The view as replay left it, written once in key order into a fresh raw
  // RocksDB (batches of 65,536 keys, no fsync): the floor under any replay
  // that writes its rows through a memtable.
  uint64_t keys = 0, bytes = 0;
  double rows_alone_s = 0;
  double best() const { return events_per_s.empty() ? 0 : *std::max_element(events_per_s.begin(), events_per_s.end()); }
};

struct ReplayPhase {
  uint64_t events = 0;
  std::map<std::string, uint64_t> by_type;
  double read_all_4096 = 0;  // events/s
  double read_all_1024 = 0;
  double raw_iterator = 0;
  std::vector<ReplayRun> views;
  double all_views_seconds = 0;  // the last run of every view, summed
  // Every view in one pass (as `ordersd replay --view all` runs): best of the runs.
  std::vector<double> one_pass_events_per_s;
  double one_pass_best() const {
    return one_pass_events_per_s.empty() ? 0 : *std::max_element(one_pass_events_per_s.begin(), one_pass_events_per_s.end());
  }
};

// Events/s of `pass`: one warm-up pass, then passes until `seconds` have gone by.
template <typename Pass>
double scan_rate(uint64_t expected, double seconds, Pass pass) {
  if (uint64_t n = pass(); n != expected) fail("a scan saw " + std::to_string(n) + " events, expected " + std::to_string(expected));
  uint64_t read = 0;
  auto start = Steady::now();
  do {
    read += pass();
  } while (seconds_between(start, Steady::now()) < seconds);
  return static_cast<double>(read) / seconds_between(start, Steady::now());
}

double read_all_rate(events::EventLog& log, uint64_t head, size_t page, double seconds) {
  return scan_rate(head, seconds, [&] {
    uint64_t read = 0;
    for (uint64_t from = 1;;) {
      auto events = check(log.read_all(from, page), "read_all");
      if (events.empty()) return read;
      read += events.size();
      from = events.back().position() + 1;
    }
  });
}

double raw_iterator_rate(const std::string& dir, uint64_t head, double seconds) {
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {events::keys::kLogFamily, rocksdb::ColumnFamilyOptions()},
  };
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::DBOptions options;
  options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  check(rocksdb::DB::OpenForReadOnly(options, dir, families, &handles, &raw), "opening raw RocksDB");
  std::unique_ptr<rocksdb::DB> db(raw);
  double rate = scan_rate(head, seconds, [&] {
    uint64_t read = 0;
    std::vector<std::string> page;
    page.reserve(4096);
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[1]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      page.emplace_back(it->value().data(), it->value().size());
      if (page.size() == 4096) {
        read += page.size();
        page.clear();
      }
    }
    check(it->status(), "iterating");
    return read + page.size();
  });
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  db->Close().PermitUncheckedError();
  return rate;
}

// Writes `rows` into a fresh RocksDB; returns the seconds it took.
double write_rows_alone(const std::vector<std::pair<std::string, std::string>>& rows) {
  TempDir dir;
  rocksdb::Options options;
  options.create_if_missing = true;
  options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  rocksdb::DB* raw = nullptr;
  check(rocksdb::DB::Open(options, dir.path(), &raw), "opening a raw RocksDB");
  std::unique_ptr<rocksdb::DB> db(raw);
  auto start = Steady::now();
  for (size_t at = 0; at < rows.size(); at += 65536) {
    rocksdb::WriteBatch batch;
    for (size_t i = at; i < std::min(rows.size(), at + 65536); ++i) batch.Put(rows[i].first, rows[i].second);
    check(db->Write(rocksdb::WriteOptions(), &batch), "writing rows");
  }
  double s = seconds_between(start, Steady::now());
  db->Close().PermitUncheckedError();
  return s;
}

ReplayPhase run_replay(const Config& config, const std::string& dir) {
  ReplayPhase out;
  double scan_seconds = config.quick ? 0.3 : 1.0;
  {
    auto log = check(events::EventLog::open(dir), "opening the event log");
    out.events = log->head();
    for (uint64_t from = 1;;) {
      auto events = check(log->read_all(from, 4096), "read_all");
      if (events.empty()) break;
      for (const auto& e : events) ++out.by_type[std::string(e.type())];
      from = events.back().position() + 1;
    }
    out.read_all_4096 = read_all_rate(*log, out.events, 4096, scan_seconds);
    out.read_all_1024 = read_all_rate(*log, out.events, 1024, scan_seconds);
    for (const auto& view : read::all_views()) {
      ReplayRun run{view.name, {}};
      for (int r = 0; r < config.replay_runs; ++r) {
        uint64_t reached = 0;
        std::vector<Steady::time_point> batches;
        auto start = Steady::now();
        check(read::replay(*log, view,
                           [&](const read::ReplayProgress& p) {
                             reached = p.position;
                             batches.push_back(Steady::now());
                           }),
              "replaying " + view.name);
        double s = seconds_between(start, Steady::now());
        if (!batches.empty()) {
          run.first_batch_ms = seconds_between(start, batches.front()) * 1e3;
          run.batch_ms = batches.size() > 1 ? seconds_between(batches.front(), batches.back()) * 1e3 /
                                                  static_cast<double>(batches.size() - 1)
                                            : 0;
        }
        if (reached != out.events) fail("replay of " + view.name + " stopped at " + std::to_string(reached));
        run.events_per_s.push_back(static_cast<double>(out.events) / s);
        if (r == config.replay_runs - 1) out.all_views_seconds += s;
      }
      std::vector<std::pair<std::string, std::string>> rows;
      check(log->scan(view.space, "",
                      [&](std::string_view k, std::string_view v) {
                        rows.emplace_back(events::keys::state_key(view.space, k), v);
                        run.bytes += k.size() + v.size();
                        return true;
                      }),
            "reading " + view.name);
      run.keys = rows.size();
      run.rows_alone_s = write_rows_alone(rows);
      out.views.push_back(std::move(run));
    }
  }
  {
    auto log = check(events::EventLog::open(dir), "opening the event log");
    std::vector<const read::ViewSpec*> every;
    for (const auto& view : read::all_views()) every.push_back(&view);
    for (int r = 0; r < config.replay_runs; ++r) {
      uint64_t reached = 0;
      auto start = Steady::now();
      check(read::replay(*log, every, [&](const read::ReplayProgress& p) { reached = p.position; }),
            "replaying every view in one pass");
      if (reached != out.events) fail("the one-pass replay stopped at " + std::to_string(reached));
      out.one_pass_events_per_s.push_back(static_cast<double>(out.events) / seconds_between(start, Steady::now()));
    }
  }
  {
    // The same replays without fsync on the view's batches: what the fsyncs cost.
    events::EventLogOptions options;
    options.durability = events::Durability::kAsync;
    auto log = check(events::EventLog::open(dir, options), "opening the event log without fsync");
    for (ReplayRun& run : out.views) {
      auto start = Steady::now();
      check(read::replay(*log, *read::find_view(run.view), [](const read::ReplayProgress&) {}), "replaying " + run.view);
      run.async_events_per_s = static_cast<double>(out.events) / seconds_between(start, Steady::now());
    }
  }
  out.raw_iterator = raw_iterator_rate(dir, out.events, scan_seconds);
  return out;
}

// --- 3. GET /orders/{id} against GET /health over the same connections

struct ReadRun {
  std::string what;
  uint64_t requests = 0;
  double seconds = 0;
  double p50_us = 0, p99_us = 0;
  double client_cores = 0;
  double per_s() const { return seconds > 0 ? static_cast<double>(requests) / seconds : 0; }
};

struct ReadPhase {
  int orders = 0;
  double place_seconds = 0;
  ReadRun health1, orders_run, health2;
  double health_per_s() const { return (health1.per_s() + health2.per_s()) / 2; }
  double ratio() const { return health_per_s() > 0 ? orders_run.per_s() / health_per_s() : 0; }
};

ReadRun timed_gets(std::vector<std::unique_ptr<HttpClient>>& clients, const std::string& what, double seconds,
                   int orders) {
  double cpu_before = 0, cpu_after = 0;
  GetLoad load = get_load(
      clients, seconds,
      [&](size_t, std::mt19937& rng) {
        std::uniform_int_distribution<int> pick(0, std::max(orders, 1) - 1);  // one per call: clients share nothing
        return what == "health" ? std::string("/health") : "/orders/" + order_id(pick(rng));
      },
      [&] { cpu_before = self_cpu_seconds(); }, [&] { cpu_after = self_cpu_seconds(); });
  ReadRun out;
  out.what = what;
  out.seconds = seconds_between(load.start, load.end);
  out.client_cores = (cpu_after - cpu_before) / out.seconds;
  out.requests = load.latency_ns.size();
  out.p50_us = percentile(load.latency_ns, 0.50) / 1e3;
  out.p99_us = percentile(load.latency_ns, 0.99) / 1e3;
  return out;
}

ReadPhase run_reads(const Config& config) {
  TempDir dir;
  ServerProcess server(dir.path(), {"--durability", config.durability, "--paused", "saga,payment,inventory,shipping"});
  ReadPhase out;
  out.orders = config.read_orders;
  LoadResult placed = run_load(server.port, config.connections, config.read_orders, 201, place_order,
                               [](int, HttpClient&, const HttpResponse&) {});
  out.place_seconds = placed.seconds();
  {
    HttpClient observer(server.port);
    auto deadline = Steady::now() + kStallLimit;
    while (read_health(observer).max_lag != 0) {
      if (Steady::now() > deadline) fail("the views never caught up with the placed orders");
      std::this_thread::sleep_for(kPollEvery);
    }
  }
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (int c = 0; c < config.connections; ++c) clients.push_back(std::make_unique<HttpClient>(server.port));
  timed_gets(clients, "health", std::min(1.0, config.seconds / 2), config.read_orders);  // warm-up
  out.health1 = timed_gets(clients, "health", config.seconds, config.read_orders);
  out.orders_run = timed_gets(clients, "orders", config.seconds, config.read_orders);
  out.health2 = timed_gets(clients, "health", config.seconds, config.read_orders);
  clients.clear();
  if (int rc = server.stop(); rc != 0) fail("the read server exited with " + std::to_string(rc));
  return out;
}

// --- report

struct Report {
  Config config;
  std::optional<LagPhase> lag;  // none when an existing log was replayed
  ReplayPhase replay;
  std::optional<ReadPhase> reads;
};

const char* verdict(bool met) { return met ? "MET" : "MISSED"; }

Json read_run_json(const ReadRun& r) {
  return {{"requests_per_s", r.per_s()}, {"requests", r.requests}, {"seconds", r.seconds},
          {"p50_us", r.p50_us},          {"p99_us", r.p99_us},     {"client_cores", r.client_cores}};
}

void print_json(const Report& r) {
  const Config& c = r.config;
  Json out;
  out["connections"] = c.connections;
  out["durability"] = c.durability;
  if (r.lag) {
    const LagPhase& l = *r.lag;
    Json views = Json::array();
    for (const ViewLag& v : l.views) {
      views.push_back({{"name", v.name},
                       {"lag_events", {{"p50", percentile(v.events, 0.5)}, {"p99", percentile(v.events, 0.99)}, {"max", maximum(v.events)}}},
                       {"lag_ms", {{"p50", percentile(v.ms, 0.5)}, {"p99", percentile(v.ms, 0.99)}, {"max", maximum(v.ms)}}}});
    }
    out["lag"] = {{"orders", l.orders},
                  {"orders_per_s", l.orders / l.seconds},
                  {"seconds", l.seconds},
                  {"post_p50_ms", l.post_p50_ms},
                  {"post_p99_ms", l.post_p99_ms},
                  {"health_samples", l.samples},
                  {"sample_interval_ms", l.sample_interval_ms},
                  {"views", views},
                  {"read_your_writes_ms",
                   {{"samples", l.ryw_ns.size()},
                    {"p50", percentile(l.ryw_ns, 0.5) / 1e6},
                    {"p99", percentile(l.ryw_ns, 0.99) / 1e6},
                    {"max", maximum(l.ryw_ns) / 1e6},
                    {"retries_503", l.ryw_retries}}},
                  {"views_catch_up_s", l.catch_up_s},
                  {"settle_s", l.settle_s},
                  {"head_after", l.head_after}};
  }
  const ReplayPhase& p = r.replay;
  Json replays = Json::array();
  for (const ReplayRun& v : p.views) {
    replays.push_back({{"view", v.view}, {"events_per_s", v.events_per_s}, {"best", v.best()},
                       {"first_batch_ms", v.first_batch_ms}, {"batch_ms", v.batch_ms},
                       {"async_events_per_s", v.async_events_per_s},
                       {"rows_alone", {{"keys", v.keys}, {"bytes", v.bytes}, {"seconds", v.rows_alone_s}}},
                       {"vs_read_all", p.read_all_4096 > 0 ? v.best() / p.read_all_4096 : 0},
                       {"vs_raw_iterator", p.raw_iterator > 0 ? v.best() / p.raw_iterator : 0}});
  }
  Json by_type = Json::object();
  for (const auto& [type, n] : p.by_type) by_type[type] = n;
  out["replay"] = {{"events", p.events},
                   {"events_by_type", by_type},
                   {"read_all_4096_events_per_s", p.read_all_4096},
                   {"read_all_1024_events_per_s", p.read_all_1024},
                   {"raw_iterator_events_per_s", p.raw_iterator},
                   {"views", replays},
                   {"all_views_seconds", p.all_views_seconds},
                   {"one_pass_events_per_s", p.one_pass_best()},
                   {"one_pass_of_read_all", p.read_all_4096 > 0 ? p.one_pass_best() / p.read_all_4096 : 0}};
  if (r.reads) {
    out["reads"] = {{"orders", r.reads->orders},
                    {"health_1", read_run_json(r.reads->health1)},
                    {"get_order", read_run_json(r.reads->orders_run)},
                    {"health_2", read_run_json(r.reads->health2)},
                    {"ratio", r.reads->ratio()}};
  }
  double worst = 1e300, worst_ratio = 1e300;
  for (const ReplayRun& v : p.views) {
    worst = std::min(worst, v.best());
    worst_ratio = std::min(worst_ratio, p.read_all_4096 > 0 ? v.best() / p.read_all_4096 : 0);
  }
  out["targets"] = Json::array({
      {{"goal", "replay >= 1,000,000 events/s (slowest view)"}, {"measured", worst}, {"met", worst >= kReplayTarget}},
      {{"goal", "replay >= 30% of the raw read_all scan (slowest view)"}, {"measured", worst_ratio}, {"met", worst_ratio >= kReplayRawTarget}},
  });
  if (r.reads) {
    out["targets"].push_back({{"goal", "GET /orders/{id} >= 80% of GET /health"}, {"measured", r.reads->ratio()},
                              {"met", r.reads->ratio() >= kReadTarget}});
  }
  std::cout << out.dump(2) << "\n";
}

void print_read(const char* label, const ReadRun& r) {
  std::printf("  %-20s %10.0f %10.0f %10.0f %10.2f\n", label, r.per_s(), r.p50_us, r.p99_us, r.client_cores);
}

void print_lag(const LagPhase& l) {
  std::printf("1. projection lag while placing %d orders with the saga running (%.0f orders/s placed, POST p50 %.1f ms, p99 %.1f ms)\n",
              l.orders, l.orders / l.seconds, l.post_p50_ms, l.post_p99_ms);
  std::printf("   GET /health sampled %zu times during the load, every %.1f ms on average\n", l.samples, l.sample_interval_ms);
  std::printf("  %-16s %10s %10s %10s | %10s %10s %10s\n", "view", "lag p50", "p99", "max", "ms p50", "p99", "max");
  for (const ViewLag& v : l.views) {
    std::printf("  %-16s %10.0f %10.0f %10.0f | %10.1f %10.1f %10.1f\n", v.name.c_str(), percentile(v.events, 0.5),
                percentile(v.events, 0.99), maximum(v.events), percentile(v.ms, 0.5), percentile(v.ms, 0.99),
                maximum(v.ms));
  }
  std::printf("  read-your-writes: GET /orders/{id}?min_position=<201's position>, every %dth order (%zu): "
              "p50 %.2f ms, p99 %.2f ms, max %.2f ms, %llu 503s\n",
              kReadYourWritesEvery, l.ryw_ns.size(), percentile(l.ryw_ns, 0.5) / 1e6, percentile(l.ryw_ns, 0.99) / 1e6,
              maximum(l.ryw_ns) / 1e6, static_cast<unsigned long long>(l.ryw_retries));
  std::printf("  after the last answer: every view at that head in %.3f s; every saga final and every view at the "
              "head (%llu) in %.2f s\n\n",
              l.catch_up_s, static_cast<unsigned long long>(l.head_after), l.settle_s);

}

void print_reads(const Config& c, const ReadPhase& q) {
  std::printf("3. reads over %d keep-alive connections, %d placed orders (saga paused), %.1f s per run\n", c.connections,
              q.orders, c.seconds);
  std::printf("  %-20s %10s %10s %10s %10s\n", "", "req/s", "p50 us", "p99 us", "client cores");
  print_read("GET /health", q.health1);
  print_read("GET /orders/{id}", q.orders_run);
  print_read("GET /health again", q.health2);
  std::printf("  GET /orders/{id} / mean GET /health: %.2f\n\n", q.ratio());

}

void print_table(const Report& r) {
  const Config& c = r.config;
  std::printf("read_bench: %d keep-alive connections, durability %s\n\n", c.connections, c.durability.c_str());
  if (r.lag) print_lag(*r.lag);
  else std::printf("1. projection lag: skipped, the log in %s was replayed as found\n\n", c.log_dir.c_str());

  const ReplayPhase& p = r.replay;
  std::printf("2. replay of that log (%llu events:", static_cast<unsigned long long>(p.events));
  for (const auto& [type, n] : p.by_type) std::printf(" %s %llu", type.c_str(), static_cast<unsigned long long>(n));
  std::printf(")\n");
  std::printf("  raw scans             read_all pages of 4096 %.0f ev/s, of 1024 %.0f ev/s; raw RocksDB iterator %.0f ev/s\n",
              p.read_all_4096, p.read_all_1024, p.raw_iterator);
  std::printf("  %-16s %12s %10s %10s %12s %10s %14s %26s   runs\n", "view", "replay ev/s", "/read_all", "/raw iter",
              "1st batch ms", "batch ms", "no-fsync ev/s", "rows alone: keys MB s ev/s");
  for (const ReplayRun& v : p.views) {
    std::printf("  %-16s %12.0f %10.3f %10.3f %12.1f %10.1f %14.0f %7llu %5.1f %5.3f %7.0f  ", v.view.c_str(),
                v.best(), v.best() / p.read_all_4096, v.best() / p.raw_iterator, v.first_batch_ms, v.batch_ms,
                v.async_events_per_s, static_cast<unsigned long long>(v.keys), static_cast<double>(v.bytes) / 1e6,
                v.rows_alone_s, v.rows_alone_s > 0 ? static_cast<double>(p.events) / v.rows_alone_s : 0);
    for (double e : v.events_per_s) std::printf(" %.0f", e);
    std::printf("\n");
  }
  std::printf("  every view, one after another (one run each): %.3f s = %.0f ev/s\n", p.all_views_seconds,
              p.all_views_seconds > 0 ? static_cast<double>(p.events) / p.all_views_seconds : 0);
  std::printf("  every view in one pass (ordersd replay --view all): %.0f ev/s = %.3f of read_all (target >= 1,000,000 ev/s)  runs",
              p.one_pass_best(), p.read_all_4096 > 0 ? p.one_pass_best() / p.read_all_4096 : 0);
  for (double e : p.one_pass_events_per_s) std::printf(" %.0f", e);
  std::printf("\n\n");

  if (r.reads) print_reads(c, *r.reads);
  double worst = 1e300, worst_ratio = 1e300;
  for (const ReplayRun& v : p.views) {
    worst = std::min(worst, v.best());
    worst_ratio = std::min(worst_ratio, v.best() / p.read_all_4096);
  }
  std::printf("targets\n");
  std::printf("  %-52s measured %10.0f  %s\n", "replay >= 1,000,000 events/s (slowest view)", worst, verdict(worst >= kReplayTarget));
  std::printf("  %-52s measured %10.2f  %s\n", "replay >= 30% of the raw read_all scan (slowest)", worst_ratio,
              verdict(worst_ratio >= kReplayRawTarget));
  if (r.reads) {
    std::printf("  %-52s measured %10.2f  %s\n", "GET /orders/{id} >= 80% of GET /health", r.reads->ratio(),
                verdict(r.reads->ratio() >= kReadTarget));
  }
}

// --- command line

Config parse(int argc, char** argv) {
  Config config;
  CLI::App app{"read_bench: replay, projection lag and GET /orders/{id} against GET /health"};
  add_load_options(app, config);
  app.add_option("--read-orders", config.read_orders, "orders in the view for the reads phase")
      ->capture_default_str()
      ->check(CLI::Range(1, 10'000'000));
  app.add_option("--seconds", config.seconds, "seconds per read run")->capture_default_str()->check(CLI::Range(1, 3600));
  app.add_option("--log", config.log_dir, "keep the log of phases 1-2 here; a directory holding a log is replayed as found");
  app.add_flag("--replay-only", config.replay_only, "skip the reads phase");
  parse_or_exit(app, argc, argv);
  if (config.quick) {
    if (app.count("--orders") == 0) config.orders = 2000;
    if (app.count("--read-orders") == 0) config.read_orders = 2000;
    if (app.count("--seconds") == 0) config.seconds = 1;
    config.replay_runs = 1;
  }
  return config;
}

}  // namespace

int main(int argc, char** argv) {
  Config config = parse(argc, argv);
  try {
    Report report;
    report.config = config;
    {
      std::optional<TempDir> temp;
      std::string dir = config.log_dir;
      if (dir.empty()) dir = temp.emplace().path();
      if (!std::filesystem::exists(std::filesystem::path(dir) / "CURRENT")) {
        if (!config.json) std::fprintf(stderr, "placing %d orders with the saga running, sampling /health...\n", config.orders);
        report.lag = run_lag(config, dir);
      }
      if (!config.json) std::fprintf(stderr, "replaying the views of that log...\n");
      report.replay = run_replay(config, dir);
    }
    if (!config.replay_only) {
      if (!config.json) std::fprintf(stderr, "placing %d orders (saga paused), then GET /health vs GET /orders/{id}...\n",
                                     config.read_orders);
      report.reads = run_reads(config);
    }
    if (config.json) print_json(report);
    else print_table(report);
  } catch (const std::exception& e) {
    std::cerr << "read_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
