// Who may do what, against a real server with a token file.
//
// The walk: every route of the README's route table is the route table the
// server enforces (api/route_table.cpp), and each is called with no token
// (401 with a Bearer challenge), with an unknown token (401, invalid_token),
// with a token holding every scope but its own (403, insufficient_scope)
// and with a token holding its scope alone (its success status). Refused
// requests change nothing: the right token's command still creates what
// the refused ones named. Then: customer-bound tokens, the audit trail,
// revocation on SIGHUP, rate limits, Idempotency-Keys kept per caller, and
// the defaults (open on loopback with a warning, refused elsewhere).
#include <doctest/doctest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "api/route_table.h"
#include "auth/scopes.h"
#include "events/event_log.h"
#include "support/eventually.h"
#include "support/order_body.h"
#include "support/http_client.h"
#include "support/jwt_signer.h"
#include "support/process.h"
#include "support/sample_events.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

using nlohmann::json;
using ordersd::test::HttpClient;
using ordersd::test::HttpResponse;
using ordersd::test::ServerProcess;
using ordersd::test::TempDir;
using namespace std::chrono_literals;
using Headers = std::vector<std::pair<std::string, std::string>>;

using ordersd::test::eventually;

using ordersd::test::order_body;
namespace {

const std::vector<std::string> kAllScopes = {"orders:write", "orders:read",    "wallets:write", "wallets:read",
                                              "inventory:write", "inventory:read", "events:read", "metrics", "admin"};

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ",") + p;
  return out;
}

// `ordersd token create`, returning the token it prints.
std::string create_token(const std::string& file, const std::string& name, const std::vector<std::string>& scopes,
                         const std::string& customer = "") {
  std::vector<std::string> argv = {ORDERSD_BINARY, "token", "create", "--file", file, "--name", name,
                                   "--scopes",     join(scopes)};
  if (!customer.empty()) argv.insert(argv.end(), {"--customer", customer});
  auto done = ordersd::test::run(argv);
  INFO(done.err);
  REQUIRE(done.exit_code == 0);
  std::string token = done.out.substr(0, done.out.find('\n'));
  REQUIRE(token.starts_with("odt_"));
  return token;
}

Headers bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }
Headers with_json(Headers h) {
  h.emplace_back("Content-Type", "application/json");
  return h;
}


// The README's route table: "METHOD PATTERN" -> scope ("open" for open routes).
std::map<std::string, std::string> readme_routes() {
  std::ifstream in(std::string(ORDERSD_SOURCE_DIR) + "/README.md");
  REQUIRE(in);
  const std::regex row(R"re(^\| `(GET|POST|PUT|PATCH|DELETE) ([^`?]+)(\?[^`]*)?` \| ([^|]+) \|)re");
  std::map<std::string, std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (!std::regex_search(line, m, row)) continue;
    std::string scope = m[4].str();
    scope = scope.substr(0, scope.find_last_not_of(' ') + 1);
    if (scope.starts_with("open")) scope = "open";
    out[m[1].str() + " " + m[2].str()] = scope;
  }
  return out;
}

std::map<std::string, std::string> enforced_routes() {
  std::map<std::string, std::string> out;
  for (const auto& r : ordersd::api::route_table()) {
    out[std::string(r.method) + " " + std::string(r.pattern)] =
        r.scope ? std::string(ordersd::auth::scope_name(*r.scope)) : r.any_caller ? "any credentials" : "open";
  }
  return out;
}

// A server with a token file holding, for every scope S, a token with S
// alone ("only-S") and one with every scope but S ("but-S"), and "root"
// with all of them.
struct SecuredServer {
  TempDir dir;
  std::string tokens_file = dir.sub("tokens.jsonl");
  std::map<std::string, std::string> only, all_but;
  std::string root;
  std::unique_ptr<ServerProcess> server;
  std::unique_ptr<HttpClient> http;

