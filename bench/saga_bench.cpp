// saga_bench: what a real `ordersd serve` spends on an order, by thread role,
// and how fast it carries orders end to end (placed -> payment -> inventory ->
// shipment initiated), against the cheapest answer the same server gives
// (GET /health/live), in one run. Four phases, each on a fresh server and a
// fresh data directory, C keep-alive connections (one client thread each):
//
// 1. Placement alone: the server is started with
//    --paused saga,payment,inventory,shipping and takes N orders (closed loop:
//    each connection sends its next order when the previous one is answered).
//    orders/s = N / (first request sent -> last answer); CPU counted from the
//    first request until every view has applied the last order.
// 2. Floor: GET /health/live (an open route that answers 200 without looking
//    at anything) over the same C connections, closed loop, for 3 s (1 s with
//    --quick) after an unmeasured warm-up, on a server with the flags of the
//    end-to-end phase: req/s, answer p50/p99, server CPU per request.
// 3. End to end: the saga running; K customers get money and S skus get stock
//    first, so every order can ship. The same N orders are placed the same
//    way, then /metrics is polled (every 20 ms) until
//    ordersd_sagas_shipped_total + ordersd_sagas_cancelled_total reach N, and
//    then until no participant and no view lags the log.
//    orders/s end to end = N / (first request sent -> the last order's
//      shipment.initiated.v1, by its commit time in the log);
//    placement meanwhile = N / (first request -> last answer to a POST);
//    events/s = (log head after - log head before) / the end-to-end time;
//    saga latency = order.placed.v1 -> shipment.initiated.v1 of each order's
//      stream, both the log's own commit times (GET /events, paged). In this
//      closed loop placement outruns the saga, so it is mostly queueing.
//    CPU counted from the first request until nothing lags.
// 4. Open loop: the saga running, stock and money as in 3; orders are sent at
//    a fixed rate R (--rate, by default half the end-to-end orders/s of phase
//    3) for 5 s (2 s with --quick), order n over connection n mod C at its
//    scheduled time start + n/R, whether or not earlier orders were answered,
//    so a slow server cannot slow the load down. A connection still waiting
//    for its previous answer at a send's scheduled time sends as soon as it
//    has it, and that send is counted late. Then every saga is waited for as
//    in 3. Saga latency from the log as in 3; HTTP answer latency from each
//    send's scheduled time (so time spent late counts).
//
// Server CPU per order (the steady figure; orders/s moves with whatever else
// runs on a shared machine): every server thread's CPU time (on a CPU,
// /proc/<pid>/task/<tid>/schedstat) between the phase's two samples, summed
// by role from the thread's own name (comm): http (http-io-N), log-writer,
// log-syncer, workers (worker-N), saga, payment, inventory, shipping,
// projectors (view-*, projector*, timer-view*, rebuild-*), rocksdb background
// (rocksdb:*), and other (anything else, e.g. ordersd, idem-reaper,
// supervisor, event-feed; listed by name too), divided by the orders placed
// (phase 1) or settled (phases 3, 4) or the requests answered (phase 2). The
// roles add up to the total. A thread that ended between the two samples is
// not counted (the count of such threads is reported). The bench's own
// /metrics polls (every 20 ms while waiting) are in the figures too.
//
// Each phase also reports the log's group commits and fsyncs (deltas of
// /metrics: events per commit, mean fsync, share of the time an fsync was in
// progress), the server's cores busy and runnable-but-waiting, the busiest
// threads by name, the machine's busy and iowait shares, and this client's
// own CPU (it runs on the same machine), to tell a CPU limit from a disk
// limit.
//
// Ratios to GET /health/live, with their targets (for fsync):
//   settled orders/s end to end / /health/live req/s         >= 0.15
//   CPU per settled order / CPU per /health/live request      <= 7
//   placement meanwhile (phase 3) / /health/live req/s        >= 0.5
//   placement alone (phase 1) / /health/live req/s            >= 0.6
//   open-loop saga latency p99                                <= 50 ms
//   and the older one: >= 5,000 orders/s end to end, durable.
//
// Usage: saga_bench [--orders N] [--connections C] [--rate R] [--durability fsync|async]
//                   [--quick] [--json]
// Prints the targets next to the figures; exits 0 whether they are met or not.

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
#include <memory>
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

constexpr double kTargetOrdersPerS = 5000;  // end to end, fsync (the older target)
constexpr double kTargetSettledRatio = 0.15;      // settled orders/s / /health/live req/s
constexpr double kTargetCpuInLiveRequests = 7;    // CPU per settled order / CPU per /health/live request
constexpr double kTargetMeanwhileRatio = 0.5;     // placement with the saga running / /health/live
constexpr double kTargetAloneRatio = 0.6;         // placement alone / /health/live
constexpr double kTargetOpenLoopP99Ms = 50;       // saga latency at half the end-to-end rate
constexpr auto kPollEvery = std::chrono::milliseconds(20);
constexpr auto kStallLimit = std::chrono::seconds(60);  // no saga progress for this long: give up
constexpr int kEventsPage = 1000;

