// An identity provider for bench/auth_bench.sh: writes into DIR
//
//   jwks.json   the public halves of a fresh RSA-2048 key (kid "bench-rs")
//               and a fresh P-256 key (kid "bench-es")
//   rs256.jwt   an access token signed with the RSA key
//   es256.jwt   the same claims signed with the EC key
//
// Both tokens carry iss and aud as given, sub "bench", exp a day from now
// and scope "admin metrics".
//
//   mint_tokens --dir DIR --issuer ISS --audience AUD
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "support/jwt_signer.h"

namespace {

using ordersd::test::JwtSigner;

// The signer checks OpenSSL's answers with doctest's REQUIRE; outside a test
// a failed one lands here.
void on_failed_check(const doctest::AssertData& data) {
  std::fprintf(stderr, "mint_tokens: %s:%d: %s failed\n", data.m_file, data.m_line, data.m_expr);
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  std::string issuer;
  std::string audience;
  CLI::App app{"mint_tokens: a JWKS with an RSA and an EC key, and an RS256 and an ES256 access token"};
  app.add_option("--dir", dir, "where to write jwks.json, rs256.jwt and es256.jwt")->required();
  app.add_option("--issuer", issuer, "the tokens' iss")->required();
  app.add_option("--audience", audience, "the tokens' aud")->required();
  CLI11_PARSE(app, argc, argv);

  doctest::Context context;
  context.setAsDefaultForAssertsOutOfTestCases();
  context.setAssertHandler(on_failed_check);

  std::filesystem::create_directories(dir);
  JwtSigner rs(JwtSigner::Algorithm::kRs256, "bench-rs");
  JwtSigner es(JwtSigner::Algorithm::kEs256, "bench-es");
  ordersd::test::write_jwks(dir + "/jwks.json", {rs.public_jwk(), es.public_jwk()});

  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  nlohmann::json claims = {{"iss", issuer},         {"aud", audience},           {"sub", "bench"},
                           {"iat", now},            {"exp", now + 24 * 60 * 60}, {"scope", "admin metrics"}};
  ordersd::test::write_text_file(dir + "/rs256.jwt", rs.sign(claims.dump()));
  ordersd::test::write_text_file(dir + "/es256.jwt", es.sign(claims.dump()));
  return 0;
}