  explicit SecuredServer(std::vector<std::string> extra = {}, const std::function<void(const std::string&)>& seed = {}) {
    root = create_token(tokens_file, "root", kAllScopes);
    for (const auto& s : kAllScopes) {
      std::string name = s;
      for (char& c : name) c = c == ':' ? '-' : c;
      only[s] = create_token(tokens_file, "only-" + name, {s});
      std::vector<std::string> rest;
      for (const auto& o : kAllScopes) {
        if (o != s) rest.push_back(o);
      }
      all_but[s] = create_token(tokens_file, "but-" + name, rest);
    }
    std::string data = dir.sub("data");
    if (seed) seed(data);
    std::vector<std::string> args = {"--tokens", tokens_file};
    args.insert(args.end(), extra.begin(), extra.end());
    server = std::make_unique<ServerProcess>(data, args);
    http = std::make_unique<HttpClient>(server->port);
  }

  HttpResponse as_root(const std::string& method, const std::string& target, const std::string& body = "") {
    return http->request(method, target, body, with_json(bearer(root)));
  }
  json root_json(const std::string& target) {
    auto r = as_root("GET", target);
    INFO(target << " -> " << r.status << " " << r.body);
    REQUIRE(r.status == 200);
    return json::parse(r.body);
  }
};

std::string component_state(SecuredServer& s, const std::string& name) {
  json all = s.root_json("/admin/components");
  for (const auto& c : all["components"]) {
    if (c["name"] == name) return c["state"];
  }
  return "";
}

bool is_problem(const HttpResponse& r) { return r.header("content-type").starts_with("application/problem+json"); }

}  // namespace

TEST_CASE("the README's route table is the one the server enforces, scope for scope") {
  auto documented = readme_routes();
  auto enforced = enforced_routes();
  for (const auto& [route, scope] : enforced) {
    INFO(route);
    REQUIRE(documented.count(route) == 1);
    CHECK(documented[route] == scope);
  }
  for (const auto& [route, scope] : documented) {
    INFO(route << " is in the README but the server has no such route");
    CHECK(enforced.count(route) == 1);
  }
}