struct Config : LoadOptions {
  double rate = 0;  // open loop, orders/s; 0: half the end-to-end orders/s of this run
  std::string binary;  // another build's ordersd to measure; empty: this build's
  Config() {
    orders = 30000;
    connections = 64;
  }
  double floor_seconds() const { return quick ? 1 : 3; }
  double floor_warmup_seconds() const { return quick ? 0.2 : 0.5; }
  double open_loop_seconds() const { return quick ? 2 : 5; }
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

// --- thread roles, from the names the server gives its threads

// In the order they are reported.
const std::vector<std::string>& roles() {
  static const std::vector<std::string> names = {"http",     "log-writer", "log-syncer", "workers",
                                                 "saga",     "payment",    "inventory",  "shipping",
                                                 "projectors", "rocksdb background", "other"};
  return names;
}

// A thread's role from its comm (at most 15 characters).
std::string role_of(const std::string& name) {
  if (name.starts_with("http-io")) return "http";
  if (name == "log-writer" || name == "log-syncer") return name;
  if (name.starts_with("worker-")) return "workers";
  if (name == "saga" || name == "payment" || name == "inventory" || name == "shipping") return name;
  if (name.starts_with("view-") || name.starts_with("projector") || name.starts_with("timer-view") ||
      name.starts_with("rebuild-")) {
    return "projectors";
  }
  if (name.starts_with("rocksdb:")) return "rocksdb background";
  return "other";
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

struct ThreadCpu {
  int tid = 0;
  std::string name;  // comm, at the end of the phase
  std::string role;
  uint64_t cpu_ns = 0;
  double cores = 0;    // CPU time / wall time
  double waiting = 0;  // run-queue wait / wall time: runnable, but no CPU free
};

struct CpuUse {
  double seconds = 0;
  double server_cores = 0;    // all server threads, CPU time / wall time
  double server_waiting = 0;  // all server threads, run-queue wait / wall time
  double client_cores = 0;    // this process
  double machine_busy = 0;    // share of all cores, 0..1
  double machine_iowait = 0;
  int machine_cores = 0;
  uint64_t server_ns = 0;                          // CPU time of every server thread
  std::map<std::string, uint64_t> role_ns;         // the same by role (every role of roles(), 0 if none)
  std::map<std::string, uint64_t> other_ns;        // the role "other" by thread name
  int threads_ended = 0;  // threads of the first sample gone by the second: their last CPU is not counted
  std::vector<ThreadCpu> threads;  // busiest first
};

CpuUse cpu_between(const CpuSample& a, const CpuSample& b) {
  CpuUse out;
  out.seconds = seconds_between(a.at, b.at);
  out.machine_cores = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  for (const std::string& role : roles()) out.role_ns[role] = 0;
  for (const auto& [tid, t] : a.server_threads) {
    if (!b.server_threads.contains(tid)) ++out.threads_ended;
  }
  if (out.seconds <= 0) return out;
  double wall_ns = out.seconds * 1e9;
  for (const auto& [tid, t] : b.server_threads) {
    auto before = a.server_threads.find(tid);
    ThreadTimes zero;
    const ThreadTimes& was = before == a.server_threads.end() ? zero : before->second;
    ThreadCpu use{tid, t.name, role_of(t.name), t.cpu_ns - was.cpu_ns, 0, 0};
    use.cores = static_cast<double>(use.cpu_ns) / wall_ns;
    use.waiting = static_cast<double>(t.wait_ns - was.wait_ns) / wall_ns;
    out.server_ns += use.cpu_ns;
    out.role_ns[use.role] += use.cpu_ns;
    if (use.role == "other") out.other_ns[use.name] += use.cpu_ns;
    out.server_cores += use.cores;
    out.server_waiting += use.waiting;
    out.threads.push_back(std::move(use));
  }
  std::sort(out.threads.begin(), out.threads.end(),
            [](const ThreadCpu& x, const ThreadCpu& y) { return x.cpu_ns > y.cpu_ns; });
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

// Server CPU µs per unit (order or request), by role, and the total.
struct CpuPerUnit {
  double units = 0;
  std::map<std::string, double> role_us;
  std::map<std::string, double> other_us;  // the role "other" by thread name
  double total_us = 0;
};

CpuPerUnit per_unit(const CpuUse& cpu, double units) {
  CpuPerUnit out;
  out.units = units;
  if (units <= 0) return out;
  auto us = [units](uint64_t ns) { return static_cast<double>(ns) / 1e3 / units; };
  for (const auto& [role, ns] : cpu.role_ns) out.role_us[role] = us(ns);
  for (const auto& [name, ns] : cpu.other_ns) out.other_us[name] = us(ns);
  out.total_us = us(cpu.server_ns);
  return out;
}

// --- the server's own figures

struct ServerMetrics {
  uint64_t shipped = 0;
  uint64_t cancelled = 0;
  uint64_t stuck = 0;
  uint64_t head = 0;
  uint64_t lag = 0;       // summed over the saga and the participants
  uint64_t view_lag = 0;  // summed over the views
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
    else if (line.starts_with("ordersd_view_lag_events{")) out.view_lag += value();
    else if (line.starts_with("ordersd_log_batch_events_count ")) out.commits = number();
    else if (line.starts_with("ordersd_log_batch_events_sum ")) out.committed_events = number();
    else if (line.starts_with("ordersd_log_fsync_seconds_count ")) out.fsyncs = number();
    else if (line.starts_with("ordersd_log_fsync_seconds_sum ")) out.fsync_seconds = number();
  }
  return out;
}

// Polls until every view (and, unless `views_only`, every reader of the saga)
// has handled everything in the log: nothing more will be appended or
// projected without new requests. A paused participant lags on purpose:
// with the saga held, pass views_only.
ServerMetrics wait_quiet(HttpClient& client, bool views_only = false) {
  auto deadline = Steady::now() + kStallLimit;
  for (;;) {
    ServerMetrics m = read_metrics(client);
    if (m.view_lag == 0 && (views_only || m.lag == 0)) return m;
    if (Steady::now() > deadline) fail("the views or the saga readers never caught up with the log");
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

struct Latency {
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
};

Latency saga_latency(const LogFigures& log) {
  const auto& us = log.saga_latency_us;
  Latency out;
  out.max_ms = us.empty() ? 0 : static_cast<double>(*std::max_element(us.begin(), us.end())) / 1e3;
  out.p50_ms = percentile(us, 0.50) / 1e3;
  out.p99_ms = percentile(us, 0.99) / 1e3;
  return out;
}

// --- load at a fixed rate (open loop)

struct ScheduledLoad {
  Steady::time_point start;  // the first send's scheduled time
  Steady::time_point end;    // after the last answer
  int late = 0;              // sends that went out after their scheduled time
  std::vector<int64_t> latency_ns;  // answer - scheduled send
  std::vector<int64_t> service_ns;  // answer - actual send
  double seconds() const { return seconds_between(start, end); }
};

// Sends requests 0..count-1 at `rate` per second: request n at start + n/rate
// over connection n mod `connections` (one thread each), whether or not the
// earlier ones were answered. A connection still busy at a scheduled time
// sends as soon as it is free, and that send is late.
template <typename Make>
ScheduledLoad run_scheduled(uint16_t port, int connections, int count, double rate, int expected_status, Make make) {
  connections = std::max(1, std::min(connections, count));
  std::atomic<bool> failed{false};
  std::string failure;
  std::mutex failure_mu;
  std::vector<std::vector<int64_t>> latencies(connections), services(connections);
  std::vector<int> late(connections, 0);
  std::latch connected(connections + 1);
  std::latch go(1);
  Steady::time_point start;
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      auto note = [&](const std::string& what) {
        std::lock_guard lk(failure_mu);
        if (!failed.exchange(true)) failure = what;
      };
      std::optional<HttpClient> client;
      try {
        client.emplace(port);
      } catch (const std::exception& e) {
        note(std::string("connecting: ") + e.what());
      }
      connected.count_down();
      go.wait();
      if (!client) return;
      try {
        for (int n = c; n < count && !failed.load(std::memory_order_relaxed); n += connections) {
          auto due = start + std::chrono::nanoseconds(static_cast<int64_t>(std::llround(n * 1e9 / rate)));
          if (Steady::now() < due) {
            std::this_thread::sleep_until(due);
          } else {
            ++late[c];
          }
          Request r = make(n);
          auto sent = Steady::now();
          HttpResponse res = client->request(r.method, r.target, r.body);
          auto answered = Steady::now();
          latencies[c].push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(answered - due).count());
          services[c].push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(answered - sent).count());
          if (res.status != expected_status) {
            note(r.method + " " + r.target + " answered " + std::to_string(res.status) + ": " + res.body);
          }
        }
      } catch (const std::exception& e) {
        note(std::string("request failed: ") + e.what());
      }
    });
  }
  connected.arrive_and_wait();
  ScheduledLoad out;
  start = Steady::now() + std::chrono::milliseconds(20);  // every thread is waiting for its first send by then
  out.start = start;
  go.count_down();
  for (auto& t : threads) t.join();
  out.end = Steady::now();
  if (failed) fail(failure);
  for (int c = 0; c < connections; ++c) {
    out.late += late[c];
    out.latency_ns.insert(out.latency_ns.end(), latencies[c].begin(), latencies[c].end());
    out.service_ns.insert(out.service_ns.end(), services[c].begin(), services[c].end());
  }
  return out;
}

