// The order saga under SIGKILL: a real `ordersd serve` (default durability,
// fsync) gets a few hundred orders from several client threads while a killer
// thread SIGKILLs it at random moments and restarts it on the same data
// directory; the clients retry what failed against the new port (with
// Idempotency-Keys, so a retried command is applied once). Once the last
// server is quiet (every participant caught up, no saga running, every order
// final) the test checks that money and stock are conserved and that every
// order ended where its inputs say it must:
//
//   ship       rich customer, plentiful skus, served country  -> shipment_initiated
//   declined   customer with too little money                  -> cancelled payment_declined
//   tight      customer whose deposit pays for only some of 5  -> those ship, the rest payment_declined
//   racing     several orders for the last units of a sku      -> at most restocked/quantity ship, the rest out_of_stock
//   oos        a line no stock can fill, beside a plentiful one -> cancelled out_of_stock, nothing held
//   no_ship    country BR (not in the default --ship-to)       -> cancelled shipping_unavailable, refunded, released
//   cancel     a cancel sent right after placing, or after the -> customer_cancelled, or shipment_initiated if the
//              client placed one or two more orders               saga got there first
//
// Meanwhile hammer threads deposit into three of the rich customers' wallets
// and restock three of the plentiful skus, the same few streams the orders
// charge and reserve: every one of those commands must succeed (no refusal
// for contention), no component may be left failed, and the money and stock
// sums include them.
//
// Then one more SIGKILL at quiet: the restarted server must append nothing.
//
// The order mix comes from SAGA_CRASH_MIX_SEED (fixed by default); the kill
// schedule from SAGA_CRASH_KILL_SEED (random by default); both are printed.
// With SAGA_CRASH_DATA=/some/new/dir the data directory is kept for a look
// with `ordersd events --data`.
#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/http_client.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

using nlohmann::json;
using ordersd::test::HttpClient;
using ordersd::test::HttpResponse;
using ordersd::test::ServerProcess;
using ordersd::test::TempDir;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Headers = std::vector<std::pair<std::string, std::string>>;

namespace {

// --- the server, killed and restarted ---------------------------------------------

// Owns the running `ordersd serve` and restarts it on the same directory.
// Clients ask for the current port and generation; after a failed request
// they wait for a newer generation (or a short while, for any other failure).
class Supervisor {
 public:
  Supervisor(std::string data_dir, std::vector<std::string> args)
      : data_dir_(std::move(data_dir)), args_(std::move(args)) {
    start();
  }
  ~Supervisor() {
    if (instance_) kill_instance();
  }

  struct Endpoint {
    uint16_t port;
    uint64_t generation;
  };

  // The running server; waits while one is being restarted.
  Endpoint current() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return up_ || !failure_.empty(); });
    if (!failure_.empty()) throw std::runtime_error("the server could not be restarted: " + failure_);
    return {port_, generation_};
  }

  // Returns once a server newer than `generation` is up, or after `timeout`.
  void wait_newer_than(uint64_t generation, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return (up_ && generation_ > generation) || !failure_.empty(); });
  }

  void kill_and_restart() {
    {
      std::lock_guard lock(mu_);
      up_ = false;
    }
    kill_instance();
    try {
      start();
    } catch (const std::exception& e) {
      std::lock_guard lock(mu_);
      failure_ = e.what();
      cv_.notify_all();
      throw;
    }
  }

  // SIGTERM; the exit code.
  int stop() {
    {
      std::lock_guard lock(mu_);
      up_ = false;
    }
    int code = instance_->server->stop();
    instance_->err_reader.join();
    logs_.push_back(std::move(instance_->err));
    instance_.reset();
    return code;
  }

  uint64_t kills() const { return kills_; }
  // What every server instance wrote on stderr, numbered by generation.
  std::string stderr_logs() const {
    std::string out;
    for (size_t i = 0; i < logs_.size(); ++i) out += "--- server " + std::to_string(i + 1) + " ---\n" + logs_[i];
    return out;
  }

 private:
  struct Instance {
    std::unique_ptr<ServerProcess> server;
    std::thread err_reader;  // drains stderr so the server never blocks on it
    std::string err;
  };

  void start() {
    auto instance = std::make_unique<Instance>();
    instance->server = std::make_unique<ServerProcess>(data_dir_, args_);
    Instance* raw = instance.get();
    instance->err_reader = std::thread([raw] { raw->err = raw->server->process.read_all_stderr(); });
    uint16_t port = instance->server->port;
    instance_ = std::move(instance);
    std::lock_guard lock(mu_);
    port_ = port;
    ++generation_;
    up_ = true;
    cv_.notify_all();
  }

  void kill_instance() {
    instance_->server->process.signal(SIGKILL);
    instance_->server->process.wait();
    instance_->err_reader.join();
    logs_.push_back(std::move(instance_->err) + "[SIGKILL]\n");
    instance_.reset();
    ++kills_;
  }

  const std::string data_dir_;
  const std::vector<std::string> args_;
  std::unique_ptr<Instance> instance_;  // the killer's (or the main thread's) only
  std::vector<std::string> logs_;
  uint64_t kills_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  bool up_ = false;
  uint16_t port_ = 0;
  uint64_t generation_ = 0;
  std::string failure_;
};