TEST_CASE("every route: no token 401, a bad token 401, the wrong scopes 403, its own scope alone succeeds") {
  // An event no order view can apply, so that a component has failed and
  // the operator's retry and skip have something to act on.
  SecuredServer s({"--step-timeout", "1000", "--step-attempts", "1"}, [](const std::string& data) {
    auto log = ordersd::events::EventLog::open(data).value();
    REQUIRE(log->append("order-ghost", ordersd::events::ExpectedVersion::no_stream(),
                        {ordersd::test::order_delivered("ghost", ordersd::Uuid{1, 2})}));
  });
  REQUIRE(eventually([&] { return component_state(s, "view-orders") == "failed"; }));

  struct Call {
    std::string route;   // "METHOD PATTERN", as in the route table
    std::string target;  // the path and query called
    std::string body;
    int success;
    std::function<void()> before;  // brings the server to where the call succeeds
  };
  const std::string placed = "o-walk-1", cancelled = "o-walk-2";
  auto skip_every_failed_view = [&] {
    json all = s.root_json("/admin/components");
    for (const auto& c : all["components"]) {
      if (c["state"] != "failed") continue;
      auto r = s.as_root("POST", "/admin/components/" + c["name"].get<std::string>() + "/skip", R"({"position":1})");
      REQUIRE(r.status == 200);
    }
    REQUIRE(eventually([&] {
      json now = s.root_json("/admin/components");
      for (const auto& c : now["components"]) {
        if (c["state"] != "running") return false;
      }
      return true;
    }));
  };
  std::string stuck;
  std::vector<Call> calls = {
      {"POST /admin/components/{name}/retry", "/admin/components/view-orders/retry", "", 200, {}},
      {"POST /admin/components/{name}/skip", "/admin/components/view-orders/skip", R"({"position":1})", 200,
       [&] { REQUIRE(eventually([&] { return component_state(s, "view-orders") == "failed"; })); }},
      {"POST /customers/{id}/deposits", "/customers/c-1/deposits", R"({"amount_cents":100000})", 200,
       skip_every_failed_view},
      {"POST /inventory/{sku}/restock", "/inventory/mug/restock", R"({"quantity":100})", 200, {}},
      {"POST /orders", "/orders", order_body(placed, "c-1").dump(), 201, {}},
      {"POST /orders/{id}/deliver", "/orders/" + placed + "/deliver", "", 200,
       [&] {
         REQUIRE(eventually(
             [&] { return s.root_json("/orders/" + placed + "/state")["status"] == "shipment_initiated"; }));
       }},
      {"POST /participants/{name}/pause", "/participants/payment/pause", "", 200, {}},
      {"POST /participants/{name}/resume", "/participants/shipping/resume", "", 200, {}},
      // With payment held, an order stays placed (cancellable), and its
      // charge and then its refund time out: its saga is stuck.
      {"POST /orders/{id}/cancel", "/orders/" + cancelled + "/cancel", "", 202,
       [&] { REQUIRE(s.as_root("POST", "/orders", order_body(cancelled, "c-1").dump()).status == 201); }},
      {"POST /sagas/{id}/retry", "/sagas/{stuck}/retry", "", 202,
       [&] {
         REQUIRE(eventually([&] { return !s.root_json("/sagas?status=stuck")["sagas"].empty(); }));
         stuck = s.root_json("/sagas?status=stuck")["sagas"][0]["order_id"];
       }},
      {"POST /admin/views/{name}/rebuild", "/admin/views/view-stats/rebuild", "", 202, {}},
      {"GET /orders/{id}", "/orders/" + placed, "", 200, {}},
      {"GET /orders", "/orders?customer_id=c-1", "", 200, {}},
      {"GET /orders/{id}/events", "/orders/" + placed + "/events", "", 200, {}},
      {"GET /orders/{id}/state", "/orders/" + placed + "/state", "", 200, {}},
      {"GET /orders/{id}/timeline", "/orders/" + placed + "/timeline", "", 200, {}},
      {"GET /customers/{id}/wallet", "/customers/c-1/wallet", "", 200, {}},
      {"GET /customers/{id}", "/customers/c-1", "", 200, {}},
      {"GET /inventory/{sku}", "/inventory/mug", "", 200, {}},
      {"GET /events", "/events?from=1&limit=5", "", 200, {}},
      // A feed that starts past the head and ends itself after 50 ms.
      {"GET /events/stream", "/events/stream?from=1000000&max_ms=50", "", 200, {}},
      {"GET /sagas", "/sagas?status=stuck", "", 200, {}},
      {"GET /sagas/{id}", "/sagas/" + placed, "", 200, {}},
      {"GET /participants", "/participants", "", 200, {}},
      {"GET /admin/views", "/admin/views", "", 200, {}},
      {"GET /admin/components", "/admin/components", "", 200, {}},
      {"GET /admin/audit", "/admin/audit", "", 200, {}},
      {"GET /metrics", "/metrics", "", 200, {}},
      {"GET /stats", "/stats", "", 200, {}},
      {"GET /", "/", "", 200, {}},
      {"GET /health", "/health", "", 200, {}},
      {"GET /health/live", "/health/live", "", 200, {}},
      {"GET /openapi.json", "/openapi.json", "", 200, {}},
      {"GET /ui", "/ui/", "", 200, {}},
      {"GET /ui/{asset}", "/ui/app.js", "", 200, {}},
      {"GET /whoami", "/whoami", "", 200, {}},
      {"GET /health/ready", "/health/ready", "", 200,
       [&] { REQUIRE(eventually([&] { return s.http->get("/health/ready").status == 200; })); }},
  };

  auto enforced = enforced_routes();
  std::set<std::string> walked;
  for (auto& call : calls) {
    INFO(call.route);
    REQUIRE(enforced.count(call.route) == 1);
    walked.insert(call.route);
    if (call.before) call.before();
    if (auto at = call.target.find("{stuck}"); at != std::string::npos) call.target.replace(at, 7, stuck);
    std::string method = call.route.substr(0, call.route.find(' '));
    const std::string& scope = enforced[call.route];
    if (scope == "open") {
      auto r = s.http->request(method, call.target, call.body, with_json({}));
      INFO(r.body);
      CHECK(r.status == call.success);
      continue;
    }
    auto none = s.http->request(method, call.target, call.body, with_json({}));
    CHECK(none.status == 401);
    CHECK(is_problem(none));
    CHECK(none.header("www-authenticate") == "Bearer realm=\"ordersd\"");

    auto unknown = s.http->request(method, call.target, call.body,
                                   with_json(bearer("odt_0123456789abcdef_notarealtokennotarealtokennotarealtoken")));
    CHECK(unknown.status == 401);
    CHECK(unknown.header("www-authenticate").find("error=\"invalid_token\"") != std::string::npos);

    if (scope == "any credentials") {
      // No scope needed: a token with a single one will do.
      auto any = s.http->request(method, call.target, call.body, with_json(bearer(s.only.at("metrics"))));
      CHECK(any.status == call.success);
      CHECK(json::parse(any.body)["caller"] == "only-metrics");
      continue;
    }
    auto wrong = s.http->request(method, call.target, call.body, with_json(bearer(s.all_but.at(scope))));
    CHECK(wrong.status == 403);
    CHECK(is_problem(wrong));
    CHECK(wrong.header("www-authenticate").find("scope=\"" + scope + "\"") != std::string::npos);

    // Only now does the request run: the refusals before it changed nothing
    // (a create still creates, a one-time action still succeeds).
    auto right = s.http->request(method, call.target, call.body, with_json(bearer(s.only.at(scope))));
    INFO(right.body);
    CHECK(right.status == call.success);
    // A streamed answer closes its connection when it ends.
    if (right.header("connection") == "close") s.http = std::make_unique<HttpClient>(s.server->port);
  }
  for (const auto& [route, scope] : enforced) {
    INFO(route << " is not walked");
    CHECK(walked.count(route) == 1);
  }

  // Without the metrics scope /health says only how it is.
  auto summary = json::parse(s.http->get("/health").body);
  CHECK(summary.size() == 1);
  CHECK(summary.contains("status"));
  CHECK(json::parse(s.as_root("GET", "/health").body).contains("components"));
}

