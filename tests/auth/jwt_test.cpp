// JwksVerifier: which access tokens ordersd believes, and which it refuses
// with what reason. Keys are made fresh by the test's own identity provider
// (support/jwt_signer.h); the clock is the test's: every token is checked at
// kNow unless a test says otherwise.
#include "auth/jwt.h"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>
#include <nlohmann/json.hpp>

#include "support/jwt_signer.h"
#include "support/temp_dir.h"

using namespace ordersd;
using namespace std::chrono_literals;
using nlohmann::json;
using ordersd::auth::JwksVerifier;
using ordersd::auth::JwtClaims;
using ordersd::auth::JwtPolicy;
using ordersd::test::JwtSigner;
using ordersd::test::TempDir;

namespace {

const std::string kIssuer = "https://idp.example.test/";
const std::string kAudience = "ordersd";
constexpr int64_t kNowSeconds = 1'700'000'000;
const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(kNowSeconds));

// The identity provider's keys, made once (an RSA key takes a while).
const JwtSigner& rsa() {
  static const JwtSigner signer(JwtSigner::Algorithm::kRs256, "rsa-1");
  return signer;
}
const JwtSigner& ec() {
  static const JwtSigner signer(JwtSigner::Algorithm::kEs256, "ec-1");
  return signer;
}
// Someone else's keys, under the same kids.
const JwtSigner& rsa_impostor() {
  static const JwtSigner signer(JwtSigner::Algorithm::kRs256, "rsa-1");
  return signer;
}
const JwtSigner& ec_impostor() {
  static const JwtSigner signer(JwtSigner::Algorithm::kEs256, "ec-1");
  return signer;
}

JwtPolicy policy() { return JwtPolicy{kIssuer, kAudience, 60s}; }

// A verifier that trusts the JWKS of `jwks` (JWK texts).
std::shared_ptr<const JwksVerifier> trusting(const std::vector<std::string>& jwks) {
  TempDir dir;
  test::write_jwks(dir.sub("jwks.json"), jwks);
  auto verifier = JwksVerifier::load(dir.sub("jwks.json"), policy());
  REQUIRE_MESSAGE(verifier.is_ok(), verifier.status().to_string());
  return verifier.value();
}

// The provider's usual JWKS: one RSA and one EC key.
const JwksVerifier& verifier() {
  static const auto v = trusting({rsa().public_jwk(), ec().public_jwk()});
  return *v;
}

// Claims that pass: issued ten seconds ago, expiring in ten minutes.
json claims() {
  return {{"iss", kIssuer},         {"aud", kAudience},         {"sub", "user-1"},
          {"iat", kNowSeconds - 10}, {"exp", kNowSeconds + 600}};
}

Result<JwtClaims> verify(const std::string& token, std::chrono::system_clock::time_point now = kNow) {
  return verifier().verify(token, now);
}

// The reason a refused token was given; fails the test when it was accepted
// or refused with another code.
std::string refusal(const Result<JwtClaims>& result) {
  REQUIRE_MESSAGE(!result.is_ok(), "the token was accepted");
  CHECK(result.status().code() == Status::Code::kInvalidArgument);
  return result.status().message();
}

JwtClaims accepted(const Result<JwtClaims>& result) {
  REQUIRE_MESSAGE(result.is_ok(), result.status().to_string());
  return result.value();
}

struct Parts {
  std::string header, payload, signature;  // base64url, as in the token
};
Parts split(const std::string& token) {
  auto first = token.find('.'), second = token.rfind('.');
  REQUIRE(first != second);
  return {token.substr(0, first), token.substr(first + 1, second - first - 1), token.substr(second + 1)};
}
std::string join(const Parts& p) { return p.header + "." + p.payload + "." + p.signature; }

std::string with_claims(const JwtSigner& signer, const json& c, const std::string& header = "{}") {
  return signer.sign(c.dump(), header);
}

}  // namespace