// One keep-alive connection to whichever server is up; a request that fails
// on the wire is sent again (to the restarted server) until it gets an answer.
class Client {
 public:
  explicit Client(Supervisor& supervisor) : supervisor_(supervisor) {}

  HttpResponse call(const std::string& method, const std::string& target, const std::string& body = "",
                    const Headers& headers = {}) {
    for (int attempt = 1;; ++attempt) {
      if (attempt > kMaxAttempts) {
        throw std::runtime_error(method + " " + target + ": no answer after " + std::to_string(kMaxAttempts) +
                                 " attempts");
      }
      Supervisor::Endpoint endpoint = supervisor_.current();
      try {
        if (!connection_ || generation_ != endpoint.generation) {
          connection_.reset();
          connection_ = std::make_unique<HttpClient>(endpoint.port);
          generation_ = endpoint.generation;
        }
        HttpResponse r = connection_->request(method, target, body, headers);
        if (r.status >= 500) {
          // Never expected: kept as evidence, then retried.
          server_errors.push_back(method + " " + target + " -> " + std::to_string(r.status) + " " + r.body);
          supervisor_.wait_newer_than(endpoint.generation, 50ms);
          continue;
        }
        if (r.status == 409 && r.body.find("retry it") != std::string::npos) {
          ++contention_retries;  // the order kept changing under a cancel: the server says retry
          continue;
        }
        if (r.header("idempotent-replayed") == "true") ++replays;
        return r;
      } catch (const std::exception&) {
        // Killed under the request, or not up yet: the answer is unknown, so
        // ask again (the Idempotency-Key makes that harmless).
        connection_.reset();
        ++wire_retries;
        supervisor_.wait_newer_than(endpoint.generation, 2s);
      }
    }
  }

  json get_json(const std::string& target) {
    HttpResponse r = call("GET", target);
    if (r.status != 200) throw std::runtime_error("GET " + target + " -> " + std::to_string(r.status) + " " + r.body);
    return json::parse(r.body);
  }

  uint64_t wire_retries = 0;
  uint64_t contention_retries = 0;
  uint64_t replays = 0;  // answers replayed for an Idempotency-Key: the first try had committed
  std::vector<std::string> server_errors;

 private:
  static constexpr int kMaxAttempts = 300;
  Supervisor& supervisor_;
  std::unique_ptr<HttpClient> connection_;
  uint64_t generation_ = 0;
};

// --- the order mix ---------------------------------------------------------------

enum class Kind { kShip, kDeclined, kTight, kRacing, kOutOfStock, kNoShipping, kCancel };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kShip: return "ship";
    case Kind::kDeclined: return "declined";
    case Kind::kTight: return "tight";
    case Kind::kRacing: return "racing";
    case Kind::kOutOfStock: return "oos";
    case Kind::kNoShipping: return "no_ship";
    case Kind::kCancel: return "cancel";
  }
  return "?";
}

struct Line {
  std::string sku;
  uint64_t quantity;
  uint64_t unit_price_cents;
};

struct OrderSpec {
  std::string id;
  Kind kind;
  std::string customer;
  std::vector<Line> lines;
  std::string country;
  bool cancel = false;
  int cancel_after = 0;  // the client's placements between this one and its cancel

  // What the clients saw.
  int place_status = 0;
  int cancel_status = 0;
  std::string cancel_detail;

  uint64_t total() const {
    uint64_t t = 0;
    for (const auto& l : lines) t += l.quantity * l.unit_price_cents;
    return t;
  }
  std::string body() const {
    json items = json::array();
    for (const auto& l : lines) {
      items.push_back({{"sku", l.sku}, {"quantity", l.quantity}, {"unit_price_cents", l.unit_price_cents}});
    }
    return json{{"order_id", id},
                {"customer_id", customer},
                {"items", items},
                {"shipping_address", {{"country", country}, {"city", "A"}, {"line1", "x"}, {"postal_code", "1"}}}}
        .dump();
  }
};

struct RacingSku {
  std::string sku;
  uint64_t restocked;
  uint64_t quantity;  // every racing order for it asks this many
  uint64_t orders;
  uint64_t can_ship() const { return std::min(orders, restocked / quantity); }
};

struct Plan {
  std::map<std::string, uint64_t> deposits;   // customer -> cents
  std::map<std::string, uint64_t> restocks;   // sku -> units
  std::vector<RacingSku> racing;
  std::map<std::string, uint64_t> tight_can_pay;  // customer -> orders its deposit pays for
  std::vector<OrderSpec> orders;
};