TEST_CASE("a token bound to a customer sees and acts on that customer's orders and wallet only; others are 404") {
  SecuredServer s({"--paused", "saga"});
  std::string alice = create_token(s.tokens_file, "alice", {"orders:write", "orders:read", "wallets:write", "wallets:read"},
                                   "alice");
  s.server->process.signal(SIGHUP);
  HttpClient& http = *s.http;
  REQUIRE(eventually([&] { return http.request("GET", "/customers/alice/wallet", "", bearer(alice)).status != 401; }));

  REQUIRE(s.as_root("POST", "/customers/bob/deposits", R"({"amount_cents":5000})").status == 200);
  REQUIRE(s.as_root("POST", "/orders", order_body("bob-1", "bob").dump()).status == 201);
  auto as_alice = [&](const std::string& method, const std::string& target, const std::string& body = "") {
    return http.request(method, target, body, with_json(bearer(alice)));
  };
  REQUIRE(as_alice("POST", "/customers/alice/deposits", R"({"amount_cents":7000})").status == 200);
  auto mine = as_alice("POST", "/orders", order_body("alice-1", "alice").dump());
  REQUIRE(mine.status == 201);
  uint64_t position = json::parse(mine.body)["position"];

  // Her own: every route answers.
  CHECK(as_alice("GET", "/orders/alice-1?min_position=" + std::to_string(position)).status == 200);
  CHECK(as_alice("GET", "/orders/alice-1/state").status == 200);
  CHECK(as_alice("GET", "/orders/alice-1/events").status == 200);
  CHECK(as_alice("GET", "/orders/alice-1/timeline?min_position=" + std::to_string(position)).status == 200);
  CHECK(as_alice("GET", "/customers/alice/wallet").status == 200);
  auto listed = json::parse(as_alice("GET", "/orders?min_position=" + std::to_string(position)).body)["orders"];
  REQUIRE(listed.size() == 1);  // bob's order is not in her list
  CHECK(listed[0]["order_id"] == "alice-1");

  // Bob's: answered as if they did not exist, in the words used for what does not.
  auto hidden = as_alice("GET", "/orders/bob-1?min_position=" + std::to_string(position));
  auto absent = as_alice("GET", "/orders/nobody?min_position=" + std::to_string(position));
  CHECK(hidden.status == 404);
  CHECK(absent.status == 404);
  CHECK(json::parse(hidden.body)["detail"] == "no order bob-1");
  CHECK(json::parse(absent.body)["detail"] == "no order nobody");
  auto hidden_story = as_alice("GET", "/orders/bob-1/timeline?min_position=" + std::to_string(position));
  CHECK(hidden_story.status == 404);
  CHECK(json::parse(hidden_story.body)["detail"] == "no order bob-1");
  CHECK(s.as_root("GET", "/orders/bob-1/timeline?min_position=" + std::to_string(position)).status == 200);
  for (std::string target : {"/orders/bob-1/state", "/orders/bob-1/events", "/customers/bob",
                                    "/customers/bob/wallet", "/orders?customer_id=bob"}) {
    INFO(target);
    auto r = as_alice("GET", target);
    CHECK(r.status == 404);
    CHECK(is_problem(r));
  }
  // Nor can she act on them: nothing changes.
  CHECK(as_alice("POST", "/orders/bob-1/cancel").status == 404);
  CHECK(as_alice("POST", "/customers/bob/deposits", R"({"amount_cents":100})").status == 404);
  CHECK(as_alice("POST", "/orders", order_body("for-bob", "bob").dump()).status == 404);
  CHECK(s.root_json("/orders/bob-1/state")["status"] == "placed");
  CHECK(s.root_json("/customers/bob/wallet")["balance_cents"] == 5000);
  CHECK(s.as_root("GET", "/orders/for-bob/state").status == 404);
  // A customer's token can never hold a scope that sees every customer.
  auto refused = ordersd::test::run(
      {ORDERSD_BINARY, "token", "create", "--file", s.tokens_file, "--name", "x", "--scopes", "events:read", "--customer", "alice"});
  CHECK(refused.exit_code == 2);
  CHECK(refused.err.find("cannot hold events:read") != std::string::npos);
}