// --- the phases

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

std::vector<std::string> server_args(const Config& config) { return {"--durability", config.durability}; }

void stop(ServerProcess& server, const char* which) {
  if (int rc = server.stop(); rc != 0) fail(std::string("the ") + which + " server exited with " + std::to_string(rc));
}

// 1. Placement alone.
struct Reference {
  Placement placed;
  CpuUse cpu;  // first request -> every view at the head
  CpuPerUnit per_order;
  GroupCommits commits;
};

Reference run_reference(const Config& config) {
  TempDir dir;
  auto args = server_args(config);
  args.insert(args.end(), {"--paused", "saga,payment,inventory,shipping"});
  ServerProcess server(dir.path(), args);
  HttpClient observer(server.port);
  ServerMetrics metrics_before = read_metrics(observer);
  CpuSample before = sample_cpu(server.process.pid());
  LoadResult load = run_load(server.port, config.connections, config.orders, 201, place_order);
  wait_quiet(observer, true);
  CpuSample after = sample_cpu(server.process.pid());
  Reference out{placement(load, config.orders), cpu_between(before, after), {}, {}};
  out.per_order = per_unit(out.cpu, config.orders);
  out.commits = commits_between(metrics_before, read_metrics(observer), load.seconds());
  stop(server, "placement-alone");
  return out;
}

