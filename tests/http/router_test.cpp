// Router dispatch, percent-decoding, and the Request/Response helpers. Routes
// here answer synchronously, so dispatch() has answered when it returns.
#include "http/router.h"

#include <doctest/doctest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "http/http.h"
#include "http/params.h"

using ordersd::http::percent_decode;
using ordersd::http::Request;
using ordersd::http::Response;
using ordersd::http::Router;
using ordersd::http::split_path;

namespace {

// Which route ran, with what; or the router's own answer.
struct Outcome {
  std::string route;  // the name given to add(); "" when the router answered itself
  Router::Params params;
  Request request;
  std::optional<Response> response;
  int answers = 0;
  std::string matched;
};

class TestRouter {
 public:
  void add(const std::string& method, const std::string& pattern) {
    std::string name = method + " " + pattern;
    router_.add(method, pattern, [last = last_, name](Request r, Router::Params p, ordersd::http::Responder respond) {
      last->route = name;
      last->params = std::move(p);
      last->request = std::move(r);
      respond(Response::json(200, "{}"));
    });
  }

  Outcome dispatch(std::string method, std::string target, std::string body = "") {
    *last_ = Outcome{};
    Request request;
    request.method = std::move(method);
    request.target = std::move(target);
    request.body = std::move(body);
    router_.dispatch(
        std::move(request),
        [last = last_](Response r) {
          last->response = std::move(r);
          ++last->answers;
        },
        &last_->matched);
    return *last_;
  }

 private:
  Router router_;
  std::shared_ptr<Outcome> last_ = std::make_shared<Outcome>();  // shared with the routes, so copies stay valid
};

TestRouter orders_router() {
  TestRouter r;
  r.add("GET", "/health");
  r.add("GET", "/orders");
  r.add("POST", "/orders");
  r.add("GET", "/orders/{id}/state");
  r.add("POST", "/orders/{id}/cancel");
  r.add("POST", "/orders/{id}/deliver");
  r.add("GET", "/customers/{customer}/orders/{order}");
  return r;
}

std::string header(const Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "<missing>";
}

nlohmann::json body_json(const Response& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  return j;
}

}  // namespace

TEST_CASE("a literal pattern dispatches to its route with no params") {
  auto router = orders_router();
  auto out = router.dispatch("GET", "/health");
  CHECK(out.route == "GET /health");
  CHECK(out.params.empty());
  CHECK(out.matched == "/health");
  CHECK(out.answers == 1);
  REQUIRE(out.response);
  CHECK(out.response->status == 200);

  out = router.dispatch("POST", "/orders", R"({"customer_id":"c1"})");
  CHECK(out.route == "POST /orders");
  CHECK(out.request.body == R"({"customer_id":"c1"})");
  CHECK(out.request.method == "POST");
  CHECK(router.dispatch("GET", "/orders").route == "GET /orders");
}

TEST_CASE("param patterns dispatch to the right route with the params in order") {
  auto router = orders_router();
  auto out = router.dispatch("POST", "/orders/o-1/cancel");
  CHECK(out.route == "POST /orders/{id}/cancel");
  CHECK(out.params == Router::Params{"o-1"});
  CHECK(out.matched == "/orders/{id}/cancel");

  out = router.dispatch("POST", "/orders/o-2/deliver");
  CHECK(out.route == "POST /orders/{id}/deliver");
  CHECK(out.params == Router::Params{"o-2"});

  out = router.dispatch("GET", "/customers/c9/orders/o7");
  CHECK(out.route == "GET /customers/{customer}/orders/{order}");
  CHECK(out.params == Router::Params{"c9", "o7"});
  CHECK(out.matched == "/customers/{customer}/orders/{order}");
}

TEST_CASE("params are percent-decoded and an encoded slash stays inside its segment") {
  auto router = orders_router();
  auto out = router.dispatch("POST", "/orders/%41%62c/cancel");
  CHECK(out.route == "POST /orders/{id}/cancel");
  CHECK(out.params == Router::Params{"Abc"});

  out = router.dispatch("POST", "/orders/a%2Fb/cancel");
  CHECK(out.route == "POST /orders/{id}/cancel");
  CHECK(out.params == Router::Params{"a/b"});

  out = router.dispatch("GET", "/customers/a%2fb%2Fc/orders/%20");
  CHECK(out.params == Router::Params{"a/b/c", " "});

  // A literal segment compares decoded too.
  CHECK(router.dispatch("GET", "/%68ealth").route == "GET /health");
}