TEST_CASE("admin actions are on record with the token's name; refused ones do not act") {
  SecuredServer s;
  auto refused = s.http->request("POST", "/participants/payment/pause", "", bearer(s.all_but.at("admin")));
  CHECK(refused.status == 403);
  CHECK(s.root_json("/participants")["participants"][1]["paused"] == false);
  auto none = json::parse(s.as_root("GET", "/admin/audit").body);
  CHECK(none["entries"].empty());

  REQUIRE(s.http->request("POST", "/participants/payment/pause", "", bearer(s.only.at("admin"))).status == 200);
  REQUIRE(s.http->request("POST", "/participants/shipping/pause", "", bearer(s.root)).status == 200);
  // Refused by the route itself: nothing changed, nothing recorded.
  REQUIRE(s.http->request("POST", "/participants/nobody/pause", "", bearer(s.only.at("admin"))).status == 404);
  auto page = json::parse(s.as_root("GET", "/admin/audit?limit=1").body);
  REQUIRE(page["entries"].size() == 1);
  auto newest = page["entries"][0];
  CHECK(newest["type"] == "operator.action_audited.v1");
  CHECK(newest["stream"] == "operator-audit:root");
  CHECK(newest["payload"]["caller"] == "root");
  CHECK(newest["payload"]["path"] == "/participants/shipping/pause");
  REQUIRE(page["next"].is_string());
  auto older = json::parse(s.as_root("GET", "/admin/audit?limit=1&cursor=" + page["next"].get<std::string>()).body);
  REQUIRE(older["entries"].size() == 1);
  auto first = older["entries"][0]["payload"];
  CHECK(first["caller"] == "only-admin");
  CHECK(first["credential"] == "api-token");
  CHECK(first["action"] == "POST /participants/{name}/pause");
  CHECK(first["path"] == "/participants/payment/pause");
  CHECK(first["status"] == 200);
  CHECK(first["address"] == "127.0.0.1");
  CHECK(older["next"].is_null());
  CHECK(s.as_root("GET", "/admin/audit?cursor=zz").status == 400);
  CHECK(s.as_root("GET", "/admin/audit?limit=0").status == 400);
}

