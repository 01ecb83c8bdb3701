// saga_bench: orders carried end to end (placed -> payment -> inventory ->
// shipment initiated) by a real `ordersd serve`, against placing the same
// orders with every saga reader paused, in one run.
//
// Reference: a fresh server started with --paused saga,payment,inventory,shipping
//   takes N orders from C keep-alive connections (one thread each, closed
//   loop): placement-only orders/s, the most the HTTP front and the log's
//   group commit take when nothing else runs.
// End to end: a fresh server with the saga running; K customers get money and
//   S skus get stock first, so every order can ship. The same N orders are
//   placed the same way, then /metrics is polled (every 20 ms) until
//   ordersd_sagas_shipped_total + ordersd_sagas_cancelled_total reach N.
//   orders/s end to end = N / (first request sent -> the last order's
//     shipment.initiated.v1, by its commit time in the log);
//   events/s = (log head after - log head before) / the same time;
//   saga latency = order.placed.v1 -> shipment.initiated.v1 of each order's
//     stream, both the log's own commit times (GET /events, paged).
// The ratio end-to-end / placement-only says what share of the placement rate
// survives when every order also costs the saga's work.
//
// To tell a CPU limit from a disk limit, each phase also reports the log's
// group commits and fsyncs (deltas of /metrics: events per commit, mean fsync,
// share of the time an fsync was in progress) and, from /proc, the server's
// CPU: per thread the time on a CPU and the time runnable but waiting for one
// (schedstat), the busiest threads labelled by role (see thread_roles), the
// machine's busy and iowait shares, and this client's own CPU (it runs on the
// same machine).
//
// Usage: saga_bench [--orders N] [--connections C] [--durability fsync|async] [--quick] [--json]
// Prints the target next to the figures; exits 0 whether it is met or not.

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <latch>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "support/http_client.h"
#include "support/server_process.h"
#include "support/temp_dir.h"
#include "http_load.h"
#include "load_options.h"

namespace {

using namespace ordersd::test;
using namespace ordersd::bench;
using Json = nlohmann::ordered_json;

constexpr double kTargetOrdersPerS = 5000;  // end to end, fsync
constexpr auto kPollEvery = std::chrono::milliseconds(20);
constexpr auto kStallLimit = std::chrono::seconds(60);  // no saga progress for this long: give up
constexpr int kEventsPage = 1000;

struct Config : LoadOptions {
  Config() {
    orders = 30000;
    connections = 64;
  }
};

// "2026-11-26T08:09:30.830972Z" (the log's time format) -> microseconds since the epoch.
int64_t parse_time_us(const std::string& text) {
  int y, mo, d, h, mi, s, us;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%6dZ", &y, &mo, &d, &h, &mi, &s, &us) != 7) {
    fail("unexpected event time '" + text + "'");
  }
  using namespace std::chrono;
  sys_days day = year{y} / month{static_cast<unsigned>(mo)} / static_cast<unsigned>(d);
  return duration_cast<microseconds>(day.time_since_epoch()).count() +
         ((static_cast<int64_t>(h) * 60 + mi) * 60 + s) * 1'000'000 + us;
}

// --- CPU, from /proc: the server's threads, this process, the machine

struct ThreadTimes {
  std::string name;      // the thread's own name (comm)
  uint64_t cpu_ns = 0;   // on a CPU
  uint64_t wait_ns = 0;  // runnable, waiting in a run queue for a CPU
};

struct CpuSample {
  Steady::time_point at;
  std::map<int, ThreadTimes> server_threads;  // by tid
  double self_seconds = 0;                    // this process (the client), user + system
  uint64_t machine_total = 0, machine_idle = 0, machine_iowait = 0;  // jiffies of all cores
};

std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// /proc/<pid>/task/<tid>/schedstat: "cpu_ns wait_ns timeslices".
std::optional<ThreadTimes> read_thread(const std::string& dir) {
  std::istringstream sched(first_line(dir + "/schedstat"));
  ThreadTimes t;
  if (!(sched >> t.cpu_ns >> t.wait_ns)) return std::nullopt;
  t.name = first_line(dir + "/comm");
  return t;
}