TEST_SUITE("accepted tokens") {
  TEST_CASE("an RS256 token with a scope string and a customer id gives its subject, scopes, customer and expiry") {
    json c = claims();
    c["scope"] = "orders:read  orders:write";  // two spaces: no empty scope
    c["customer_id"] = "c-42";
    JwtClaims got = accepted(verify(with_claims(rsa(), c)));
    CHECK(got.subject == "user-1");
    CHECK(got.scopes == std::vector<std::string>{"orders:read", "orders:write"});
    CHECK(got.has_scope("orders:write"));
    CHECK_FALSE(got.has_scope("orders"));
    CHECK(got.customer_id == "c-42");
    CHECK(got.expires_at == kNow + 600s);
  }

  TEST_CASE("an ES256 token with an scp array gives its scopes") {
    json c = claims();
    c["scp"] = {"orders:read", "payments:write"};
    c["customer_id"] = "c-7";
    JwtClaims got = accepted(verify(with_claims(ec(), c)));
    CHECK(got.subject == "user-1");
    CHECK(got.scopes == std::vector<std::string>{"orders:read", "payments:write"});
    CHECK(got.customer_id == "c-7");
  }

  TEST_CASE("scp may also be a space-separated string; scope wins over scp") {
    json c = claims();
    c["scp"] = "a b";
    CHECK(accepted(verify(with_claims(rsa(), c))).scopes == std::vector<std::string>{"a", "b"});
    c["scope"] = "c";
    CHECK(accepted(verify(with_claims(rsa(), c))).scopes == std::vector<std::string>{"c"});
  }

  TEST_CASE("no scope claim means no scopes; a customer_id that is not a string is no customer") {
    json c = claims();
    c["customer_id"] = 42;
    JwtClaims got = accepted(verify(with_claims(rsa(), c)));
    CHECK(got.scopes.empty());
    CHECK_FALSE(got.customer_id.has_value());
  }

  TEST_CASE("an audience array that contains ours is accepted") {
    json c = claims();
    c["aud"] = {"billing", kAudience};
    CHECK(accepted(verify(with_claims(ec(), c))).subject == "user-1");
  }

  TEST_CASE("without a kid, each key of the algorithm's type is tried") {
    JwtSigner second(JwtSigner::Algorithm::kEs256, "ec-2");
    auto v = trusting({rsa().public_jwk(), ec().public_jwk(), second.public_jwk()});
    CHECK(v->key_count() == 3);
    for (const JwtSigner* signer : {&rsa(), &ec(), static_cast<const JwtSigner*>(&second)}) {
      CAPTURE(signer->kid());
      CHECK(accepted(v->verify(with_claims(*signer, claims(), R"({"kid": null})"), kNow)).subject == "user-1");
    }
  }

  TEST_CASE("a verifier answers on many threads at once") {
    std::string token = with_claims(ec(), claims());
    std::vector<std::thread> threads;
    std::vector<int> ok(4, 0);
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 25; ++i) ok[t] += verify(token).is_ok() ? 1 : 0;
      });
    }
    for (auto& thread : threads) thread.join();
    CHECK(ok == std::vector<int>(4, 25));
  }
}