TEST_CASE("a path no pattern matches gets a 404 problem") {
  auto router = orders_router();
  for (std::string target : {"/nope", "/", "", "/orders/o1", "/orders/o1/cancel/now", "/orders//cancel/x",
                             "/health/x", "/Health"}) {
    CAPTURE(target);
    auto out = router.dispatch("GET", target);
    CHECK(out.route.empty());
    CHECK(out.answers == 1);
    CHECK(out.matched == "unmatched");
    REQUIRE(out.response);
    CHECK(out.response->status == 404);
    CHECK(header(*out.response, "Content-Type") == "application/problem+json");
    auto j = body_json(*out.response);
    CHECK(j["status"] == 404);
    CHECK(j["title"] == "Not Found");
  }
}

TEST_CASE("a known path with another method gets a 405 whose Allow lists every method of that path") {
  TestRouter router = orders_router();
  auto out = router.dispatch("DELETE", "/orders");
  CHECK(out.route.empty());
  CHECK(out.answers == 1);
  REQUIRE(out.response);
  CHECK(out.response->status == 405);
  CHECK(header(*out.response, "Allow") == "GET, HEAD, POST");
  CHECK(header(*out.response, "Content-Type") == "application/problem+json");
  CHECK(out.matched == "/orders");
  auto j = body_json(*out.response);
  CHECK(j["status"] == 405);
  CHECK(j["title"] == "Method Not Allowed");
  CHECK(j["detail"] == "DELETE is not allowed on /orders");

  out = router.dispatch("GET", "/orders/o1/cancel");
  REQUIRE(out.response);
  CHECK(out.response->status == 405);
  CHECK(header(*out.response, "Allow") == "POST");
  CHECK(out.matched == "/orders/{id}/cancel");

  // Methods are case-sensitive tokens: "get" is not GET.
  out = router.dispatch("get", "/health");
  REQUIRE(out.response);
  CHECK(out.response->status == 405);
  CHECK(header(*out.response, "Allow") == "GET, HEAD");
}

TEST_CASE("HEAD runs the GET route, which sees a GET; Allow names HEAD wherever it names GET") {
  TestRouter router = orders_router();
  auto out = router.dispatch("HEAD", "/orders/o-1/state?version=1");
  CHECK(out.route == "GET /orders/{id}/state");
  CHECK(out.request.method == "GET");  // what the route and its guards see: HEAD is a GET without the body
  CHECK(out.request.target == "/orders/o-1/state?version=1");
  CHECK(out.params == Router::Params{"o-1"});
  CHECK(out.matched == "/orders/{id}/state");
  CHECK(out.answers == 1);
  REQUIRE(out.response);
  CHECK(out.response->status == 200);
  CHECK(out.response->body == "{}");  // the server leaves it out, keeping its Content-Length

  // Where only POST is served, HEAD is not allowed either.
  out = router.dispatch("HEAD", "/orders/o-1/cancel");
  CHECK(out.route.empty());
  REQUIRE(out.response);
  CHECK(out.response->status == 405);
  CHECK(header(*out.response, "Allow") == "POST");
  // And a path no route has is 404 for HEAD as for GET.
  out = router.dispatch("HEAD", "/nothing/here");
  REQUIRE(out.response);
  CHECK(out.response->status == 404);

  // HEAD itself is named once, after GET.
  out = router.dispatch("PUT", "/orders");
  REQUIRE(out.response);
  CHECK(header(*out.response, "Allow") == "GET, HEAD, POST");
}

TEST_CASE("the Allow header gathers methods from every pattern that matches the path") {
  TestRouter router;
  router.add("GET", "/items/{id}");
  router.add("PUT", "/items/special");
  router.add("DELETE", "/items/{id}");
  auto out = router.dispatch("PATCH", "/items/special");
  REQUIRE(out.response);
  CHECK(out.response->status == 405);
  CHECK(header(*out.response, "Allow") == "GET, HEAD, PUT, DELETE");

  // The first pattern that matches with the right method wins.
  out = router.dispatch("PUT", "/items/special");
  CHECK(out.route == "PUT /items/special");
  out = router.dispatch("GET", "/items/special");
  CHECK(out.route == "GET /items/{id}");
  CHECK(out.params == Router::Params{"special"});
}

