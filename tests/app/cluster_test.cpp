// The saga across five processes: `ordersd serve --roles X --bus URL` for
// order, payment, inventory, shipping and query, each with its own data
// directory, over a private broker that admits each service as its own user
// (`ordersd bus-users`), allowed to publish only its own events: the saga's
// cases and the faults run over a nats-server and over a rabbitmq-server,
// and the faults also over three JetStream nodes, one of them killed. Orders
// of every outcome go in at the order service, money at payment, stock at
// inventory; every answer is read back where it lands: the order's end at
// the query service, money at payment, stock at query. Then the same under
// faults: while orders are being placed, each service in turn, and then the
// broker, is SIGKILLed and started again on its data; once quiet, every
// order has ended as its inputs say, money and stock add up, and each order
// was charged at most once. The broker refused none of it.
#include <doctest/doctest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bus/shards.h"
#include "support/http_client.h"
#include "support/nats_server.h"
#include "support/process.h"
#include "support/rabbitmq_server.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

using nlohmann::json;
using ordersd::test::BrokerUsers;
using ordersd::test::HttpClient;
using ordersd::test::HttpResponse;
using ordersd::test::NatsServer;
using ordersd::test::RabbitMqServer;
using ordersd::test::ServerProcess;
using ordersd::test::TempDir;
using namespace std::chrono_literals;

namespace {

const std::vector<std::string> kRoles = {"order", "payment", "inventory", "shipping", "query"};

// The brokers, with the users `ordersd bus-users` writes.
// kill_node() and restart_node(): the broker (or, for a cluster, one node
// of it) SIGKILLed, then started again on its data.
struct Nats {
  static constexpr int kShards = 1;  // of order and payment each
  BrokerUsers users;
  NatsServer server{{users.config(), {}}};
  std::string url() const { return server.url(); }
  // What the broker logs when it refuses a user something.
  static constexpr const char* kRefusal = "Violation";
  std::string log() const { return server.log(); }
  void kill_node() { server.kill(); }
  void restart_node() { server.restart(); }
};

// Three JetStream nodes, the stream at 3 replicas: losing one loses nothing.
struct Nats3 {
  static constexpr int kShards = 1;
  BrokerUsers users;
  ordersd::test::NatsCluster cluster{3, users.config()};
  std::string url() const { return cluster.url(); }
  static constexpr const char* kRefusal = "Violation";
  std::string log() { return cluster.node(0).log() + cluster.node(1).log() + cluster.node(2).log(); }
  void kill_node() { cluster.node(1).kill(); }
  void restart_node() { cluster.node(1).restart(); }
};

struct RabbitMq {
  static constexpr int kShards = 1;
  BrokerUsers users;
  RabbitMqServer server{users.rabbitmq_definitions()};
  std::string url() const { return "amqp://127.0.0.1:" + std::to_string(server.port()) + "/"; }
  static constexpr const char* kRefusal = "ACCESS_REFUSED";
  std::string log() const { return server.log(); }
  void kill_node() { server.kill(); }
  void restart_node() { server.restart(); }
};

// Order and payment in two shards each, over the same brokers.
struct NatsX2 : Nats {
  static constexpr int kShards = 2;
};
struct Nats3x2 : Nats3 {
  static constexpr int kShards = 2;
};

// The services and the broker; any one can be killed and started again on
// its own data directory and port. Each knows where the others listen
// (--peers), as cluster.sh starts them. With Broker::kShards > 1 the order
// and payment roles run as shards, "order-0", "order-1", ...: a role's name
// ("order") then means its first shard, an entry point like any other.
template <typename Broker>
class Cluster {
 public:
  Cluster() {
    for (const auto& role : kRoles) {
      bool sharded = Broker::kShards > 1 && (role == "order" || role == "payment");
      for (int i = 0; i < (sharded ? Broker::kShards : 1); ++i) {
        std::string name = sharded ? role + "-" + std::to_string(i) : role;
        names_.push_back(name);
        roles_[name] = role;
        if (sharded) shards_[name] = i;
        ports_[name] = ordersd::test::free_port();
        peers_ += (peers_.empty() ? "" : ",") + (sharded ? role + "/" + std::to_string(i) : role) + "=" + url(name);
      }
    }
    for (const auto& name : names_) start(name);
  }

  // Every service, by name.
  const std::vector<std::string>& names() const { return names_; }
  // The --peers every process is given: with shards, the shard map.
  const std::string& peers() const { return peers_; }
  // Where `service` keeps its data.
  std::string data_dir(const std::string& service) const { return dir_.sub(resolve(service)); }

