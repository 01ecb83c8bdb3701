#include "auth/jwt.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <variant>
#include <nlohmann/json.hpp>

#include "events/encoding.h"

namespace ordersd::auth {

namespace {

using nlohmann::json;

// unique_ptr for OpenSSL's objects, freed by their own functions.
template <auto Free>
struct Freer {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Freer<EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Freer<EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Freer<EVP_MD_CTX_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Freer<BN_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, Freer<OSSL_PARAM_BLD_free>>;
using ParamsPtr = std::unique_ptr<OSSL_PARAM, Freer<OSSL_PARAM_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Freer<ECDSA_SIG_free>>;

enum class KeyType { kRsa, kEc };

constexpr size_t kMinRsaBits = 2048;
constexpr size_t kP256CoordinateBytes = 32;

// The object `text` holds, or nullopt when it is not JSON or not an object.
std::optional<json> parse_object(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

const json* member(const json& object, const char* name) {
  auto it = object.find(name);
  return it == object.end() ? nullptr : &*it;
}

// The key's type, as the "alg" of a JWS header names it; nullopt for every
// algorithm ordersd does not accept.
std::optional<KeyType> key_type_of(std::string_view alg) {
  if (alg == "RS256") return KeyType::kRsa;
  if (alg == "ES256") return KeyType::kEc;
  return std::nullopt;
}

BnPtr bignum(std::string_view big_endian) {
  return BnPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(big_endian.data()),
                         static_cast<int>(big_endian.size()), nullptr));
}

// A public key of `type` ("RSA" or "EC") built from `params`, checked by
// OpenSSL (an RSA modulus that is odd and not prime, an EC point on its
// curve); null when OpenSSL refuses it.
PkeyPtr key_from_params(const char* type, OSSL_PARAM_BLD* bld) {
  ParamsPtr params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return nullptr;
  }
  PkeyPtr key(raw);
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) return nullptr;
  return key;
}

// The key of a JWK's "n" and "e", or why there is none.
std::variant<PkeyPtr, std::string> rsa_key(const json& jwk) {
  const json *n = member(jwk, "n"), *e = member(jwk, "e");
  if (!n || !n->is_string() || !e || !e->is_string()) return std::string("an RSA key needs \"n\" and \"e\"");
  auto n_bytes = base64url_decode(n->get_ref<const std::string&>());
  auto e_bytes = base64url_decode(e->get_ref<const std::string&>());
  if (!n_bytes || !e_bytes) return std::string("\"n\" or \"e\" is not base64url");
  BnPtr n_bn = bignum(*n_bytes), e_bn = bignum(*e_bytes);
  if (!n_bn || !e_bn) return std::string("out of memory");
  if (static_cast<size_t>(BN_num_bits(n_bn.get())) < kMinRsaBits) {
    return "an RSA modulus of " + std::to_string(BN_num_bits(n_bn.get())) + " bits, fewer than " +
           std::to_string(kMinRsaBits);
  }
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n_bn.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e_bn.get()) != 1) {
    return std::string("out of memory");
  }
  PkeyPtr key = key_from_params("RSA", bld.get());
  if (!key) return std::string("OpenSSL refuses the RSA key");
  return key;
}

// The key of a JWK's "x" and "y" on P-256, or why there is none.
std::variant<PkeyPtr, std::string> ec_key(const json& jwk) {
  const json *x = member(jwk, "x"), *y = member(jwk, "y");
  if (!x || !x->is_string() || !y || !y->is_string()) return std::string("an EC key needs \"x\" and \"y\"");
  auto x_bytes = base64url_decode(x->get_ref<const std::string&>());
  auto y_bytes = base64url_decode(y->get_ref<const std::string&>());
  if (!x_bytes || !y_bytes) return std::string("\"x\" or \"y\" is not base64url");
  if (x_bytes->size() != kP256CoordinateBytes || y_bytes->size() != kP256CoordinateBytes) {
    return std::string("a P-256 coordinate is not 32 bytes");
  }
  // SEC 1 uncompressed point: 0x04 || x || y.
  std::string point = "\x04" + *x_bytes + *y_bytes;
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
    return std::string("out of memory");
  }
  PkeyPtr key = key_from_params("EC", bld.get());
  if (!key) return std::string("the point is not on P-256");
  return key;
}

