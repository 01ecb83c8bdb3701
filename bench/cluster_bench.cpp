// cluster_bench: orders carried end to end by the five services as separate
// processes over NATS JetStream and over RabbitMQ streams, against the same
// load on one embedded process, in one run.
//
// Embedded (the reference): a fresh `ordersd serve` (every role, no broker);
//   K customers get money and S skus stock, then N orders are placed over C
//   keep-alive connections (closed loop) and /metrics is polled until
//   every saga has ended. orders/s = N / (first order sent -> last saga ended).
// Cluster (for each --broker): a private nats-server or rabbitmq-server and
//   `ordersd serve --roles X --bus ...` for
//   order, payment, inventory, shipping and query, each with its own data
//   directory. Money goes in at payment, stock at inventory, orders at
//   order; the same N orders, timed the same way at the order service.
//   Meanwhile /health of every service is read every 50 ms:
//     relay publish rate = messages the four writing services' relays had
//       acknowledged by the broker at the end / the time;
//     query consumer lag = messages published so far - messages the query
//       service has copied in (it copies every kind), p50/p99/max over the
//       samples taken during the load;
//   and once every saga has ended, how long until the query service has
//   copied everything (its lag 0) and its views have applied it.
//   Each process's CPU (user + system, from /proc/<pid>/stat) over the same
//   time as the orders/s, in cores: the broker and each service.
// Ratio = cluster orders/s / embedded orders/s.
//
// With --shards N (NATS only) order and payment run as N processes each
//   (--shard I/N, the shard map in --peers): each deposit goes to the
//   payment shard of its customer and each order to the order shard of its
//   id, directly (the load tool follows no redirects), the C connections
//   shared among the order shards; sagas ended and messages published are
//   summed over the shards.
//
// Usage: cluster_bench [--broker nats|rabbitmq]... [--brokers 1|3] [--shards N] [--orders N] [--connections C]
//                      [--durability fsync|async] [--quick] [--json]   (no --broker: both; --brokers 3: NATS as
//                      a three-node cluster, the stream at 3 replicas)

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "bus/shards.h"
#include "support/http_client.h"
#include "events/event_log.h"
#include "support/nats_server.h"
#include "support/rabbitmq_server.h"
#include "support/server_process.h"
#include "support/temp_dir.h"
#include "http_load.h"
#include "load_options.h"

namespace {

using namespace ordersd;
using namespace ordersd::test;
using namespace ordersd::bench;
using Json = nlohmann::json;

constexpr auto kPollEvery = std::chrono::milliseconds(20);
constexpr auto kSampleEvery = std::chrono::milliseconds(50);
constexpr auto kStallLimit = std::chrono::seconds(120);

struct Config : LoadOptions {
  Config() {
    orders = 5000;
    connections = 16;
  }
  std::vector<std::string> brokers;  // "nats", "rabbitmq"; empty: both
  int shards = 1;                     // of order and payment each
};

uint64_t sagas_ended(HttpClient& client) {
  HttpResponse res = client.get("/metrics");
  if (res.status != 200) fail("GET /metrics answered " + std::to_string(res.status));
  uint64_t ended = 0;
  size_t at = 0;
  while (at < res.body.size()) {
    size_t end = res.body.find('\n', at);
    if (end == std::string::npos) end = res.body.size();
    std::string_view line(res.body.data() + at, end - at);
    if (line.starts_with("ordersd_sagas_shipped_total ") || line.starts_with("ordersd_sagas_cancelled_total ")) {
      ended += std::stoull(std::string(line.substr(line.rfind(' ') + 1)));
    }
    at = end + 1;
  }
  return ended;
}

Steady::time_point wait_ended(HttpClient& client, uint64_t orders) {
  auto deadline = Steady::now() + kStallLimit;
  while (sagas_ended(client) < orders) {
    if (Steady::now() > deadline) fail("the sagas never all ended");
    std::this_thread::sleep_for(kPollEvery);
  }
  return Steady::now();
}

Json health(uint16_t port) {
  HttpClient client(port);
  HttpResponse res = client.get("/health");
  if (res.status != 200) fail("GET /health answered " + std::to_string(res.status));
  return Json::parse(res.body);
}

struct Run {
  double seconds = 0;  // first order sent -> last saga ended
  double place_seconds = 0;
  // The embedded run's log, per order placed (the setup's deposits and
  // restocks included): events, their envelopes' bytes (what a relay puts
  // on the wire for each, before the broker's own framing), and the data
  // directory's bytes on disk once the server has stopped.
  double events_per_order = 0;
  double envelope_bytes_per_order = 0;
  double disk_bytes_per_order = 0;
  double orders_per_s(int n) const { return seconds > 0 ? n / seconds : 0; }
};

Run run_embedded(const Config& config) {
  TempDir dir;
  ServerProcess server(dir.path(), {"--durability", config.durability});
  fund_and_stock(server.port);
  HttpClient observer(server.port);
  LoadResult load = run_load(server.port, config.connections, config.orders, 201, place_order);
  Steady::time_point ended = wait_ended(observer, static_cast<uint64_t>(config.orders));
  Run run;
  run.seconds = seconds_between(load.start, ended);
  run.place_seconds = load.seconds();
  if (int rc = server.stop(); rc != 0) fail("the server exited with " + std::to_string(rc));
  events::EventLogOptions read_only;
  read_only.read_only = true;
  auto log = events::EventLog::open(dir.path(), read_only);
  if (!log) fail("cannot read the embedded server's log: " + log.status().to_string());
  uint64_t events = 0, envelope_bytes = 0;
  for (uint64_t from = 1;;) {
    auto batch = (*log)->read_all(from, 4096);
    if (!batch) fail("cannot read the embedded server's log: " + batch.status().to_string());
    if (batch->empty()) break;
    for (const auto& e : *batch) envelope_bytes += e.envelope_bytes().size();
    events += batch->size();
    from = batch->back().position() + 1;
  }
  log->reset();
  uint64_t disk = 0;
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir.path())) {
    if (f.is_regular_file()) disk += f.file_size();
  }
  run.events_per_order = static_cast<double>(events) / config.orders;
  run.envelope_bytes_per_order = static_cast<double>(envelope_bytes) / config.orders;
  run.disk_bytes_per_order = static_cast<double>(disk) / config.orders;
  return run;
}

