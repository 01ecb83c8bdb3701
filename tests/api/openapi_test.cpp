// The OpenAPI description the server serves (api/openapi.yaml, compiled in)
// against the route table the server enforces (api/route_table.cpp): the
// same routes, each with its scope, and path parameters that the router's
// patterns name. Real answers are checked against it by
// tests/api/openapi_conformance.py.
#include <doctest/doctest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "api/openapi_api.h"
#include "api/route_table.h"
#include "auth/scopes.h"

using nlohmann::json;

namespace {

const std::set<std::string> kMethods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"};

json description() {
  json d = json::parse(ordersd::api::openapi_json(), nullptr, /*allow_exceptions=*/false);
  REQUIRE(d.is_object());
  return d;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// "#/components/parameters/OrderId" -> that object; the object itself when it is no reference.
const json& resolve(const json& document, const json& object) {
  if (!object.is_object() || !object.contains("$ref")) return object;
  std::string ref = object["$ref"];
  REQUIRE_MESSAGE(ref.starts_with("#/"), ref);
  const json& target = document.at(json::json_pointer(ref.substr(1)));
  return resolve(document, target);
}

// Every operation: "METHOD /path" -> the operation object.
std::map<std::string, json> operations(const json& d) {
  std::map<std::string, json> out;
  for (const auto& [path, item] : d.at("paths").items()) {
    for (const auto& [method, operation] : item.items()) {
      if (kMethods.count(method)) out[upper(method) + " " + path] = operation;
    }
  }
  return out;
}

// The "{name}" segments of a path, in order.
std::vector<std::string> template_names(const std::string& path) {
  std::vector<std::string> out;
  static const std::regex segment(R"(\{([^}/]+)\})");
  for (auto it = std::sregex_iterator(path.begin(), path.end(), segment); it != std::sregex_iterator(); ++it) {
    out.push_back((*it)[1].str());
  }
  return out;
}

}  // namespace

TEST_CASE("the description is OpenAPI 3.1 of this server's version") {
  json d = description();
  CHECK(d["openapi"] == "3.1.0");
  CHECK(d["info"]["version"] == ORDERSD_VERSION);
  CHECK(d["components"]["securitySchemes"]["bearerAuth"]["type"] == "http");
  CHECK(d["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer");
}

TEST_CASE("every route of the route table is an operation of the description, and nothing else is") {
  json d = description();
  auto described = operations(d);
  std::set<std::string> routes;
  for (const auto& rule : ordersd::api::route_table()) {
    std::string route = std::string(rule.method) + " " + std::string(rule.pattern);
    routes.insert(route);
    INFO(route << " is in api/route_table.cpp but not in api/openapi.yaml");
    CHECK(described.count(route) == 1);
  }
  for (const auto& [route, operation] : described) {
    INFO(route << " is in api/openapi.yaml but the server has no such route");
    CHECK(routes.count(route) == 1);
  }
}

TEST_CASE("each operation's security names the scope the route table gives its route") {
  json d = description();
  auto described = operations(d);
  for (const auto& rule : ordersd::api::route_table()) {
    std::string route = std::string(rule.method) + " " + std::string(rule.pattern);
    auto it = described.find(route);
    if (it == described.end()) continue;  // the test above names it
    INFO(route);
    const json& operation = it->second;
    REQUIRE(operation.contains("security"));  // explicit on every operation, open ones included
    if (rule.any_caller) {
      // Any valid credentials: a bearer token naming no scope.
      CHECK(operation["security"] == json::array({{{"bearerAuth", json::array()}}}));
      CHECK(operation["responses"].contains("401"));
    } else if (!rule.scope) {
      CHECK(operation["security"] == json::array());
    } else {
      json expected = json::array({{{"bearerAuth", {std::string(ordersd::auth::scope_name(*rule.scope))}}}});
      CHECK(operation["security"] == expected);
      // Refused before the route runs: documented on every guarded operation.
      CHECK(operation["responses"].contains("401"));
      CHECK(operation["responses"].contains("403"));
    }
  }
}

TEST_CASE("path templates name exactly the operation's path parameters, as the router's patterns do") {
  json d = description();
  for (const auto& [route, operation] : operations(d)) {
    INFO(route);
    std::string path = route.substr(route.find(' ') + 1);
    // The router's "{name}" is one whole segment, as OpenAPI's template is here.
    for (const auto& name : template_names(path)) CHECK(path.find("/{" + name + "}") != std::string::npos);
    std::vector<std::string> in_path;
    std::set<std::string> seen;
    const json parameters = operation.value("parameters", json::array());
    for (const auto& p : parameters) {
      const json& parameter = resolve(d, p);
      std::string key = parameter.at("in").get<std::string>() + " " + parameter.at("name").get<std::string>();
      CHECK_MESSAGE(seen.insert(key).second, key << " is given twice");
      if (parameter["in"] == "path") {
        CHECK(parameter.value("required", false));
        in_path.push_back(parameter["name"]);
      }
    }
    CHECK(in_path == template_names(path));
  }
}

TEST_CASE("every error answer is problem+json of the one Problem schema; every answer's references resolve") {
  json d = description();
  const std::string problem = "#/components/schemas/Problem";
  for (const auto& [route, operation] : operations(d)) {
    REQUIRE(operation.contains("operationId"));
    for (const auto& [status, r] : operation.at("responses").items()) {
      INFO(route << " " << status);
      const json& response = resolve(d, r);
      REQUIRE(response.contains("description"));
      const json headers = response.value("headers", json::object());
      for (const auto& [name, header] : headers.items()) resolve(d, header);
      if (status.starts_with("4") || status.starts_with("5")) {
        REQUIRE(response.contains("content"));
        CHECK(response["content"].size() == 1);
        REQUIRE(response["content"].contains("application/problem+json"));
        CHECK(response["content"]["application/problem+json"]["schema"]["$ref"] == problem);
      } else if (status.starts_with("3")) {
        CHECK_FALSE(response.contains("content"));  // a redirect or 304: no body
      } else {
        REQUIRE(response.contains("content"));
        // One media type an answer; the console's files are scripts, styles and a page.
        CHECK((response["content"].size() == 1 || route == "GET /ui/{asset}"));
      }
    }
  }
  // The 401 and 403 answers carry the bearer challenge.
  CHECK(d["components"]["responses"]["Unauthorized"]["headers"].contains("WWW-Authenticate"));
  CHECK(d["components"]["responses"]["Forbidden"]["headers"].contains("WWW-Authenticate"));
}
