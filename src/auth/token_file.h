// API tokens and the file that holds them.
//
// A token is "odt_" + a 16-hex-digit id + "_" + 43 base64url characters of
// secret (32 random bytes). The file keeps only its SHA-256, never the token:
// one JSON object a line, appended and fsynced, never rewritten:
//
//   {"op":"create","id":"…","name":"ci","sha256":"…","scopes":["orders:read"],
//    "customer_id":"c1","created_at":"2026-11-28T07:00:00Z"}
//   {"op":"revoke","name":"ci","revoked_at":"…"}
//
// A token is looked up by its id and then its digest compared in constant
// time, so neither a guess's timing nor a stolen file gives a token away.
// The secret is 256 random bits: a plain SHA-256 is as good as a slow hash.
// Writers of one file take an exclusive lock on it; the file is created
// readable by its owner only.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/principal.h"
#include "events/status.h"

namespace ordersd::auth {

struct TokenRecord {
  std::string id;
  std::string name;
  std::string sha256;  // hex of the token's digest
  ScopeSet scopes;
  std::optional<std::string> customer_id;
  std::string created_at;
};

// The live tokens of a file (created and not revoked), immutable once loaded.
class TokenSet {
 public:
  static Result<std::shared_ptr<const TokenSet>> load(const std::string& path);

  // The principal a presented token stands for, or nullopt.
  std::optional<Principal> authenticate(std::string_view token) const;
  const std::vector<TokenRecord>& tokens() const { return tokens_; }

 private:
  std::vector<TokenRecord> tokens_;
};

// "1 to 64 characters of A-Z a-z 0-9 . _ -": a name goes into stream names.
bool valid_token_name(std::string_view name);

// Appends a new token named `name` (unique among the live ones) and returns
// it: the only time it is ever shown. A customer-bound token may not hold a
// scope that sees past its customer (crosses_customers).
Result<std::string> create_token(const std::string& path, const std::string& name, const ScopeSet& scopes,
                                 const std::optional<std::string>& customer_id);
// Revokes the live token named `name`; an error when there is none.
Status revoke_token(const std::string& path, const std::string& name);

}  // namespace ordersd::auth