std::vector<int> thread_ids(pid_t pid) {
  std::vector<int> tids;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    tids.push_back(std::stoi(entry.path().filename().string()));
  }
  std::sort(tids.begin(), tids.end());
  return tids;
}

CpuSample sample_cpu(pid_t server) {
  CpuSample out;
  out.at = Steady::now();
  for (int tid : thread_ids(server)) {
    auto t = read_thread("/proc/" + std::to_string(server) + "/task/" + std::to_string(tid));
    if (t) out.server_threads[tid] = *t;
  }
  rusage self{};
  getrusage(RUSAGE_SELF, &self);
  out.self_seconds = static_cast<double>(self.ru_utime.tv_sec + self.ru_stime.tv_sec) +
                     static_cast<double>(self.ru_utime.tv_usec + self.ru_stime.tv_usec) / 1e6;
  std::istringstream stat(first_line("/proc/stat"));
  std::string cpu;
  uint64_t v[8] = {};  // user nice system idle iowait irq softirq steal
  stat >> cpu >> v[0] >> v[1] >> v[2] >> v[3] >> v[4] >> v[5] >> v[6] >> v[7];
  for (uint64_t x : v) out.machine_total += x;
  out.machine_idle = v[3];
  out.machine_iowait = v[4];
  return out;
}

// What each thread of a server does, by tid. The server names none of its
// own threads, so they are told apart by the order serve() starts them in
// (src/app/serve.cpp; tids grow in that order): main, RocksDB's (which name
// theirs; and its timer), the log's writer and syncer, the work queue, the
// idempotency reaper, the saga and its three participants, the HTTP I/O
// threads. The tail of that order is counted back from the last thread
// started before "listening on" was printed. Were that layout to change the
// labels would be wrong, so each carries its rank too ("#5 log-syncer").
using ThreadRoles = std::map<int, std::string>;

constexpr int kIoThreads = 2;  // ServerProcess starts the server with --threads 2
constexpr int kWorkers = 2;    // the default --workers

ThreadRoles thread_roles(pid_t server) {
  std::vector<int> tids = thread_ids(server);
  std::vector<std::string> tail;  // the last started first
  for (int i = kIoThreads; i > 0; --i) tail.push_back("http-io-" + std::to_string(i));
  for (const char* name : {"shipping", "inventory", "payment", "saga"}) tail.push_back(name);
  tail.push_back("idem-reaper");
  for (int i = kWorkers; i > 0; --i) tail.push_back("worker-" + std::to_string(i));
  tail.push_back("log-syncer");
  tail.push_back("log-writer");
  bool known = tids.size() > tail.size() && tids.front() == server;
  ThreadRoles roles;
  for (size_t rank = 0; rank < tids.size(); ++rank) {
    size_t from_end = tids.size() - 1 - rank;
    std::string role = !known ? "?" : rank == 0 ? "main" : from_end < tail.size() ? tail[from_end] : "rocksdb";
    roles[tids[rank]] = "#" + std::to_string(rank) + " " + role;
  }
  return roles;
}

struct ThreadCpu {
  std::string role;  // "#rank role"; "#? later" for a thread started after the server came up
  std::string name;  // comm
  double cores;      // CPU time / wall time
  double waiting;    // run-queue wait / wall time: runnable, but no CPU free
};

struct CpuUse {
  double seconds = 0;
  double server_cores = 0;    // all server threads, CPU time / wall time
  double server_waiting = 0;  // all server threads, run-queue wait / wall time
  double client_cores = 0;    // this process
  double machine_busy = 0;    // share of all cores, 0..1
  double machine_iowait = 0;
  int machine_cores = 0;
  std::vector<ThreadCpu> threads;  // busiest first
};