TEST_SUITE("claims") {
  TEST_CASE("a token from another issuer is refused, and so is one without an issuer") {
    json c = claims();
    c["iss"] = "https://evil.example.test/";
    CHECK(refusal(verify(with_claims(rsa(), c))) == "the token's issuer (\"iss\") is not trusted");
    c["iss"] = "https://idp.example.test";  // no trailing slash: not the same string
    CHECK(refusal(verify(with_claims(rsa(), c))) == "the token's issuer (\"iss\") is not trusted");
    c.erase("iss");
    CHECK(refusal(verify(with_claims(rsa(), c))) == "the token's issuer (\"iss\") is not trusted");
  }

  TEST_CASE("a token for another audience is refused, as a string or as an array") {
    json c = claims();
    c["aud"] = "billing";
    CHECK(refusal(verify(with_claims(rsa(), c))) == "the token is not meant for this service (\"aud\")");
    c["aud"] = {"billing", "shipping"};
    CHECK(refusal(verify(with_claims(rsa(), c))) == "the token is not meant for this service (\"aud\")");
    c["aud"] = json::array();
    CHECK(refusal(verify(with_claims(rsa(), c))) == "the token is not meant for this service (\"aud\")");
    c.erase("aud");
    CHECK(refusal(verify(with_claims(rsa(), c))) == "the token is not meant for this service (\"aud\")");
    c["aud"] = {kAudience, 7};
    CHECK(refusal(verify(with_claims(rsa(), c))) == "the token's audience (\"aud\") is malformed");
  }

  TEST_CASE("a token expired for longer than the leeway is refused; within the leeway it is accepted") {
    json c = claims();
    c["iat"] = kNowSeconds - 3600;
    c["exp"] = kNowSeconds - 61;
    CHECK(refusal(verify(with_claims(rsa(), c))) == "the token has expired");
    c["exp"] = kNowSeconds - 59;
    CHECK(accepted(verify(with_claims(rsa(), c))).expires_at == kNow - 59s);
    c["exp"] = kNowSeconds - 60;  // the edge: exactly the leeway
    CHECK(verify(with_claims(rsa(), c)).is_ok());
    CHECK(refusal(verify(with_claims(rsa(), c), kNow + 1ms)) == "the token has expired");
  }

  TEST_CASE("exp is required and must be a number; a fractional exp counts") {
    json c = claims();
    c.erase("exp");
    CHECK(refusal(verify(with_claims(rsa(), c))) == "the token has no expiry (\"exp\")");
    c["exp"] = std::to_string(kNowSeconds + 600);
    CHECK(refusal(verify(with_claims(rsa(), c))) == "the token's expiry (\"exp\") is not a number");
    c["exp"] = double(kNowSeconds - 60) + 0.5;
    CHECK(verify(with_claims(rsa(), c), kNow + 500ms).is_ok());
    CHECK(refusal(verify(with_claims(rsa(), c), kNow + 501ms)) == "the token has expired");
  }

  TEST_CASE("an absurdly distant exp is accepted and clamped, not overflowed") {
    json c = claims();
    c["exp"] = 1e300;
    JwtClaims got = accepted(verify(with_claims(rsa(), c)));
    CHECK(got.expires_at > kNow + std::chrono::hours(24 * 365 * 200));
  }

  TEST_CASE("a token whose nbf is beyond the leeway in the future is refused; within it, accepted") {
    json c = claims();
    c["nbf"] = kNowSeconds + 61;
    CHECK(refusal(verify(with_claims(ec(), c))) == "the token is not valid yet (\"nbf\")");
    c["nbf"] = kNowSeconds + 59;
    CHECK(verify(with_claims(ec(), c)).is_ok());
    c["nbf"] = "soon";
    CHECK(refusal(verify(with_claims(ec(), c))) == "the token's \"nbf\" is not a number");
  }

  TEST_CASE("a token issued beyond the leeway in the future is refused") {
    json c = claims();
    c["iat"] = kNowSeconds + 61;
    CHECK(refusal(verify(with_claims(rsa(), c))) == "the token was issued in the future (\"iat\")");
    c["iat"] = kNowSeconds + 59;
    CHECK(verify(with_claims(rsa(), c)).is_ok());
  }

  TEST_CASE("a token without a subject, or with an empty or non-string one, is refused") {
    json c = claims();
    c.erase("sub");
    CHECK(refusal(verify(with_claims(rsa(), c))) == "the token has no subject (\"sub\")");
    c["sub"] = "";
    CHECK(refusal(verify(with_claims(rsa(), c))) == "the token has no subject (\"sub\")");
    c["sub"] = 12;
    CHECK(refusal(verify(with_claims(rsa(), c))) == "the token has no subject (\"sub\")");
  }

  TEST_CASE("malformed scope claims are refused, not read as no scopes") {
    json c = claims();
    c["scope"] = {"orders:read"};
    CHECK(refusal(verify(with_claims(rsa(), c))) == "the token's \"scope\" is not a string");
    c.erase("scope");
    c["scp"] = {"orders:read", 3};
    CHECK(refusal(verify(with_claims(rsa(), c))) == "the token's \"scp\" is not an array of strings");
  }

  TEST_CASE("a payload that is not a JSON object is refused, even when signed") {
    CHECK(refusal(verify(rsa().sign("[1,2]"))) == "the token's payload is not a JSON object");
    CHECK(refusal(verify(rsa().sign("not json"))) == "the token's payload is not a JSON object");
  }
}

