// soak_bench: a long run of a real `ordersd serve --durability async`, to see
// whether its memory and its disk stay bounded, and how long it takes to come
// back after a stop.
//
// A fresh server on a loopback ephemeral port with its data in a temporary
// directory; 1,000 customers get money and 256 skus stock; then N orders
// (default 1,000,000) for those customers are placed from C keep-alive
// connections (closed loop), never more than --max-in-flight placed and not
// yet settled (shipped or cancelled, from /metrics), and, with --rate, no
// faster than R orders/s. Bounding the orders in flight keeps the load one
// the server can carry for hours: what grows then is what the server keeps,
// not a backlog.
//
// Every second a CSV row (--csv, default soak.csv):
//   elapsed_s, placed, settled, orders_per_s (settled in that second),
//   rss_mb (VmRSS of /proc/PID/status), data_mb (every file of the data
//   directory), wal_mb (its *.log files: RocksDB's write-ahead log), sst_mb
// At the end the server is stopped (SIGTERM) and started again on the same
// directory; restart = spawn -> "listening on" -> GET /health answering 200.
// A summary (and --json) gives the figures at 100k / 500k / 1M settled
// orders, the peak RSS and the restart time. --plot PNG renders the CSV with
// bench/soak_plot.sh (gnuplot).
//
// Usage: soak_bench [--orders N] [--connections C] [--max-in-flight F] [--rate R]
//                   [--cache-mb M] [--csv PATH] [--plot PNG] [--keep-data DIR] [--json]
// The server's stderr goes to CSV.server.log.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "http_load.h"
#include "load_options.h"
#include "support/http_client.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace {

using namespace ordersd::test;
using namespace ordersd::bench;
using Json = nlohmann::ordered_json;
namespace fs = std::filesystem;

constexpr int kSoakCustomers = 1'000;
constexpr int kSoakSkus = 256;
constexpr auto kSampleEvery = std::chrono::seconds(1);
constexpr auto kSettledPollEvery = std::chrono::milliseconds(50);
constexpr auto kStallLimit = std::chrono::seconds(120);  // no order settled for this long: give up

struct Config : LoadOptions {
  int max_in_flight = 2'000;
  double rate = 0;  // orders/s; 0: as fast as the in-flight bound allows
  size_t cache_mb = 0;  // 0: the server's default
  std::string csv = "soak.csv";
  std::string plot;
  std::string keep_data;
  Config() {
    orders = 1'000'000;
    connections = 16;
    durability = "async";
  }
};

// --- the server: spawned with its stderr to a file, so that a chatty server
// never blocks on a full pipe during a run of hours.

struct Server {
  std::unique_ptr<Process> process;
  uint16_t port = 0;
};

Server start_server(const Config& config, const std::string& data_dir, const std::string& log_path) {
  std::string cmd = "exec '" + std::string(ORDERSD_BINARY) + "' serve --data '" + data_dir +
                    "' --listen 127.0.0.1:0 --threads 2 --durability " + config.durability;
  if (config.cache_mb) cmd += " --cache-mb " + std::to_string(config.cache_mb);
  cmd += " 2>>'" + log_path + "'";
  Server s;
  s.process = std::make_unique<Process>(std::vector<std::string>{"/bin/sh", "-c", cmd});
  auto line = s.process->read_line(std::chrono::minutes(5));
  if (!line || !line->starts_with("listening on 127.0.0.1:")) {
    fail("the server printed no 'listening on' line; see " + log_path);
  }
  s.port = static_cast<uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));
  return s;
}

// --- what is measured

struct Sample {
  double elapsed_s = 0;
  uint64_t placed = 0;
  uint64_t settled = 0;
  double orders_per_s = 0;
  double rss_mb = 0;
  double data_mb = 0;
  double wal_mb = 0;
  double sst_mb = 0;
};

double rss_mb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("VmRSS:")) return std::stod(line.substr(6)) / 1024.0;  // kB
  }
  return 0;
}

struct DiskUse {
  double data_mb = 0, wal_mb = 0, sst_mb = 0;
};

DiskUse disk_use(const std::string& dir) {
  DiskUse out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    std::error_code size_ec;
    if (!it->is_regular_file(size_ec)) continue;
    double mb = static_cast<double>(it->file_size(size_ec)) / (1024.0 * 1024.0);
    if (size_ec) continue;  // removed meanwhile (a compaction)
    out.data_mb += mb;
    std::string ext = it->path().extension().string();
    if (ext == ".log") out.wal_mb += mb;
    if (ext == ".sst") out.sst_mb += mb;
  }
  return out;
}