// The DER form OpenSSL verifies of a JWS ECDSA signature (r || s, 32 bytes
// each); empty when it cannot be built.
std::string ecdsa_der(std::string_view raw) {
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BnPtr r = bignum(raw.substr(0, kP256CoordinateBytes)), s = bignum(raw.substr(kP256CoordinateBytes));
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return {};
  r.release();  // owned by sig now
  s.release();
  int size = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (size <= 0) return {};
  std::string der(static_cast<size_t>(size), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &out) != size) return {};
  return der;
}

// Whether `signature` (as the JWS carries it) is `key`'s SHA-256 signature of `input`.
bool signature_verifies(EVP_PKEY* key, KeyType type, std::string_view input, std::string_view signature) {
  std::string der;
  if (type == KeyType::kEc) {
    if (signature.size() != 2 * kP256CoordinateBytes) return false;
    der = ecdsa_der(signature);
    if (der.empty()) return false;
    signature = der;
  } else if (signature.size() != static_cast<size_t>(EVP_PKEY_get_size(key))) {
    return false;  // RFC 7518 §3.3: as long as the modulus, no shorter
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  // RSA keys verify with PKCS #1 v1.5 padding unless told otherwise.
  bool ok = ctx && EVP_DigestVerifyInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, key, nullptr) == 1 &&
            EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                             reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  return ok;
}

// Seconds since the epoch of a NumericDate claim (RFC 7519 §2), or nullopt
// when it is not a number. JSON numbers beyond double's range do not parse.
std::optional<double> numeric_date(const json& value) {
  if (!value.is_number()) return std::nullopt;
  return value.get<double>();
}

std::chrono::system_clock::time_point time_point_of(double seconds) {
  using Clock = std::chrono::system_clock;
  // The largest whole second a time_point holds, with room to spare.
  static const double kMax =
      std::floor(std::chrono::duration<double>(Clock::duration::max()).count()) - 1;
  double clamped = std::clamp(seconds, 0.0, kMax);
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(clamped)));
}

Status refuse(std::string reason) { return Status::invalid_argument(std::move(reason)); }

void split_scopes(std::string_view text, std::vector<std::string>& out) {
  size_t i = 0;
  while (i < text.size()) {
    size_t end = text.find(' ', i);
    if (end == std::string_view::npos) end = text.size();
    if (end > i) out.emplace_back(text.substr(i, end - i));
    i = end + 1;
  }
}

}  // namespace

struct JwksVerifier::Key {
  std::optional<std::string> kid;
  KeyType type;
  PkeyPtr pkey;
};