// 2. The floor: GET /health/live.
struct Floor {
  uint64_t requests = 0;
  double seconds = 0;
  double p50_us = 0, p99_us = 0;
  CpuUse cpu;
  CpuPerUnit per_request;
  double per_s() const { return seconds > 0 ? static_cast<double>(requests) / seconds : 0; }
};

// GET `target` over every client (one thread each, closed loop) for `seconds`;
// the latencies of every answer, and the server's CPU over exactly that time.
struct TimedGets {
  std::vector<int64_t> latency_ns;
  double seconds = 0;
  CpuUse cpu;
};

TimedGets timed_gets(std::vector<std::unique_ptr<HttpClient>>& clients, const std::string& target, double seconds,
                     pid_t server) {
  CpuSample before, after;
  GetLoad load = get_load(
      clients, seconds, [&](size_t, std::mt19937&) { return target; }, [&] { before = sample_cpu(server); },
      [&] { after = sample_cpu(server); });
  TimedGets out;
  out.seconds = seconds_between(before.at, after.at);
  out.cpu = cpu_between(before, after);
  out.latency_ns = std::move(load.latency_ns);
  return out;
}

Floor run_floor(const Config& config) {
  TempDir dir;
  ServerProcess server(dir.path(), server_args(config));
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (int c = 0; c < config.connections; ++c) clients.push_back(std::make_unique<HttpClient>(server.port));
  timed_gets(clients, "/health/live", config.floor_warmup_seconds(), server.process.pid());
  TimedGets run = timed_gets(clients, "/health/live", config.floor_seconds(), server.process.pid());
  clients.clear();
  Floor out;
  out.requests = run.latency_ns.size();
  out.seconds = run.seconds;
  out.p50_us = percentile(run.latency_ns, 0.50) / 1e3;
  out.p99_us = percentile(run.latency_ns, 0.99) / 1e3;
  out.cpu = std::move(run.cpu);
  out.per_request = per_unit(out.cpu, static_cast<double>(out.requests));
  stop(server, "/health/live");
  return out;
}

// 3. End to end.
struct EndToEnd {
  Placement placed;        // while the saga ran
  double seconds = 0;      // first request sent -> last shipment.initiated.v1 in the log
  double metric_seconds = 0;  // first request sent -> the poll that saw every saga final
  uint64_t head_before = 0, head_after = 0;
  ServerMetrics final_metrics;
  LogFigures log;
  Latency latency;
  CpuUse cpu;  // first request sent -> every saga final and nothing lagging
  CpuPerUnit per_order;
  GroupCommits commits;

  double orders_per_s(int orders) const { return seconds > 0 ? orders / seconds : 0; }
  double events_per_s() const { return seconds > 0 ? static_cast<double>(head_after - head_before) / seconds : 0; }
  double events_per_order(int orders) const { return static_cast<double>(head_after - head_before) / orders; }
};

EndToEnd run_end_to_end(const Config& config) {
  TempDir dir;
  ServerProcess server(dir.path(), server_args(config));
  pid_t pid = server.process.pid();
  fund_and_stock(server.port);
  HttpClient observer(server.port);
  EndToEnd out;
  ServerMetrics metrics_before = wait_quiet(observer);
  out.head_before = metrics_before.head;

  CpuSample before = sample_cpu(pid);
  LoadResult load = run_load(server.port, config.connections, config.orders, 201, place_order);
  out.placed = placement(load, config.orders);
  Finish finish = wait_final(observer, static_cast<uint64_t>(config.orders));
  out.metric_seconds = seconds_between(load.start, finish.at);
  out.final_metrics = wait_quiet(observer);
  CpuSample after = sample_cpu(pid);
  out.cpu = cpu_between(before, after);
  out.per_order = per_unit(out.cpu, config.orders);
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
  out.latency = saga_latency(out.log);
  stop(server, "end-to-end");
  return out;
}

