// The pieces of who-may-do-what on their own: scopes, the token file, the
// authenticator and the rate limiter.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "auth/authenticator.h"
#include "auth/rate_limiter.h"
#include "auth/scopes.h"
#include "auth/token_file.h"
#include "support/jwt_signer.h"
#include "support/temp_dir.h"

using namespace ordersd;
using namespace ordersd::auth;
using ordersd::test::TempDir;

TEST_CASE("scopes: parsed from commas or spaces, unknown names named, listed in one order") {
  auto s = ScopeSet::parse("orders:read, admin orders:write");
  REQUIRE(s.is_ok());
  CHECK(s->has(Scope::kOrdersRead));
  CHECK(s->has(Scope::kAdmin));
  CHECK_FALSE(s->has(Scope::kMetrics));
  CHECK(s->to_string() == "orders:write orders:read admin");
  auto bad = ScopeSet::parse("orders:read,root");
  REQUIRE_FALSE(bad.is_ok());
  CHECK(bad.status().message().find("'root'") != std::string::npos);
  CHECK(ScopeSet::parse_known("openid profile orders:read").to_string() == "orders:read");
  CHECK(ScopeSet::all().list().size() == kScopeCount);
  for (Scope scope : ScopeSet::all().list()) CHECK(scope_named(scope_name(scope)) == scope);
  CHECK(crosses_customers(Scope::kEventsRead));
  CHECK_FALSE(crosses_customers(Scope::kOrdersRead));
}