bool JwtClaims::has_scope(std::string_view scope) const {
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

JwksVerifier::JwksVerifier(JwtPolicy policy) : policy_(std::move(policy)) {}
JwksVerifier::~JwksVerifier() = default;

size_t JwksVerifier::key_count() const { return keys_.size(); }
size_t JwksVerifier::skipped_key_count() const { return skipped_.size(); }
const std::vector<std::string>& JwksVerifier::skipped_key_reasons() const { return skipped_; }

Result<std::shared_ptr<const JwksVerifier>> JwksVerifier::load(const std::string& jwks_path, JwtPolicy policy) {
  std::ifstream in(jwks_path, std::ios::binary);
  if (!in) return Status::io_error("cannot open the JWKS file " + jwks_path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::io_error("cannot read the JWKS file " + jwks_path);
  if (text.view().empty()) return Status::invalid_argument("the JWKS file " + jwks_path + " is empty");
  return from_json(text.str(), std::move(policy), "the JWKS file " + jwks_path);
}

Result<std::shared_ptr<const JwksVerifier>> JwksVerifier::from_json(std::string_view jwks, JwtPolicy policy,
                                                                    std::string_view source) {
  const std::string where(source);
  if (policy.issuer.empty() || policy.audience.empty()) {
    return Status::invalid_argument("a JWT policy needs an issuer and an audience");
  }
  if (policy.leeway < std::chrono::seconds(0)) {
    return Status::invalid_argument("a JWT policy's leeway cannot be negative");
  }
  auto doc = parse_object(jwks);
  if (!doc) return Status::invalid_argument(where + " is not a JSON object");
  const json* keys = member(*doc, "keys");
  if (!keys || !keys->is_array()) return Status::invalid_argument(where + " has no \"keys\" array");

  std::shared_ptr<JwksVerifier> verifier(new JwksVerifier(std::move(policy)));
  size_t index = 0;
  for (const json& jwk : *keys) {
    std::string name = "key " + std::to_string(index++);
    auto skip = [&](const std::string& why) { verifier->skipped_.push_back(name + ": " + why); };
    if (!jwk.is_object()) {
      skip("not a JSON object");
      continue;
    }
    Key key;
    if (const json* kid = member(jwk, "kid")) {
      if (!kid->is_string()) {
        skip("its \"kid\" is not a string");
        continue;
      }
      key.kid = kid->get<std::string>();
      name += " (kid " + json(*key.kid).dump() + ")";
    }
    const json* kty = member(jwk, "kty");
    if (!kty || !kty->is_string()) {
      skip("no \"kty\"");
      continue;
    }
    if (const json* use = member(jwk, "use"); use && *use != "sig") {
      skip("its \"use\" is not \"sig\"");
      continue;
    }
    const std::string& type = kty->get_ref<const std::string&>();
    if (type == "RSA") {
      key.type = KeyType::kRsa;
    } else if (type == "EC") {
      const json* crv = member(jwk, "crv");
      if (!crv || *crv != "P-256") {
        skip("an EC key on a curve other than P-256");
        continue;
      }
      key.type = KeyType::kEc;
    } else {
      skip("kty " + kty->dump() + " is not supported (RSA and EC are)");
      continue;
    }
    if (const json* alg = member(jwk, "alg")) {
      std::optional<KeyType> alg_type = alg->is_string() ? key_type_of(alg->get_ref<const std::string&>()) : std::nullopt;
      if (alg_type != key.type) {
        skip("alg " + alg->dump() + " is not accepted for a " + type + " key (RS256 and ES256 are)");
        continue;
      }
    }
    auto built = key.type == KeyType::kRsa ? rsa_key(jwk) : ec_key(jwk);
    ERR_clear_error();
    if (auto* why = std::get_if<std::string>(&built)) {
      skip(*why);
      continue;
    }
    key.pkey = std::move(std::get<PkeyPtr>(built));
    verifier->keys_.push_back(std::move(key));
  }
  if (verifier->keys_.empty()) {
    std::string message = where + " has no usable key";
    if (!verifier->skipped_.empty()) message += " (" + verifier->skipped_.front() + ")";
    return Status::invalid_argument(std::move(message));
  }
  return std::shared_ptr<const JwksVerifier>(std::move(verifier));
}

Result<JwtClaims> JwksVerifier::verify(std::string_view token, std::chrono::system_clock::time_point now) const {
  if (token.size() > kMaxTokenBytes) return refuse("the token is too long");
  size_t first = token.find('.');
  size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return refuse("the token is not a compact JWS (header.payload.signature)");
  }
  const std::string_view header_part = token.substr(0, first);
  const std::string_view payload_part = token.substr(first + 1, second - first - 1);
  const std::string_view signing_input = token.substr(0, second);
  auto header_text = base64url_decode(header_part);
  auto payload_text = base64url_decode(payload_part);
  auto signature = base64url_decode(token.substr(second + 1));
  if (!header_text || !payload_text || !signature) return refuse("the token is not base64url-encoded");

  // The header, read before the signature is checked: only what picks the key.
  auto header = parse_object(*header_text);
  if (!header) return refuse("the token's header is not a JSON object");
  const json* alg = member(*header, "alg");
  std::optional<KeyType> type;
  if (alg && alg->is_string()) type = key_type_of(alg->get_ref<const std::string&>());
  if (!type) return refuse("the token's algorithm is not accepted (RS256 and ES256 are)");
  if (member(*header, "crit")) return refuse("the token's header has \"crit\" extensions, which are not supported");
  const json* kid = member(*header, "kid");
  if (kid && !kid->is_string()) return refuse("the token's key id (\"kid\") is not a string");

  bool kid_known = false, type_matched = false, verified = false;
  for (const Key& key : keys_) {
    if (kid) {
      if (key.kid != kid->get_ref<const std::string&>()) continue;
      kid_known = true;
    }
    if (key.type != *type) continue;
    type_matched = true;
    if (signature_verifies(key.pkey.get(), key.type, signing_input, *signature)) {
      verified = true;
      break;
    }
  }
  ERR_clear_error();
  if (kid && !kid_known) return refuse("the token's key id (\"kid\") is unknown");
  if (!type_matched) return refuse("the token's algorithm does not match its key");
  if (!verified) return refuse("the token's signature does not verify");

  // The claims: signed by a trusted key, now they may be read.
  auto payload = parse_object(*payload_text);
  if (!payload) return refuse("the token's payload is not a JSON object");
  const json& claims = *payload;

  const json* iss = member(claims, "iss");
  if (!iss || *iss != policy_.issuer) return refuse("the token's issuer (\"iss\") is not trusted");

  const json* aud = member(claims, "aud");
  bool audience_ok = false;
  if (aud && aud->is_string()) {
    audience_ok = *aud == policy_.audience;
  } else if (aud && aud->is_array()) {
    for (const json& a : *aud) {
      if (!a.is_string()) return refuse("the token's audience (\"aud\") is malformed");
      if (a == policy_.audience) audience_ok = true;
    }
  }
  if (!audience_ok) return refuse("the token is not meant for this service (\"aud\")");

  const double now_s = std::chrono::duration<double>(now.time_since_epoch()).count();
  const double leeway = static_cast<double>(policy_.leeway.count());
  const json* exp_claim = member(claims, "exp");
  if (!exp_claim) return refuse("the token has no expiry (\"exp\")");
  auto exp = numeric_date(*exp_claim);
  if (!exp) return refuse("the token's expiry (\"exp\") is not a number");
  if (now_s > *exp + leeway) return refuse("the token has expired");
  if (const json* nbf_claim = member(claims, "nbf")) {
    auto nbf = numeric_date(*nbf_claim);
    if (!nbf) return refuse("the token's \"nbf\" is not a number");
    if (now_s < *nbf - leeway) return refuse("the token is not valid yet (\"nbf\")");
  }
  if (const json* iat_claim = member(claims, "iat")) {
    auto iat = numeric_date(*iat_claim);
    if (!iat) return refuse("the token's \"iat\" is not a number");
    if (*iat > now_s + leeway) return refuse("the token was issued in the future (\"iat\")");
  }

  JwtClaims out;
  const json* sub = member(claims, "sub");
  if (!sub || !sub->is_string() || sub->get_ref<const std::string&>().empty()) {
    return refuse("the token has no subject (\"sub\")");
  }
  out.subject = sub->get<std::string>();
  if (const json* scope = member(claims, "scope")) {
    if (!scope->is_string()) return refuse("the token's \"scope\" is not a string");
    split_scopes(scope->get_ref<const std::string&>(), out.scopes);
  } else if (const json* scp = member(claims, "scp")) {
    if (scp->is_string()) {
      split_scopes(scp->get_ref<const std::string&>(), out.scopes);
    } else if (scp->is_array()) {
      for (const json& s : *scp) {
        if (!s.is_string()) return refuse("the token's \"scp\" is not an array of strings");
        out.scopes.push_back(s.get<std::string>());
      }
    } else {
      return refuse("the token's \"scp\" is not an array of strings");
    }
  }
  if (const json* customer = member(claims, "customer_id"); customer && customer->is_string()) {
    out.customer_id = customer->get<std::string>();
  }
  out.expires_at = time_point_of(*exp);
  return out;
}

}  // namespace ordersd::auth