  void start(const std::string& service) {
    const std::string name = resolve(service);
    const std::string& role = roles_.at(name);
    std::vector<std::string> args = {"--roles", role, "--listen", "127.0.0.1:" + std::to_string(ports_.at(name)),
                                     "--peers", peers_, "--bus", broker.url(), "--bus-creds",
                                     broker.users.creds(role), "--step-timeout", "2000"};
    if (shards_.count(name)) {
      args.insert(args.end(), {"--shard", std::to_string(shards_.at(name)) + "/" + std::to_string(Broker::kShards)});
    }
    auto started = std::make_unique<ServerProcess>(dir_.sub(name), args);
    std::lock_guard lk(mu_);
    services_[name] = std::move(started);
  }
  // Where `service` listens, up or down.
  std::string url(const std::string& service) { return "http://127.0.0.1:" + std::to_string(ports_.at(resolve(service))); }
  void kill(const std::string& service) {
    std::unique_ptr<ServerProcess> dead;
    {
      std::lock_guard lk(mu_);
      dead = std::move(services_[resolve(service)]);
    }
    dead->process.signal(SIGKILL);
    dead->process.wait();
  }
  // The port of `service`, or 0 while it is down.
  uint16_t port(const std::string& service) {
    std::lock_guard lk(mu_);
    auto& s = services_[resolve(service)];
    return s ? s->port : 0;
  }

  // Nothing any service did was refused by the broker: each user's
  // permissions are all its service needs.
  void check_no_refusals() {
    std::string log = broker.log();
    CHECK_MESSAGE(log.find(Broker::kRefusal) == std::string::npos, log);
  }

  Broker broker;

 private:
  std::string resolve(const std::string& service) const { return ports_.count(service) ? service : service + "-0"; }

  TempDir dir_;
  std::vector<std::string> names_;
  std::map<std::string, std::string> roles_;  // name -> role
  std::map<std::string, int> shards_;         // name -> shard, for a sharded role's
  std::map<std::string, uint16_t> ports_;
  std::string peers_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<ServerProcess>> services_;
};

// A Location the services give, "http://127.0.0.1:PORT/path?query": the
// port and the target; nullopt for anything else.
std::optional<std::pair<uint16_t, std::string>> parse_location(const std::string& location) {
  static const std::regex form(R"(http://127\.0\.0\.1:(\d+)(/.*))");
  std::smatch m;
  if (!std::regex_match(location, m, form)) return std::nullopt;
  return std::pair<uint16_t, std::string>{static_cast<uint16_t>(std::stoi(m[1])), m[2]};
}

// One request to `service`, retried (with the same Idempotency-Key, when
// given) through the service being down or restarting, until it gets an
// answer that is not a 5xx. A 307 (another service's route, another shard's
// key) is followed, as a client would.
template <typename Broker>
HttpResponse call(Cluster<Broker>& c, const std::string& service, const std::string& method, const std::string& target,
                  const std::string& body = "", const std::string& idempotency_key = "") {
  auto deadline = std::chrono::steady_clock::now() + 60s;
  for (;;) {
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error(method + " " + target + " never answered");
    uint16_t port = c.port(service);
    if (port == 0) {
      std::this_thread::sleep_for(20ms);
      continue;
    }
    try {
      std::vector<std::pair<std::string, std::string>> headers = {{"Content-Type", "application/json"}};
      if (!idempotency_key.empty()) headers.emplace_back("Idempotency-Key", idempotency_key);
      HttpResponse r = HttpClient(port).request(method, target, body, headers);
      for (int hops = 0; r.status == 307 && hops < 2; ++hops) {
        auto where = parse_location(r.header("location"));
        if (!where) throw std::runtime_error("a 307 to " + r.header("location"));
        r = HttpClient(where->first).request(method, where->second, body, headers);
      }
      if (r.status < 500) return r;
    } catch (const std::runtime_error& e) {
      if (std::string(e.what()).starts_with("a 307")) throw;
    } catch (const std::exception&) {
      // down or restarting
    }
    std::this_thread::sleep_for(20ms);
  }
}

json order_body(const std::string& id, const std::string& customer, const std::string& sku, int quantity,
                const std::string& country) {
  return {{"order_id", id},
          {"customer_id", customer},
          {"items", {{{"sku", sku}, {"quantity", quantity}, {"unit_price_cents", 100}}}},
          {"shipping_address", {{"country", country}, {"city", "x"}, {"line1", "y"}, {"postal_code", "z"}}}};
}

template <typename Broker>
void deposit(Cluster<Broker>& c, const std::string& customer, uint64_t cents) {
  HttpResponse r = call(c, "payment", "POST", "/customers/" + customer + "/deposits",
                        json{{"amount_cents", cents}}.dump(), "deposit-" + customer);
  REQUIRE(r.status == 200);
}

template <typename Broker>
void restock(Cluster<Broker>& c, const std::string& sku, uint64_t quantity) {
  HttpResponse r =
      call(c, "inventory", "POST", "/inventory/" + sku + "/restock", json{{"quantity", quantity}}.dump(), "restock-" + sku);
  REQUIRE(r.status == 200);
}

template <typename Broker>
void place(Cluster<Broker>& c, const std::string& id, const std::string& customer, const std::string& sku, int quantity,
           const std::string& country) {
  HttpResponse r = call(c, "order", "POST", "/orders", order_body(id, customer, sku, quantity, country).dump(), "place-" + id);
  REQUIRE(r.status == 201);
}

// What each service says of itself and of the order: for a failure's message.
template <typename Broker>
std::string diagnose(Cluster<Broker>& c, const std::string& id) {
  std::string out;
  for (const auto& name : c.names()) out += "\n" + name + " /health: " + call(c, name, "GET", "/health").body;
  out += "\nsaga: " + call(c, "order", "GET", "/sagas/" + id).body;
  out += "\norder stream: " + call(c, "order", "GET", "/orders/" + id + "/events").body;
  return out;
}

// The order as the query service shows it once it has ended (a broker
// cluster's leader elections, on two cores shared with the suite, can take
// half a minute).
template <typename Broker>
json ended(Cluster<Broker>& c, const std::string& id) {
  auto deadline = std::chrono::steady_clock::now() + 90s;
  for (;;) {
    HttpResponse r = call(c, "query", "GET", "/orders/" + id);
    if (r.status == 200) {
      json row = json::parse(r.body);
      if (row["status"] == "shipment_initiated" || row["status"] == "cancelled") return row;
    }
    if (std::chrono::steady_clock::now() > deadline) FAIL("order " << id << " never ended: " << r.body << diagnose(c, id));
    std::this_thread::sleep_for(20ms);
  }
}

std::string outcome(const json& row) {
  return row["status"] == "cancelled" ? "cancelled " + row["cancel_reason"].template get<std::string>() : "shipment_initiated";
}

}  // namespace