constexpr uint64_t kRichDeposit = 1'000'000'000;
constexpr uint64_t kPoorDeposit = 500;
const std::vector<std::string> kServed = {"US", "CA", "GB", "DE", "FR", "NL", "SE", "JP", "AU"};

Plan make_plan(uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto pick = [&](uint64_t lo, uint64_t hi) { return std::uniform_int_distribution<uint64_t>(lo, hi)(rng); };
  Plan plan;
  const int kRich = 10, kPoor = 6, kTight = 4, kPlentiful = 6;
  for (int i = 0; i < kRich; ++i) plan.deposits["c-rich-" + std::to_string(i)] = kRichDeposit;
  for (int i = 0; i < kPoor; ++i) plan.deposits["c-poor-" + std::to_string(i)] = kPoorDeposit;
  for (int i = 0; i < kPlentiful; ++i) plan.restocks["p-" + std::to_string(i)] = 100'000;
  plan.restocks["z-0"] = 1;  // the oos orders ask for 2
  plan.racing = {{"r-0", 5, 1, 8}, {"r-1", 7, 2, 8}, {"r-2", 3, 1, 8}, {"r-3", 10, 3, 8}, {"r-4", 6, 2, 8}};
  for (const auto& r : plan.racing) plan.restocks[r.sku] = r.restocked;

  int next_id = 0;
  auto rich = [&] { return "c-rich-" + std::to_string(pick(0, kRich - 1)); };
  auto served = [&] { return kServed[pick(0, kServed.size() - 1)]; };
  auto plentiful_lines = [&](uint64_t max_lines) {
    std::vector<int> skus(kPlentiful);
    for (int i = 0; i < kPlentiful; ++i) skus[i] = i;
    std::shuffle(skus.begin(), skus.end(), rng);
    std::vector<Line> lines;
    uint64_t n = pick(1, max_lines);
    for (uint64_t i = 0; i < n; ++i) lines.push_back({"p-" + std::to_string(skus[i]), pick(1, 3), pick(100, 5000)});
    return lines;
  };
  auto add = [&](Kind kind, std::string customer, std::vector<Line> lines, std::string country, bool cancel = false) {
    OrderSpec o;
    o.id = "o-" + std::to_string(++next_id);
    o.kind = kind;
    o.customer = std::move(customer);
    o.lines = std::move(lines);
    o.country = std::move(country);
    o.cancel = cancel;
    plan.orders.push_back(std::move(o));
  };

  for (int i = 0; i < 125; ++i) add(Kind::kShip, rich(), plentiful_lines(3), served());
  for (int i = 0; i < 30; ++i) {
    // At least 1000 cents against a 500-cent wallet.
    add(Kind::kDeclined, "c-poor-" + std::to_string(i % kPoor), {{"p-" + std::to_string(pick(0, 5)), pick(1, 3), 1000}},
        served());
  }
  for (int c = 0; c < kTight; ++c) {
    std::string customer = "c-tight-" + std::to_string(c);
    uint64_t price = 1000 + 100 * c, quantity = 2, per_order = price * quantity;
    uint64_t can_pay = 1 + c % 3;  // 1, 2, 3, 1 of 5 orders
    plan.deposits[customer] = per_order * can_pay + per_order / 2;
    plan.tight_can_pay[customer] = can_pay;
    for (int i = 0; i < 5; ++i) add(Kind::kTight, customer, {{"p-" + std::to_string(pick(0, 5)), quantity, price}}, served());
  }
  for (const auto& r : plan.racing) {
    for (uint64_t i = 0; i < r.orders; ++i) {
      std::vector<Line> lines = {{r.sku, r.quantity, 700}};
      // Half of them also want a plentiful sku: all or none must hold it too.
      if (i % 2 == 0) lines.push_back({"p-" + std::to_string(pick(0, 5)), pick(1, 3), 300});
      add(Kind::kRacing, rich(), std::move(lines), served());
    }
  }
  for (int i = 0; i < 15; ++i) {
    add(Kind::kOutOfStock, rich(), {{"p-" + std::to_string(pick(0, 5)), pick(1, 3), 250}, {"z-0", 2, 900}}, served());
  }
  for (int i = 0; i < 25; ++i) add(Kind::kNoShipping, rich(), plentiful_lines(2), "BR");
  for (int i = 0; i < 45; ++i) {
    add(Kind::kCancel, rich(), plentiful_lines(2), served(), true);
    plan.orders.back().cancel_after = i % 3;  // right away, or once the sagas had a moment to move on
  }
  return plan;
}

uint64_t seed_from_env(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::stoull(v) : fallback;
}

uint64_t metric(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(name + " ")) return static_cast<uint64_t>(std::stod(line.substr(name.size() + 1)));
  }
  throw std::runtime_error("no metric " + name);
}

bool is_final(const std::string& status) { return status == "shipment_initiated" || status == "cancelled"; }

