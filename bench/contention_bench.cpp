// Contention: deposits into a few hot wallets while orders for the same
// customers go through the saga, against the same number of clients
// depositing into wallets of their own (the reference, measured in the same
// run on the same server). Counts every answer that is not a success (a 409
// "kept changing" was the symptom), the components that failed or restarted,
// and how long the orders take to settle once the load stops.
//
//   contention_bench [--clients 32] [--hot 2] [--deposits 8000] [--placers 4]
//                    [--orders 2000] [--durability fsync|async] [--json]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "http_load.h"
#include "load_options.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

using namespace ordersd::bench;
using nlohmann::json;
using ordersd::test::ServerProcess;
using ordersd::test::TempDir;

namespace {

struct Config : LoadOptions {
  int clients = 32;
  int hot = 2;
  int deposits = 8000;
  int placers = 4;
  Config() { orders = 2000; }
};

const std::vector<std::pair<std::string, std::string>> kJson = {{"Content-Type", "application/json"}};

struct Phase {
  double seconds = 0;
  int deposits = 0;
  int orders = 0;
  int refused = 0;  // answers other than 200/201
  std::map<int, int> refused_by_status;
  double deposits_per_second() const { return seconds > 0 ? deposits / seconds : 0; }
};

// `clients` threads send `deposits` deposits, client i into wallet_of(i, n);
// `placers` threads place `orders` orders for customer_of(n) at the same time.
template <typename WalletOf, typename CustomerOf>
Phase run(uint16_t port, const Config& c, int deposits, int orders, const std::string& tag, WalletOf wallet_of,
          CustomerOf customer_of) {
  Phase phase;
  std::atomic<int> next_deposit{0}, next_order{0};
  std::mutex mu;
  auto refuse = [&](int status) {
    std::lock_guard lk(mu);
    ++phase.refused;
    ++phase.refused_by_status[status];
  };
  auto start = Steady::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < c.clients; ++t) {
    threads.emplace_back([&, t] {
      HttpClient http(port);
      for (int n; (n = next_deposit.fetch_add(1)) < deposits;) {
        auto r = http.request("POST", "/customers/" + wallet_of(t, n) + "/deposits", R"({"amount_cents":100})", kJson);
        if (r.status != 200) refuse(r.status);
      }
    });
  }
  for (int t = 0; t < c.placers; ++t) {
    threads.emplace_back([&] {
      HttpClient http(port);
      for (int n; (n = next_order.fetch_add(1)) < orders;) {
        json body = {{"order_id", tag + "-" + std::to_string(n)},
                     {"customer_id", customer_of(n)},
                     {"items", {{{"sku", "sku-" + std::to_string(n % 8)}, {"quantity", 1}, {"unit_price_cents", 50}}}},
                     {"shipping_address", {{"country", "NL"}, {"city", "A"}, {"line1", "x"}, {"postal_code", "1"}}}};
        auto r = http.request("POST", "/orders", body.dump(), kJson);
        if (r.status != 201) refuse(r.status);
      }
    });
  }
  for (auto& t : threads) t.join();
  phase.seconds = seconds_between(start, Steady::now());
  phase.deposits = deposits;
  phase.orders = orders;
  return phase;
}