TEST_CASE("a revoked token is refused once the server reloads its tokens on SIGHUP") {
  SecuredServer s;
  const std::string& reader = s.only.at("orders:read");
  REQUIRE(s.http->request("GET", "/orders", "", bearer(reader)).status == 200);
  auto revoked = ordersd::test::run({ORDERSD_BINARY, "token", "revoke", "--file", s.tokens_file, "--name", "only-orders-read"});
  REQUIRE(revoked.exit_code == 0);
  s.server->process.signal(SIGHUP);
  CHECK(eventually([&] { return s.http->request("GET", "/orders", "", bearer(reader)).status == 401; }));
  CHECK(s.http->request("GET", "/orders", "", bearer(s.root)).status == 200);
  // A token file that no longer parses is not loaded: the old tokens stay.
  { std::ofstream(s.tokens_file, std::ios::app) << "not json\n"; }
  s.server->process.signal(SIGHUP);
  CHECK(eventually([&] { return s.server->process.stderr_so_far().find("not reloaded") != std::string::npos; }));
  CHECK(s.http->request("GET", "/orders", "", bearer(s.root)).status == 200);
}

TEST_CASE("over the rate limit: 429 with Retry-After; probes are never limited") {
  SecuredServer s({"--rate-limit", "1:3"});
  int limited = 0;
  HttpResponse last;
  for (int i = 0; i < 6; ++i) {
    last = s.http->request("GET", "/orders", "", bearer(s.root));
    if (last.status == 429) {
      ++limited;
      CHECK(is_problem(last));
      CHECK(std::stoi(last.header("retry-after")) >= 1);
    }
  }
  CHECK(limited >= 2);  // a burst of 3, then about one a second
  for (int i = 0; i < 20; ++i) CHECK(s.http->get("/health/live").status == 200);
  CHECK(s.as_root("GET", "/metrics").status == 429);
}

TEST_CASE("an Idempotency-Key is the caller's own: another caller's same key is a new request") {
  SecuredServer s;
  auto deposit = [&](const std::string& token) {
    Headers h = with_json(bearer(token));
    h.emplace_back("Idempotency-Key", "k-1");
    return s.http->request("POST", "/customers/c-9/deposits", R"({"amount_cents":100})", h);
  };
  auto first = deposit(s.only.at("wallets:write"));
  REQUIRE(first.status == 200);
  auto replay = deposit(s.only.at("wallets:write"));
  CHECK(replay.header("idempotent-replayed") == "true");
  auto other = deposit(s.root);
  CHECK(other.status == 200);
  CHECK(other.header("idempotent-replayed").empty());
  CHECK(s.root_json("/customers/c-9/wallet")["balance_cents"] == 200);
}

