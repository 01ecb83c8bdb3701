// Authenticator: from an Authorization header to a Principal.
//
// A bearer token is either an API token (token_file.h) or, when a JWKS file
// is configured, an OAuth2/OIDC access token (a JWT, jwt.h). With neither
// configured the server runs open: every request is the anonymous principal
// with every scope. reload() re-reads both files (on SIGHUP); a file that
// fails to load leaves the previous one in force. Thread-safe.
#pragma once

#include <chrono>
#include <memory>
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

  AuthOptions options_;
  mutable std::mutex mu_;  // guards the two pointers, not what they point at
  std::shared_ptr<const TokenSet> tokens_;
  std::shared_ptr<const JwksVerifier> jwks_;
};

}  // namespace ordersd::auth