CpuUse cpu_between(const CpuSample& a, const CpuSample& b, const ThreadRoles& roles) {
  CpuUse out;
  out.seconds = seconds_between(a.at, b.at);
  out.machine_cores = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  if (out.seconds <= 0) return out;
  double wall_ns = out.seconds * 1e9;
  for (const auto& [tid, t] : b.server_threads) {
    auto before = a.server_threads.find(tid);
    ThreadTimes zero;
    const ThreadTimes& was = before == a.server_threads.end() ? zero : before->second;
    auto role = roles.find(tid);
    ThreadCpu use{role == roles.end() ? "#? later" : role->second, t.name,
                  static_cast<double>(t.cpu_ns - was.cpu_ns) / wall_ns,
                  static_cast<double>(t.wait_ns - was.wait_ns) / wall_ns};
    out.server_cores += use.cores;
    out.server_waiting += use.waiting;
    out.threads.push_back(std::move(use));
  }
  std::sort(out.threads.begin(), out.threads.end(),
            [](const ThreadCpu& x, const ThreadCpu& y) { return x.cores > y.cores; });
  out.client_cores = (b.self_seconds - a.self_seconds) / out.seconds;
  double total = static_cast<double>(b.machine_total - a.machine_total);
  if (total > 0) {
    double idle = static_cast<double>(b.machine_idle - a.machine_idle);
    double iowait = static_cast<double>(b.machine_iowait - a.machine_iowait);
    out.machine_busy = 1 - (idle + iowait) / total;
    out.machine_iowait = iowait / total;
  }
  return out;
}

// --- the server's own figures

struct ServerMetrics {
  uint64_t shipped = 0;
  uint64_t cancelled = 0;
  uint64_t stuck = 0;
  uint64_t head = 0;
  uint64_t lag = 0;  // summed over the saga and the participants
  double commits = 0, committed_events = 0;  // group commits and the events in them
  double fsyncs = 0, fsync_seconds = 0;
};

// The log's group commits between two readings of /metrics.
struct GroupCommits {
  double commits = 0;
  double events_per_commit = 0;
  double fsyncs = 0;
  double fsync_mean_ms = 0;
  double fsync_share = 0;  // of the phase's wall time, spent in fsync
};

GroupCommits commits_between(const ServerMetrics& a, const ServerMetrics& b, double seconds) {
  GroupCommits out;
  out.commits = b.commits - a.commits;
  out.events_per_commit = out.commits > 0 ? (b.committed_events - a.committed_events) / out.commits : 0;
  out.fsyncs = b.fsyncs - a.fsyncs;
  double fsync_seconds = b.fsync_seconds - a.fsync_seconds;
  out.fsync_mean_ms = out.fsyncs > 0 ? fsync_seconds / out.fsyncs * 1e3 : 0;
  out.fsync_share = seconds > 0 ? fsync_seconds / seconds : 0;
  return out;
}

ServerMetrics read_metrics(HttpClient& client) {
  HttpResponse res = client.get("/metrics");
  if (res.status != 200) fail("GET /metrics answered " + std::to_string(res.status));
  ServerMetrics out;
  std::istringstream lines(res.body);
  std::string line;
  auto value = [&line] { return std::stoull(line.substr(line.rfind(' ') + 1)); };
  auto number = [&line] { return std::stod(line.substr(line.rfind(' ') + 1)); };
  while (std::getline(lines, line)) {
    if (line.starts_with("ordersd_sagas_shipped_total ")) out.shipped = value();
    else if (line.starts_with("ordersd_sagas_cancelled_total ")) out.cancelled = value();
    else if (line.starts_with("ordersd_sagas_stuck ")) out.stuck = value();
    else if (line.starts_with("ordersd_log_head ")) out.head = value();
    else if (line.starts_with("ordersd_participant_lag_events{")) out.lag += value();
    else if (line.starts_with("ordersd_log_batch_events_count ")) out.commits = number();
    else if (line.starts_with("ordersd_log_batch_events_sum ")) out.committed_events = number();
    else if (line.starts_with("ordersd_log_fsync_seconds_count ")) out.fsyncs = number();
    else if (line.starts_with("ordersd_log_fsync_seconds_sum ")) out.fsync_seconds = number();
  }
  return out;
}

// Polls until every reader of the log has handled everything in it: nothing
// more will be appended without new requests.
ServerMetrics wait_quiet(HttpClient& client) {
  auto deadline = Steady::now() + kStallLimit;
  for (;;) {
    ServerMetrics m = read_metrics(client);
    if (m.lag == 0) return m;
    if (Steady::now() > deadline) fail("the saga readers never caught up with the log");
    std::this_thread::sleep_for(kPollEvery);
  }
}

