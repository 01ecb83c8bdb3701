#include "support/jwt_signer.h"

#include <doctest/doctest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <fstream>
#include <nlohmann/json.hpp>

namespace ordersd::test {

namespace {

using nlohmann::json;

template <auto Free>
struct Freer {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Freer<EVP_PKEY_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Freer<EVP_MD_CTX_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Freer<BN_free>>;
using BioPtr = std::unique_ptr<BIO, Freer<BIO_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Freer<ECDSA_SIG_free>>;

// A BIGNUM parameter of `key`, big-endian, left-padded to `width` bytes when given.
std::string bn_param(EVP_PKEY* key, const char* name, int width = 0) {
  BIGNUM* raw = nullptr;
  REQUIRE(EVP_PKEY_get_bn_param(key, name, &raw) == 1);
  BnPtr bn(raw);
  std::string out(static_cast<size_t>(width ? width : BN_num_bytes(bn.get())), '\0');
  REQUIRE(BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size())) ==
          static_cast<int>(out.size()));
  return out;
}

std::string bn_bytes(const BIGNUM* bn, int width) {
  std::string out(static_cast<size_t>(width), '\0');
  REQUIRE(BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), width) == width);
  return out;
}

}  // namespace

struct JwtSigner::Key {
  PkeyPtr pkey;
};

JwtSigner::JwtSigner(Algorithm algorithm, std::string kid)
    : algorithm_(algorithm), kid_(std::move(kid)), key_(std::make_unique<Key>()) {
  EVP_PKEY* raw = algorithm == Algorithm::kRs256 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048})
                                                 : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  REQUIRE(raw != nullptr);
  key_->pkey.reset(raw);
}

JwtSigner::~JwtSigner() = default;

const std::string& JwtSigner::alg() const {
  static const std::string rs256 = "RS256", es256 = "ES256";
  return algorithm_ == Algorithm::kRs256 ? rs256 : es256;
}

std::string JwtSigner::public_jwk() const {
  EVP_PKEY* key = key_->pkey.get();
  json jwk = {{"kid", kid_}, {"use", "sig"}, {"alg", alg()}};
  if (algorithm_ == Algorithm::kRs256) {
    jwk["kty"] = "RSA";
    jwk["n"] = base64url(bn_param(key, OSSL_PKEY_PARAM_RSA_N));
    jwk["e"] = base64url(bn_param(key, OSSL_PKEY_PARAM_RSA_E));
  } else {
    jwk["kty"] = "EC";
    jwk["crv"] = "P-256";
    jwk["x"] = base64url(bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, 32));
    jwk["y"] = base64url(bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32));
  }
  return jwk.dump();
}

std::string JwtSigner::jwks() const { return json{{"keys", json::array({json::parse(public_jwk())})}}.dump(); }

void JwtSigner::write_jwks(const std::string& path) const { write_text_file(path, jwks()); }

std::string JwtSigner::public_key_pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  REQUIRE(bio != nullptr);
  REQUIRE(PEM_write_bio_PUBKEY(bio.get(), key_->pkey.get()) == 1);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

std::string JwtSigner::sign(std::string_view payload_json, std::string_view header_overrides) const {
  json header = {{"alg", alg()}, {"typ", "JWT"}, {"kid", kid_}};
  header.merge_patch(json::parse(header_overrides));
  std::string input = base64url(header.dump()) + "." + base64url(payload_json);
  return input + "." + base64url(signature(input));
}

std::string JwtSigner::signature(std::string_view signing_input, EcdsaForm form) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  REQUIRE(ctx != nullptr);
  REQUIRE(EVP_DigestSignInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, key_->pkey.get(), nullptr) == 1);
  const auto* data = reinterpret_cast<const unsigned char*>(signing_input.data());
  size_t size = 0;
  REQUIRE(EVP_DigestSign(ctx.get(), nullptr, &size, data, signing_input.size()) == 1);
  std::string sig(size, '\0');
  REQUIRE(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &size, data,
                         signing_input.size()) == 1);
  sig.resize(size);
  if (algorithm_ == Algorithm::kRs256 || form == EcdsaForm::kDer) return sig;
  // OpenSSL writes ECDSA signatures as DER; JWS wants r || s (RFC 7518 §3.4).
  const auto* in = reinterpret_cast<const unsigned char*>(sig.data());
  EcdsaSigPtr parsed(d2i_ECDSA_SIG(nullptr, &in, static_cast<long>(sig.size())));
  REQUIRE(parsed != nullptr);
  return bn_bytes(ECDSA_SIG_get0_r(parsed.get()), 32) + bn_bytes(ECDSA_SIG_get0_s(parsed.get()), 32);
}

// Its own encoder, not events/encoding.h: tokens are not made by the code that reads them.
std::string JwtSigner::base64url(std::string_view bytes) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(alphabet[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(alphabet[(acc << (6 - bits)) & 0x3f]);
  return out;
}

std::string JwtSigner::base64url_decode(std::string_view text) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    uint32_t v = 0;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '-') v = 62;
    else if (c == '_') v = 63;
    else FAIL("not base64url: " << std::string(text));
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string JwtSigner::hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t size = 0;
  REQUIRE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                    reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, sizeof out, &size) != nullptr);
  return std::string(reinterpret_cast<const char*>(out), size);
}

std::string JwtSigner::compact(std::string_view header_json, std::string_view payload_json,
                               std::string_view signature) {
  return base64url(header_json) + "." + base64url(payload_json) + "." + base64url(signature);
}

void write_jwks(const std::string& path, const std::vector<std::string>& jwks) {
  json keys = json::array();
  for (const auto& jwk : jwks) keys.push_back(json::parse(jwk));
  write_text_file(path, json{{"keys", keys}}.dump());
}

void write_text_file(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  REQUIRE_MESSAGE(out.good(), "cannot write " << path);
}

}  // namespace ordersd::test
