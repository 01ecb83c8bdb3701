// Principal: who a request comes from, once its credentials are checked.
#pragma once

#include <optional>
#include <string>

#include "auth/scopes.h"

namespace ordersd::auth {

struct Principal {
  enum class Kind { kAnonymous, kApiToken, kJwt };
  Kind kind = Kind::kAnonymous;
  // An API token's name, a JWT's subject, or "anonymous" (a server running
  // open). Names the caller in the audit trail and in rate limits.
  std::string name = "anonymous";
  ScopeSet scopes;
  // Set for a caller bound to one customer: it sees and acts on that
  // customer's orders and wallet only.
  std::optional<std::string> customer_id;

  // Whether this caller may see customer `id`'s data.
  bool may_see_customer(std::string_view id) const { return !customer_id || *customer_id == id; }

  static Principal anonymous() {
    Principal p;
    p.scopes = ScopeSet::all();
    return p;
  }
};

}  // namespace ordersd::auth