struct Finish {
  Steady::time_point at;  // the first poll that saw shipped + cancelled >= N
  ServerMetrics metrics;
};

Finish wait_final(HttpClient& client, uint64_t orders) {
  uint64_t last_done = 0;
  auto last_progress = Steady::now();
  for (;;) {
    ServerMetrics m = read_metrics(client);
    auto now = Steady::now();
    uint64_t done = m.shipped + m.cancelled;
    if (done >= orders) return {now, m};
    if (done != last_done) {
      last_done = done;
      last_progress = now;
    } else if (now - last_progress > kStallLimit) {
      fail("sagas stalled at " + std::to_string(m.shipped) + " shipped, " + std::to_string(m.cancelled) +
           " cancelled, " + std::to_string(m.stuck) + " stuck of " + std::to_string(orders));
    }
    std::this_thread::sleep_for(kPollEvery);
  }
}

// What the log says about the orders of positions (from, through].
struct LogFigures {
  uint64_t events = 0;
  uint64_t orders_placed = 0;
  uint64_t orders_shipped = 0;    // order streams with shipment.initiated.v1
  uint64_t orders_cancelled = 0;  // order streams with order.cancelled.v1
  int64_t last_shipment_us = 0;   // latest shipment.initiated.v1 of an order stream
  std::vector<int64_t> saga_latency_us;  // placed -> shipment initiated, per order
  std::map<std::string, uint64_t> events_by_type;
};

// Drops what read_log does not look at (payloads, ids) as the page is parsed.
bool skip_unused(int depth, Json::parse_event_t event, Json& parsed) {
  if (event != Json::parse_event_t::key || depth != 3) return true;
  const auto& key = parsed.get_ref<const std::string&>();
  return key != "payload" && key != "id" && key != "correlation_id" && key != "causation_id";
}

LogFigures read_log(HttpClient& client, uint64_t from, uint64_t through) {
  LogFigures out;
  std::unordered_map<std::string, int64_t> placed_us;
  std::unordered_map<std::string, int64_t> shipped_us;
  uint64_t next = from + 1;
  while (next <= through) {
    HttpResponse res = client.get("/events?from=" + std::to_string(next) + "&limit=" + std::to_string(kEventsPage));
    if (res.status != 200) fail("GET /events answered " + std::to_string(res.status) + ": " + res.body);
    Json page = Json::parse(res.body, skip_unused);
    const Json& events = page.at("events");
    if (events.empty()) fail("GET /events from " + std::to_string(next) + " returned nothing before " +
                             std::to_string(through));
    for (const Json& e : events) {
      if (e.at("position").get<uint64_t>() > through) break;
      ++out.events;
      const std::string& type = e.at("type").get_ref<const std::string&>();
      ++out.events_by_type[type];
      const std::string& stream = e.at("stream").get_ref<const std::string&>();
      if (!stream.starts_with("order-")) continue;
      if (type == "order.placed.v1") {
        placed_us[stream] = parse_time_us(e.at("time").get<std::string>());
      } else if (type == "shipment.initiated.v1") {
        shipped_us[stream] = parse_time_us(e.at("time").get<std::string>());
      } else if (type == "order.cancelled.v1") {
        ++out.orders_cancelled;
      }
    }
    next = page.at("next").get<uint64_t>();
  }
  out.orders_placed = placed_us.size();
  out.orders_shipped = shipped_us.size();
  out.saga_latency_us.reserve(shipped_us.size());
  for (const auto& [stream, at] : shipped_us) {
    out.last_shipment_us = std::max(out.last_shipment_us, at);
    auto placed = placed_us.find(stream);
    if (placed != placed_us.end()) out.saga_latency_us.push_back(at - placed->second);
  }
  return out;
}

// --- the two phases

struct Placement {
  int orders = 0;
  double seconds = 0;
  double p50_ms = 0, p99_ms = 0;
  double orders_per_s() const { return seconds > 0 ? orders / seconds : 0; }
};