TEST_CASE("with no credentials configured: open on loopback with a warning, refused elsewhere unless --insecure") {
  TempDir dir;
  {
    ServerProcess open(dir.sub("a"));
    HttpClient http(open.port);
    CHECK(http.request("POST", "/participants/payment/pause").status == 200);
    // Logged just after the "listening" line: it may come a moment after the first answer.
    CHECK(eventually([&] {
      return open.process.stderr_so_far().find("every client that reaches the port may do anything") !=
             std::string::npos;
    }));
  }
  auto refused = ordersd::test::run({ORDERSD_BINARY, "serve", "--data", dir.sub("b"), "--listen", "0.0.0.0:0"});
  CHECK(refused.exit_code == 2);
  CHECK(refused.err.find("--tokens") != std::string::npos);
  ordersd::test::Process insecure(
      {ORDERSD_BINARY, "serve", "--data", dir.sub("c"), "--listen", "0.0.0.0:0", "--insecure"});
  auto line = insecure.read_line();
  REQUIRE(line);
  CHECK(line->starts_with("listening on 0.0.0.0:"));
  insecure.signal(SIGTERM);
  CHECK(insecure.wait() == 0);
}

TEST_CASE("OAuth2 access tokens (JWT) from a JWKS: scopes from the scope claim, bound by customer_id, refused when bad") {
  TempDir dir;
  ordersd::test::JwtSigner idp(ordersd::test::JwtSigner::Algorithm::kEs256, "k1");
  std::string jwks = dir.sub("jwks.json");
  idp.write_jwks(jwks);
  ServerProcess server(dir.sub("data"), {"--jwks", jwks, "--jwt-issuer", "https://idp.test", "--jwt-audience", "ordersd"});
  HttpClient http(server.port);
  auto exp = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count() + 600;
  auto token = [&](json claims) {
    claims["iss"] = claims.value("iss", "https://idp.test");
    claims["aud"] = "ordersd";
    claims["exp"] = claims.value("exp", exp);
    return idp.sign(claims.dump());
  };
  std::string operator_token = token({{"sub", "ops@example.com"}, {"scope", "openid admin orders:read"}});
  std::string carol = token({{"sub", "carol"}, {"scope", "orders:write orders:read admin"}, {"customer_id", "carol"}});

  CHECK(http.request("GET", "/participants", "", bearer(operator_token)).status == 200);
  CHECK(http.request("GET", "/orders", "", bearer(operator_token)).status == 200);
  auto forbidden = http.request("GET", "/events", "", bearer(operator_token));
  CHECK(forbidden.status == 403);
  // The audit names the subject.
  REQUIRE(http.request("POST", "/participants/payment/pause", "", bearer(operator_token)).status == 200);
  auto audit = json::parse(http.request("GET", "/admin/audit", "", bearer(operator_token)).body);
  REQUIRE(audit["entries"].size() == 1);
  CHECK(audit["entries"][0]["payload"]["caller"] == "ops@example.com");
  CHECK(audit["entries"][0]["payload"]["credential"] == "jwt");

  // A customer's token: its own orders only, and never an admin, whatever it claims.
  CHECK(http.request("POST", "/orders", order_body("carol-1", "carol").dump(), with_json(bearer(carol))).status == 201);
  CHECK(http.request("POST", "/orders", order_body("dave-1", "dave").dump(), with_json(bearer(carol))).status == 404);
  CHECK(http.request("GET", "/participants", "", bearer(carol)).status == 403);

  // Refused: expired, another issuer, tampered, unsigned.
  for (const auto& [why, bad] : std::vector<std::pair<std::string, std::string>>{
           {"expired", token({{"sub", "x"}, {"scope", "orders:read"}, {"exp", exp - 3600}})},
           {"issuer", token({{"sub", "x"}, {"scope", "orders:read"}, {"iss", "https://evil.test"}})},
           {"tampered", operator_token.substr(0, operator_token.size() - 4) + "AAAA"},
           {"none", ordersd::test::JwtSigner::compact(R"({"alg":"none"})",
                                                        R"({"sub":"x","iss":"https://idp.test","aud":"ordersd"})", "")}}) {
    INFO(why);
    auto r = http.request("GET", "/orders", "", bearer(bad));
    CHECK(r.status == 401);
    CHECK(r.header("www-authenticate").find("invalid_token") != std::string::npos);
  }
}