uint64_t settled_orders(HttpClient& client) {
  HttpResponse res = client.get("/metrics");
  if (res.status != 200) fail("GET /metrics answered " + std::to_string(res.status));
  uint64_t shipped = 0, cancelled = 0;
  std::istringstream lines(res.body);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with("ordersd_sagas_shipped_total ")) shipped = std::stoull(line.substr(line.rfind(' ') + 1));
    if (line.starts_with("ordersd_sagas_cancelled_total ")) cancelled = std::stoull(line.substr(line.rfind(' ') + 1));
  }
  return shipped + cancelled;
}

Request soak_order(int n) {
  return {"POST", "/orders",
          "{\"order_id\":\"" + order_id(n) + "\",\"customer_id\":\"c-" + std::to_string(n % kSoakCustomers) +
              "\",\"items\":[{\"sku\":\"s-" + std::to_string(n % kSoakSkus) +
              "\",\"quantity\":1,\"unit_price_cents\":100}],\"shipping_address\":{\"country\":\"NL\",\"city\":"
              "\"Utrecht\"}}"};
}

void fund_and_stock_soak(uint16_t port) {
  run_load(port, kSetupConnections, kSoakCustomers + kSoakSkus, 200, [](int n) -> Request {
    if (n < kSoakCustomers) {
      return {"POST", "/customers/c-" + std::to_string(n) + "/deposits",
              "{\"amount_cents\":" + std::to_string(kDepositCents) + "}"};
    }
    return {"POST", "/inventory/s-" + std::to_string(n - kSoakCustomers) + "/restock",
            "{\"quantity\":" + std::to_string(kRestockQuantity) + "}"};
  });
}

// --- the run

struct Progress {
  std::atomic<uint64_t> placed{0};   // answered 201
  std::atomic<uint64_t> settled{0};  // last seen on /metrics
  std::atomic<bool> failed{false};
  std::atomic<bool> done{false};
  std::mutex mu;
  std::condition_variable moved;  // settled moved, or the run failed
  std::string failure;
  void fail_with(const std::string& what) {
    {
      std::lock_guard lk(mu);
      if (!failed.exchange(true)) failure = what;
    }
    moved.notify_all();
  }
};

void place_all(const Config& config, uint16_t port, Progress& progress, Steady::time_point start) {
  std::atomic<int> next{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < config.connections; ++c) {
    threads.emplace_back([&] {
      try {
        HttpClient client(port);
        for (int n = next.fetch_add(1); n < config.orders && !progress.failed; n = next.fetch_add(1)) {
          {  // no more than max_in_flight placed and not settled
            std::unique_lock lk(progress.mu);
            progress.moved.wait(lk, [&] {
              return progress.failed || static_cast<uint64_t>(n) < progress.settled + config.max_in_flight;
            });
          }
          if (config.rate > 0) std::this_thread::sleep_until(start + std::chrono::duration<double>(n / config.rate));
          Request r = soak_order(n);
          HttpResponse res = client.request(r.method, r.target, r.body);
          if (res.status != 201) {
            progress.fail_with("POST /orders answered " + std::to_string(res.status) + ": " + res.body);
            return;
          }
          progress.placed.fetch_add(1, std::memory_order_relaxed);
        }
      } catch (const std::exception& e) {
        progress.fail_with(std::string("placing orders: ") + e.what());
      }
    });
  }
  for (auto& t : threads) t.join();
}