// 4. Open loop.
struct OpenLoop {
  double rate = 0;          // orders/s offered
  bool rate_given = false;  // --rate, not half the end-to-end rate
  double planned_seconds = 0;
  int orders = 0;
  int late = 0;
  double send_seconds = 0;  // first scheduled send -> last answer
  double answer_p50_ms = 0, answer_p99_ms = 0, answer_max_ms = 0;  // from the scheduled send
  double service_p50_ms = 0, service_p99_ms = 0;                  // from the actual send
  ServerMetrics final_metrics;
  LogFigures log;
  Latency latency;
  CpuUse cpu;  // first scheduled send -> every saga final and nothing lagging
  CpuPerUnit per_order;
  GroupCommits commits;
  uint64_t head_before = 0, head_after = 0;
};

OpenLoop run_open_loop(const Config& config, double rate) {
  OpenLoop out;
  out.rate = rate;
  out.rate_given = config.rate > 0;
  out.planned_seconds = config.open_loop_seconds();
  out.orders = std::max(1, static_cast<int>(std::llround(rate * out.planned_seconds)));
  TempDir dir;
  ServerProcess server(dir.path(), server_args(config));
  pid_t pid = server.process.pid();
  fund_and_stock(server.port);
  HttpClient observer(server.port);
  ServerMetrics metrics_before = wait_quiet(observer);
  out.head_before = metrics_before.head;

  CpuSample before = sample_cpu(pid);
  ScheduledLoad load = run_scheduled(server.port, config.connections, out.orders, rate, 201, place_order);
  wait_final(observer, static_cast<uint64_t>(out.orders));
  out.final_metrics = wait_quiet(observer);
  CpuSample after = sample_cpu(pid);
  out.cpu = cpu_between(before, after);
  out.per_order = per_unit(out.cpu, out.orders);
  out.head_after = out.final_metrics.head;
  out.commits = commits_between(metrics_before, out.final_metrics, out.cpu.seconds);
  out.late = load.late;
  out.send_seconds = load.seconds();
  out.answer_p50_ms = percentile(load.latency_ns, 0.50) / 1e6;
  out.answer_p99_ms = percentile(load.latency_ns, 0.99) / 1e6;
  out.answer_max_ms = percentile(load.latency_ns, 1.0) / 1e6;
  out.service_p50_ms = percentile(load.service_ns, 0.50) / 1e6;
  out.service_p99_ms = percentile(load.service_ns, 0.99) / 1e6;
  out.log = read_log(observer, out.head_before, out.head_after);
  if (out.log.orders_placed != static_cast<uint64_t>(out.orders)) {
    fail("the open-loop log holds " + std::to_string(out.log.orders_placed) + " placed orders, expected " +
         std::to_string(out.orders));
  }
  out.latency = saga_latency(out.log);
  stop(server, "open-loop");
  return out;
}

// --- report

struct Target {
  std::string figure;
  std::string goal;
  double measured = 0;
  double bound = 0;
  bool at_least = true;  // measured >= bound; else measured <= bound
  bool applies = true;   // false: n/a (the older target is for fsync only)
  int decimals = 2;      // as printed
  bool met() const { return applies && (at_least ? measured >= bound : measured <= bound); }
};

struct Report {
  Config config;
  Reference reference;
  Floor floor;
  EndToEnd e2e;
  OpenLoop open;

  double ratio() const {  // end to end / placement alone, orders/s
    double ref = reference.placed.orders_per_s();
    return ref > 0 ? e2e.orders_per_s(config.orders) / ref : 0;
  }
  double to_floor(double per_s) const { return floor.per_s() > 0 ? per_s / floor.per_s() : 0; }
  double settled_ratio() const { return to_floor(e2e.orders_per_s(config.orders)); }
  double meanwhile_ratio() const { return to_floor(e2e.placed.orders_per_s()); }
  double alone_ratio() const { return to_floor(reference.placed.orders_per_s()); }
  double cpu_in_live_requests() const {
    return floor.per_request.total_us > 0 ? e2e.per_order.total_us / floor.per_request.total_us : 0;
  }
  bool durable() const { return config.durability == "fsync"; }

