// Authenticator: from an Authorization header to a Principal.
//
// A bearer token is either an API token (token_file.h) or, when a JWKS file
// is configured, an OAuth2/OIDC access token (a JWT, jwt.h). With neither
// configured the server runs open: every request is the anonymous principal
// with every scope. reload() re-reads both files (on SIGHUP); a file that
// fails to load leaves the previous one in force. Thread-safe.
//
// A client sends the same JWT with every request until it expires, and a
// signature check costs more than the rest of a cheap request: JWTs that
// verified are remembered (by their SHA-256, up to kRememberedJwts) until
// they expire, and forgotten when the JWKS is reloaded.
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <unordered_map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "auth/jwt.h"
#include "auth/principal.h"
#include "auth/token_file.h"
#include "events/status.h"

namespace ordersd::auth {

struct AuthOptions {
  std::string tokens_file;  // "" = no API tokens
  std::string jwks_file;    // "" = no JWTs
  JwtPolicy jwt;
};

class Authenticator {
 public:
  static constexpr size_t kRememberedJwts = 10'000;

  static Result<std::unique_ptr<Authenticator>> open(AuthOptions options);

  // Neither tokens nor JWTs: every caller is anonymous with every scope.
  bool open_access() const { return options_.tokens_file.empty() && options_.jwks_file.empty(); }

  struct Outcome {
    std::optional<Principal> principal;  // set when authenticated
    bool missing = false;                // no credentials at all
    std::string reason;                  // why they were refused, for the client
  };
  // `authorization`: the Authorization header, if the request has one.
  Outcome authenticate(std::optional<std::string_view> authorization,
                       std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) const;

  // Re-reads the token file and the JWKS file; an error names what failed
  // to load (and the old contents stay in force).
  Status reload();
  // "3 API tokens, 2 signing keys", for the log.
  std::string describe() const;

 private:
  explicit Authenticator(AuthOptions options) : options_(std::move(options)) {}

  // The claims of `token`, verified now or remembered from before.
  Result<JwtClaims> verified(const std::shared_ptr<const JwksVerifier>& jwks, std::string_view token,
                             std::chrono::system_clock::time_point now) const;

  AuthOptions options_;
  mutable std::mutex mu_;  // guards the two pointers and the remembered JWTs
  std::shared_ptr<const TokenSet> tokens_;
  std::shared_ptr<const JwksVerifier> jwks_;
  struct DigestHash {
    size_t operator()(const std::array<unsigned char, 32>& d) const;
  };
  // JWTs that verified with jwks_, by their SHA-256; cleared with a new jwks_.
  mutable std::unordered_map<std::array<unsigned char, 32>, JwtClaims, DigestHash> remembered_;
};

}  // namespace ordersd::auth