Placement placement(LoadResult& load, int orders) {
  Placement out;
  out.orders = orders;
  out.seconds = load.seconds();
  out.p50_ms = percentile(load.latency_ns, 0.50) / 1e6;
  out.p99_ms = percentile(load.latency_ns, 0.99) / 1e6;
  return out;
}

struct Reference {
  Placement placed;
  CpuUse cpu;
  GroupCommits commits;
};

std::vector<std::string> server_args(const Config& config) { return {"--durability", config.durability}; }

Reference run_reference(const Config& config) {
  TempDir dir;
  auto args = server_args(config);
  args.insert(args.end(), {"--paused", "saga,payment,inventory,shipping"});
  ServerProcess server(dir.path(), args);
  HttpClient observer(server.port);
  ThreadRoles roles = thread_roles(server.process.pid());
  ServerMetrics metrics_before = read_metrics(observer);
  CpuSample before = sample_cpu(server.process.pid());
  LoadResult load = run_load(server.port, config.connections, config.orders, 201, place_order);
  CpuSample after = sample_cpu(server.process.pid());
  Reference out{placement(load, config.orders), cpu_between(before, after, roles), {}};
  out.commits = commits_between(metrics_before, read_metrics(observer), load.seconds());
  if (int rc = server.stop(); rc != 0) fail("the reference server exited with " + std::to_string(rc));
  return out;
}

struct EndToEnd {
  Placement placed;        // while the saga ran
  double seconds = 0;      // first request sent -> last shipment.initiated.v1 in the log
  double metric_seconds = 0;  // first request sent -> the poll that saw every saga final
  uint64_t head_before = 0, head_after = 0;
  ServerMetrics final_metrics;
  LogFigures log;
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  CpuUse cpu;  // first request sent -> every saga final
  GroupCommits commits;

  double orders_per_s(int orders) const { return seconds > 0 ? orders / seconds : 0; }
  double events_per_s() const { return seconds > 0 ? static_cast<double>(head_after - head_before) / seconds : 0; }
  double events_per_order(int orders) const { return static_cast<double>(head_after - head_before) / orders; }
};

EndToEnd run_end_to_end(const Config& config) {
  TempDir dir;
  ServerProcess server(dir.path(), server_args(config));
  pid_t pid = server.process.pid();
  ThreadRoles roles = thread_roles(pid);
  fund_and_stock(server.port);
  HttpClient observer(server.port);
  EndToEnd out;
  ServerMetrics metrics_before = wait_quiet(observer);
  out.head_before = metrics_before.head;

  CpuSample before = sample_cpu(pid);
  LoadResult load = run_load(server.port, config.connections, config.orders, 201, place_order);
  out.placed = placement(load, config.orders);
  Finish finish = wait_final(observer, static_cast<uint64_t>(config.orders));
  CpuSample after = sample_cpu(pid);
  out.cpu = cpu_between(before, after, roles);
  out.metric_seconds = seconds_between(load.start, finish.at);

  out.final_metrics = wait_quiet(observer);
  out.head_after = out.final_metrics.head;
  out.commits = commits_between(metrics_before, out.final_metrics, out.metric_seconds);
  if (!config.json) std::fprintf(stderr, "reading %llu events back from the log...\n",
                                 static_cast<unsigned long long>(out.head_after - out.head_before));
  out.log = read_log(observer, out.head_before, out.head_after);
  if (out.log.orders_placed != static_cast<uint64_t>(config.orders)) {
    fail("the log holds " + std::to_string(out.log.orders_placed) + " placed orders, expected " +
         std::to_string(config.orders));
  }
  out.seconds = out.log.last_shipment_us > 0 ? static_cast<double>(out.log.last_shipment_us - load.start_wall_us) / 1e6
                                             : out.metric_seconds;
  auto& latency = out.log.saga_latency_us;
  out.max_ms = latency.empty() ? 0 : static_cast<double>(*std::max_element(latency.begin(), latency.end())) / 1e3;
  out.p50_ms = percentile(latency, 0.50) / 1e3;
  out.p99_ms = percentile(latency, 0.99) / 1e3;
  if (int rc = server.stop(); rc != 0) fail("the server exited with " + std::to_string(rc));
  return out;
}

