#include "api/access.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "api/problems.h"
#include "events/logging.h"

namespace ordersd::api {

using http::Request;
using http::Responder;
using http::Response;

namespace {

constexpr const char* kRealm = "Bearer realm=\"ordersd\"";

// An error description may not hold quotes or backslashes (RFC 6750 3).
std::string quotable(std::string_view text) {
  std::string out;
  for (char c : text) out.push_back(c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20 ? '\'' : c);
  return out;
}

Response unauthorized(const auth::Authenticator::Outcome& outcome) {
  Response r = Response::problem(401, "Unauthorized", outcome.reason);
  r.set_header("WWW-Authenticate", outcome.missing ? std::string(kRealm)
                                                   : std::string(kRealm) + ", error=\"invalid_token\", "
                                                                           "error_description=\"" +
                                                         quotable(outcome.reason) + "\"");
  return r;
}

Response forbidden(auth::Scope scope) {
  std::string name(auth::scope_name(scope));
  Response r = Response::problem(403, "Forbidden", "this route needs the scope " + name);
  r.set_header("WWW-Authenticate", std::string(kRealm) + ", error=\"insufficient_scope\", scope=\"" + name + "\"");
  return r;
}

Response too_many(std::chrono::milliseconds wait, std::string_view whose) {
  auto seconds = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait.count() / 1000.0)));
  Response r = Response::problem(429, "Too Many Requests",
                                 std::string(whose) + " is over its request rate; retry after " +
                                     std::to_string(seconds) + " s");
  r.set_header("Retry-After", std::to_string(seconds));
  return r;
}

bool is_probe(std::string_view pattern) { return pattern == "/health/live" || pattern == "/health/ready"; }


// The detail of a problem+json answer, or "".
std::string problem_detail(const Response& r) {
  if (r.status < 400) return {};
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("detail") && j["detail"].is_string()) return j["detail"];
  return {};
}

}  // namespace

http::Responder only_own(const Caller& caller, std::string missing, http::Responder respond) {
  if (!caller.principal.customer_id) return respond;
  return [customer = *caller.principal.customer_id, missing = std::move(missing),
          respond = std::move(respond)](Response r) {
    if (r.status == 200) {
      auto j = nlohmann::json::parse(r.body, nullptr, false);
      bool theirs = j.is_object() && j.contains("customer_id") && j["customer_id"] == customer;
      if (!theirs) {
        Response hidden = not_found(missing);
        for (const auto& [name, value] : r.headers) {
          if (name == "X-Position") hidden.set_header(name, value);
        }
        return respond(std::move(hidden));
      }
    }
    respond(std::move(r));
  };
}

std::string_view credential_name(auth::Principal::Kind kind) {
  switch (kind) {
    case auth::Principal::Kind::kApiToken: return "api-token";
    case auth::Principal::Kind::kJwt: return "jwt";
    case auth::Principal::Kind::kAnonymous: break;
  }
  return "none";
}

std::string caller_key(const auth::Principal& principal) {
  switch (principal.kind) {
    case auth::Principal::Kind::kApiToken: return "token:" + principal.name;
    case auth::Principal::Kind::kJwt: return "jwt:" + principal.name;
    case auth::Principal::Kind::kAnonymous: break;
  }
  return "anonymous";
}

Access::Access(const auth::Authenticator& authenticator, auth::RateLimit limit, AuditTrail& audit, bus::Roles roles,
               Peers peers, std::optional<bus::ShardSpec> shard)
    : authenticator_(authenticator),
      audit_(audit),
      roles_(std::move(roles)),
      peers_(std::move(peers)),
      shards_(peers_.shard_map()),
      shard_(shard),
      by_address_(limit),
      by_caller_(limit) {}

std::optional<std::string> Access::shard_key(const RouteRule& rule, const http::Router::Params& params,
                                            const Request& request) {
  if (rule.served != RouteRule::Served::kOrder && rule.served != RouteRule::Served::kPayment) return std::nullopt;
  if (!params.empty()) return params[0];
  if (rule.method == "POST" && rule.pattern == "/orders") {
    auto body = nlohmann::json::parse(request.body, nullptr, false);
    if (body.is_object() && body.contains("order_id") && body["order_id"].is_string()) {
      return body["order_id"].get<std::string>();
    }
  }
  return std::nullopt;
}

