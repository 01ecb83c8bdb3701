// An identity provider in miniature, for tests: a key pair made in memory,
// its public half as a JWKS, and JWTs signed with its private half.
//
//   JwtSigner idp(JwtSigner::Algorithm::kRs256, "idp-1");
//   idp.write_jwks(dir.sub("jwks.json"));
//   std::string token = idp.sign(R"({"iss":"https://idp.test","aud":"ordersd","sub":"u1","exp":2000000000})");
//
// sign() writes the header {"alg": "RS256" or "ES256", "typ": "JWT", "kid": kid}
// patched by `header_overrides` (RFC 7396: a member set to null is removed),
// and signs with the key whatever the patched header claims, so a test can
// send a token whose header lies.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ordersd::test {

class JwtSigner {
 public:
  enum class Algorithm {
    kRs256,  // a fresh RSA-2048 key, RSASSA-PKCS1-v1_5 with SHA-256
    kEs256,  // a fresh P-256 key, ECDSA with SHA-256
  };
  // How an ES256 signature is written: as JWS has it (r || s, 64 bytes) or
  // as OpenSSL and X.509 do (DER), which a JWT verifier must refuse.
  enum class EcdsaForm { kRaw, kDer };

  explicit JwtSigner(Algorithm algorithm, std::string kid = "test-key");
  ~JwtSigner();
  JwtSigner(const JwtSigner&) = delete;
  JwtSigner& operator=(const JwtSigner&) = delete;

  Algorithm algorithm() const { return algorithm_; }
  const std::string& alg() const;  // "RS256" or "ES256"
  const std::string& kid() const { return kid_; }

  // The public key as a JWK (JSON text): kty, kid, use "sig", alg, and n, e
  // or crv, x, y.
  std::string public_jwk() const;
  // {"keys": [public_jwk()]}
  std::string jwks() const;
  void write_jwks(const std::string& path) const;
  // The public key as PEM (SubjectPublicKeyInfo), as a confused verifier
  // might use it for an HMAC secret.
  std::string public_key_pem() const;

  // A compact JWS of `payload_json` (any text, sent as is).
  std::string sign(std::string_view payload_json, std::string_view header_overrides = "{}") const;
  // The signature of `signing_input` (header.payload in base64url), raw bytes.
  std::string signature(std::string_view signing_input, EcdsaForm form = EcdsaForm::kRaw) const;

  static std::string base64url(std::string_view bytes);  // no padding
  static std::string base64url_decode(std::string_view text);  // REQUIREs valid input
  static std::string hmac_sha256(std::string_view key, std::string_view data);
  // header.payload.signature from the header's and payload's JSON text and raw signature bytes.
  static std::string compact(std::string_view header_json, std::string_view payload_json,
                             std::string_view signature);

 private:
  struct Key;

  Algorithm algorithm_;
  std::string kid_;
  std::unique_ptr<Key> key_;
};

// Writes {"keys": [...]} of the given JWKs (JSON text each) to `path`.
void write_jwks(const std::string& path, const std::vector<std::string>& jwks);
// Writes `text` to `path` (REQUIREs success).
void write_text_file(const std::string& path, std::string_view text);

}  // namespace ordersd::test