// --- report

struct Report {
  Config config;
  Reference reference;
  EndToEnd e2e;

  double ratio() const {
    double ref = reference.placed.orders_per_s();
    return ref > 0 ? e2e.orders_per_s(config.orders) / ref : 0;
  }
  bool durable() const { return config.durability == "fsync"; }
  bool target_met() const { return durable() && e2e.orders_per_s(config.orders) >= kTargetOrdersPerS; }
};

Json commits_json(const GroupCommits& c) {
  return {{"group_commits", c.commits},
          {"events_per_commit", c.events_per_commit},
          {"fsyncs", c.fsyncs},
          {"fsync_mean_ms", c.fsync_mean_ms},
          {"fsync_share", c.fsync_share}};
}

Json cpu_json(const CpuUse& cpu) {
  Json threads = Json::array();
  for (const ThreadCpu& t : cpu.threads) {
    if (t.cores < 0.01) break;
    threads.push_back({{"thread", t.role}, {"name", t.name}, {"cores", t.cores}, {"waiting_for_cpu", t.waiting}});
  }
  return {{"seconds", cpu.seconds},
          {"server_cores", cpu.server_cores},
          {"server_waiting_for_cpu", cpu.server_waiting},
          {"client_cores", cpu.client_cores},
          {"machine_cores", cpu.machine_cores},
          {"machine_busy", cpu.machine_busy},
          {"machine_iowait", cpu.machine_iowait},
          {"server_threads", threads}};
}

void print_json(const Report& r) {
  const Config& c = r.config;
  const EndToEnd& e = r.e2e;
  Json out;
  out["orders"] = c.orders;
  out["connections"] = c.connections;
  out["durability"] = c.durability;
  out["customers"] = kCustomers;
  out["skus"] = kSkus;
  out["placement_only"] = {{"orders_per_s", r.reference.placed.orders_per_s()},
                           {"seconds", r.reference.placed.seconds},
                           {"post_p50_ms", r.reference.placed.p50_ms},
                           {"post_p99_ms", r.reference.placed.p99_ms},
                           {"log", commits_json(r.reference.commits)},
                           {"cpu", cpu_json(r.reference.cpu)}};
  Json by_type = Json::object();
  for (const auto& [type, n] : e.log.events_by_type) by_type[type] = n;
  out["end_to_end"] = {{"orders_per_s", e.orders_per_s(c.orders)},
                       {"seconds", e.seconds},
                       {"metric_seconds", e.metric_seconds},
                       {"shipped", e.final_metrics.shipped},
                       {"cancelled", e.final_metrics.cancelled},
                       {"stuck", e.final_metrics.stuck},
                       {"events_per_s", e.events_per_s()},
                       {"events_per_order", e.events_per_order(c.orders)},
                       {"head_before", e.head_before},
                       {"head_after", e.head_after},
                       {"saga_latency_ms", {{"p50", e.p50_ms}, {"p99", e.p99_ms}, {"max", e.max_ms}}},
                       {"placement", {{"orders_per_s", e.placed.orders_per_s()},
                                      {"seconds", e.placed.seconds},
                                      {"post_p50_ms", e.placed.p50_ms},
                                      {"post_p99_ms", e.placed.p99_ms}}},
                       {"events_by_type", by_type},
                       {"log", commits_json(e.commits)},
                       {"cpu", cpu_json(e.cpu)}};
  out["ratio"] = r.ratio();
  out["target"] = {{"goal", ">= 5,000 orders/s end to end, durable"},
                   {"measured", e.orders_per_s(c.orders)},
                   {"durable", r.durable()},
                   {"met", r.target_met()}};
  std::cout << out.dump(2) << "\n";
}

void print_commits(const GroupCommits& c) {
  std::printf("  group commits        %.0f, %.1f events each; %.0f fsyncs, mean %.2f ms, fsync in progress %.0f%% of the time\n",
              c.commits, c.events_per_commit, c.fsyncs, c.fsync_mean_ms, c.fsync_share * 100);
}