// Seconds until every order of `tag` is shipment_initiated or cancelled.
double settle(uint16_t port, const std::string& tag, int orders) {
  HttpClient http(port);
  auto start = Steady::now();
  for (int n = 0; n < orders;) {
    auto r = http.get("/orders/" + tag + "-" + std::to_string(n) + "/state");
    std::string status = r.status == 200 ? json::parse(r.body).value("status", "") : "";
    if (status == "shipment_initiated" || status == "cancelled") {
      ++n;
      continue;
    }
    if (seconds_between(start, Steady::now()) > 300) fail("orders did not settle within 300 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a condition only HTTP shows
  }
  return seconds_between(start, Steady::now());
}

struct Components {
  int failed = 0, restarting = 0;
  uint64_t restarts = 0;
};

Components components(uint16_t port) {
  HttpClient http(port);
  json all = json::parse(http.get("/admin/components").body);
  Components c;
  for (const auto& x : all["components"]) {
    if (x["state"] == "failed") ++c.failed;
    if (x["state"] == "restarting") ++c.restarting;
    c.restarts += x["restarts"].get<uint64_t>();
  }
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  CLI::App app{"Deposits into hot wallets while orders flow, against deposits into wallets of their own"};
  app.add_option("--clients", c.clients, "depositing clients")->capture_default_str()->check(CLI::Range(1, 512));
  app.add_option("--hot", c.hot, "hot wallets the clients share")->capture_default_str()->check(CLI::Range(1, 64));
  app.add_option("--deposits", c.deposits, "deposits per phase")->capture_default_str()->check(CLI::Range(1, 10'000'000));
  app.add_option("--placers", c.placers, "clients placing orders for the hot customers")->capture_default_str();
  add_load_options(app, c);
  app.remove_option(app.get_option("--connections"));  // its clients are --clients and --placers
  parse_or_exit(app, argc, argv);
  if (c.quick) {
    c.deposits = std::min(c.deposits, 1600);
    c.orders = std::min(c.orders, 400);
  }
  try {
    TempDir dir;
    ServerProcess server(dir.sub("data"), {"--durability", c.durability});
    {
      HttpClient http(server.port);
      for (int s = 0; s < 8; ++s) {
        http.request("POST", "/inventory/sku-" + std::to_string(s) + "/restock", R"({"quantity":1000000000})", kJson);
      }
    }
    // The reference: each client deposits into a wallet of its own, orders spread over as many customers.
    Phase spread = run(
        server.port, c, c.deposits, c.orders, "spread", [](int t, int) { return "own-" + std::to_string(t); },
        [&](int n) { return "own-" + std::to_string(n % c.clients); });
    double spread_settle = settle(server.port, "spread", c.orders);
    // Contended: every client deposits into the same few wallets, orders for those customers.
    Phase hot = run(
        server.port, c, c.deposits, c.orders, "hot", [&](int t, int n) { return "hot-" + std::to_string((t + n) % c.hot); },
        [&](int n) { return "hot-" + std::to_string(n % c.hot); });
    double hot_settle = settle(server.port, "hot", c.orders);
    Components after = components(server.port);
    std::string turn_waits;
    {
      HttpClient http(server.port);
      std::string metrics = http.get("/metrics").body;
      auto at = metrics.find("\nordersd_stream_turn_waits_total ");
      if (at != std::string::npos) turn_waits = metrics.substr(at + 33, metrics.find('\n', at + 1) - at - 33);
    }
    server.stop();

    double ratio = spread.deposits_per_second() > 0 ? hot.deposits_per_second() / spread.deposits_per_second() : 0;
    if (c.json) {
      json out = {{"clients", c.clients},
                  {"hot_wallets", c.hot},
                  {"durability", c.durability},
                  {"spread", {{"deposits_per_s", spread.deposits_per_second()}, {"refused", spread.refused},
                              {"settle_s", spread_settle}}},
                  {"hot", {{"deposits_per_s", hot.deposits_per_second()}, {"refused", hot.refused},
                           {"settle_s", hot_settle}}},
                  {"ratio_hot_to_spread", ratio},
                  {"components_failed", after.failed},
                  {"components_restarting", after.restarting},
                  {"component_restarts", after.restarts},
                  {"turn_waits", turn_waits}};
      std::printf("%s\n", out.dump(2).c_str());
    } else {
      std::printf("%d clients, %d deposits and %d orders per phase, durability %s\n", c.clients, c.deposits, c.orders,
                  c.durability.c_str());
      std::printf("  spread over %d wallets: %8.0f deposits/s, %d refused, orders settled %.2f s after the load\n",
                  c.clients, spread.deposits_per_second(), spread.refused, spread_settle);
      std::printf("  into %d hot wallets:    %8.0f deposits/s, %d refused, orders settled %.2f s after the load\n",
                  c.hot, hot.deposits_per_second(), hot.refused, hot_settle);
      for (const auto& [status, n] : hot.refused_by_status) std::printf("    %d answered %d\n", n, status);
      std::printf("  hot / spread deposit rate: %.2f\n", ratio);
      std::printf("  components failed %d, restarting %d, restarts %llu; writes that queued for a turn: %s\n",
                  after.failed, after.restarting, static_cast<unsigned long long>(after.restarts), turn_waits.c_str());
    }
    return hot.refused == 0 && spread.refused == 0 && after.failed == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "contention_bench: %s\n", e.what());
    return 1;
  }
}