TEST_CASE("a token file keeps digests, never tokens; a token stands for its name, scopes and customer") {
  TempDir dir;
  std::string file = dir.sub("tokens");
  auto token = create_token(file, "ci", ScopeSet::parse("orders:read").value(), std::nullopt);
  REQUIRE(token.is_ok());
  auto bound = create_token(file, "alice", ScopeSet::parse("orders:write").value(), std::string("alice"));
  REQUIRE(bound.is_ok());
  std::ifstream in(file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(text.find(*token) == std::string::npos);
  CHECK(text.find(token->substr(token->rfind('_') + 1)) == std::string::npos);  // not even the secret
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  auto set = TokenSet::load(file).value();
  auto who = set->authenticate(*token);
  REQUIRE(who);
  CHECK(who->name == "ci");
  CHECK(who->kind == Principal::Kind::kApiToken);
  CHECK(who->scopes.to_string() == "orders:read");
  CHECK_FALSE(who->customer_id);
  CHECK(set->authenticate(*bound)->customer_id == "alice");
  // One character off, another id, not our form at all.
  std::string off = *token;
  off.back() = off.back() == 'A' ? 'B' : 'A';
  CHECK_FALSE(set->authenticate(off));
  CHECK_FALSE(set->authenticate("odt_ffffffffffffffff_" + token->substr(token->rfind('_') + 1)));
  CHECK_FALSE(set->authenticate("hunter2"));
  CHECK_FALSE(set->authenticate(""));
}

TEST_CASE("token names are unique among live tokens; revoking frees the name; the rules of creation hold") {
  TempDir dir;
  std::string file = dir.sub("tokens");
  auto read = ScopeSet::parse("orders:read").value();
  auto first = create_token(file, "ci", read, std::nullopt).value();
  CHECK_FALSE(create_token(file, "ci", read, std::nullopt).is_ok());
  CHECK_FALSE(create_token(file, "bad name", read, std::nullopt).is_ok());
  CHECK_FALSE(create_token(file, "empty", ScopeSet(), std::nullopt).is_ok());
  CHECK_FALSE(create_token(file, "leaky", ScopeSet::parse("metrics").value(), std::string("alice")).is_ok());
  REQUIRE(revoke_token(file, "ci").is_ok());
  CHECK(revoke_token(file, "ci").code() == Status::Code::kNotFound);
  auto second = create_token(file, "ci", read, std::nullopt).value();
  auto set = TokenSet::load(file).value();
  CHECK(set->tokens().size() == 1);
  CHECK_FALSE(set->authenticate(first));
  CHECK(set->authenticate(second));
  CHECK(revoke_token(dir.sub("missing"), "ci").code() == Status::Code::kIoError);
}

TEST_CASE("a damaged token file is an error naming the line, not a file with fewer tokens") {
  TempDir dir;
  std::string file = dir.sub("tokens");
  REQUIRE(create_token(file, "ci", ScopeSet::parse("admin").value(), std::nullopt).is_ok());
  { std::ofstream(file, std::ios::app) << "{\"op\":\"create\",\"name\":\"x\"}\n"; }
  auto loaded = TokenSet::load(file);
  REQUIRE_FALSE(loaded.is_ok());
  CHECK(loaded.status().message().find(":2:") != std::string::npos);
  CHECK_FALSE(TokenSet::load(dir.sub("none")).is_ok());
}

TEST_CASE("the authenticator: open with nothing configured; bearer tokens only; reload keeps the old on failure") {
  auto open = Authenticator::open({}).value();
  CHECK(open->open_access());
  auto anyone = open->authenticate(std::nullopt);
  REQUIRE(anyone.principal);
  CHECK(anyone.principal->scopes == ScopeSet::all());

  TempDir dir;
  std::string file = dir.sub("tokens");
  auto token = create_token(file, "ci", ScopeSet::parse("orders:read").value(), std::nullopt).value();
  AuthOptions options;
  options.tokens_file = file;
  auto a = Authenticator::open(options).value();
  CHECK_FALSE(a->open_access());
  auto missing = a->authenticate(std::nullopt);
  CHECK(missing.missing);
  CHECK_FALSE(missing.principal);
  CHECK_FALSE(a->authenticate("Basic dXNlcjpwYXNz").principal);
  CHECK_FALSE(a->authenticate("Bearer ").principal);
  CHECK(a->authenticate("Bearer " + token).principal->name == "ci");
  CHECK(a->authenticate("bearer  " + token + " ").principal);  // the scheme is case-insensitive
  { std::ofstream(file, std::ios::app) << "garbage\n"; }
  CHECK_FALSE(a->reload().is_ok());
  CHECK(a->authenticate("Bearer " + token).principal);  // still the old tokens
}

TEST_CASE("a JWT that verified is remembered until it expires, and forgotten when the keys are reloaded") {
  TempDir dir;
  ordersd::test::JwtSigner first(ordersd::test::JwtSigner::Algorithm::kEs256, "first");
  ordersd::test::JwtSigner second(ordersd::test::JwtSigner::Algorithm::kRs256, "second");
  std::string jwks = dir.sub("jwks.json");
  first.write_jwks(jwks);
  AuthOptions options;
  options.jwks_file = jwks;
  options.jwt.issuer = "https://idp.test";
  options.jwt.audience = "ordersd";
  auto a = Authenticator::open(options).value();
  auto now = std::chrono::system_clock::now();
  long long exp = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count() + 10;
  std::string token = first.sign(R"({"iss":"https://idp.test","aud":"ordersd","sub":"u1","scope":"admin","exp":)" +
                                 std::to_string(exp) + "}");
  std::string header = "Bearer " + token;
  for (int i = 0; i < 3; ++i) REQUIRE(a->authenticate(header, now).principal);  // verified, then remembered
  // Past its expiry and the leeway, a remembered token is refused as a new one would be.
  auto late = a->authenticate(header, now + std::chrono::seconds(10 + 61));
  CHECK_FALSE(late.principal);
  CHECK(late.reason == "the token has expired");
  CHECK(a->authenticate(header, now).principal);
  // The key withdrawn from the JWKS: after the reload the token no longer passes.
  second.write_jwks(jwks);
  REQUIRE(a->reload().is_ok());
  CHECK_FALSE(a->authenticate(header, now).principal);
}

TEST_CASE("rate limits: a burst, then the rate; Retry-After says when; idle buckets are forgotten") {
  RateLimiter limiter(RateLimit{2, 4}, 8);
  auto t0 = RateLimiter::Clock::now();
  for (int i = 0; i < 4; ++i) CHECK_FALSE(limiter.take("a", t0));
  auto wait = limiter.take("a", t0);
  REQUIRE(wait);
  CHECK(wait->count() == 500);  // one request every 500 ms at 2 a second
  CHECK_FALSE(limiter.take("b", t0));  // each key has its own bucket
  CHECK_FALSE(limiter.take("a", t0 + std::chrono::milliseconds(500)));
  CHECK(limiter.take("a", t0 + std::chrono::milliseconds(500)));

  // A full table forgets the buckets that have refilled before it grows...
  RateLimiter table(RateLimit{2, 4}, 4);
  for (int i = 0; i < 4; ++i) CHECK_FALSE(table.take("k" + std::to_string(i), t0));
  CHECK(table.keys() == 4);
  CHECK_FALSE(table.take("later", t0 + std::chrono::seconds(10)));
  CHECK(table.keys() == 1);
  // ...but never one still in use: forgetting it would hand out a fresh burst.
  RateLimiter busy(RateLimit{2, 4}, 4);
  for (int i = 0; i < 5; ++i) CHECK_FALSE(busy.take("k" + std::to_string(i), t0));
  CHECK(busy.keys() == 5);

  CHECK(RateLimit::parse("100")->burst == 100);
  CHECK(RateLimit::parse("0.5")->burst == 1);
  CHECK(RateLimit::parse("10:50")->burst == 50);
  CHECK_FALSE(RateLimit::parse("0"));
  CHECK_FALSE(RateLimit::parse("-1"));
  CHECK_FALSE(RateLimit::parse("ten"));
  CHECK_FALSE(RateLimit::parse("10:0.5"));
  CHECK_FALSE(RateLimit::parse("10:"));
  CHECK(RateLimit::parse("2.5:4")->rate == 2.5);  // fractions of a request a second
  CHECK_FALSE(RateLimiter(RateLimit{}).take("x"));  // no limit configured
}