// CPU time (user + system) of a whole process so far, from /proc/<pid>/stat.
double process_cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command's closing parenthesis: state is field 3, utime 14, stime 15.
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int n = 3; rest >> field; ++n) {
    if (n == 14) utime = std::stod(field);
    if (n == 15) {
      stime = std::stod(field);
      break;
    }
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct ClusterRun : Run {
  std::vector<std::pair<std::string, double>> cores;  // each process's CPU over the load / its time
  uint64_t published = 0;
  std::vector<uint64_t> query_lag;  // messages, one per sample during the load
  double query_caught_up_s = 0;     // last saga ended -> the query service copied and applied everything
};

// A private broker of either kind: its URL and its processes (for their CPU).
// "nats3" is a JetStream cluster of three nodes, the stream at 3 replicas.
struct Broker {
  std::unique_ptr<NatsServer> nats;
  std::unique_ptr<NatsCluster> nats_cluster;
  std::unique_ptr<RabbitMqServer> rabbitmq;
  explicit Broker(const std::string& kind) {
    if (kind == "nats") nats = std::make_unique<NatsServer>();
    else if (kind == "nats3") nats_cluster = std::make_unique<NatsCluster>(3);
    else rabbitmq = std::make_unique<RabbitMqServer>();
  }
  std::string url() const { return nats ? nats->url() : nats_cluster ? nats_cluster->url() : rabbitmq->url(); }
  std::vector<std::pair<std::string, pid_t>> processes() const {
    if (nats) return {{"nats-server", nats->pid()}};
    if (rabbitmq) return {{"rabbitmq-server", rabbitmq->pid()}};
    std::vector<std::pair<std::string, pid_t>> out;
    for (int i = 0; i < nats_cluster->size(); ++i) out.emplace_back("nats-" + std::to_string(i + 1), nats_cluster->node(i).pid());
    return out;
  }
};

// "NATS JetStream" or "RabbitMQ streams".
std::string broker_title(const std::string& kind) {
  if (kind == "nats") return "NATS JetStream";
  if (kind == "nats3") return "3 NATS nodes (R3)";
  return "RabbitMQ streams";
}

// "five processes over NATS JetStream", "2 shards each of order and payment over ..."
std::string deployment_title(const std::string& kind, int shards) {
  std::string who = shards > 1 ? std::to_string(shards) + " shards each of order and payment" : "five processes";
  return who + " over " + broker_title(kind);
}

// The services of a deployment by name ("order-1" for a shard), each with
// its role and, for a shard, its index.
struct Service {
  std::string name, role;
  int shard = -1;
};

std::vector<Service> services_of(int shards) {
  std::vector<Service> out;
  for (const std::string role : {"order", "payment", "inventory", "shipping", "query"}) {
    bool sharded = shards > 1 && (role == "order" || role == "payment");
    for (int i = 0; i < (sharded ? shards : 1); ++i) out.push_back({sharded ? role + "-" + std::to_string(i) : role, role, sharded ? i : -1});
  }
  return out;
}

// run_load of `count` requests spread over the shards of a role: request n
// goes to the shard that owns key(n), each shard with its share of the
// connections, all at once. The start is the earliest shard's.
template <typename Key, typename Make>
LoadResult run_sharded_load(const std::vector<uint16_t>& ports, int connections, int count, int expected_status, Key key,
                            Make make) {
  const auto shards = static_cast<uint32_t>(ports.size());
  std::vector<std::vector<int>> owned(shards);
  for (int n = 0; n < count; ++n) owned[bus::shard_of(key(n), shards)].push_back(n);
  std::vector<LoadResult> results(shards);
  std::vector<std::thread> threads;
  std::exception_ptr failure;
  std::mutex mu;
  for (uint32_t i = 0; i < shards; ++i) {
    threads.emplace_back([&, i] {
      try {
        results[i] = run_load(ports[i], std::max(1, connections / static_cast<int>(shards)),
                              static_cast<int>(owned[i].size()), expected_status,
                              [&, i](int k) { return make(owned[i][static_cast<size_t>(k)]); });
      } catch (...) {
        std::lock_guard lk(mu);
        failure = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  if (failure) std::rethrow_exception(failure);
  LoadResult out = results[0];
  for (const auto& r : results) {
    out.start = std::min(out.start, r.start);
    out.end = std::max(out.end, r.end);
  }
  return out;
}

ClusterRun run_cluster(const Config& config, const std::string& broker_kind) {
  Broker nats(broker_kind);
  TempDir dir;
  const std::vector<Service> services = services_of(config.shards);
  std::map<std::string, uint16_t> ports;
  std::string peers;
  for (const auto& v : services) {
    ports[v.name] = free_port();
    peers += (peers.empty() ? "" : ",") + (v.shard < 0 ? v.role : v.role + "/" + std::to_string(v.shard)) +
             "=http://127.0.0.1:" + std::to_string(ports[v.name]);
  }
  std::map<std::string, std::unique_ptr<ServerProcess>> s;
  for (const auto& v : services) {
    std::vector<std::string> args = {"--roles", v.role, "--bus", nats.url(), "--durability", config.durability,
                                     "--listen", "127.0.0.1:" + std::to_string(ports[v.name]), "--peers", peers};
    if (v.shard >= 0) args.insert(args.end(), {"--shard", std::to_string(v.shard) + "/" + std::to_string(config.shards)});
    s[v.name] = std::make_unique<ServerProcess>(dir.sub(v.name), args);
  }
  auto ports_of = [&](const std::string& role) {
    std::vector<uint16_t> out;
    for (const auto& v : services) {
      if (v.role == role) out.push_back(s[v.name]->port);
    }
    return out;
  };
  auto customer = [](int n) { return "c-" + std::to_string(n); };
  run_sharded_load(ports_of("payment"), kSetupConnections, kCustomers, 200, customer, [&](int n) -> Request {
    return {"POST", "/customers/" + customer(n) + "/deposits", "{\"amount_cents\":" + std::to_string(kDepositCents) + "}"};
  });
  run_load(s["inventory"]->port, kSetupConnections, kSkus, 200, [](int n) -> Request {
    return {"POST", "/inventory/s-" + std::to_string(n) + "/restock", "{\"quantity\":" + std::to_string(kRestockQuantity) + "}"};
  });
  auto published = [&] {
    uint64_t n = 0;
    for (const auto& v : services) {
      if (v.role != "query") n += health(s[v.name]->port)["bus"]["published"].get<uint64_t>();
    }
    return n;
  };
  auto query_imported = [&] { return health(s["query"]->port)["bus"]["imported"].get<uint64_t>(); };
  // The setup's messages reach the query service before the clock starts.
  for (auto deadline = Steady::now() + kStallLimit; query_imported() < published();) {
    if (Steady::now() > deadline) fail("the query service never copied the setup");
    std::this_thread::sleep_for(kPollEvery);
  }
  uint64_t published_before = published();

  ClusterRun run;
  std::vector<std::pair<std::string, pid_t>> pids = nats.processes();
  for (const auto& v : services) pids.emplace_back(v.name, s[v.name]->process.pid());
  std::vector<double> cpu_before;
  for (const auto& [name, pid] : pids) cpu_before.push_back(process_cpu_seconds(pid));
  std::atomic<bool> loading{true};
  std::thread sampler([&] {
    while (loading.load()) {
      uint64_t p = published(), i = query_imported();
      run.query_lag.push_back(p > i ? p - i : 0);
      std::this_thread::sleep_for(kSampleEvery);
    }
  });
  LoadResult load;
  Steady::time_point ended;
  try {
    load = run_sharded_load(ports_of("order"), config.connections, config.orders, 201, order_id, place_order);
    std::vector<std::unique_ptr<HttpClient>> observers;
    for (uint16_t port : ports_of("order")) observers.push_back(std::make_unique<HttpClient>(port));
    for (auto deadline = Steady::now() + kStallLimit;;) {
      uint64_t n = 0;
      for (auto& o : observers) n += sagas_ended(*o);
      if (n >= static_cast<uint64_t>(config.orders)) break;
      if (Steady::now() > deadline) fail("the sagas never all ended");
      std::this_thread::sleep_for(kPollEvery);
    }
    ended = Steady::now();
  } catch (...) {
    loading = false;
    sampler.join();
    throw;
  }
  loading = false;
  sampler.join();
  run.seconds = seconds_between(load.start, ended);
  run.place_seconds = load.seconds();
  for (size_t i = 0; i < pids.size(); ++i) {
    run.cores.emplace_back(pids[i].first, (process_cpu_seconds(pids[i].second) - cpu_before[i]) / run.seconds);
  }
  run.published = published() - published_before;
  for (auto deadline = Steady::now() + kStallLimit;;) {
    Json q = health(s["query"]->port);
    uint64_t lag = 0;
    for (const auto& v : q["views"]) lag = std::max(lag, v["lag"].get<uint64_t>());
    if (q["bus"]["imported"].get<uint64_t>() >= published() && lag == 0) break;
    if (Steady::now() > deadline) fail("the query service never caught up");
    std::this_thread::sleep_for(kPollEvery);
  }
  run.query_caught_up_s = seconds_between(ended, Steady::now());
  for (const auto& v : services) {
    if (int rc = s[v.name]->stop(); rc != 0) fail("the " + v.name + " service exited with " + std::to_string(rc));
  }
  return run;
}

Config parse(int argc, char** argv) {
  Config config;
  CLI::App app{"cluster_bench: five services over NATS JetStream and RabbitMQ against one embedded process"};
  add_load_options(app, config);
  app.add_option("--broker", config.brokers, "nats or rabbitmq (repeatable; default both)")
      ->check(CLI::IsMember({"nats", "rabbitmq"}));
  int broker_nodes = 1;
  app.add_option("--brokers", broker_nodes, "NATS nodes: 1, or 3 (a JetStream cluster, the stream at 3 replicas)")
      ->check(CLI::IsMember({1, 3}));
  app.add_option("--shards", config.shards, "order and payment as this many shards each (NATS only)")
      ->check(CLI::Range(1, 8));
  parse_or_exit(app, argc, argv);
  if (config.shards > 1) {
    if (app.count("--broker") && std::find(config.brokers.begin(), config.brokers.end(), "rabbitmq") != config.brokers.end()) {
      std::fprintf(stderr, "cluster_bench: --shards needs NATS (routes are subjects)\n");
      std::exit(2);
    }
    config.brokers = {"nats"};
  }
  if (config.brokers.empty()) config.brokers = {"nats", "rabbitmq"};
  if (broker_nodes == 3) {
    for (auto& b : config.brokers) {
      if (b == "nats") b = "nats3";
    }
  }
  if (config.quick && app.count("--orders") == 0) config.orders = 1000;
  return config;
}

Json cluster_json(const ClusterRun& cluster, const Config& config, double embedded_per_s) {
  double publish_rate = cluster.seconds > 0 ? static_cast<double>(cluster.published) / cluster.seconds : 0;
  Json cores = Json::object();
  for (const auto& [name, c] : cluster.cores) cores[name] = c;
  return {{"orders_per_s", cluster.orders_per_s(config.orders)},
          {"seconds", cluster.seconds},
          {"published", cluster.published},
          {"publish_per_s", publish_rate},
          {"query_lag",
           {{"p50", percentile(cluster.query_lag, 0.5)},
            {"p99", percentile(cluster.query_lag, 0.99)},
            {"max", cluster.query_lag.empty() ? 0 : *std::max_element(cluster.query_lag.begin(), cluster.query_lag.end())}}},
          {"query_caught_up_s", cluster.query_caught_up_s},
          {"cpu_cores", cores},
          {"ratio", cluster.orders_per_s(config.orders) / embedded_per_s}};
}

void print_cluster(const std::string& kind, int shards, const ClusterRun& cluster) {
  double publish_rate = cluster.seconds > 0 ? static_cast<double>(cluster.published) / cluster.seconds : 0;
  std::printf("\n  %s:\n", deployment_title(kind, shards).c_str());
  std::printf("    relays: %llu messages confirmed by the broker, %.0f/s\n",
              static_cast<unsigned long long>(cluster.published), publish_rate);
  std::printf("    query consumer lag during the load (%zu samples): p50 %.0f, p99 %.0f, max %.0f messages\n",
              cluster.query_lag.size(), percentile(cluster.query_lag, 0.5), percentile(cluster.query_lag, 0.99),
              cluster.query_lag.empty() ? 0.0
                                        : static_cast<double>(*std::max_element(cluster.query_lag.begin(), cluster.query_lag.end())));
  std::printf("    after the last saga ended, the query service had copied and applied everything in %.2f s\n",
              cluster.query_caught_up_s);
  std::printf("    CPU over the load, cores (of %ld):", sysconf(_SC_NPROCESSORS_ONLN));
  double total = 0;
  for (const auto& [name, c] : cluster.cores) {
    std::printf(" %s %.2f", name.c_str(), c);
    total += c;
  }
  std::printf("; all %.2f\n", total);
}

}  // namespace

int main(int argc, char** argv) {
  Config config = parse(argc, argv);
  try {
    if (!config.json) std::fprintf(stderr, "embedded: %d orders end to end...\n", config.orders);
    Run embedded = run_embedded(config);
    std::vector<std::pair<std::string, ClusterRun>> clusters;
    for (const auto& kind : config.brokers) {
      if (!config.json) std::fprintf(stderr, "%s: the same %d orders...\n", deployment_title(kind, config.shards).c_str(), config.orders);
      clusters.emplace_back(kind, run_cluster(config, kind));
    }
    double embedded_per_s = embedded.orders_per_s(config.orders);
    if (config.json) {
      Json out = {{"orders", config.orders},
                  {"connections", config.connections},
                  {"durability", config.durability},
                  {"embedded",
                   {{"orders_per_s", embedded_per_s},
                    {"seconds", embedded.seconds},
                    {"events_per_order", embedded.events_per_order},
                    {"envelope_bytes_per_order", embedded.envelope_bytes_per_order},
                    {"disk_bytes_per_order", embedded.disk_bytes_per_order}}}};
      for (const auto& [kind, cluster] : clusters) {
        out[config.shards > 1 ? kind + "-shards" + std::to_string(config.shards) : kind] =
            cluster_json(cluster, config, embedded_per_s);
      }
      std::cout << out.dump(2) << "\n";
      return 0;
    }
    std::printf("cluster_bench: %d orders over %d keep-alive connections, durability %s\n\n", config.orders,
                config.connections, config.durability.c_str());
    std::printf("  %-62s %12s %12s %14s %8s\n", "", "orders/s", "seconds", "placing (s)", "ratio");
    std::printf("  %-62s %12.0f %12.2f %14.2f %8s\n", "embedded (one process)", embedded_per_s, embedded.seconds,
                embedded.place_seconds, "1.00");
    for (const auto& [kind, cluster] : clusters) {
      std::printf("  %-62s %12.0f %12.2f %14.2f %8.2f\n", deployment_title(kind, config.shards).c_str(),
                  cluster.orders_per_s(config.orders), cluster.seconds, cluster.place_seconds,
                  cluster.orders_per_s(config.orders) / embedded_per_s);
    }
    std::printf("\n  per order (embedded log, setup included): %.1f events, %.0f bytes of envelopes (the wire's payload), "
                "%.0f bytes on disk\n",
                embedded.events_per_order, embedded.envelope_bytes_per_order, embedded.disk_bytes_per_order);
    for (const auto& [kind, cluster] : clusters) print_cluster(kind, config.shards, cluster);
  } catch (const std::exception& e) {
    std::cerr << "cluster_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
