// Where each route is served: the route table's services, --peers, and the
// guard that sends a route of another service there (307 with Location) or
// names that service (404), for a process running some roles only.
#include <doctest/doctest.h>

#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "api/access.h"
#include "api/audit_trail.h"
#include "api/peers.h"
#include "api/route_table.h"
#include "bus/shards.h"
#include "auth/authenticator.h"
#include "events/event_log.h"
#include "http/router.h"
#include "support/process.h"
#include "support/temp_dir.h"

using namespace ordersd;
using api::Peers;
using api::RouteRule;
using bus::Role;
using ordersd::test::TempDir;

namespace {

// A path the pattern matches: each "{name}" as `value`.
std::string path_of(std::string_view pattern, const std::string& value = "x") {
  std::string out;
  size_t at = 0;
  while (at < pattern.size()) {
    if (pattern[at] == '{') {
      at = pattern.find('}', at) + 1;
      out += value;
    } else {
      out += pattern[at++];
    }
  }
  return out;
}

// A router for a process running `roles`: every route the table gives them
// answers 200 with its pattern ("served here"), the rest as access sends them.
struct Service {
  TempDir dir;
  std::unique_ptr<events::EventLog> log = events::EventLog::open(dir.path()).value();
  std::unique_ptr<auth::Authenticator> open_access = auth::Authenticator::open({}).value();
  api::AuditTrail audit{*log};
  api::Access access;
  http::Router router;

  Service(const std::string& roles, const std::string& peers, std::optional<bus::ShardSpec> shard = {})
      : access(*open_access, {}, audit, bus::Roles::parse(roles).value(), Peers::parse(peers).value(), shard) {
    for (const RouteRule& r : api::route_table()) {
      std::string pattern(r.pattern);
      access.add(router, std::string(r.method), pattern, [pattern](http::Request, http::Router::Params, http::Responder respond) {
        respond(http::Response::json(200, nlohmann::json{{"served_here", pattern}}.dump()));
      });
    }
    access.add_elsewhere(router);
  }