TEST_CASE_TEMPLATE("the services over the broker take orders to every end the saga has", Broker, Nats, RabbitMq, Nats3x2) {
  Cluster<Broker> c;
  deposit(c, "rich", 100'000);
  deposit(c, "poor", 50);
  restock(c, "mug", 100);
  restock(c, "rare", 1);
  place(c, "o-ship", "rich", "mug", 2, "NL");
  place(c, "o-declined", "poor", "mug", 1, "NL");
  place(c, "o-oos", "rich", "rare", 5, "NL");
  place(c, "o-noship", "rich", "mug", 3, "BR");
  place(c, "o-cancel", "rich", "mug", 1, "NL");
  HttpResponse cancel = call(c, "order", "POST", "/orders/o-cancel/cancel", "{}");

  CHECK(outcome(ended(c, "o-ship")) == "shipment_initiated");
  CHECK(outcome(ended(c, "o-declined")) == "cancelled payment_declined");
  CHECK(outcome(ended(c, "o-oos")) == "cancelled out_of_stock");
  CHECK(outcome(ended(c, "o-noship")) == "cancelled shipping_unavailable");
  // The cancel races the saga: it wins (202) unless the shipment got there first (409).
  std::string cancelled = outcome(ended(c, "o-cancel"));
  if (cancel.status == 202) CHECK(cancelled == "cancelled customer_cancelled");
  else CHECK(cancelled == "shipment_initiated");
  json shipped = ended(c, "o-ship");
  CHECK(shipped["shipment"]["shipment_id"] == "shp-o-ship");
  // Its history carries the times the events happened, not when the query service copied them.
  CHECK(shipped["history"].size() == 4);

  // Money at the payment service: only the shipped order is paid for.
  auto wallet = [&](const std::string& customer) {
    return json::parse(call(c, "payment", "GET", "/customers/" + customer + "/wallet").body);
  };
  uint64_t cancel_paid = cancelled == "shipment_initiated" ? 100 : 0;
  CHECK(wallet("rich")["balance_cents"] == 100'000 - 200 - cancel_paid);
  CHECK(wallet("poor")["balance_cents"] == 50);
  // Stock, as the query service's view shows it once the stock moves have arrived.
  auto deadline = std::chrono::steady_clock::now() + 30s;
  json mug;
  uint64_t shipped_units = 2 + cancel_paid / 100;
  for (;;) {
    mug = json::parse(call(c, "query", "GET", "/inventory/mug").body);
    bool settled = mug.value("shipped", uint64_t{0}) == shipped_units && mug.value("reserved", uint64_t{0}) == 0;
    if (settled || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(20ms);
  }
  CHECK(mug["available"] == 98 - cancel_paid / 100);
  CHECK(mug["reserved"] == 0);
  CHECK(mug["shipped"] == 2 + cancel_paid / 100);

  // The bus in each service's metrics.
  std::string metrics = call(c, "order", "GET", "/metrics").body;
  CHECK(metrics.find("ordersd_bus_importer_up 1\n") != std::string::npos);
  CHECK(metrics.find("ordersd_bus_published_total 0\n") == std::string::npos);
  CHECK(metrics.find("ordersd_bus_published_total ") != std::string::npos);
  CHECK(call(c, "query", "GET", "/metrics").body.find("ordersd_bus_imported_total 0\n") == std::string::npos);

  // A second query service, started late under its own name, builds the same views from the start.
  TempDir second_dir;
  ServerProcess second(second_dir.path(), {"--roles", "query", "--bus", c.broker.url(), "--bus-creds",
                                          c.broker.users.creds("query"), "--node", "query-2", "--peers", c.peers()});
  for (const char* id : {"o-ship", "o-declined", "o-oos", "o-noship", "o-cancel"}) {
    json first = ended(c, id);
    json copy;
    auto until = std::chrono::steady_clock::now() + 30s;
    for (;;) {
      HttpResponse r = HttpClient(second.port).get(std::string("/orders/") + id);
      if (r.status == 200) copy = json::parse(r.body);
      if ((r.status == 200 && copy["version"] == first["version"]) || std::chrono::steady_clock::now() > until) break;
      std::this_thread::sleep_for(20ms);
    }
    CHECK(copy["status"] == first["status"]);
    CHECK(copy["version"] == first["version"]);
    CHECK(copy["cancel_reason"] == first["cancel_reason"]);
    CHECK(copy["history"].size() == first["history"].size());
  }
  c.check_no_refusals();
}

namespace {

std::pair<uint16_t, std::string> split_location(const std::string& location) {
  auto where = parse_location(location);
  REQUIRE_MESSAGE(where, location);
  return *where;
}

// One request at `role`'s service, and the redirect after it followed once
// (with the same method and body, as 307 says): both answers.
template <typename Broker>
std::pair<HttpResponse, HttpResponse> follow(Cluster<Broker>& c, const std::string& role, const std::string& method,
                                             const std::string& target, const std::string& body = "") {
  HttpResponse first = HttpClient(c.port(role)).request(method, target, body, {{"Content-Type", "application/json"}});
  if (first.status != 307) return {first, first};
  auto [port, there] = split_location(first.header("location"));
  HttpResponse second = HttpClient(port).request(method, there, body, {{"Content-Type", "application/json"}});
  return {first, second};
}

}  // namespace

TEST_CASE("any service is an entry point: another service's route is 307 to it, and scripts/demo.sh runs through one") {
  Cluster<Nats> c;  // routing does not depend on the broker
  // A deposit at the query service lands at the payment service, method and body kept.
  auto [sent, deposited] = follow(c, "query", "POST", "/customers/ann/deposits", R"({"amount_cents":700})");
  CHECK(sent.status == 307);
  CHECK(sent.header("location") == c.url("payment") + "/customers/ann/deposits");
  CHECK(json::parse(sent.body)["detail"] == "POST /customers/{id}/deposits is served by the payment service");
  CHECK(deposited.status == 200);
  CHECK(json::parse(deposited.body)["balance_cents"] == 700);
  // A read of a view at the order service is sent to the query service, query string and all (once
  // the deposit has come over the broker).
  auto until = std::chrono::steady_clock::now() + 30s;
  for (;;) {
    auto [to_query, row] = follow(c, "order", "GET", "/customers/ann?wait_ms=0");
    CHECK(to_query.header("location") == c.url("query") + "/customers/ann?wait_ms=0");
    if (row.status == 200 || std::chrono::steady_clock::now() > until) {
      CHECK(row.status == 200);
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  // HEAD as GET.
  CHECK(follow(c, "payment", "HEAD", "/orders/nobody/events").first.header("location") ==
        c.url("order") + "/orders/nobody/events");
  // A participant is paused where it runs, whichever service is asked.
  auto [to_inventory, paused] = follow(c, "order", "POST", "/participants/inventory/pause");
  CHECK(to_inventory.header("location") == c.url("inventory") + "/participants/inventory/pause");
  CHECK(json::parse(paused.body) == json{{"name", "inventory"}, {"paused", true}});
  CHECK(follow(c, "query", "POST", "/participants/inventory/resume").second.status == 200);

  // Every route at every service: served there when the index says so, else
  // sent to a service that serves it, which answers it itself (no second
  // redirect, no "no route"). Parameters name nothing, so nothing changes.
  json index = json::parse(call(c, "shipping", "GET", "/").body);
  REQUIRE(index["routes"].size() > 25);
  for (const auto& route : index["routes"]) {
    std::string method = route["method"], service = route["service"];
    std::string target = std::regex_replace(route["path"].template get<std::string>(), std::regex(R"(\{[a-z]+\})"), "nothing");
    if (target == "/events/stream") target += "?max_ms=50";  // a live feed: ended at once
    for (const auto& role : kRoles) {
      INFO(role << ": " << method << " " << target);
      auto [first, second] = follow(c, role, method, target);
      bool here = service == "every" || service == "{name}" || service == role;
      if (here) {
        CHECK(first.status != 307);
        CHECK(first.body.find("no route for") == std::string::npos);
        continue;
      }
      CHECK(first.status == 307);
      CHECK(first.header("location") == c.url(service) + target);
      CHECK(second.status != 307);
      CHECK(second.body.find("no route for") == std::string::npos);
    }
  }

  // The demo, entering at the query service: every command and read is sent on to its service.
  auto started = std::chrono::steady_clock::now();
  auto demo = ordersd::test::run({"/bin/bash", std::string(ORDERSD_SOURCE_DIR) + "/scripts/demo.sh", c.url("query")});
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  MESSAGE("scripts/demo.sh against the five services: " << seconds << " s");
  INFO(demo.out << demo.err);
  CHECK(demo.exit_code == 0);
  CHECK(demo.err.empty());
  CHECK(std::regex_search(demo.out, std::regex(R"(cancelled-\d+ \(cancelled midway\)\n(  .*\n)*  +\d+  order +order\.cancelled\.v1  reason=customer_cancelled)")));
  CHECK(std::regex_search(demo.out, std::regex(R"(\{"sku":"mug-\d+","restocked":10,"available":8,"reserved":0,"shipped":2\})")));
  c.check_no_refusals();
}

TEST_CASE_TEMPLATE("each service, and then the broker, SIGKILLed in the middle of the orders: nothing lost, nothing twice",
                   Broker, Nats, Nats3, RabbitMq, Nats3x2) {
  Cluster<Broker> c;
  constexpr int kOrders = 60;
  constexpr int kCustomers = 6;
  constexpr uint64_t kDeposit = 2'000;  // 20 orders of 100
  for (int i = 0; i < kCustomers; ++i) deposit(c, "c" + std::to_string(i), kDeposit);
  restock(c, "mug", 40);  // fewer than the orders: some end out of stock

  // Each fault strikes once the placer has got that far into the orders.
  std::atomic<int> placed{0};
  auto once_placed = [&](int n) {
    for (int now = placed.load(); now < n; now = placed.load()) placed.wait(now);
  };
  // Meanwhile deposits and restocks hammer the wallets and the sku the orders use.
  std::atomic<bool> placing{true};
  std::atomic<uint64_t> hammered_cents{0}, hammered_units{0};
  std::atomic<int> hammer_refusals{0};
  std::thread hammer([&] {
    for (int i = 0; placing.load(); ++i) {
      // At most 10 more mugs, so that some orders still end out of stock.
      bool deposit = i % 2 == 0 || hammered_units.load() >= 10;
      HttpResponse r = deposit ? call(c, "payment", "POST", "/customers/c" + std::to_string(i % 3) + "/deposits",
                                      R"({"amount_cents":7})", "hammer-" + std::to_string(i))
                               : call(c, "inventory", "POST", "/inventory/mug/restock", R"({"quantity":1})",
                                      "hammer-" + std::to_string(i));
      if (r.status != 200) {
        ++hammer_refusals;
        continue;
      }
      (deposit ? hammered_cents : hammered_units) += deposit ? 7 : 1;
    }
  });
  std::thread placer([&] {
    for (int i = 0; i < kOrders; ++i) {
      place(c, "o-" + std::to_string(i), "c" + std::to_string(i % kCustomers), "mug", 1, i % 10 == 9 ? "BR" : "NL");
      placed.fetch_add(1);
      placed.notify_all();
      std::this_thread::sleep_for(15ms);  // spreads the orders over the faults; not a wait for anything
    }
  });
  // Payment (each shard), inventory, shipping, query, then order (each shard).
  std::vector<std::string> victims;
  for (const auto& name : c.names()) {
    if (!name.starts_with("order")) victims.push_back(name);
  }
  for (const auto& name : c.names()) {
    if (name.starts_with("order")) victims.push_back(name);
  }
  const int step = victims.size() > 5 ? 6 : 8;  // the faults fit within the orders
  int at = 0;
  for (const std::string& victim : victims) {
    once_placed(at += step);
    c.kill(victim);
    c.start(victim);
  }
  once_placed(at += step);
  c.broker.kill_node();  // the order service goes on taking orders; its relay waits for the broker (or another node)
  once_placed(at += 4);
  c.broker.restart_node();
  placer.join();
  placing = false;
  hammer.join();
  CHECK(hammer_refusals.load() == 0);
  const uint64_t restocked = 40 + hammered_units.load();

  // Every order ends; count the ends.
  std::map<std::string, int> ends;
  uint64_t shipped_cents = 0;
  for (int i = 0; i < kOrders; ++i) {
    json row = ended(c, "o-" + std::to_string(i));
    ++ends[outcome(row)];
    if (row["status"] == "shipment_initiated") {
      shipped_cents += 100;
      CHECK(row["payment"]["status"] == "charged");
    }
    if (i % 10 == 9) CHECK(outcome(row) != "shipment_initiated");  // BR is not served
    // The query service's copy of the order's stream is the order service's, no event missing or twice.
    json stream = json::parse(call(c, "order", "GET", "/orders/o-" + std::to_string(i) + "/events").body);
    CHECK(row["version"] == stream["events"].size());
  }
  INFO("ends: " << json(ends).dump());
  MESSAGE("ends: " << json(ends).dump());
  // A step whose service was away longer than its deadlines allow ends
  // step_timeout, compensated like the others.
  CHECK(ends["shipment_initiated"] + ends["cancelled out_of_stock"] + ends["cancelled shipping_unavailable"] +
            ends["cancelled step_timeout"] ==
        kOrders);
  CHECK(ends["shipment_initiated"] <= static_cast<int>(restocked));
  CHECK(ends["cancelled shipping_unavailable"] + ends["cancelled out_of_stock"] >= kOrders / 10);

  // Money: what the customers hold is what they put in less what shipped.
  uint64_t balances = 0;
  for (int i = 0; i < kCustomers; ++i) {
    balances += json::parse(call(c, "payment", "GET", "/customers/c" + std::to_string(i) + "/wallet").body)["balance_cents"]
                    .template get<uint64_t>();
  }
  CHECK(balances + shipped_cents == kCustomers * kDeposit + hammered_cents.load());
  // Stock: every unit is on the shelf or shipped, none held, once the query service has every move.
  auto deadline = std::chrono::steady_clock::now() + 60s;
  json mug;
  for (;;) {
    mug = json::parse(call(c, "query", "GET", "/inventory/mug").body);
    if (mug["reserved"] == 0 && mug["shipped"].template get<uint64_t>() * 100 == shipped_cents) break;
    if (std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(20ms);
  }
  CHECK(mug["reserved"] == 0);
  CHECK(mug["available"].template get<uint64_t>() + mug["shipped"].template get<uint64_t>() == restocked);
  CHECK(mug["shipped"].template get<uint64_t>() * 100 == shipped_cents);
  // No service's importer stopped on something it could not copy, and no component is left failed.
  for (const auto& name : c.names()) {
    json health = json::parse(call(c, name, "GET", "/health").body);
    CHECK_MESSAGE(!health["bus"].contains("importer_failure"), name << ": " << health.dump());
    json components = json::parse(call(c, name, "GET", "/admin/components").body);
    for (const auto& component : components["components"]) {
      CHECK_MESSAGE(component["state"] != "failed", name << ": " << component.dump());
    }
  }
  c.check_no_refusals();
}

// Read-your-writes across processes. The order service's answer names what
// it wrote (X-Consistency-Token: stream@version); the query service, given
// the token, answers only once its importer has copied that write in and its
// view has read it, and 503 with Retry-After when its wait runs out first.
TEST_CASE_TEMPLATE("a command's consistency token makes the query service wait for the write, across a restart of it",
                   Broker, Nats, NatsX2) {
  Cluster<Broker> c;
  auto query_with = [&](const std::string& target, const std::string& token) {
    HttpClient client(c.port("query"));
    return client.request("GET", target, "", {{"X-Consistency-Token", token}});
  };

  // Each order read at the query service at once, with its token: never a 404.
  for (int i = 0; i < 10; ++i) {
    std::string id = "ryw-" + std::to_string(i);
    HttpResponse placed = call(c, "order", "POST", "/orders", order_body(id, "c-ryw", "s-ryw", 1, "DE").dump());
    REQUIRE(placed.status == 201);
    CHECK(placed.header("x-consistency-token") == "order-" + id + "@1");
    HttpResponse read = query_with("/orders/" + id + "?wait_ms=30000", placed.header("x-consistency-token"));
    CHECK_MESSAGE(read.status == 200, read.body);
  }

  // Money at payment and an order at order: one token for both, joined.
  HttpResponse deposited = call(c, "payment", "POST", "/customers/c-joined/deposits", json{{"amount_cents", 700}}.dump());
  REQUIRE(deposited.status == 200);
  CHECK(deposited.header("x-consistency-token") == "wallet-c-joined@1");
  HttpResponse placed = call(c, "order", "POST", "/orders", order_body("ryw-joined", "c-joined", "s-ryw", 1, "DE").dump());
  REQUIRE(placed.status == 201);
  std::string joined = deposited.header("x-consistency-token") + "," + placed.header("x-consistency-token");
  HttpResponse customer = query_with("/customers/c-joined?wait_ms=30000", joined);
  REQUIRE_MESSAGE(customer.status == 200, customer.body);
  CHECK(json::parse(customer.body)["deposited_cents"] == 700);

  // Placed while the query service is down, read at once after it is started
  // again: its importer has to copy the order in before the answer.
  c.kill("query");
  placed = call(c, "order", "POST", "/orders", order_body("ryw-while-down", "c-ryw", "s-ryw", 1, "DE").dump());
  REQUIRE(placed.status == 201);
  c.start("query");
  HttpResponse read = query_with("/orders/ryw-while-down?wait_ms=30000", placed.header("x-consistency-token"));
  CHECK_MESSAGE(read.status == 200, read.body);
  CHECK(json::parse(read.body)["order_id"] == "ryw-while-down");

  // A write the query service will not get in time: 503, with when to retry.
  HttpResponse early = query_with("/orders/ryw-while-down?wait_ms=200", "order-ryw-while-down@99");
  CHECK(early.status == 503);
  CHECK(early.header("retry-after") == "1");
  CHECK_MESSAGE(early.body.find("order-ryw-while-down at version 99") != std::string::npos, early.body);
  // A malformed token changes nothing and says why.
  HttpResponse bad = query_with("/orders/ryw-while-down", "order-ryw-while-down@0");
  CHECK(bad.status == 400);
  CHECK(bad.header("content-type") == "application/problem+json");
}

// Two of three JetStream nodes down: no quorum, so nothing can be published.
// The order service says so in /health, and once publishing has failed for
// a while its commands answer 503 (changing nothing) instead of piling up
// orders no other service would hear of. One node back: the quorum returns,
// what waited is published, commands are taken again, and every order ends
// charged exactly once.
TEST_CASE_TEMPLATE("two of three broker nodes down: commands answer 503 and health says why; nothing is lost when one returns",
                   Broker, Nats3, Nats3x2) {
  Cluster<Broker> c;
  // Orders that the order service asked here owns (with shards, order-0).
  auto own = [](const std::string& id) {
    for (int i = 0;; ++i) {
      std::string candidate = id + (i ? "-" + std::to_string(i) : "");
      if (ordersd::bus::shard_of(candidate, Broker::kShards) == 0) return candidate;
    }
  };
  const std::string during_id = own("q-during"), refused_id = own("q-refused");
  deposit(c, "c-quorum", 10'000);
  restock(c, "s-quorum", 100);
  place(c, "q-before", "c-quorum", "s-quorum", 1, "DE");
  CHECK(outcome(ended(c, "q-before")) == "shipment_initiated");

  c.broker.cluster.node(1).kill();
  c.broker.cluster.node(2).kill();
  auto order_service = [&] { return HttpClient(c.port("order")); };
  // The relay has had nothing to publish since: this order is taken, and
  // its events wait in the outbox.
  HttpResponse during = order_service().request("POST", "/orders", order_body(during_id, "c-quorum", "s-quorum", 1, "DE").dump(),
                                                {{"Content-Type", "application/json"}});
  REQUIRE_MESSAGE(during.status == 201, during.body);

  // Publishing those fails; after 5 s of it, health says commands are refused.
  json health;
  for (auto until = std::chrono::steady_clock::now() + 90s;;) {
    health = json::parse(order_service().get("/health").body);
    if (health["bus"].value("commands_refused", false)) break;
    REQUIRE_MESSAGE(std::chrono::steady_clock::now() < until, "commands still taken: " << health.dump());
    std::this_thread::sleep_for(100ms);
  }
  CHECK(health["status"] == "degraded");
  CHECK_MESSAGE(health["bus"].contains("relay_error"), health.dump());
  HttpResponse refused = order_service().request(
      "POST", "/orders", order_body(refused_id, "c-quorum", "s-quorum", 1, "DE").dump(),
      {{"Content-Type", "application/json"}});
  CHECK(refused.status == 503);
  CHECK(refused.header("retry-after") == "2");
  CHECK(refused.header("content-type") == "application/problem+json");
  CHECK_MESSAGE(refused.body.find("the bus has not taken") != std::string::npos, refused.body);
  CHECK(order_service().get("/orders/" + refused_id + "/state").status == 404);  // nothing was done

  // Every service sees it, those with nothing to publish too: each relay
  // asks the broker while idle, and a node names no leader for the stream
  // once it has noticed that it lost the quorum (seconds).
  for (const auto& role : c.names()) {
    json h;
    for (auto until = std::chrono::steady_clock::now() + 60s;;) {
      h = json::parse(call(c, role, "GET", "/health").body);
      if (h["status"] == "degraded" || std::chrono::steady_clock::now() > until) break;
      std::this_thread::sleep_for(100ms);
    }
    CHECK_MESSAGE(h["status"] == "degraded", role << ": " << h.dump());
  }
  // Queries go on from what the views hold.
  CHECK(call(c, "query", "GET", "/orders/q-before").status == 200);

  c.broker.cluster.node(1).restart();
  for (auto until = std::chrono::steady_clock::now() + 120s;;) {
    HttpResponse placed = order_service().request(
        "POST", "/orders", order_body(refused_id, "c-quorum", "s-quorum", 1, "DE").dump(),
        {{"Content-Type", "application/json"}});
    if (placed.status == 201) break;
    REQUIRE_MESSAGE(placed.status == 503, placed.body);
    REQUIRE_MESSAGE(std::chrono::steady_clock::now() < until, "commands still refused: " << placed.body);
    std::this_thread::sleep_for(100ms);
  }
  // The order taken during the outage ships, or, when the outage outlasted
  // its saga's step deadlines (2 s here, a few attempts), is cancelled for
  // that: either way it ends, and is charged only if it shipped.
  std::string during_end = outcome(ended(c, during_id));
  CHECK_MESSAGE((during_end == "shipment_initiated" || during_end == "cancelled step_timeout"), during_end);
  CHECK(outcome(ended(c, refused_id)) == "shipment_initiated");
  int shipped = 2 + (during_end == "shipment_initiated");
  HttpResponse wallet = call(c, "payment", "GET", "/customers/c-quorum/wallet");
  REQUIRE(wallet.status == 200);
  CHECK_MESSAGE(json::parse(wallet.body)["balance_cents"] == 10'000 - 100 * shipped, wallet.body);
  CHECK(json::parse(call(c, "order", "GET", "/health").body)["status"] == "ok");
}

// Two shards each of order (orders by id) and payment (wallets by customer):
// any service takes any request and sends it to the shard that owns its key;
// each shard holds, and its consumers receive, only what it owns; /health
// prints the shard map; a command's token reads back at the query service.
TEST_CASE("sharded order and payment: requests reach the owning shard, and each shard gets only its own events") {
  Cluster<NatsX2> c;
  auto id_of_shard = [](const std::string& prefix, uint32_t shard) {
    for (int i = 0;; ++i) {
      std::string id = prefix + std::to_string(i);
      if (ordersd::bus::shard_of(id, 2) == shard) return id;
    }
  };
  // A customer of each payment shard; orders falling on both order shards,
  // by the two customers in turn.
  std::vector<std::string> customers = {id_of_shard("cust-", 0), id_of_shard("cust-", 1)};
  std::vector<std::string> orders;
  for (int i = 0; orders.size() < 8; ++i) orders.push_back("sh-" + std::to_string(i));
  for (const auto& customer : customers) {
    // At the query service: sent to the payment shard that owns the wallet.
    HttpResponse r = call(c, "query", "POST", "/customers/" + customer + "/deposits", json{{"amount_cents", 10'000}}.dump());
    REQUIRE_MESSAGE(r.status == 200, r.body);
  }
  restock(c, "s-sh", 100);
  std::map<std::string, std::string> customer_of;
  std::string token;
  for (size_t i = 0; i < orders.size(); ++i) {
    customer_of[orders[i]] = customers[i % 2];
    // Entering at either order shard, or at inventory: each placement lands on its owner.
    std::string entry = i % 3 == 0 ? "order-0" : i % 3 == 1 ? "order-1" : "inventory";
    HttpResponse r = call(c, entry, "POST", "/orders", order_body(orders[i], customers[i % 2], "s-sh", 1, "DE").dump());
    REQUIRE_MESSAGE(r.status == 201, r.body);
    token += (token.empty() ? "" : ",") + r.header("x-consistency-token");
  }
  for (const auto& id : orders) CHECK(outcome(ended(c, id)) == "shipment_initiated");
  // Every order's write, at once, from one joined token.
  HttpResponse all = HttpClient(c.port("query")).request("GET", "/orders?limit=100&wait_ms=30000", "",
                                                        {{"X-Consistency-Token", token}});
  REQUIRE_MESSAGE(all.status == 200, all.body);

  // A direct request for another shard's order is sent to it.
  std::string on_one = id_of_shard("sh-", 1);
  HttpResponse sent = HttpClient(c.port("order-0")).get("/orders/" + on_one + "/events");
  CHECK(sent.status == 307);
  CHECK(sent.header("location") == c.url("order-1") + "/orders/" + on_one + "/events");
  CHECK(json::parse(sent.body)["detail"] == "GET /orders/{id}/events is served by the order service's shard 1 of 2");

  // Each shard's log: its own orders' streams, and only its own.
  // The streams in a service's log (read beside the running server).
  auto streams_at = [&](const std::string& service) {
    auto printed = ordersd::test::run({ORDERSD_BINARY, "events", "--data", c.data_dir(service)});
    REQUIRE_MESSAGE(printed.exit_code == 0, printed.err);
    std::set<std::string> streams;
    std::istringstream lines(printed.out);
    for (std::string line; std::getline(lines, line);) streams.insert(json::parse(line)["stream"].get<std::string>());
    return streams;
  };
  for (uint32_t shard : {0u, 1u}) {
    std::set<std::string> streams = streams_at("order-" + std::to_string(shard));
    for (const auto& id : orders) {
      bool own = ordersd::bus::shard_of(id, 2) == shard;
      INFO("order-" << shard << ", " << id);
      CHECK(streams.count("order-" + id) == (own ? 1u : 0u));
      CHECK(streams.count("saga-" + id) == (own ? 1u : 0u));
      CHECK(streams.count("reservation-" + id) == (own ? 1u : 0u));  // copied in: routed to its owner only
      CHECK(streams.count("shipment-" + id) == (own ? 1u : 0u));
    }
    std::set<std::string> wallets = streams_at("payment-" + std::to_string(shard));
    for (const auto& id : orders) {
      bool own = ordersd::bus::shard_of(customer_of[id], 2) == shard;
      INFO("payment-" << shard << ", " << id);
      CHECK(wallets.count("saga-" + id) == (own ? 1u : 0u));  // the saga's requests go to the customer's shard
    }
    CHECK(wallets.count("wallet-" + customers[shard]) == 1);
    CHECK(wallets.count("wallet-" + customers[1 - shard]) == 0);
  }
  // Money at each payment shard: four orders of 100 each.
  for (const auto& customer : customers) {
    json wallet = json::parse(call(c, "payment-0", "GET", "/customers/" + customer + "/wallet").body);
    CHECK(wallet["balance_cents"] == 10'000 - 400);
  }
  // A process given another shard map than the deployment's is refused, saying why.
  TempDir lost;
  auto refused = ordersd::test::run({ORDERSD_BINARY, "serve", "--roles", "query", "--listen", "127.0.0.1:0", "--data",
                                     lost.path(), "--bus", c.broker.url(), "--bus-creds", c.broker.users.creds("query"),
                                     "--node", "query-lost"});
  CHECK(refused.exit_code == 1);
  CHECK_MESSAGE(refused.err.find("the ORDERSD stream was created for shards order=2,payment=2, and this process was "
                                 "given none: give every process the same --peers") != std::string::npos,
                refused.err);
  // The shard map, as every process has it.
  for (const auto& name : c.names()) {
    json health = json::parse(call(c, name, "GET", "/health").body);
    CHECK(health["shards"] == json{{"order", 2}, {"payment", 2}});
    if (name.starts_with("order-") || name.starts_with("payment-")) CHECK(health["shard"] == name.substr(name.find('-') + 1) + "/2");
  }
  c.check_no_refusals();
}