// Polls /metrics for the settled count, wakes the placers, and writes a
// sample every second until every order settled.
std::vector<Sample> watch(const Config& config, const Server& server, const std::string& data_dir,
                          Progress& progress, Steady::time_point start, std::ofstream& csv) {
  std::vector<Sample> samples;
  HttpClient client(server.port);
  auto next_sample = start + kSampleEvery;
  uint64_t last_settled = 0, sampled_settled = 0;
  auto last_progress = Steady::now();
  auto last_report = Steady::now();
  while (!progress.failed) {
    uint64_t settled = settled_orders(client);
    {
      std::lock_guard lk(progress.mu);
      progress.settled = settled;
    }
    progress.moved.notify_all();
    auto now = Steady::now();
    if (settled != last_settled) {
      last_settled = settled;
      last_progress = now;
    } else if (now - last_progress > kStallLimit) {
      progress.fail_with("no order settled for " + std::to_string(kStallLimit.count()) + " s at " +
                         std::to_string(settled) + " settled");
      break;
    }
    bool all = settled >= static_cast<uint64_t>(config.orders);
    if (now >= next_sample || all) {
      Sample s;
      s.elapsed_s = seconds_between(start, now);
      s.placed = progress.placed.load();
      s.settled = settled;
      double since = samples.empty() ? s.elapsed_s : s.elapsed_s - samples.back().elapsed_s;
      s.orders_per_s = since > 0 ? static_cast<double>(settled - sampled_settled) / since : 0;
      sampled_settled = settled;
      s.rss_mb = rss_mb(server.process->pid());
      DiskUse d = disk_use(data_dir);
      s.data_mb = d.data_mb;
      s.wal_mb = d.wal_mb;
      s.sst_mb = d.sst_mb;
      samples.push_back(s);
      char row[256];
      std::snprintf(row, sizeof row, "%.1f,%llu,%llu,%.0f,%.1f,%.1f,%.1f,%.1f\n", s.elapsed_s,
                    static_cast<unsigned long long>(s.placed), static_cast<unsigned long long>(s.settled),
                    s.orders_per_s, s.rss_mb, s.data_mb, s.wal_mb, s.sst_mb);
      csv << row << std::flush;
      next_sample += kSampleEvery;
      if (now - last_report >= std::chrono::seconds(30)) {
        last_report = now;
        std::fprintf(stderr, "soak: %.0f s, %llu placed, %llu settled, RSS %.0f MB, WAL %.0f MB, SST %.0f MB\n",
                     s.elapsed_s, static_cast<unsigned long long>(s.placed),
                     static_cast<unsigned long long>(s.settled), s.rss_mb, s.wal_mb, s.sst_mb);
      }
    }
    if (all) break;
    std::this_thread::sleep_for(kSettledPollEvery);
  }
  return samples;
}

// The first sample at or past `orders` settled.
std::optional<Sample> at(const std::vector<Sample>& samples, uint64_t orders) {
  for (const auto& s : samples) {
    if (s.settled >= orders) return s;
  }
  return std::nullopt;
}

Json sample_json(const Sample& s) {
  Json j;
  j["elapsed_s"] = s.elapsed_s;
  j["settled"] = s.settled;
  j["orders_per_s"] = s.orders_per_s;
  j["rss_mb"] = s.rss_mb;
  j["data_mb"] = s.data_mb;
  j["wal_mb"] = s.wal_mb;
  j["sst_mb"] = s.sst_mb;
  return j;
}