std::string truncated(const std::string& s, size_t max = 6000) {
  return s.size() <= max ? s : s.substr(0, max) + "...(" + std::to_string(s.size() - max) + " more bytes)";
}

// --- what the server says at quiet ---------------------------------------------

struct Observed {
  json state;
  json events;  // the array
  std::map<std::string, int> count;  // event type (without .v1) -> how many
};

}  // namespace

TEST_CASE("orders reach a final, consistent outcome while the server is SIGKILLed again and again") {
  const auto test_start = Clock::now();
  const uint64_t mix_seed = seed_from_env("SAGA_CRASH_MIX_SEED", 20261126);
  const uint64_t kill_seed = seed_from_env("SAGA_CRASH_KILL_SEED", std::random_device{}());
  MESSAGE("SAGA_CRASH_MIX_SEED=" << mix_seed << " SAGA_CRASH_KILL_SEED=" << kill_seed);

  std::optional<TempDir> temp;
  std::string data_dir;
  if (const char* keep = std::getenv("SAGA_CRASH_DATA"); keep && *keep) {
    data_dir = keep;
  } else {
    temp.emplace();
    data_dir = temp->sub("data");
  }

  Plan plan = make_plan(mix_seed);
  const size_t n_orders = plan.orders.size();
  REQUIRE(n_orders == 300);

  Supervisor supervisor(data_dir, {});
  std::vector<std::string> problems;  // invariant violations, each with its evidence
  std::mutex problems_mu;
  auto problem = [&](std::string text) {
    std::lock_guard lock(problems_mu);
    problems.push_back(std::move(text));
  };

  // --- money and stock, before any order (and before any kill)
  {
    Client setup(supervisor);
    for (const auto& [customer, cents] : plan.deposits) {
      auto r = setup.call("POST", "/customers/" + customer + "/deposits", json{{"amount_cents", cents}}.dump(),
                          {{"Idempotency-Key", "deposit-" + customer}});
      REQUIRE_MESSAGE(r.status == 200, r.body);
    }
    for (const auto& [sku, units] : plan.restocks) {
      auto r = setup.call("POST", "/inventory/" + sku + "/restock", json{{"quantity", units}}.dump(),
                          {{"Idempotency-Key", "restock-" + sku}});
      REQUIRE_MESSAGE(r.status == 200, r.body);
    }
  }

  // --- clients: the orders shuffled, dealt round-robin to the threads
  constexpr size_t kClients = 4;
  std::vector<size_t> dealt(n_orders);
  for (size_t i = 0; i < n_orders; ++i) dealt[i] = i;
  std::shuffle(dealt.begin(), dealt.end(), std::mt19937_64(mix_seed ^ 0x5eed));

  std::atomic<size_t> placed{0};
  std::atomic<bool> clients_done{false};
  std::mutex progress_mu;
  std::condition_variable progress_cv;
  std::atomic<uint64_t> wire_retries{0}, contention_retries{0}, replays{0};
  std::vector<std::string> server_errors;

  // --- hammers: deposits and restocks on the streams the orders use most
  constexpr int kHammers = 6, kHammerCommands = 40;
  std::map<std::string, uint64_t> hammered_deposits, hammered_restocks;
  std::atomic<uint64_t> hammer_refusals{0};
  std::vector<std::thread> hammers;
  for (int t = 0; t < kHammers; ++t) {
    hammers.emplace_back([&, t] {
      Client client(supervisor);
      try {
        for (int i = 0; i < kHammerCommands; ++i) {
          std::string key = "hammer-" + std::to_string(t) + "-" + std::to_string(i);
          bool deposit = (t + i) % 2 == 0;
          std::string target = deposit ? "c-rich-" + std::to_string(i % 3) : "p-" + std::to_string(i % 3);
          uint64_t amount = 1 + (t * 13 + i) % 50;
          auto r = deposit ? client.call("POST", "/customers/" + target + "/deposits",
                                         json{{"amount_cents", amount}}.dump(), {{"Idempotency-Key", key}})
                           : client.call("POST", "/inventory/" + target + "/restock", json{{"quantity", amount}}.dump(),
                                         {{"Idempotency-Key", key}});
          if (r.status != 200) {
            ++hammer_refusals;
            problem(std::string(deposit ? "deposit to " : "restock of ") + target + " answered " +
                    std::to_string(r.status) + ": " + r.body);
            continue;
          }
          std::lock_guard lock(problems_mu);
          (deposit ? hammered_deposits : hammered_restocks)[target] += amount;
        }
      } catch (const std::exception& e) {
        problem(std::string("hammer ") + std::to_string(t) + " gave up: " + e.what());
      }
      wire_retries += client.wire_retries;
      contention_retries += client.contention_retries;
    });
  }

  std::vector<std::thread> clients;
  for (size_t t = 0; t < kClients; ++t) {
    clients.emplace_back([&, t] {
      Client client(supervisor);
      try {
        // Cancels waiting for this many more of the client's placements.
        std::vector<std::pair<OrderSpec*, int>> cancels;
        auto send_cancel = [&](OrderSpec& o) {
          auto c = client.call("POST", "/orders/" + o.id + "/cancel", "{}", {{"Idempotency-Key", "cancel-" + o.id}});
          o.cancel_status = c.status;
          if (c.status != 202) o.cancel_detail = c.body;
          if (c.status != 202 && c.status != 409) {
            problem("cancelling " + o.id + " answered " + std::to_string(c.status) + ": " + c.body);
          }
        };
        // One more placement for every waiting cancel; send those now due (or all).
        auto due_cancels = [&](bool all) {
          for (auto it = cancels.begin(); it != cancels.end();) {
            if (all || --it->second <= 0) {
              send_cancel(*it->first);
              it = cancels.erase(it);
            } else {
              ++it;
            }
          }
        };
        for (size_t k = t; k < n_orders; k += kClients) {
          OrderSpec& o = plan.orders[dealt[k]];
          auto r = client.call("POST", "/orders", o.body(), {{"Idempotency-Key", "place-" + o.id}});
          o.place_status = r.status;
          if (r.status != 201 && !(r.status == 409 && r.body.find("already exists") != std::string::npos)) {
            problem("placing " + o.id + " answered " + std::to_string(r.status) + ": " + r.body);
          }
          due_cancels(false);
          if (o.cancel && o.cancel_after == 0) send_cancel(o);
          if (o.cancel && o.cancel_after > 0) cancels.emplace_back(&o, o.cancel_after);
          placed.fetch_add(1);
          progress_cv.notify_all();
        }
        due_cancels(true);
      } catch (const std::exception& e) {
        problem(std::string("client ") + std::to_string(t) + " gave up: " + e.what());
      }
      wire_retries += client.wire_retries;
      contention_retries += client.contention_retries;
      replays += client.replays;
      std::lock_guard lock(problems_mu);
      server_errors.insert(server_errors.end(), client.server_errors.begin(), client.server_errors.end());
    });
  }

  // --- the killer: 3 to 5 SIGKILLs at random points of the clients' progress
  // (a few ms of jitter on top), the last one now and then right after the
  // last order is in, while its sagas are still running.
  std::mt19937_64 kill_rng(kill_seed);
  const int n_kills = static_cast<int>(std::uniform_int_distribution<int>(3, 5)(kill_rng));
  std::vector<size_t> kill_at;
  for (int i = 0; i < n_kills; ++i) {
    kill_at.push_back(std::uniform_int_distribution<size_t>(n_orders / 20, n_orders * 9 / 10)(kill_rng));
  }
  std::sort(kill_at.begin(), kill_at.end());
  if (kill_rng() % 2) kill_at.back() = n_orders;
  std::string killer_failure;
  std::vector<uint64_t> running_after_restart;
  std::thread killer([&] {
    try {
      for (size_t at : kill_at) {
        {
          std::unique_lock lock(progress_mu);
          while (placed.load() < at && !clients_done.load()) progress_cv.wait_for(lock, 100ms);
        }
        std::this_thread::sleep_for(std::chrono::microseconds(
            std::uniform_int_distribution<int>(0, 20'000)(kill_rng)));  // the random moment, not a synchronisation
        supervisor.kill_and_restart();
        // How many sagas the new server reloaded mid-step: evidence that the
        // kill landed in the middle of the sagas, not between them.
        Client probe(supervisor);
        running_after_restart.push_back(metric(probe.call("GET", "/metrics").body, "ordersd_sagas_running"));
      }
    } catch (const std::exception& e) {
      killer_failure = e.what();
    }
  });

  for (auto& c : clients) c.join();
  for (auto& h : hammers) h.join();
  for (const auto& [customer, cents] : hammered_deposits) plan.deposits[customer] += cents;
  for (const auto& [sku, units] : hammered_restocks) plan.restocks[sku] += units;
  clients_done = true;
  progress_cv.notify_all();
  killer.join();
  const auto placing_done = Clock::now();
  REQUIRE_MESSAGE(killer_failure.empty(), killer_failure << "\n" << supervisor.stderr_logs());
  REQUIRE(supervisor.kills() == static_cast<uint64_t>(n_kills));
  REQUIRE(running_after_restart.size() == static_cast<size_t>(n_kills));

  // --- wait until quiet: every participant caught up with the head, no saga
  // running or stuck, every order final, and the head unchanged meanwhile.
  Client reader(supervisor);
  std::set<std::string> not_final;
  for (const auto& o : plan.orders) not_final.insert(o.id);
  const auto quiet_deadline = Clock::now() + 40s;
  bool quiet = false;
  json participants;
  std::string metrics_text;
  while (Clock::now() < quiet_deadline) {
    uint64_t head_before = reader.get_json("/health")["head"].get<uint64_t>();
    participants = reader.get_json("/participants")["participants"];
    metrics_text = reader.call("GET", "/metrics").body;
    bool caught_up = true;
    for (const auto& p : participants) {
      if (p["lag"].get<uint64_t>() != 0 || p.contains("failure") || p["paused"].get<bool>()) caught_up = false;
    }
    if (caught_up && metric(metrics_text, "ordersd_sagas_running") == 0) {
      for (auto it = not_final.begin(); it != not_final.end();) {
        json state = reader.get_json("/orders/" + *it + "/state");
        it = is_final(state["status"].get<std::string>()) ? not_final.erase(it) : std::next(it);
      }
      uint64_t head_after = reader.get_json("/health")["head"].get<uint64_t>();
      if (not_final.empty() && head_after == head_before) {
        quiet = true;
        break;
      }
    }
    std::this_thread::sleep_for(20ms);  // between polls of the condition above
  }
  const auto quiet_at = Clock::now();
  const uint64_t quiet_head = reader.get_json("/health")["head"].get<uint64_t>();

  if (!quiet) {
    for (auto it = not_final.begin(); it != not_final.end();) {
      json state = reader.get_json("/orders/" + *it + "/state");
      it = is_final(state["status"].get<std::string>()) ? not_final.erase(it) : std::next(it);
    }
    std::string evidence = "participants: " + participants.dump() + "\nsagas_running " +
                           std::to_string(metric(metrics_text, "ordersd_sagas_running")) + ", sagas_stuck " +
                           std::to_string(metric(metrics_text, "ordersd_sagas_stuck")) + "\n";
    int shown = 0;
    for (const auto& id : not_final) {
      if (++shown > 5) break;
      evidence += "order " + id + " state " + reader.call("GET", "/orders/" + id + "/state").body + "\n  events " +
                  truncated(reader.call("GET", "/orders/" + id + "/events").body) + "\n  saga " +
                  reader.call("GET", "/sagas/" + id).body + "\n";
    }
    FAIL("not quiet 40 s after the last order was placed: " << not_final.size() << " orders not final\n"
                          << evidence << "stuck: " << reader.call("GET", "/sagas?status=stuck").body);
  }
  CHECK_MESSAGE(metric(metrics_text, "ordersd_sagas_stuck") == 0, reader.call("GET", "/sagas?status=stuck").body);
  // Nothing is left failed or restarting, and nothing was refused for contention.
  {
    json components = reader.get_json("/admin/components");
    for (const auto& c : components["components"]) {
      if (c["state"] != "running") problem("component not running at quiet: " + c.dump());
    }
    CHECK(hammer_refusals.load() == 0);
    CHECK(contention_retries.load() == 0);
  }

  // --- every order: its state and its events
  std::map<std::string, Observed> seen;
  for (const auto& o : plan.orders) {
    Observed ob;
    ob.state = reader.get_json("/orders/" + o.id + "/state");
    ob.events = reader.get_json("/orders/" + o.id + "/events")["events"];
    for (const auto& e : ob.events) {
      std::string type = e["type"].get<std::string>();
      if (type.ends_with(".v1")) type.resize(type.size() - 3);
      ++ob.count[type];
    }
    seen.emplace(o.id, std::move(ob));
  }
  auto evidence = [&](const OrderSpec& o) {
    const Observed& ob = seen.at(o.id);
    std::string types;
    for (const auto& e : ob.events) types += " " + e["type"].get<std::string>();
    return "order " + o.id + " (" + kind_name(o.kind) + ", customer " + o.customer + ", country " + o.country +
           ", total " + std::to_string(o.total()) + ", place " + std::to_string(o.place_status) +
           (o.cancel ? ", cancel " + std::to_string(o.cancel_status) : "") + ")\n  state " + ob.state.dump() +
           "\n  events:" + types + "\n  full events " + truncated(ob.events.dump());
  };

  std::map<std::string, uint64_t> charged_by_customer;  // from the shipped orders
  std::map<std::string, uint64_t> shipped_by_sku;
  std::map<std::string, int> outcomes;  // "kind status reason" -> count
  std::map<std::string, uint64_t> shipped_racing, shipped_tight;
  for (const auto& o : plan.orders) {
    const Observed& ob = seen.at(o.id);
    const std::string status = ob.state["status"].get<std::string>();
    const std::string reason = ob.state.value("cancel_reason", "");
    const bool shipped = status == "shipment_initiated";
    ++outcomes[std::string(kind_name(o.kind)) + " " + status + (reason.empty() ? "" : " " + reason) +
               (o.kind == Kind::kCancel && status == "cancelled"
                    ? (ob.count.count("payment.processed") ? " (after the charge)" : " (before the charge)")
                    : "")];
    auto count = [&](const char* type) {
      auto it = ob.count.find(type);
      return it == ob.count.end() ? 0 : it->second;
    };
    const int processed = count("payment.processed"), refunded = count("payment.refunded");
    const int reserved = count("inventory.reserved"), released = count("inventory.released");

    // Final and consistent with its own events.
    if (!is_final(status)) problem("not final: " + evidence(o));
    if (count("order.placed") != 1) problem("order.placed is not there exactly once: " + evidence(o));
    if (processed > 1 || refunded > processed) problem("charged more than once or refunded without charge: " + evidence(o));
    if (processed - refunded > 1) problem("charged more than once net: " + evidence(o));
    if (shipped) {
      if (processed - refunded != 1) problem("shipped without exactly one net charge: " + evidence(o));
      if (reserved != 1 || released != 0) problem("shipped without exactly one reservation kept: " + evidence(o));
      if (count("shipment.initiated") != 1) problem("shipped without one shipment.initiated: " + evidence(o));
      if (count("order.cancelled") != 0) problem("shipped and cancelled: " + evidence(o));
      if (!ob.state["paid"].get<bool>() || ob.state["reserved"].get<bool>()) {
        problem("shipped but paid/reserved flags are off: " + evidence(o));
      }
      charged_by_customer[o.customer] += o.total();
      for (const auto& l : o.lines) shipped_by_sku[l.sku] += l.quantity;
    } else if (status == "cancelled") {
      if (processed - refunded != 0) problem("cancelled with a charge not refunded: " + evidence(o));
      if (reserved - released != 0) problem("cancelled with stock still reserved: " + evidence(o));
      if (count("shipment.initiated") != 0) problem("cancelled after a shipment: " + evidence(o));
      if (count("order.cancelled") != 1) problem("cancelled without one order.cancelled: " + evidence(o));
      if (ob.state["paid"].get<bool>() || ob.state["reserved"].get<bool>()) {
        problem("cancelled but still paid or reserved: " + evidence(o));
      }
    }

    // The outcome its inputs call for.
    auto expect = [&](bool ok, const std::string& what) {
      if (!ok) problem("expected " + what + ": " + evidence(o));
    };
    switch (o.kind) {
      case Kind::kShip: expect(shipped, "shipment_initiated"); break;
      case Kind::kDeclined:
        expect(status == "cancelled" && reason == "payment_declined" && processed == 0, "cancelled payment_declined");
        break;
      case Kind::kTight:
        expect(shipped || (status == "cancelled" && reason == "payment_declined" && processed == 0),
               "shipment_initiated or cancelled payment_declined");
        if (shipped) ++shipped_tight[o.customer];
        break;
      case Kind::kRacing:
        expect(shipped || (status == "cancelled" && reason == "out_of_stock" && reserved == 0),
               "shipment_initiated or cancelled out_of_stock");
        if (shipped) ++shipped_racing[o.lines[0].sku];
        break;
      case Kind::kOutOfStock:
        expect(status == "cancelled" && reason == "out_of_stock" && reserved == 0 && processed == 1 && refunded == 1,
               "cancelled out_of_stock, charged and refunded, nothing reserved");
        break;
      case Kind::kNoShipping:
        expect(status == "cancelled" && reason == "shipping_unavailable" && processed == 1 && refunded == 1 &&
                   reserved == 1 && released == 1,
               "cancelled shipping_unavailable, charged and refunded, reserved and released");
        break;
      case Kind::kCancel:
        if (o.cancel_status == 202) {
          expect(shipped || (status == "cancelled" && reason == "customer_cancelled"),
                 "customer_cancelled or shipment_initiated after a 202 cancel");
        } else {
          // 409: too late to cancel; the saga had already shipped it.
          expect(shipped && o.cancel_detail.find("shipment_initiated") != std::string::npos,
                 "shipment_initiated after a 409 cancel (" + o.cancel_detail + ")");
        }
        break;
    }
  }

  for (const auto& r : plan.racing) {
    uint64_t shipped = shipped_racing[r.sku];
    if (shipped > r.restocked / r.quantity) {
      problem("sku " + r.sku + ": " + std::to_string(shipped) + " racing orders shipped, stock allows " +
              std::to_string(r.restocked / r.quantity));
    } else if (shipped != r.can_ship()) {
      problem("sku " + r.sku + ": " + std::to_string(shipped) + " racing orders shipped of " +
              std::to_string(r.orders) + " while the stock (" + std::to_string(r.restocked) + " units, " +
              std::to_string(r.quantity) + " per order) serves " + std::to_string(r.can_ship()));
    }
  }
  for (const auto& [customer, can_pay] : plan.tight_can_pay) {
    if (shipped_tight[customer] != can_pay) {
      problem("customer " + customer + ": " + std::to_string(shipped_tight[customer]) +
              " of 5 orders shipped, the deposit pays for " + std::to_string(can_pay));
    }
  }

  // --- money: deposits = balance + charges not refunded, per customer, and
  // the charges are exactly the shipped orders' totals.
  uint64_t all_deposits = 0, all_balances = 0, all_charged = 0;
  for (const auto& [customer, deposited] : plan.deposits) {
    json w = reader.get_json("/customers/" + customer + "/wallet");
    uint64_t balance = w["balance_cents"].get<uint64_t>(), charged = w["charged_cents"].get<uint64_t>();
    all_deposits += deposited;
    all_balances += balance;
    all_charged += charged;
    if (w["deposited_cents"].get<uint64_t>() != deposited) {
      problem("customer " + customer + " deposited " + std::to_string(deposited) + " but the wallet says " + w.dump());
    }
    if (balance + charged != deposited) {
      problem("customer " + customer + ": balance + charged != deposits (" + std::to_string(deposited) + "): " + w.dump());
    }
    if (charged != charged_by_customer[customer]) {
      problem("customer " + customer + ": charged " + std::to_string(charged) + " but the shipped orders total " +
              std::to_string(charged_by_customer[customer]) + ": " + w.dump());
    }
  }
  CHECK(all_deposits == all_balances + all_charged);

  // --- stock: restocked = available + reserved + shipped, nothing reserved
  // at quiet, and shipped is exactly what the shipped orders took.
  for (const auto& [sku, restocked] : plan.restocks) {
    // The inventory view, once it has applied everything up to the quiet head.
    json s = reader.get_json("/inventory/" + sku + "?min_position=" + std::to_string(quiet_head));
    uint64_t available = s["available"].get<uint64_t>(), reserved = s["reserved"].get<uint64_t>(),
             shipped = s["shipped"].get<uint64_t>();
    if (s["restocked"].get<uint64_t>() != restocked) problem("sku " + sku + " restocked " + std::to_string(restocked) + ": " + s.dump());
    if (available + reserved + shipped != restocked) problem("sku " + sku + ": available + reserved + shipped != restocked: " + s.dump());
    if (reserved != 0) problem("sku " + sku + ": stock still reserved at quiet: " + s.dump());
    if (shipped != shipped_by_sku[sku]) {
      problem("sku " + sku + ": shipped " + std::to_string(shipped) + " but the shipped orders took " +
              std::to_string(shipped_by_sku[sku]) + ": " + s.dump());
    }
  }

  // --- one more SIGKILL at quiet: the restarted server has nothing to redo.
  const uint64_t head_at_quiet = reader.get_json("/health")["head"].get<uint64_t>();
  supervisor.kill_and_restart();
  const auto settle_deadline = Clock::now() + 10s;
  bool settled = false;
  while (Clock::now() < settle_deadline && !settled) {
    json ps = reader.get_json("/participants")["participants"];
    settled = true;
    for (const auto& p : ps) {
      if (p["position"].get<uint64_t>() < head_at_quiet || p.contains("failure")) settled = false;
    }
    if (!settled) std::this_thread::sleep_for(20ms);
  }
  CHECK_MESSAGE(settled, "the participants did not get back to position " << head_at_quiet << " after a restart");
  uint64_t head_after_restart = reader.get_json("/health")["head"].get<uint64_t>();
  if (head_after_restart != head_at_quiet) {
    json tail = reader.get_json("/events?from=" + std::to_string(head_at_quiet + 1) + "&limit=50");
    problem("a restart at quiet appended " + std::to_string(head_after_restart - head_at_quiet) +
            " events: " + truncated(tail.dump()));
  }
  CHECK(metric(reader.call("GET", "/metrics").body, "ordersd_sagas_running") == 0);

  std::string summary;
  for (const auto& [k, n] : outcomes) summary += "\n  " + k + ": " + std::to_string(n);
  auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  auto list = [](const auto& values) {
    std::string s;
    for (auto v : values) s += (s.empty() ? "" : ",") + std::to_string(v);
    return s;
  };
  MESSAGE(n_orders << " orders, " << n_kills << " SIGKILLs while placing (after " << list(kill_at)
          << " orders; sagas running just after each restart: " << list(running_after_restart)
          << ") and one at quiet; " << wire_retries.load() << " requests retried after a kill (" << replays.load()
          << " of them answered as replays: the first try had committed), "
          << contention_retries.load() << " retried on contention; placing took " << ms(placing_done - test_start)
          << " ms, quiet " << ms(quiet_at - placing_done) << " ms later; log head " << head_at_quiet
          << "; outcomes:" << summary);

  for (const auto& e : server_errors) problem("a 5xx answer: " + e);
  size_t shown = 0;
  for (const auto& p : problems) {
    if (++shown > 30) break;
    FAIL_CHECK(p);
  }
  CHECK_MESSAGE(problems.empty(), problems.size() << " problems; server stderr:\n"
                                                  << truncated(supervisor.stderr_logs(), 20000));
  CHECK(supervisor.stop() == 0);
}
