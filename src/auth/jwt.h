// JwksVerifier: OAuth2 / OpenID Connect access tokens (JWT, RFC 7519) checked
// against the identity provider's public keys (a JWKS file, RFC 7517).
//
// A token is a compact JWS (RFC 7515): header.payload.signature, each part
// base64url without padding. verify() accepts it only when
//
//   - its algorithm is RS256 (RSASSA-PKCS1-v1_5, SHA-256) with an RSA key or
//     ES256 (ECDSA P-256, SHA-256; signature r||s, 64 bytes) with an EC key.
//     Nothing else: no "none", no HMAC (an HS256 token "signed" with a public
//     key is the classic confusion attack), no PS*, and the algorithm names
//     the key's type, never the other way round;
//   - its "kid", when it has one, names a key of the file (only that key is
//     tried); without a "kid", the keys of the algorithm's type are tried;
//   - the signature verifies, and only then are the claims read:
//     "iss" equals the policy's issuer, "aud" (a string or an array) holds
//     the policy's audience, "exp" is a number not more than `leeway` in the
//     past, "nbf" (if any) not more than `leeway` in the future, "iat" (if
//     any) not beyond now + `leeway`, "sub" a non-empty string.
//
// Every refusal is Status::invalid_argument with a short reason meant for
// the HTTP client ("the token has expired"): it may name a claim, never key
// material. Errors of load() are for the operator and name the file.
//
// A verifier is immutable once loaded: verify() may run on any number of
// threads at once. Rotating keys is loading a new verifier.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/status.h"

namespace ordersd::auth {

struct JwtPolicy {
  std::string issuer;    // the "iss" claim must equal this
  std::string audience;  // the "aud" claim (a string or an array) must contain this
  std::chrono::seconds leeway{60};  // clock skew allowed on exp / nbf / iat
};

struct JwtClaims {
  std::string subject;  // "sub" (required)
  // From "scope" (a space-separated string) or, when there is none, "scp"
  // (an array of strings, or a space-separated string as some providers
  // write it). Neither means no scopes.
  std::vector<std::string> scopes;
  std::optional<std::string> customer_id;  // the "customer_id" claim, when it is a string
  // "exp", clamped to what a time_point holds (no earlier than the epoch).
  std::chrono::system_clock::time_point expires_at;

  bool has_scope(std::string_view scope) const;
};

class JwksVerifier {
 public:
  // Longer tokens are refused before anything is decoded.
  static constexpr size_t kMaxTokenBytes = 8 * 1024;

  // Reads a JWKS file ({"keys": [...]}). RSA keys (kty RSA, n, e; at least
  // 2048 bits) and EC P-256 keys (kty EC, crv P-256, x, y) are loaded. Keys
  // with a "use" other than "sig", another kty or crv, an "alg" other than
  // RS256 (RSA) or ES256 (EC), or that are malformed (bad base64url, a
  // point off the curve, a short modulus, a "kid" that is not a string)
  // are skipped and counted. A file with no usable key, that cannot be read,
  // or that is not a JWKS is an error; the issuer and audience of `policy`
  // must not be empty.
  static Result<std::shared_ptr<const JwksVerifier>> load(const std::string& jwks_path, JwtPolicy policy);
  // The same from the JWKS document itself (`source` names it in errors).
  static Result<std::shared_ptr<const JwksVerifier>> from_json(std::string_view jwks, JwtPolicy policy,
                                                               std::string_view source = "the JWKS");

  // Verifies a compact JWS and its claims at `now`.
  Result<JwtClaims> verify(std::string_view token, std::chrono::system_clock::time_point now) const;

  size_t key_count() const;
  size_t skipped_key_count() const;
  // Why each skipped key was skipped ("key 2 (kid \"k1\"): ..."), for the
  // operator's log. Names kids and types, never key material.
  const std::vector<std::string>& skipped_key_reasons() const;
  const JwtPolicy& policy() const { return policy_; }

  ~JwksVerifier();
  JwksVerifier(const JwksVerifier&) = delete;
  JwksVerifier& operator=(const JwksVerifier&) = delete;

  struct Key;  // a public key and its kid (jwt.cpp)

 private:
  explicit JwksVerifier(JwtPolicy policy);

  JwtPolicy policy_;
  std::vector<Key> keys_;
  std::vector<std::string> skipped_;
};

}  // namespace ordersd::auth