TEST_SUITE("signatures") {
  TEST_CASE("a payload changed after signing does not verify") {
    for (const JwtSigner* signer : {&rsa(), &ec()}) {
      CAPTURE(signer->alg());
      Parts p = split(with_claims(*signer, claims()));
      json c = claims();
      c["sub"] = "admin";
      p.payload = JwtSigner::base64url(c.dump());
      CHECK(refusal(verify(join(p))) == "the token's signature does not verify");
    }
  }

  TEST_CASE("a signature with one bit flipped does not verify") {
    for (const JwtSigner* signer : {&rsa(), &ec()}) {
      CAPTURE(signer->alg());
      std::string token = with_claims(*signer, claims());
      REQUIRE(verify(token).is_ok());
      Parts p = split(token);
      std::string sig = JwtSigner::base64url_decode(p.signature);
      sig[sig.size() / 2] ^= 0x01;
      p.signature = JwtSigner::base64url(sig);
      CHECK(refusal(verify(join(p))) == "the token's signature does not verify");
    }
  }

  TEST_CASE("a token signed by another key under a trusted kid does not verify") {
    CHECK(refusal(verify(with_claims(rsa_impostor(), claims()))) == "the token's signature does not verify");
    CHECK(refusal(verify(with_claims(ec_impostor(), claims()))) == "the token's signature does not verify");
    CHECK(refusal(verify(with_claims(rsa_impostor(), claims(), R"({"kid": null})"))) ==
          "the token's signature does not verify");
  }

  TEST_CASE("an unknown kid is refused, even when another key would verify the signature") {
    CHECK(refusal(verify(with_claims(rsa(), claims(), R"({"kid": "rsa-2"})"))) ==
          "the token's key id (\"kid\") is unknown");
    CHECK(refusal(verify(with_claims(rsa(), claims(), R"({"kid": 1})"))) ==
          "the token's key id (\"kid\") is not a string");
  }

  TEST_CASE("an ES256 signature must be r||s of 64 bytes: DER and other lengths are refused") {
    Parts p = split(with_claims(ec(), claims()));
    std::string input = p.header + "." + p.payload;
    p.signature = JwtSigner::base64url(ec().signature(input, JwtSigner::EcdsaForm::kRaw));
    REQUIRE(verify(join(p)).is_ok());
    // The very same signature as OpenSSL writes it.
    p.signature = JwtSigner::base64url(ec().signature(input, JwtSigner::EcdsaForm::kDer));
    CHECK(refusal(verify(join(p))) == "the token's signature does not verify");
    std::string raw = ec().signature(input);
    for (const std::string& wrong : {raw.substr(0, 63), raw + '\0', std::string(1, '\0') + raw, raw + raw, std::string()}) {
      CAPTURE(wrong.size());
      p.signature = JwtSigner::base64url(wrong);
      CHECK(refusal(verify(join(p))) == "the token's signature does not verify");
    }
  }

  TEST_CASE("an RS256 signature shorter than the modulus is refused") {
    Parts p = split(with_claims(rsa(), claims()));
    std::string sig = JwtSigner::base64url_decode(p.signature);
    REQUIRE(sig.size() == 256);
    p.signature = JwtSigner::base64url(sig.substr(1));
    CHECK(refusal(verify(join(p))) == "the token's signature does not verify");
  }
}

