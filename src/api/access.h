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
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "api/audit_trail.h"
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
  Access(const auth::Authenticator& authenticator, auth::RateLimit limit, AuditTrail& audit);

  // Adds a route guarded by its row of the route table (logic_error when it
  // has none). The first form hands the route its caller.
  void add(http::Router& router, std::string method, std::string pattern, CallerRoute route);
  void add(http::Router& router, std::string method, std::string pattern, http::Router::Route route);

  // Requests refused before their route ran, for /metrics.
  std::string render_metrics() const;

 private:
  const auth::Authenticator& authenticator_;
  AuditTrail& audit_;
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

}  // namespace ordersd::api