  std::vector<Target> targets() const {
    char rate[64];
    std::snprintf(rate, sizeof rate, "%.0f", open.rate);
    return {
        {"settled orders/s end to end / GET /health/live req/s", ">= 0.15", settled_ratio(), kTargetSettledRatio, true,
         true, 3},
        {"server CPU per settled order, in GET /health/live requests", "<= 7", cpu_in_live_requests(),
         kTargetCpuInLiveRequests, false, true, 1},
        {"orders/s placed meanwhile (saga running) / GET /health/live req/s", ">= 0.5", meanwhile_ratio(),
         kTargetMeanwhileRatio, true, true, 3},
        {"orders/s placed alone (saga held) / GET /health/live req/s", ">= 0.6", alone_ratio(), kTargetAloneRatio,
         true, true, 3},
        {std::string("saga latency p99 (ms), open loop at ") + rate + " orders/s", "<= 50 ms", open.latency.p99_ms,
         kTargetOpenLoopP99Ms, false, true, 1},
        {"orders/s end to end, durable", ">= 5,000 orders/s", e2e.orders_per_s(config.orders), kTargetOrdersPerS,
         true, durable(), 0},
    };
  }
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
    threads.push_back(
        {{"tid", t.tid}, {"name", t.name}, {"role", t.role}, {"cores", t.cores}, {"waiting_for_cpu", t.waiting}});
  }
  return {{"seconds", cpu.seconds},
          {"server_cores", cpu.server_cores},
          {"server_waiting_for_cpu", cpu.server_waiting},
          {"server_threads_ended", cpu.threads_ended},
          {"client_cores", cpu.client_cores},
          {"machine_cores", cpu.machine_cores},
          {"machine_busy", cpu.machine_busy},
          {"machine_iowait", cpu.machine_iowait},
          {"server_threads", threads}};
}

// {"http": µs, ..., "other": µs, "total": µs, "other_by_name": {...}, "per": what}
Json per_unit_json(const CpuPerUnit& p, const std::string& per) {
  Json out;
  out["per"] = per;
  out["count"] = static_cast<uint64_t>(std::llround(p.units));
  for (const std::string& role : roles()) out[role] = p.role_us.at(role);
  out["total"] = p.total_us;
  Json other = Json::object();
  for (const auto& [name, us] : p.other_us) other[name] = us;
  out["other_by_name"] = other;
  return out;
}

void print_json(const Report& r) {
  const Config& c = r.config;
  const EndToEnd& e = r.e2e;
  const OpenLoop& o = r.open;
  Json out;
  out["orders"] = c.orders;
  out["connections"] = c.connections;
  out["durability"] = c.durability;
  out["customers"] = kCustomers;
  out["skus"] = kSkus;
  out["server_cpu_us_per_order"] = {
      {"placement_only", per_unit_json(r.reference.per_order, "order placed")},
      {"end_to_end", per_unit_json(e.per_order, "order settled")},
      {"open_loop", per_unit_json(o.per_order, "order settled")},
      {"health_live", per_unit_json(r.floor.per_request, "request answered")}};
  out["placement_only"] = {{"orders_per_s", r.reference.placed.orders_per_s()},
                           {"seconds", r.reference.placed.seconds},
                           {"post_p50_ms", r.reference.placed.p50_ms},
                           {"post_p99_ms", r.reference.placed.p99_ms},
                           {"log", commits_json(r.reference.commits)},
                           {"cpu", cpu_json(r.reference.cpu)}};
  out["health_live"] = {{"requests_per_s", r.floor.per_s()},
                        {"requests", r.floor.requests},
                        {"seconds", r.floor.seconds},
                        {"p50_us", r.floor.p50_us},
                        {"p99_us", r.floor.p99_us},
                        {"cpu", cpu_json(r.floor.cpu)}};
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
                       {"saga_latency_ms", {{"p50", e.latency.p50_ms}, {"p99", e.latency.p99_ms}, {"max", e.latency.max_ms}}},
                       {"placement", {{"orders_per_s", e.placed.orders_per_s()},
                                      {"seconds", e.placed.seconds},
                                      {"post_p50_ms", e.placed.p50_ms},
                                      {"post_p99_ms", e.placed.p99_ms}}},
                       {"events_by_type", by_type},
                       {"log", commits_json(e.commits)},
                       {"cpu", cpu_json(e.cpu)}};
  out["open_loop"] = {{"rate", o.rate},
                      {"rate_from", o.rate_given ? "--rate" : "half the end-to-end orders/s"},
                      {"seconds_planned", o.planned_seconds},
                      {"orders", o.orders},
                      {"late_sends", o.late},
                      {"send_seconds", o.send_seconds},
                      {"shipped", o.final_metrics.shipped},
                      {"cancelled", o.final_metrics.cancelled},
                      {"events_per_order", static_cast<double>(o.head_after - o.head_before) / o.orders},
                      {"saga_latency_ms", {{"p50", o.latency.p50_ms}, {"p99", o.latency.p99_ms}, {"max", o.latency.max_ms}}},
                      {"post_from_schedule_ms",
                       {{"p50", o.answer_p50_ms}, {"p99", o.answer_p99_ms}, {"max", o.answer_max_ms}}},
                      {"post_from_send_ms", {{"p50", o.service_p50_ms}, {"p99", o.service_p99_ms}}},
                      {"log", commits_json(o.commits)},
                      {"cpu", cpu_json(o.cpu)}};
  out["ratio"] = r.ratio();
  out["ratios_to_health_live"] = {{"settled_orders", r.settled_ratio()},
                                  {"cpu_per_settled_order_in_requests", r.cpu_in_live_requests()},
                                  {"placement_meanwhile", r.meanwhile_ratio()},
                                  {"placement_alone", r.alone_ratio()}};
  Json targets = Json::array();
  for (const Target& t : r.targets()) {
    targets.push_back({{"figure", t.figure}, {"goal", t.goal}, {"measured", t.measured}, {"applies", t.applies},
                       {"met", t.met()}});
  }
  out["targets"] = targets;
  out["target"] = {{"goal", ">= 5,000 orders/s end to end, durable"},
                   {"measured", e.orders_per_s(c.orders)},
                   {"durable", r.durable()},
                   {"met", r.durable() && e.orders_per_s(c.orders) >= kTargetOrdersPerS}};
  std::cout << out.dump(2) << "\n";
}