void print_cpu(const CpuUse& cpu) {
  std::printf("  CPU (cores)          server %.2f busy + %.2f runnable waiting for a CPU; this client %.2f;\n"
              "                       machine %.0f%% busy, %.0f%% iowait of %d cores\n",
              cpu.server_cores, cpu.server_waiting, cpu.client_cores, cpu.machine_busy * 100,
              cpu.machine_iowait * 100, cpu.machine_cores);
  std::printf("  busiest server threads (cores busy / waiting for a CPU)\n   ");
  int shown = 0;
  for (const ThreadCpu& t : cpu.threads) {
    if (shown == 8 || t.cores < 0.01) break;
    std::printf("%s %s %.2f/%.2f", shown == 4 ? "\n   " : shown ? "," : "", t.role.c_str(), t.cores, t.waiting);
    ++shown;
  }
  std::printf("\n");
}

void print_table(const Report& r) {
  const Config& c = r.config;
  const EndToEnd& e = r.e2e;
  std::printf("saga_bench: %d orders over %d keep-alive connections, durability %s, %d customers, %d skus\n\n",
              c.orders, c.connections, c.durability.c_str(), kCustomers, kSkus);

  const Placement& ref = r.reference.placed;
  std::printf("placement only (saga, payment, inventory, shipping paused)\n");
  std::printf("  orders/s             %8.0f   (%d placed in %.2f s; POST /orders p50 %.1f ms, p99 %.1f ms)\n",
              ref.orders_per_s(), ref.orders, ref.seconds, ref.p50_ms, ref.p99_ms);
  print_commits(r.reference.commits);
  print_cpu(r.reference.cpu);

  std::printf("\nend to end (saga running)\n");
  std::printf("  orders/s             %8.0f   (%llu shipped, %llu cancelled in %.2f s: first request -> last "
              "shipment.initiated.v1;\n                                   the metric saw them all after %.2f s)\n",
              e.orders_per_s(c.orders), static_cast<unsigned long long>(e.final_metrics.shipped),
              static_cast<unsigned long long>(e.final_metrics.cancelled), e.seconds, e.metric_seconds);
  std::printf("  events/s on the log  %8.0f   (head %llu -> %llu, %.2f events per order)\n", e.events_per_s(),
              static_cast<unsigned long long>(e.head_before), static_cast<unsigned long long>(e.head_after),
              e.events_per_order(c.orders));
  std::printf("  saga latency         p50 %.1f ms, p99 %.1f ms, max %.1f ms   (order.placed.v1 -> "
              "shipment.initiated.v1, log commit times)\n",
              e.p50_ms, e.p99_ms, e.max_ms);
  std::printf("  placement meanwhile  %8.0f orders/s   (all placed after %.2f s; POST /orders p50 %.1f ms, p99 %.1f ms)\n",
              e.placed.orders_per_s(), e.placed.seconds, e.placed.p50_ms, e.placed.p99_ms);
  print_commits(e.commits);
  print_cpu(e.cpu);

  std::printf("\nend-to-end / placement-only orders/s: %.2f\n", r.ratio());
  std::printf("\ntarget\n  %-40s measured %8.0f orders/s  %s\n", ">= 5,000 orders/s end to end, durable",
              e.orders_per_s(c.orders),
              !r.durable() ? "n/a (async run; the target is for --durability fsync)" : r.target_met() ? "MET" : "MISSED");
}

// --- command line

Config parse(int argc, char** argv) {
  Config config;
  CLI::App app{"saga_bench: orders end to end through the saga against placement alone"};
  add_load_options(app, config);
  parse_or_exit(app, argc, argv);
  if (config.quick && app.count("--orders") == 0) config.orders = 2000;
  return config;
}

}  // namespace

int main(int argc, char** argv) {
  Config config = parse(argc, argv);
  try {
    Report report;
    report.config = config;
    if (!config.json) std::fprintf(stderr, "placing %d orders with the saga paused...\n", config.orders);
    report.reference = run_reference(config);
    if (!config.json) std::fprintf(stderr, "placing %d orders and waiting for every saga...\n", config.orders);
    report.e2e = run_end_to_end(config);
    if (config.json) {
      print_json(report);
    } else {
      print_table(report);
    }
  } catch (const std::exception& e) {
    std::cerr << "saga_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
