// Access: the guard in front of every route. Before a route runs it
//
//   1. limits the client address's request rate (429 with Retry-After);
//   2. authenticates the bearer token (401 with WWW-Authenticate: Bearer);
//   3. limits the caller's request rate (429);
//   4. checks the scope the route table gives the route (403);
//   5. holds a caller bound to a customer to that customer (404, so that
//      other customers' ids do not leak);
//
// and after an admin action has been answered, records it in the audit
// trail before the answer goes out. Open routes skip 2 to 5; the liveness
// and readiness probes skip 1 too. Thread-safe once the routes are added.
//
// It also settles where a route is served. A process adds only the routes
// the route table gives to one of its roles (add() skips the others); once
// every API has added its routes, add_elsewhere() answers each route that is
// served by another service with 307 and a Location at that service's
// --peers URL (the same path and query), or, with no peer for it, 404
// naming the service. A redirect goes only to the service that runs the
// route's role, whose process serves the route itself: it never loops.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include <set>

#include "api/audit_trail.h"
#include "api/peers.h"
#include "api/route_table.h"
#include "auth/authenticator.h"
#include "auth/rate_limiter.h"
#include "http/router.h"

namespace ordersd::api {

// Who a request comes from.
struct Caller {
  auth::Principal principal;
  std::string address;
};

class Access {
 public:
  using CallerRoute = std::function<void(http::Request, http::Router::Params, const Caller&, http::Responder)>;

  // `limit` applies per client address and per caller, each on its own.
  // `roles`: what this process runs; `peers`: where the other services are.
  // `shard`: which shard of its sharded role this process is (bus/shards.h);
  // a request for a key another shard owns is sent there (307).
  Access(const auth::Authenticator& authenticator, auth::RateLimit limit, AuditTrail& audit,
         bus::Roles roles = bus::Roles::all(), Peers peers = {}, std::optional<bus::ShardSpec> shard = {});

  // Adds a route guarded by its row of the route table (logic_error when it
  // has none), when one of this process's roles serves it; else nothing.
  // The first form hands the route its caller.
  void add(http::Router& router, std::string method, std::string pattern, CallerRoute route);
  void add(http::Router& router, std::string method, std::string pattern, http::Router::Route route);

  // Adds every route of the table that add() did not: those served by
  // another service (307 to it, or 404 naming it). Call it last.
  void add_elsewhere(http::Router& router);

  // Requests refused before their route ran, for /metrics.
  std::string render_metrics() const;

 private:
  // The answer to a request for `rule`, served by `role`, which this process does not run.
  // With shards, to the shard that owns the request's key (shard_key()).
  http::Response elsewhere(const RouteRule& rule, bus::Role role, const http::Request& request,
                           const http::Router::Params& params) const;
  // The key whose shard serves a request for `rule`, for the order and
  // payment routes: the path's id (an order id; a customer id), or the
  // order_id of a POST /orders body; nullopt when there is none.
  static std::optional<std::string> shard_key(const RouteRule& rule, const http::Router::Params& params,
                                              const http::Request& request);

  const auth::Authenticator& authenticator_;
  AuditTrail& audit_;
  const bus::Roles roles_;
  const Peers peers_;
  const bus::ShardMap shards_;
  const std::optional<bus::ShardSpec> shard_;
  std::set<const RouteRule*> added_;
  auth::RateLimiter by_address_;
  auth::RateLimiter by_caller_;
  std::atomic<uint64_t> unauthenticated_{0}, forbidden_{0}, limited_{0}, hidden_{0};
};

// For a caller bound to a customer: a 200 whose JSON body names another
// customer ("customer_id") becomes 404 `missing`. Otherwise `respond` itself.
http::Responder only_own(const Caller& caller, std::string missing, http::Responder respond);

// "anonymous" for a server running open; the key a caller's Idempotency-Keys
// and rate limits are kept under otherwise ("token:ci", "jwt:alice").
std::string caller_key(const auth::Principal& principal);

// "api-token", "jwt", or "none" (a server running open).
std::string_view credential_name(auth::Principal::Kind kind);

}  // namespace ordersd::api
