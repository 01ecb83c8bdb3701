// Bearer tokens as an attacker sends them: any bytes as a JWT against a
// fixed JWKS (first byte 0), or as the JWKS itself (first byte 1), or as
// the Authorization header of a server with only API tokens (otherwise).
// The seeds hold tokens signed by the JWKS's key, valid at the fixed `now`.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "auth/jwt.h"
#include "auth/scopes.h"

using namespace ordersd::auth;

namespace {

constexpr std::string_view kJwks =
    R"({"keys":[{"kty":"EC","crv":"P-256","x":"yZuHb9wE_q3L5RQZmN1Tlhfp0I6fmUgGltS0jxrssys",)"
    R"("y":"1TEbFLHA4LOhxk8i7AxS8mYa5_IVz1w951OIlOxOHcY","kid":"fuzz","use":"sig","alg":"ES256"}]})";

JwtPolicy policy() {
  JwtPolicy p;
  p.issuer = "https://idp.fuzz";
  p.audience = "ordersd";
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto verifier = JwksVerifier::from_json(kJwks, policy()).value();
  static const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1800000000));
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      auto claims = verifier->verify(rest, now);
      if (claims) (void)ScopeSet::parse_known(claims->subject).to_string();
      break;
    }
    case 1: {
      auto loaded = JwksVerifier::from_json(rest, policy(), "fuzz");
      if (loaded) (void)(*loaded)->verify(rest, now);
      break;
    }
    default:
      (void)ScopeSet::parse(rest);
      break;
  }
  return 0;
}