  http::Response call(const std::string& method, const std::string& target, std::string body = "") {
    auto answer = std::make_shared<std::promise<http::Response>>();
    http::Request request;
    request.method = method;
    request.target = target;
    request.body = std::move(body);
    router.dispatch(request, [answer](http::Response r) { answer->set_value(std::move(r)); });
    return answer->get_future().get();
  }
};

std::string header(const http::Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

const char* kPeers =
    "order=http://127.0.0.1:8081,payment=http://127.0.0.1:8082,inventory=http://127.0.0.1:8083,"
    "shipping=http://127.0.0.1:8084,query=http://127.0.0.1:8085/";

}  // namespace

TEST_CASE("every route has one row, a service and a summary, and its pattern matches its own row alone") {
  std::set<std::string> seen;
  for (const RouteRule& r : api::route_table()) {
    std::string route = std::string(r.method) + " " + std::string(r.pattern);
    INFO(route);
    CHECK(seen.insert(route).second);
    CHECK_FALSE(r.summary.empty());
    CHECK_FALSE(api::served_name(r.served).empty());
    CHECK(api::match_route_rule(r.method, http::split_path(path_of(r.pattern))) == &r);
  }
  CHECK(api::match_route_rule("GET", http::split_path("/")) == api::find_route_rule("GET", "/"));
  CHECK(api::match_route_rule("GET", http::split_path("/orders//events")) == nullptr);
  CHECK(api::match_route_rule("DELETE", http::split_path("/orders")) == nullptr);
}

TEST_CASE("the service of a route: a role, every process, or the participant the path names") {
  auto rule = [](std::string_view method, std::string_view pattern) { return *api::find_route_rule(method, pattern); };
  CHECK(api::serving_role(rule("GET", "/orders/{id}"), {"o-1"}) == Role::kQuery);
  CHECK(api::serving_role(rule("GET", "/orders/{id}/events"), {"o-1"}) == Role::kOrder);
  CHECK(api::serving_role(rule("POST", "/customers/{id}/deposits"), {"c"}) == Role::kPayment);
  CHECK(api::serving_role(rule("POST", "/inventory/{sku}/restock"), {"s"}) == Role::kInventory);
  CHECK(api::serving_role(rule("GET", "/health"), {}) == std::nullopt);
  CHECK(api::serving_role(rule("POST", "/participants/{name}/pause"), {"saga"}) == Role::kOrder);
  CHECK(api::serving_role(rule("POST", "/participants/{name}/pause"), {"inventory"}) == Role::kInventory);
  CHECK(api::serving_role(rule("POST", "/participants/{name}/resume"), {"shipping"}) == Role::kShipping);
  CHECK(api::serving_role(rule("POST", "/participants/{name}/resume"), {"nobody"}) == std::nullopt);

  auto query = bus::Roles::of(Role::kQuery);
  CHECK(api::serves(rule("GET", "/orders/{id}"), query));
  CHECK_FALSE(api::serves(rule("POST", "/orders"), query));
  CHECK(api::serves(rule("GET", "/"), query));
  CHECK(api::serves(rule("POST", "/participants/{name}/pause"), query));  // decided by the name, per request
  for (const RouteRule& r : api::route_table()) CHECK(api::serves(r, bus::Roles::all()));
  CHECK(api::served_name(RouteRule::Served::kQuery) == "query");
  CHECK(api::served_name(RouteRule::Served::kEvery) == "every");
  CHECK(api::served_name(RouteRule::Served::kParticipantInPath) == "{name}");
}

TEST_CASE("--peers: role=URL pairs, checked; a process may not be its own peer for a role it does not run") {
  auto peers = Peers::parse(kPeers);
  REQUIRE(peers.is_ok());
  CHECK(peers->url(Role::kOrder) == "http://127.0.0.1:8081");
  CHECK(peers->url(Role::kQuery) == "http://127.0.0.1:8085");  // the trailing '/' dropped
  CHECK(Peers::parse("").value().empty());
  CHECK(Peers::parse("query=https://q.example").value().url(Role::kQuery) == "https://q.example");
  CHECK(Peers::parse("query=http://[::1]:9000").is_ok());
  for (const char* bad : {"query", "bogus=http://h:1", "query=ftp://h:1", "query=http://", "query=http://h:1/api",
                          "query=http://h:1?x", "query=http://u:p@h:1", "query=http://h:0", "query=http://h:99999",
                          "query=http://h:1,query=http://h:2", "query=http://h:1,", "query=http://h x:1"}) {
    INFO(bad);
    auto parsed = Peers::parse(bad);
    REQUIRE_FALSE(parsed.is_ok());
    CHECK(parsed.status().message().find("--peers") != std::string::npos);
  }
  CHECK(peers->to_string().find("query=http://127.0.0.1:8085") != std::string::npos);

  auto query = bus::Roles::of(Role::kQuery);
  CHECK(peers->names_itself(query, {}, "127.0.0.1", 8085) == std::nullopt);  // its own role: never used
  CHECK(peers->names_itself(query, {}, "127.0.0.1", 8081) == "order");
  CHECK(peers->names_itself(query, {}, "localhost", 8082) == "payment");
  CHECK(peers->names_itself(query, {}, "127.0.0.1", 9999) == std::nullopt);
}

TEST_CASE("a route of another service is 307 to it, same path and query, whatever the method; never for one's own") {
  Service query("query", kPeers);
  auto r = query.call("GET", "/orders/o-1/events?x=1");
  CHECK(r.status == 307);
  CHECK(header(r, "Location") == "http://127.0.0.1:8081/orders/o-1/events?x=1");
  auto body = nlohmann::json::parse(r.body);
  CHECK(body["detail"] == "GET /orders/{id}/events is served by the order service");
  CHECK(body["location"] == "http://127.0.0.1:8081/orders/o-1/events?x=1");

  r = query.call("POST", "/customers/c-1/deposits", R"({"amount_cents":1})");
  CHECK(r.status == 307);
  CHECK(header(r, "Location") == "http://127.0.0.1:8082/customers/c-1/deposits");
  CHECK(query.call("POST", "/orders").status == 307);
  CHECK(query.call("HEAD", "/sagas/o-1").status == 307);
  // The participant the path names decides.
  CHECK(header(query.call("POST", "/participants/inventory/pause"), "Location") ==
        "http://127.0.0.1:8083/participants/inventory/pause");
  CHECK(header(query.call("POST", "/participants/saga/resume"), "Location") ==
        "http://127.0.0.1:8081/participants/saga/resume");

  // Its own routes and everyone's are served here.
  for (const char* target : {"/orders/o-1", "/orders?limit=1", "/stats", "/", "/health", "/participants",
                             "/participants/nobody/pause"}) {
    std::string method = std::string(target).find("/pause") != std::string::npos ? "POST" : "GET";
    INFO(target);
    CHECK(query.call(method, target).status == 200);
  }
  // A method no service serves on the path is 405 listing every service's.
  r = query.call("DELETE", "/orders");
  CHECK(r.status == 405);
  CHECK(header(r, "Allow").find("POST") != std::string::npos);
  CHECK(header(r, "Allow").find("HEAD") != std::string::npos);

  // Every route of every service: served where the table says, else sent
  // to a process that serves it (which would not send it on).
  for (const std::string roles : {"order", "payment", "inventory", "shipping", "query"}) {
    Service p(roles, kPeers);
    for (const RouteRule& rule : api::route_table()) {
      std::string target = path_of(rule.pattern, rule.pattern.starts_with("/participants/") ? "shipping" : "x");
      INFO(roles << ": " << rule.method << " " << target);
      auto answer = p.call(std::string(rule.method), target);
      auto role = api::serving_role(rule, http::Router::Params{"shipping"});
      bool here = !role || bus::Roles::parse(roles).value().has(*role);
      CHECK(answer.status == (here ? 200 : 307));
      if (!here) CHECK(header(answer, "Location") == std::string(Peers::parse(kPeers).value().url(*role)) + target);
    }
  }
}

TEST_CASE("without a peer for it, a route of another service is 404 naming the service that serves it") {
  Service query("query", "payment=http://127.0.0.1:8082");
  auto r = query.call("GET", "/orders/o-1/state");
  CHECK(r.status == 404);
  CHECK(header(r, "Content-Type") == "application/problem+json");
  CHECK(header(r, "Location").empty());
  std::string detail = nlohmann::json::parse(r.body)["detail"];
  CHECK(detail.starts_with("GET /orders/{id}/state is served by the order service; this process runs query"));
  CHECK(query.call("GET", "/customers/c-1/wallet").status == 307);  // that one has a peer

  Service order("order", "");
  detail = nlohmann::json::parse(order.call("GET", "/orders/o-1").body)["detail"];
  CHECK(detail.starts_with("GET /orders/{id} is served by the query service"));
  CHECK(order.call("POST", "/participants/payment/pause").status == 404);
  CHECK(order.call("POST", "/participants/saga/pause").status == 200);
}

TEST_CASE("ordersd serve refuses --peers that are wrong or that name itself for a role it does not run") {
  auto bad = ordersd::test::run({ORDERSD_BINARY, "serve", "--roles", "query", "--bus", "nats://127.0.0.1:1",
                                 "--listen", "127.0.0.1:18085", "--peers", "order=http://127.0.0.1:18085"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("--peers gives this process's own address for the order service") != std::string::npos);
  bad = ordersd::test::run({ORDERSD_BINARY, "serve", "--peers", "orders=http://127.0.0.1:1"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("--peers entry 'orders=http://127.0.0.1:1'") != std::string::npos);
}

// Shards (bus/shards.h): order shards own orders by id, payment shards own
// wallets by customer id; the shard map is the --peers entries.
const char* kShardedPeers =
    "order/0=http://127.0.0.1:8081,order/1=http://127.0.0.1:8082,payment/0=http://127.0.0.1:8083,"
    "payment/1=http://127.0.0.1:8084,inventory=http://127.0.0.1:8085,shipping=http://127.0.0.1:8086,"
    "query=http://127.0.0.1:8087";

// Ids owned by shard 0 and by shard 1 of 2.
std::pair<std::string, std::string> ids_of_each_shard(const std::string& prefix) {
  std::string zero, one;
  for (int i = 0; zero.empty() || one.empty(); ++i) {
    std::string id = prefix + std::to_string(i);
    (bus::shard_of(id, 2) == 0 ? zero : one) = id;
  }
  return {zero, one};
}

TEST_CASE("a key's shard is FNV-1a of it, modulo the count: the same in every process and every build") {
  CHECK(bus::shard_of("a", 1000) == 0xaf63dc4c8601ec8cull % 1000);
  CHECK(bus::shard_of("", 1000) == 0xcbf29ce484222325ull % 1000);
  CHECK(bus::shard_of("o-1001", 1) == 0);
  std::map<uint32_t, int> spread;
  for (int i = 0; i < 4000; ++i) ++spread[bus::shard_of("o-" + std::to_string(i), 4)];
  REQUIRE(spread.size() == 4);
  for (auto [shard, n] : spread) CHECK_MESSAGE((n > 850 && n < 1150), "shard " << shard << ": " << n);

  CHECK(bus::ShardSpec::parse("1/2").value().index == 1);
  CHECK(bus::ShardSpec::parse("0/1").value().count == 1);
  for (const char* bad : {"", "1", "2/2", "0/0", "-1/2", "a/2", "1/b", "0/257", "1/2/3", " 0/2"}) {
    INFO(bad);
    CHECK_FALSE(bus::ShardSpec::parse(bad).is_ok());
  }
}

TEST_CASE("each message carries the route of its stream's owner; each shard's consumers take only its own routes") {
  bus::ShardMap shards(2, 2);
  auto [o0, o1] = ids_of_each_shard("o-");
  auto [c0, c1] = ids_of_each_shard("c-");
  CHECK(shards.route("order-" + o1, "") == "1");
  CHECK(shards.route("reservation-" + o0, "") == "0");
  CHECK(shards.route("shipment-" + o1, "") == "1");
  CHECK(shards.route("operator-" + o1, "") == "1");
  CHECK(shards.route("wallet-" + c1, "") == "1");
  CHECK(shards.route("saga-" + o0, c1) == "1");  // the customer's payment shard, not the order's
  CHECK(shards.route("sku-espresso", "") == "0");
  CHECK(bus::ShardMap().route("order-" + o1, "").empty());  // no shards: no routes

  using Filters = std::map<std::string, std::string>;
  CHECK(shards.import_filters(bus::Roles::of(Role::kOrder), bus::ShardSpec{1, 2}) ==
        Filters{{"reservation", "1"}, {"shipment", "1"}, {"wallet", "*"}});
  CHECK(shards.import_filters(bus::Roles::of(Role::kPayment), bus::ShardSpec{0, 2}) == Filters{{"saga", "0"}});
  CHECK(shards.import_filters(bus::Roles::of(Role::kInventory), {}) == Filters{{"saga", "*"}});
  Filters query = shards.import_filters(bus::Roles::of(Role::kQuery), {});
  CHECK(query.size() == 7);
  for (const auto& [kind, route] : query) CHECK(route == "*");
  CHECK(bus::ShardMap().import_filters(bus::Roles::of(Role::kOrder), {}) ==
        Filters{{"reservation", ""}, {"shipment", ""}, {"wallet", ""}});
}

TEST_CASE("--peers with shards: role/I entries give the shard map, none missing, never mixed with role=URL") {
  auto peers = Peers::parse(kShardedPeers);
  REQUIRE(peers.is_ok());
  CHECK(peers->shard_map().count(Role::kOrder) == 2);
  CHECK(peers->shard_map().count(Role::kPayment) == 2);
  CHECK(peers->url(Role::kOrder, 1) == "http://127.0.0.1:8082");
  CHECK(peers->url(Role::kQuery) == "http://127.0.0.1:8087");
  CHECK(Peers::parse(peers->to_string()).value().to_string() == peers->to_string());
  CHECK_FALSE(Peers::parse(kPeers).value().shard_map().sharded());
  for (const char* bad : {"order/1=http://h:1", "order/0=http://h:1,order/2=http://h:2", "order=http://h:1,order/0=http://h:2",
                          "inventory/0=http://h:1", "order/0=http://h:1,order/0=http://h:2", "order/x=http://h:1",
                          "order/-1=http://h:1"}) {
    INFO(bad);
    auto parsed = Peers::parse(bad);
    REQUIRE_FALSE(parsed.is_ok());
    CHECK(parsed.status().message().find("--peers") != std::string::npos);
  }
  // Shard 0 of order is not its own peer as order/0, but is as order/1.
  auto order = bus::Roles::of(Role::kOrder);
  CHECK(peers->names_itself(order, bus::ShardSpec{0, 2}, "127.0.0.1", 8081) == std::nullopt);
  CHECK(peers->names_itself(order, bus::ShardSpec{0, 2}, "127.0.0.1", 8082) == "order/1");
}

TEST_CASE("a request for a key another shard owns is 307 to that shard, from any process, in one hop") {
  auto [o0, o1] = ids_of_each_shard("o-");
  auto [c0, c1] = ids_of_each_shard("c-");
  Service order0("order", kShardedPeers, bus::ShardSpec{0, 2});
  CHECK(order0.call("POST", "/orders/" + o0 + "/cancel").status == 200);
  auto r = order0.call("POST", "/orders/" + o1 + "/cancel");
  CHECK(r.status == 307);
  CHECK(header(r, "Location") == "http://127.0.0.1:8082/orders/" + o1 + "/cancel");
  CHECK(nlohmann::json::parse(r.body)["detail"] ==
        "POST /orders/{id}/cancel is served by the order service's shard 1 of 2");
  CHECK(header(order0.call("GET", "/sagas/" + o1), "Location") == "http://127.0.0.1:8082/sagas/" + o1);
  // A placement by the body's order_id; a body without one is the shard's own (400 there).
  std::string body = nlohmann::json{{"order_id", o1}}.dump();
  CHECK(header(order0.call("POST", "/orders", body), "Location") == "http://127.0.0.1:8082/orders");
  CHECK(order0.call("POST", "/orders", nlohmann::json{{"order_id", o0}}.dump()).status == 200);
  CHECK(order0.call("POST", "/orders", "not json").status == 200);
  // Not keyed: served by whichever shard is asked.
  CHECK(order0.call("GET", "/events").status == 200);
  CHECK(order0.call("GET", "/sagas").status == 200);

  Service payment1("payment", kShardedPeers, bus::ShardSpec{1, 2});
  CHECK(payment1.call("POST", "/customers/" + c1 + "/deposits").status == 200);
  CHECK(header(payment1.call("GET", "/customers/" + c0 + "/wallet"), "Location") ==
        "http://127.0.0.1:8083/customers/" + c0 + "/wallet");

  // Other services send each keyed route straight to its owner.
  Service query("query", kShardedPeers);
  CHECK(header(query.call("GET", "/orders/" + o1 + "/events"), "Location") ==
        "http://127.0.0.1:8082/orders/" + o1 + "/events");
  CHECK(header(query.call("POST", "/orders", body), "Location") == "http://127.0.0.1:8082/orders");
  CHECK(header(query.call("POST", "/customers/" + c1 + "/deposits"), "Location") ==
        "http://127.0.0.1:8084/customers/" + c1 + "/deposits");
  CHECK(query.call("GET", "/orders/" + o1).status == 200);  // the query service's own
}

TEST_CASE("ordersd serve refuses a --shard it cannot honour") {
  auto run = [](std::vector<std::string> args) {
    std::vector<std::string> all = {ORDERSD_BINARY, "serve", "--listen", "127.0.0.1:0"};
    all.insert(all.end(), args.begin(), args.end());
    return ordersd::test::run(all);
  };
  auto bad = run({"--roles", "order", "--bus", "nats://127.0.0.1:1", "--shard", "2/2", "--peers", kShardedPeers});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("--shard '2/2'") != std::string::npos);
  bad = run({"--roles", "query", "--bus", "nats://127.0.0.1:1", "--shard", "0/2", "--peers", kShardedPeers});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("--roles order or --roles payment") != std::string::npos);
  bad = run({"--roles", "order", "--bus", "nats://127.0.0.1:1", "--shard", "0/3", "--peers", kShardedPeers});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("needs --peers naming 3 shards of order") != std::string::npos);
  bad = run({"--roles", "order", "--bus", "amqp://127.0.0.1:1/", "--shard", "0/2", "--peers", kShardedPeers});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("needs a NATS --bus") != std::string::npos);
  bad = run({"--roles", "payment", "--bus", "nats://127.0.0.1:1", "--peers", kShardedPeers});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("--peers names 2 shards of payment: a process running payment is one of them") != std::string::npos);
  bad = run({"--roles", "query", "--bus", "amqp://127.0.0.1:1/", "--peers", kShardedPeers});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("need a NATS --bus") != std::string::npos);
}