TEST_SUITE("algorithms") {
  TEST_CASE("alg none is refused, whatever its spelling and signature") {
    std::string payload = claims().dump();
    for (std::string alg : {"none", "None", "NONE"}) {
      CAPTURE(alg);
      json header = {{"alg", alg}, {"typ", "JWT"}};
      CHECK(refusal(verify(JwtSigner::compact(header.dump(), payload, ""))) ==
            "the token's algorithm is not accepted (RS256 and ES256 are)");
      // A real signature does not make "none" acceptable either.
      CHECK(refusal(verify(with_claims(rsa(), claims(), json{{"alg", alg}}.dump()))) ==
            "the token's algorithm is not accepted (RS256 and ES256 are)");
    }
  }

  TEST_CASE("HS256 keyed with the RSA public key (algorithm confusion) is refused") {
    std::string payload = claims().dump();
    for (const std::string& secret : {rsa().public_key_pem(), rsa().public_jwk(), rsa().jwks()}) {
      json header = {{"alg", "HS256"}, {"typ", "JWT"}, {"kid", rsa().kid()}};
      std::string input = JwtSigner::base64url(header.dump()) + "." + JwtSigner::base64url(payload);
      std::string token = input + "." + JwtSigner::base64url(JwtSigner::hmac_sha256(secret, input));
      CHECK(refusal(verify(token)) == "the token's algorithm is not accepted (RS256 and ES256 are)");
    }
  }

  TEST_CASE("other algorithms are refused even with a valid RS256 signature: PS256, RS512, HS256, missing") {
    for (std::string header : {R"({"alg": "PS256"})", R"({"alg": "RS512"})", R"({"alg": "HS256"})",
                               R"({"alg": "ES384"})", R"({"alg": "rs256"})", R"({"alg": null})",
                               R"({"alg": ["RS256"]})"}) {
      CAPTURE(header);
      CHECK(refusal(verify(with_claims(rsa(), claims(), header))) ==
            "the token's algorithm is not accepted (RS256 and ES256 are)");
    }
  }

  TEST_CASE("an RS256 header never selects an EC key, nor ES256 an RSA key") {
    // The kid names the EC key; the RSA signature would verify with the RSA key.
    CHECK(refusal(verify(with_claims(rsa(), claims(), R"({"kid": "ec-1"})"))) ==
          "the token's algorithm does not match its key");
    CHECK(refusal(verify(with_claims(ec(), claims(), R"({"alg": "RS256"})"))) ==
          "the token's algorithm does not match its key");
    CHECK(refusal(verify(with_claims(ec(), claims(), R"({"kid": "rsa-1"})"))) ==
          "the token's algorithm does not match its key");
    // Without a kid and with only EC keys trusted, an RS256 token has no key.
    auto only_ec = trusting({ec().public_jwk()});
    CHECK(refusal(only_ec->verify(with_claims(rsa(), claims(), R"({"kid": null})"), kNow)) ==
          "the token's algorithm does not match its key");
  }

  TEST_CASE("a crit header is refused, even when signed") {
    CHECK(refusal(verify(with_claims(rsa(), claims(), R"({"crit": ["exp"], "exp": 1})"))) ==
          "the token's header has \"crit\" extensions, which are not supported");
  }
}

TEST_SUITE("token syntax") {
  TEST_CASE("a token of other than three segments is refused") {
    std::string token = with_claims(rsa(), claims());
    Parts p = split(token);
    for (const std::string& bad : {std::string(), std::string("abc"), p.header + "." + p.payload,
                                   token + ".", token + "." + p.signature, std::string("a.b"), std::string("...")}) {
      CAPTURE(bad);
      CHECK(refusal(verify(bad)) == "the token is not a compact JWS (header.payload.signature)");
    }
  }

  TEST_CASE("padding, standard base64 characters and other bytes outside base64url are refused") {
    Parts good = split(with_claims(rsa(), claims()));
    auto refused = [](const Parts& p) {
      CHECK(refusal(verify(join(p))) == "the token is not base64url-encoded");
    };
    for (std::string Parts::*part : {&Parts::header, &Parts::payload, &Parts::signature}) {
      for (std::string bad : {"=", "==", "+", "/", " ", "\n", "%"}) {
        CAPTURE(bad);
        Parts p = good;
        (p.*part) += bad;
        refused(p);
      }
    }
    // A length no base64url text has (4n + 1 characters).
    Parts p = good;
    REQUIRE(p.signature.size() % 4 == 2);
    p.signature += "AAA";
    refused(p);
    // Unused bits that are not zero: a second encoding of the same bytes.
    const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    p = good;
    p.header = JwtSigner::base64url(R"({"alg":"RS256","kid":"rsa-1"})");  // 29 bytes: 2 bits unused
    REQUIRE(p.header.size() % 4 == 3);
    size_t last = alphabet.find(p.header.back());
    REQUIRE(last % 4 == 0);
    p.header.back() = alphabet[last + 1];
    CHECK(JwtSigner::base64url_decode(p.header) == R"({"alg":"RS256","kid":"rsa-1"})");
    refused(p);
  }

  TEST_CASE("a header that is not a JSON object is refused") {
    std::string payload = claims().dump();
    for (std::string header : {"[]", "\"RS256\"", "{", ""}) {
      CAPTURE(header);
      CHECK(refusal(verify(JwtSigner::compact(header, payload, "sig"))) == "the token's header is not a JSON object");
    }
  }

  TEST_CASE("tokens over 8 KiB are refused before anything else; up to 8 KiB they are read") {
    // A signed token of `size` bytes, or one or two fewer (base64url grows by 1 or 2 characters a byte).
    auto token_of_size = [](size_t size) {
      json c = claims();
      c["padding"] = "";
      size_t base = with_claims(rsa(), c).size();
      REQUIRE(base < size);
      std::string padding((size - base) * 3 / 4, 'x');  // three bytes are four characters
      auto sign = [&] {
        c["padding"] = padding;
        return with_claims(rsa(), c);
      };
      std::string token = sign();
      while (token.size() > size) {
        padding.pop_back();
        token = sign();
      }
      REQUIRE(token.size() + 2 >= size);
      return token;
    };
    std::string largest = token_of_size(JwksVerifier::kMaxTokenBytes);
    CHECK(verify(largest).is_ok());
    std::string over = token_of_size(JwksVerifier::kMaxTokenBytes + 8);
    REQUIRE(over.size() > 8192);
    CHECK(refusal(verify(over)) == "the token is too long");
    CHECK(refusal(verify(std::string(8193, 'A'))) == "the token is too long");
  }

  TEST_CASE("reasons never carry key material") {
    json c = claims();
    c["iss"] = "someone";
    std::string reason = refusal(verify(with_claims(rsa(), c)));
    json jwk = json::parse(rsa().public_jwk());
    CHECK(reason.find(jwk["n"].get<std::string>().substr(0, 16)) == std::string::npos);
    CHECK(reason.find("someone") == std::string::npos);
  }
}