TEST_CASE("a trailing slash and a query string do not change which route matches") {
  auto router = orders_router();
  CHECK(router.dispatch("GET", "/orders/").route == "GET /orders");
  auto out = router.dispatch("POST", "/orders/o1/cancel/");
  CHECK(out.route == "POST /orders/{id}/cancel");
  CHECK(out.params == Router::Params{"o1"});

  out = router.dispatch("GET", "/orders?limit=5&after=o1");
  CHECK(out.route == "GET /orders");
  CHECK(out.request.path() == "/orders");
  CHECK(out.request.query() == "limit=5&after=o1");
  CHECK(out.request.target == "/orders?limit=5&after=o1");

  out = router.dispatch("GET", "/orders/o1/state?at=3");
  CHECK(out.route == "GET /orders/{id}/state");
  CHECK(out.params == Router::Params{"o1"});

  out = router.dispatch("GET", "/orders/o1/state/?");
  CHECK(out.params == Router::Params{"o1"});

  // A '?' that is percent-encoded is part of the path, not the start of a query.
  out = router.dispatch("GET", "/orders/o%3F1/state");
  CHECK(out.params == Router::Params{"o?1"});

  out = router.dispatch("DELETE", "/orders?x=1");
  REQUIRE(out.response);
  CHECK(out.response->status == 405);
  CHECK(body_json(*out.response)["detail"] == "DELETE is not allowed on /orders");
}

TEST_CASE("path and query split the target at the first question mark") {
  Request r;
  r.target = "/events?from=1&to=2?x";
  CHECK(r.path() == "/events");
  CHECK(r.query() == "from=1&to=2?x");
  r.target = "/events";
  CHECK(r.path() == "/events");
  CHECK(r.query().empty());
  r.target = "/events?";
  CHECK(r.path() == "/events");
  CHECK(r.query().empty());
}

TEST_CASE("percent_decode decodes valid escapes and leaves malformed ones alone") {
  CHECK(percent_decode("%41") == "A");
  CHECK(percent_decode("a%2Fb") == "a/b");
  CHECK(percent_decode("a%2fb") == "a/b");
  CHECK(percent_decode("%41%42%43") == "ABC");
  CHECK(percent_decode("x%41") == "xA");
  CHECK(percent_decode("%00") == std::string(1, '\0'));
  CHECK(percent_decode("%C3%BC") == "\xc3\xbc");
  CHECK(percent_decode("a+b") == "a+b");
  CHECK(percent_decode("") == "");

  CHECK(percent_decode("%") == "%");
  CHECK(percent_decode("%4") == "%4");
  CHECK(percent_decode("%zz") == "%zz");
  CHECK(percent_decode("%4g") == "%4g");
  CHECK(percent_decode("%g4") == "%g4");
  CHECK(percent_decode("a%") == "a%");
  CHECK(percent_decode("a%4") == "a%4");
  CHECK(percent_decode("%%41") == "%A");
  CHECK(percent_decode("%2541") == "%41");  // decoded once, not twice
}

TEST_CASE("split_path ignores one leading and trailing slash, keeps empty segments inside, decodes after splitting") {
  CHECK(split_path("/a/b/") == std::vector<std::string>{"a", "b"});
  CHECK(split_path("/a//b") == std::vector<std::string>{"a", "", "b"});
  CHECK(split_path("a/b") == std::vector<std::string>{"a", "b"});
  CHECK(split_path("/").empty());
  CHECK(split_path("").empty());
  CHECK(split_path("/a%2Fb/c") == std::vector<std::string>{"a/b", "c"});
}

TEST_CASE("a {name} segment never matches an empty one: /orders//cancel is no route") {
  Router router;
  int called = 0;
  router.add("GET", "/orders/{id}", [&](Request, Router::Params, ordersd::http::Responder respond) {
    ++called;
    respond(Response::json(200, "{}"));
  });
  router.add("POST", "/orders/{id}/cancel", [&](Request, Router::Params, ordersd::http::Responder respond) {
    ++called;
    respond(Response::json(202, "{}"));
  });
  for (const char* path : {"/orders//cancel", "/orders//"}) {
    INFO(path);
    Request r;
    r.method = "POST";
    r.target = path;
    int status = 0;
    router.dispatch(r, [&](Response resp) { status = resp.status; });
    CHECK(status == 404);
  }
  CHECK(called == 0);
}

TEST_CASE("request headers are found case-insensitively and an empty header is told from a missing one") {
  Request r;
  r.headers = {{"Content-Type", "application/json"}, {"X-Empty", ""}, {"content-type", "text/plain"}};
  CHECK(r.header("content-type") == "application/json");  // the first of that name
  CHECK(r.header("CONTENT-TYPE") == "application/json");
  CHECK(r.header("Content-Type") == "application/json");
  CHECK(r.header("Missing") == "");
  CHECK(r.header("Content-Typ") == "");
  CHECK(r.header("Content-Type-X") == "");

  auto empty = r.find_header("x-empty");
  REQUIRE(empty.has_value());
  CHECK(empty->empty());
  CHECK_FALSE(r.find_header("missing").has_value());
  CHECK_FALSE(r.find_header("").has_value());
  REQUIRE(r.find_header("X-EMPTY").has_value());
}