Response Access::elsewhere(const RouteRule& rule, bus::Role role, const Request& request,
                           const http::Router::Params& params) const {
  std::string route = std::string(rule.method) + " " + std::string(rule.pattern);
  std::string where = "the " + std::string(bus::role_name(role)) + " service";
  uint32_t shard = 0;
  if (uint32_t n = shards_.count(role); n > 1) {
    if (auto key = shard_key(rule, params, request)) shard = shards_.owner(role, *key);
    where += "'s shard " + std::to_string(shard) + " of " + std::to_string(n);
  }
  std::string_view base = peers_.url(role, shard);
  if (base.empty()) {
    return Response::problem(404, "Not Found",
                             route + " is served by " + where + "; this process runs " + roles_.to_string() +
                                 " (with --peers it would redirect there)");
  }
  // The same path and query; 307 keeps the method and the body.
  std::string location = std::string(base) + request.target;
  nlohmann::ordered_json j;
  j["detail"] = route + " is served by " + where;
  j["location"] = location;
  Response r = Response::json(307, j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
  r.set_header("Location", std::move(location));
  return r;
}

void Access::add_elsewhere(http::Router& router) {
  for (const RouteRule& rule : route_table()) {
    if (added_.count(&rule)) continue;
    router.add(std::string(rule.method), std::string(rule.pattern),
               [this, &rule](Request r, http::Router::Params p, Responder respond) {
                 std::optional<bus::Role> role = serving_role(rule, p);
                 if (!role || roles_.has(*role)) {
                   // A route of this process's own that it does not offer (none today).
                   return respond(not_found(std::string(rule.method) + " " + std::string(rule.pattern) +
                                            " is not served by this process"));
                 }
                 respond(elsewhere(rule, *role, r, p));
               });
  }
}

void Access::add(http::Router& router, std::string method, std::string pattern, http::Router::Route route) {
  add(router, std::move(method), std::move(pattern),
      [route = std::move(route)](Request r, http::Router::Params p, const Caller&, Responder respond) {
        route(std::move(r), std::move(p), std::move(respond));
      });
}

void Access::add(http::Router& router, std::string method, std::string pattern, CallerRoute route) {
  const RouteRule* rule = find_route_rule(method, pattern);
  if (!rule) throw std::logic_error("no access rule for " + method + " " + pattern + " in api/route_table.cpp");
  if (!serves(*rule, roles_)) return;  // another service's: add_elsewhere() sends the caller there
  added_.insert(rule);
  router.add(method, pattern, [this, rule, route = std::move(route)](Request r, http::Router::Params p,
                                                                      Responder respond) {
    // A participant run by another service (pausing inventory at the order service): sent there.
    if (rule->served == RouteRule::Served::kParticipantInPath) {
      if (auto role = serving_role(*rule, p); role && !roles_.has(*role)) return respond(elsewhere(*rule, *role, r, p));
    }
    // A key another shard of this process's role owns: sent there.
    if (shard_ && shard_->count > 1) {
      if (auto role = serving_role(*rule, p); role && roles_.has(*role) && shards_.count(*role) > 1) {
        if (auto key = shard_key(*rule, p, r); key && shards_.owner(*role, *key) != shard_->index) {
          return respond(elsewhere(*rule, *role, r, p));
        }
      }
    }
    if (!is_probe(rule->pattern)) {
      if (auto wait = by_address_.take("address:" + r.remote_address)) {
        ++limited_;
        return respond(too_many(*wait, "this client address"));
      }
    }
    auto outcome = authenticator_.authenticate(r.find_header("Authorization"));
    Caller caller{outcome.principal.value_or(auth::Principal{}), r.remote_address};
    if (!rule->scope && !rule->any_caller) return route(std::move(r), std::move(p), caller, std::move(respond));

    auto refused = [&](std::string_view why) {
      logging::log_limited(logging::Level::kWarn, std::string("access/") + std::string(why), "access",
                           "request refused: " + std::string(why),
                           {{"route", std::string(rule->method) + " " + std::string(rule->pattern)},
                            {"caller", caller_key(caller.principal)},
                            {"address", r.remote_address}});
    };
    if (!outcome.principal) {
      ++unauthenticated_;
      refused(outcome.missing ? "no credentials" : "bad credentials");
      return respond(unauthorized(outcome));
    }
    const auth::Principal& who = caller.principal;
    std::string key = caller_key(who);
    if (auto wait = by_caller_.take(key)) {
      ++limited_;
      return respond(too_many(*wait, "this caller"));
    }
    if (rule->scope && !who.scopes.has(*rule->scope)) {
      ++forbidden_;
      refused("missing scope " + std::string(auth::scope_name(*rule->scope)));
      return respond(forbidden(*rule->scope));
    }
    if (rule->binding == RouteRule::Binding::kCustomerInPath && !p.empty() && !who.may_see_customer(p[0])) {
      ++hidden_;
      return respond(not_found("no customer " + p[0]));
    }
    if (who.kind != auth::Principal::Kind::kAnonymous) r.caller = key;
    if (rule->scope == auth::Scope::kAdmin && r.method != "GET") {
      AuditEntry entry{who.name, std::string(credential_name(who.kind)),
                       std::string(rule->method) + " " + std::string(rule->pattern), std::string(r.path()), 0,
                       r.remote_address};
      respond = [this, entry = std::move(entry), respond = std::move(respond)](Response answer) mutable {
        entry.status = answer.status;
        if (answer.status >= 300) {
          // Refused: nothing changed, so nothing goes in the log (bad input
          // changes nothing); the attempt is in the process's log.
          logging::info("access", "admin action refused",
                        {{"caller", entry.caller}, {"route", entry.action}, {"path", entry.path},
                         {"status", std::to_string(answer.status)}, {"detail", problem_detail(answer)}});
          return respond(std::move(answer));
        }
        auto shared = std::make_shared<Response>(std::move(answer));
        audit_.record(entry, [respond = std::move(respond), shared] { respond(std::move(*shared)); });
      };
    }
    route(std::move(r), std::move(p), caller, std::move(respond));
  });
}

std::string Access::render_metrics() const {
  std::string out =
      "# HELP ordersd_access_refused_total Requests answered before their route ran, by why: no or bad credentials "
      "(401), a missing scope (403), over a rate limit (429), another customer's data (404).\n"
      "# TYPE ordersd_access_refused_total counter\n";
  out += "ordersd_access_refused_total{reason=\"unauthenticated\"} " + std::to_string(unauthenticated_.load()) + "\n";
  out += "ordersd_access_refused_total{reason=\"forbidden\"} " + std::to_string(forbidden_.load()) + "\n";
  out += "ordersd_access_refused_total{reason=\"rate_limited\"} " + std::to_string(limited_.load()) + "\n";
  out += "ordersd_access_refused_total{reason=\"other_customer\"} " + std::to_string(hidden_.load()) + "\n";
  return out;
}

}  // namespace ordersd::api
