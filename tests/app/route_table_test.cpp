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

  Service(const std::string& roles, const std::string& peers)
      : access(*open_access, {}, audit, bus::Roles::parse(roles).value(), Peers::parse(peers).value()) {
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
  CHECK(peers->names_itself(query, "127.0.0.1", 8085) == std::nullopt);  // its own role: never used
  CHECK(peers->names_itself(query, "127.0.0.1", 8081) == Role::kOrder);
  CHECK(peers->names_itself(query, "localhost", 8082) == Role::kPayment);
  CHECK(peers->names_itself(query, "127.0.0.1", 9999) == std::nullopt);
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