TEST_SUITE("JWKS files") {
  TEST_CASE("a JWKS with an unsupported key and a good one loads the good one and counts the other") {
    auto v = trusting({R"({"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"})", rsa().public_jwk()});
    CHECK(v->key_count() == 1);
    CHECK(v->skipped_key_count() == 1);
    REQUIRE(v->skipped_key_reasons().size() == 1);
    CHECK(v->skipped_key_reasons()[0] == R"(key 0 (kid "hmac"): kty "oct" is not supported (RSA and EC are))");
    CHECK(v->verify(with_claims(rsa(), claims()), kNow).is_ok());
  }

  TEST_CASE("keys for encryption, other curves and algorithms, short or broken keys are skipped, each counted") {
    json good_rsa = json::parse(rsa().public_jwk());
    json good_ec = json::parse(ec().public_jwk());
    auto variant = [](json jwk, const std::string& kid, const json& patch) {
      jwk["kid"] = kid;
      jwk.merge_patch(patch);
      return jwk.dump();
    };
    // A 1024-bit modulus: the first half of a good one, made odd.
    std::string n = JwtSigner::base64url_decode(good_rsa["n"].get<std::string>()).substr(0, 128);
    n.back() |= 1;
    // An even modulus: no product of two odd primes.
    std::string even = JwtSigner::base64url_decode(good_rsa["n"].get<std::string>());
    even.back() &= ~1;
    std::string y = JwtSigner::base64url_decode(good_ec["y"].get<std::string>());
    y.back() ^= 1;  // off the curve
    std::vector<std::string> jwks = {
        variant(good_rsa, "enc", {{"use", "enc"}}),
        variant(good_rsa, "rs512", {{"alg", "RS512"}}),
        variant(good_rsa, "ps256", {{"alg", "PS256"}}),
        variant(good_ec, "es256-on-rsa", {{"kty", "RSA"}, {"alg", "ES256"}}),
        variant(good_ec, "p384", {{"crv", "P-384"}, {"alg", nullptr}}),
        variant(good_rsa, "short", {{"n", JwtSigner::base64url(n)}}),
        variant(good_rsa, "even", {{"n", JwtSigner::base64url(even)}}),
        variant(good_rsa, "e-is-1", {{"e", "AQ"}}),  // a signature would be its own message
        variant(good_ec, "off-curve", {{"y", JwtSigner::base64url(y)}}),
        variant(good_rsa, "padded", {{"n", good_rsa["n"].get<std::string>() + "="}}),
        variant(good_rsa, "no-e", {{"e", nullptr}}),
        variant(good_ec, "no-kty", {{"kty", nullptr}}),
        R"({"kty": "RSA", "kid": 5})",
        R"("not an object")",
        variant(good_ec, "ec-1", {{"use", "sig"}}),  // the one good key
    };
    auto v = trusting(jwks);
    CHECK(v->key_count() == 1);
    CHECK(v->skipped_key_count() == jwks.size() - 1);
    std::string reasons;
    for (const auto& r : v->skipped_key_reasons()) reasons += r + "\n";
    CAPTURE(reasons);
    CHECK(reasons.find("(kid \"short\"): an RSA modulus of 1024 bits, fewer than 2048") != std::string::npos);
    CHECK(reasons.find("(kid \"off-curve\"): the point is not on P-256") != std::string::npos);
    CHECK(reasons.find("(kid \"even\"): OpenSSL refuses the RSA key") != std::string::npos);
    CHECK(reasons.find("(kid \"e-is-1\"): OpenSSL refuses the RSA key") != std::string::npos);
    CHECK(reasons.find("(kid \"enc\"): its \"use\" is not \"sig\"") != std::string::npos);
    // Reasons name keys, never their material.
    CHECK(reasons.find(good_rsa["n"].get<std::string>().substr(0, 16)) == std::string::npos);
    CHECK(v->verify(with_claims(ec(), claims()), kNow).is_ok());
    CHECK(refusal(v->verify(with_claims(rsa(), claims(), R"({"kid": "enc"})"), kNow)) ==
          "the token's key id (\"kid\") is unknown");
  }

  TEST_CASE("a missing, empty, non-JSON or keyless JWKS file is an error naming the file") {
    TempDir dir;
    auto load = [&](const std::string& name) { return JwksVerifier::load(dir.sub(name), policy()); };
    auto missing = load("missing.json");
    REQUIRE_FALSE(missing.is_ok());
    CHECK(missing.status().code() == Status::Code::kIoError);
    CHECK(missing.status().message().find(dir.sub("missing.json")) != std::string::npos);

    const std::vector<std::pair<std::string, std::string>> bad = {
        {"", "is empty"},
        {"not json", "is not a JSON object"},
        {R"([{"kty": "RSA"}])", "is not a JSON object"},
        {R"({"keys": {}})", "has no \"keys\" array"},
        {R"({"keys": []})", "has no usable key"},
        {R"({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]})", "has no usable key (key 0: kty \"oct\" is not supported"},
    };
    for (const auto& [text, reason] : bad) {
      CAPTURE(text);
      test::write_text_file(dir.sub("jwks.json"), text);
      auto loaded = load("jwks.json");
      REQUIRE_FALSE(loaded.is_ok());
      CHECK(loaded.status().code() == Status::Code::kInvalidArgument);
      CHECK(loaded.status().message().find(dir.sub("jwks.json") + " " + reason) != std::string::npos);
    }
  }

  TEST_CASE("a policy needs an issuer and an audience") {
    std::string jwks = rsa().jwks();
    CHECK_FALSE(JwksVerifier::from_json(jwks, JwtPolicy{"", kAudience}).is_ok());
    CHECK_FALSE(JwksVerifier::from_json(jwks, JwtPolicy{kIssuer, ""}).is_ok());
    CHECK_FALSE(JwksVerifier::from_json(jwks, JwtPolicy{kIssuer, kAudience, -1s}).is_ok());
    CHECK(JwksVerifier::from_json(jwks, JwtPolicy{kIssuer, kAudience}).is_ok());
  }

  TEST_CASE("the leeway is the policy's") {
    auto strict = JwksVerifier::from_json(rsa().jwks(), JwtPolicy{kIssuer, kAudience, 0s});
    REQUIRE(strict.is_ok());
    json c = claims();
    c["exp"] = kNowSeconds - 1;
    CHECK(refusal(strict.value()->verify(with_claims(rsa(), c), kNow)) == "the token has expired");
    CHECK(verify(with_claims(rsa(), c)).is_ok());
  }
}