void print_commits(const GroupCommits& c) {
  std::printf("  group commits        %.0f, %.1f events each; %.0f fsyncs, mean %.2f ms, fsync in progress %.0f%% of the time\n",
              c.commits, c.events_per_commit, c.fsyncs, c.fsync_mean_ms, c.fsync_share * 100);
}

void print_cpu(const CpuUse& cpu) {
  std::printf("  CPU (cores)          server %.2f busy + %.2f runnable waiting for a CPU; this client %.2f;\n"
              "                       machine %.0f%% busy, %.0f%% iowait of %d cores (over %.2f s)\n",
              cpu.server_cores, cpu.server_waiting, cpu.client_cores, cpu.machine_busy * 100,
              cpu.machine_iowait * 100, cpu.machine_cores, cpu.seconds);
  std::printf("  busiest server threads (cores busy / waiting for a CPU)\n   ");
  int shown = 0;
  for (const ThreadCpu& t : cpu.threads) {
    if (shown == 8 || t.cores < 0.01) break;
    std::printf("%s %s %.2f/%.2f", shown == 4 ? "\n   " : shown ? "," : "", t.name.c_str(), t.cores, t.waiting);
    ++shown;
  }
  std::printf("\n");
  if (cpu.threads_ended > 0) {
    std::printf("  %d server thread(s) ended during the phase; their CPU is not counted\n", cpu.threads_ended);
  }
}

void print_roles(const Report& r) {
  const CpuPerUnit* ordered[] = {&r.reference.per_order, &r.e2e.per_order, &r.open.per_order, &r.floor.per_request};
  const char* names[] = {"placement alone", "end to end", "open loop", "/health/live"};
  std::printf("\nserver CPU per order, by thread role (µs; thread CPU time in the phase / orders or requests)\n");
  std::printf("  %-20s", "");
  for (const char* n : names) std::printf(" %15s", n);
  std::printf("\n  %-20s %15s %15s %15s %15s\n", "", "per placed", "per settled", "per settled", "per request");
  for (const std::string& role : roles()) {
    std::printf("  %-20s", role.c_str());
    for (const CpuPerUnit* p : ordered) std::printf(" %15.1f", p->role_us.at(role));
    std::printf("\n");
  }
  std::printf("  %-20s", "total");
  for (const CpuPerUnit* p : ordered) std::printf(" %15.1f", p->total_us);
  std::printf("\n");
  for (int i = 0; i < 4; ++i) {
    std::string other;
    for (const auto& [name, us] : ordered[i]->other_us) {
      if (us < 0.05) continue;
      char item[96];
      std::snprintf(item, sizeof item, "%s%s %.1f", other.empty() ? "" : ", ", name.c_str(), us);
      other += item;
    }
    if (!other.empty()) std::printf("  other, %s: %s\n", names[i], other.c_str());
  }
}