int run_soak(const Config& config) {
  std::optional<TempDir> temp;
  std::string data_dir;
  if (config.keep_data.empty()) {
    temp.emplace();
    data_dir = temp->sub("data");
  } else {
    data_dir = config.keep_data;
    if (fs::exists(data_dir) && !fs::is_empty(data_dir)) fail(data_dir + " is not empty");
  }
  // Beside the CSV, so that it outlives the data directory when a run fails.
  std::string log_path = config.csv + ".server.log";
  fs::remove(log_path);
  std::ofstream csv(config.csv);
  if (!csv) fail("cannot write " + config.csv);
  csv << "elapsed_s,placed,settled,orders_per_s,rss_mb,data_mb,wal_mb,sst_mb\n";

  Server server = start_server(config, data_dir, log_path);
  std::fprintf(stderr, "soak: server pid %d on port %u, data in %s\n", server.process->pid(), server.port,
               data_dir.c_str());
  fund_and_stock_soak(server.port);

  Progress progress;
  auto start = Steady::now();
  std::thread placer([&] { place_all(config, server.port, progress, start); });
  std::vector<Sample> samples;
  try {
    samples = watch(config, server, data_dir, progress, start, csv);
  } catch (const std::exception& e) {
    progress.fail_with(e.what());
  }
  if (progress.failed) progress.moved.notify_all();
  placer.join();
  if (progress.failed) {
    std::string tail;
    {
      std::ifstream in(log_path);
      std::vector<std::string> lines;
      for (std::string line; std::getline(in, line);) lines.push_back(line);
      for (size_t i = lines.size() > 20 ? lines.size() - 20 : 0; i < lines.size(); ++i) tail += "\n  " + lines[i];
    }
    fail(progress.failure + "; the server's last lines (" + log_path + "):" + tail);
  }
  double run_s = seconds_between(start, Steady::now());

  // Stop, then start again on the same directory: how long until it answers?
  auto stop_begin = Steady::now();
  server.process->signal(SIGTERM);
  int code = server.process->wait();
  double stop_s = seconds_between(stop_begin, Steady::now());
  if (code != 0) fail("the server exited with " + std::to_string(code) + " on SIGTERM; see " + log_path);
  DiskUse stopped = disk_use(data_dir);

  auto restart_begin = Steady::now();
  Server again = start_server(config, data_dir, log_path);
  double listening_s = seconds_between(restart_begin, Steady::now());
  HttpClient health(again.port);
  HttpResponse h = health.get("/health");
  if (h.status != 200) fail("GET /health after the restart answered " + std::to_string(h.status));
  double restart_s = seconds_between(restart_begin, Steady::now());
  double restart_rss = rss_mb(again.process->pid());
  again.process->signal(SIGTERM);
  again.process->wait();

  double peak_rss = 0;
  for (const auto& s : samples) peak_rss = std::max(peak_rss, s.rss_mb);
  Json out;
  out["orders"] = config.orders;
  out["connections"] = config.connections;
  out["max_in_flight"] = config.max_in_flight;
  out["durability"] = config.durability;
  out["seconds"] = run_s;
  out["orders_per_s"] = config.orders / run_s;
  out["peak_rss_mb"] = peak_rss;
  Json milestones = Json::array();
  for (uint64_t m : {100'000ull, 250'000ull, 500'000ull, 750'000ull, 1'000'000ull, 2'000'000ull, 5'000'000ull}) {
    if (m >= static_cast<uint64_t>(config.orders)) break;
    if (auto s = at(samples, m)) {
      Json j = sample_json(*s);
      j["at_orders"] = m;
      milestones.push_back(j);
    }
  }
  if (!samples.empty()) {
    Json j = sample_json(samples.back());
    j["at_orders"] = config.orders;
    milestones.push_back(j);
  }
  out["milestones"] = milestones;
  out["stop_s"] = stop_s;
  out["after_stop"] = {{"data_mb", stopped.data_mb}, {"wal_mb", stopped.wal_mb}, {"sst_mb", stopped.sst_mb}};
  out["restart_listening_s"] = listening_s;
  out["restart_s"] = restart_s;
  out["restart_rss_mb"] = restart_rss;
  out["csv"] = config.csv;

  if (!config.plot.empty()) {
    Completed plotted = ordersd::test::run({"/bin/bash", SOAK_PLOT_SCRIPT, config.csv, config.plot});
    if (plotted.exit_code != 0) std::fprintf(stderr, "soak: plotting failed: %s\n", plotted.err.c_str());
    out["plot"] = config.plot;
  }

  if (config.json) {
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::printf("soak: %d orders in %.0f s (%.0f orders/s), %d connections, at most %d in flight, durability %s\n",
              config.orders, run_s, config.orders / run_s, config.connections, config.max_in_flight,
              config.durability.c_str());
  std::printf("  %10s %8s %10s %9s %9s %9s %9s\n", "orders", "time s", "orders/s", "RSS MB", "WAL MB", "SST MB",
              "data MB");
  for (const auto& m : milestones) {
    std::printf("  %10llu %8.0f %10.0f %9.0f %9.0f %9.0f %9.0f\n",
                static_cast<unsigned long long>(m["at_orders"].get<uint64_t>()), m["elapsed_s"].get<double>(),
                m["orders_per_s"].get<double>(), m["rss_mb"].get<double>(), m["wal_mb"].get<double>(),
                m["sst_mb"].get<double>(), m["data_mb"].get<double>());
  }
  std::printf("  peak RSS %.0f MB; stop (SIGTERM) %.2f s; after it WAL %.0f MB, SST %.0f MB\n", peak_rss, stop_s,
              stopped.wal_mb, stopped.sst_mb);
  std::printf("  restart: listening after %.2f s, GET /health 200 after %.2f s (RSS %.0f MB)\n", listening_s,
              restart_s, restart_rss);
  std::printf("  CSV: %s%s%s\n", config.csv.c_str(), config.plot.empty() ? "" : ", plot: ", config.plot.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"soak_bench: memory, disk and restart time of ordersd over a long order load"};
  Config config;
  add_load_options(app, config);
  app.add_option("--max-in-flight", config.max_in_flight, "orders placed and not yet settled, at most")
      ->capture_default_str()
      ->check(CLI::Range(1, 1'000'000));
  app.add_option("--rate", config.rate, "orders/s at most; 0 = as the in-flight bound allows")->capture_default_str();
  app.add_option("--cache-mb", config.cache_mb, "the server's --cache-mb; 0 = its default")->capture_default_str();
  app.add_option("--csv", config.csv, "where the per-second rows go")->capture_default_str();
  app.add_option("--plot", config.plot, "render the CSV to this PNG with bench/soak_plot.sh");
  app.add_option("--keep-data", config.keep_data, "an empty directory for the data, kept afterwards");
  parse_or_exit(app, argc, argv);
  if (config.quick && app.count("--orders") == 0) config.orders = 20'000;
  try {
    return run_soak(config);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "soak_bench: %s\n", e.what());
    return 1;
  }
}