TEST_CASE("Response::problem is an RFC 9457 problem with type, title, status and detail") {
  auto r = Response::problem(422, "Unprocessable Content", "items[0].quantity must be \"an integer\"");
  CHECK(r.status == 422);
  REQUIRE(r.headers.size() == 1);
  CHECK(r.headers[0].first == "Content-Type");
  CHECK(r.headers[0].second == "application/problem+json");
  auto j = body_json(r);
  CHECK(j.size() == 4);
  CHECK(j["type"] == "about:blank");
  CHECK(j["title"] == "Unprocessable Content");
  CHECK(j["status"] == 422);
  CHECK(j["detail"] == "items[0].quantity must be \"an integer\"");
}

TEST_CASE("set_header replaces a header of the same name whatever its case") {
  Response r = Response::json(200, "{}");
  r.set_header("content-type", "text/plain");
  REQUIRE(r.headers.size() == 1);
  CHECK(r.headers[0].second == "text/plain");
  r.set_header("Allow", "GET");
  CHECK(r.headers.size() == 2);
}

TEST_CASE("a percent escape is decoded wherever it stands in a segment, the end included") {
  CHECK(percent_decode("o-1%31") == "o-11");
  CHECK(split_path("/orders/o-1%31") == std::vector<std::string>{"orders", "o-11"});
  CHECK(split_path("/orders/o-1%31/") == std::vector<std::string>{"orders", "o-11"});
  CHECK(split_path("/a%41/b%42/c") == std::vector<std::string>{"aA", "bB", "c"});
  auto router = orders_router();
  auto out = router.dispatch("POST", "/orders/o-1%31/cancel");
  CHECK(out.route == "POST /orders/{id}/cancel");
  CHECK(out.params == Router::Params{"o-11"});
}

TEST_CASE("a path that is not UTF-8 once decoded gets 400 problem+json, and no route runs") {
  auto router = orders_router();
  for (const char* target : {"/nope%FF", "/orders/%C3/state", "/orders/%ED%A0%80/state", "/orders/%C0%AF/state",
                             "/orders/%F4%90%80%80/state"}) {
    INFO(target);
    auto out = router.dispatch("GET", target);
    CHECK(out.route.empty());
    REQUIRE(out.response);
    CHECK(out.response->status == 400);
    CHECK(header(*out.response, "Content-Type") == "application/problem+json");
    CHECK(body_json(*out.response)["detail"].get<std::string>().find("invalid UTF-8") != std::string::npos);
  }
  // Valid multi-byte UTF-8 reaches the route, which judges the id itself.
  CHECK(router.dispatch("GET", "/orders/%C3%A9%F0%9F%98%80/state").route == "GET /orders/{id}/state");
}

TEST_CASE("a problem quoting bytes that are not UTF-8 is still JSON") {
  auto r = Response::problem(404, "Not Found", "no route for /nope\xff");
  CHECK(r.status == 404);
  CHECK(body_json(r)["status"] == 404);
}

TEST_CASE("query parameters that are not UTF-8 once decoded are refused") {
  using ordersd::http::parse_query;
  auto bad_name = parse_query("%FF=1", {"from"});
  REQUIRE_FALSE(bad_name);
  CHECK(bad_name.status().message().find("invalid UTF-8") != std::string::npos);
  auto bad_value = parse_query("from=%C3%28", {"from"});
  REQUIRE_FALSE(bad_value);
  CHECK(bad_value.status().message().find("invalid UTF-8") != std::string::npos);
  auto good = parse_query("from=%C3%A9", {"from"});
  REQUIRE(good);
  CHECK(good->at("from") == "\xc3\xa9");
}

TEST_CASE("a repeatable query parameter's values are joined with commas; any other given twice is refused") {
  using ordersd::http::parse_query;
  auto joined = parse_query("type=a&from=1&type=b%2Cc", {"type", "from"}, {"type"});
  REQUIRE(joined);
  CHECK(joined->at("type") == "a,b,c");
  CHECK(joined->at("from") == "1");
  auto twice = parse_query("type=a&from=1&from=2", {"type", "from"}, {"type"});
  REQUIRE_FALSE(twice);
  CHECK(twice.status().message() == "from is given twice");
}

TEST_CASE("an absolute-form target becomes origin form") {
  using ordersd::http::origin_form;
  CHECK(origin_form("http://127.0.0.1:8080/health") == "/health");
  CHECK(origin_form("HTTP://example.com/events?from=1") == "/events?from=1");
  CHECK(origin_form("https://example.com") == "/");
  CHECK(origin_form("http://example.com?x=1") == "/?x=1");
  CHECK(origin_form("/orders/http://x") == "/orders/http://x");
  CHECK(origin_form("/health") == "/health");
  CHECK(origin_form("*") == "*");
}