void print_table(const Report& r) {
  const Config& c = r.config;
  const EndToEnd& e = r.e2e;
  const OpenLoop& o = r.open;
  std::printf("saga_bench: %d orders over %d keep-alive connections, durability %s, %d customers, %d skus\n\n",
              c.orders, c.connections, c.durability.c_str(), kCustomers, kSkus);

  const Placement& ref = r.reference.placed;
  std::printf("1. placement alone (saga, payment, inventory, shipping paused)\n");
  std::printf("  orders/s             %8.0f   (%d placed in %.2f s; POST /orders p50 %.1f ms, p99 %.1f ms)\n",
              ref.orders_per_s(), ref.orders, ref.seconds, ref.p50_ms, ref.p99_ms);
  print_commits(r.reference.commits);
  print_cpu(r.reference.cpu);

  std::printf("\n2. floor: GET /health/live, closed loop over the same connections\n");
  std::printf("  requests/s           %8.0f   (%llu in %.2f s; p50 %.0f µs, p99 %.0f µs; %.1f µs of server CPU each)\n",
              r.floor.per_s(), static_cast<unsigned long long>(r.floor.requests), r.floor.seconds, r.floor.p50_us,
              r.floor.p99_us, r.floor.per_request.total_us);
  print_cpu(r.floor.cpu);

  std::printf("\n3. end to end (saga running, closed loop)\n");
  std::printf("  orders/s             %8.0f   (%llu shipped, %llu cancelled in %.2f s: first request -> last "
              "shipment.initiated.v1;\n                                   the metric saw them all after %.2f s)\n",
              e.orders_per_s(c.orders), static_cast<unsigned long long>(e.final_metrics.shipped),
              static_cast<unsigned long long>(e.final_metrics.cancelled), e.seconds, e.metric_seconds);
  std::printf("  events/s on the log  %8.0f   (head %llu -> %llu, %.2f events per order)\n", e.events_per_s(),
              static_cast<unsigned long long>(e.head_before), static_cast<unsigned long long>(e.head_after),
              e.events_per_order(c.orders));
  std::printf("  saga latency         p50 %.1f ms, p99 %.1f ms, max %.1f ms   (order.placed.v1 -> "
              "shipment.initiated.v1, log commit times; queueing)\n",
              e.latency.p50_ms, e.latency.p99_ms, e.latency.max_ms);
  std::printf("  placement meanwhile  %8.0f orders/s   (all placed after %.2f s; POST /orders p50 %.1f ms, p99 %.1f ms)\n",
              e.placed.orders_per_s(), e.placed.seconds, e.placed.p50_ms, e.placed.p99_ms);
  print_commits(e.commits);
  print_cpu(e.cpu);

  std::printf("\n4. open loop at %.0f orders/s (%s), %.0f s, saga running\n", o.rate,
              o.rate_given ? "--rate" : "half the end-to-end rate", o.planned_seconds);
  std::printf("  orders               %8d   (%llu shipped, %llu cancelled; sent over %.2f s, %d sends late)\n", o.orders,
              static_cast<unsigned long long>(o.final_metrics.shipped),
              static_cast<unsigned long long>(o.final_metrics.cancelled), o.send_seconds, o.late);
  std::printf("  saga latency         p50 %.1f ms, p99 %.1f ms, max %.1f ms   (order.placed.v1 -> "
              "shipment.initiated.v1, log commit times)\n",
              o.latency.p50_ms, o.latency.p99_ms, o.latency.max_ms);
  std::printf("  POST /orders         p50 %.1f ms, p99 %.1f ms, max %.1f ms from the scheduled send "
              "(from the actual send p50 %.1f, p99 %.1f)\n",
              o.answer_p50_ms, o.answer_p99_ms, o.answer_max_ms, o.service_p50_ms, o.service_p99_ms);
  print_commits(o.commits);
  print_cpu(o.cpu);

  std::printf("\nend-to-end / placement-only orders/s: %.2f\n", r.ratio());
  print_roles(r);

  std::printf("\ntargets (ratios to GET /health/live: %.0f req/s, %.1f µs of server CPU each)%s\n", r.floor.per_s(),
              r.floor.per_request.total_us, r.durable() ? "" : "; the issue's figures are for --durability fsync");
  for (const Target& t : r.targets()) {
    std::printf("  %-66s %10.*f   %-18s %s\n", t.figure.c_str(), t.decimals, t.measured, t.goal.c_str(),
                !t.applies ? "n/a (async run; the target is for --durability fsync)" : t.met() ? "MET" : "MISSED");
  }
}

// --- command line

Config parse(int argc, char** argv) {
  Config config;
  CLI::App app{"saga_bench: server CPU per order by thread role, orders end to end through the saga, placement "
               "alone, GET /health/live as the floor, and saga latency at a fixed rate"};
  add_load_options(app, config);
  app.add_option("--rate", config.rate,
                 "orders/s of the open-loop phase (default: half the end-to-end orders/s of this run)")
      ->check(CLI::PositiveNumber);
  app.add_option("--binary", config.binary,
                 "measure another build's ordersd (e.g. the commit before a change) instead of this build's")
      ->check(CLI::ExistingFile);
  parse_or_exit(app, argc, argv);
  if (!config.binary.empty()) use_server_binary(config.binary);
  if (config.quick && app.count("--orders") == 0) config.orders = 2000;
  return config;
}

}  // namespace

int main(int argc, char** argv) {
  Config config = parse(argc, argv);
  try {
    Report report;
    report.config = config;
    auto say = [&](const std::string& what) {
      if (!config.json) std::fprintf(stderr, "%s\n", what.c_str());
    };
    say("1/4 placing " + std::to_string(config.orders) + " orders with the saga paused...");
    report.reference = run_reference(config);
    say("2/4 GET /health/live for " + std::to_string(static_cast<int>(config.floor_seconds())) + " s...");
    report.floor = run_floor(config);
    say("3/4 placing " + std::to_string(config.orders) + " orders and waiting for every saga...");
    report.e2e = run_end_to_end(config);
    double rate = config.rate > 0 ? config.rate : report.e2e.orders_per_s(config.orders) / 2;
    if (rate <= 0) fail("no end-to-end rate to derive the open-loop rate from");
    say("4/4 placing orders at " + std::to_string(static_cast<int>(std::lround(rate))) + "/s for " +
        std::to_string(static_cast<int>(config.open_loop_seconds())) + " s...");
    report.open = run_open_loop(config, rate);
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
