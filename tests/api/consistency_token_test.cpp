// The consistency token's wire form: what a command's answer carries and a
// query accepts (api/consistency_token.h).
#include <doctest/doctest.h>

#include "api/consistency_token.h"

using ordersd::api::consistency_token;
using ordersd::api::parse_consistency_token;
using ordersd::api::StreamVersion;

TEST_CASE("a token names the stream and the version a command left it at") {
  CHECK(consistency_token("order-o-1001", 2) == "order-o-1001@2");
  CHECK(consistency_token("order-o-1001", 0).empty());  // nothing written: nothing to wait for
}

TEST_CASE("tokens joined with ',' are read back entry by entry, each stream once at its latest version") {
  auto t = parse_consistency_token("order-o-1@1, wallet-c-42@3,order-o-1@4");
  REQUIRE(t);
  CHECK(*t == std::vector<StreamVersion>{{"order-o-1", 4}, {"wallet-c-42", 3}});
  auto one = parse_consistency_token(consistency_token("sku-espresso_1kg", 17));
  REQUIRE(one);
  CHECK(*one == std::vector<StreamVersion>{{"sku-espresso_1kg", 17}});
}

TEST_CASE("a malformed token is refused, saying what is wrong") {
  for (const char* bad : {"", "order-o-1", "order-o-1@", "order-o-1@0", "order-o-1@x", "order-o-1@-1", "@3",
                          "order@3", "-o-1@3", "Order-o-1@3", "order-o 1@3", "order-o-1@3,", "order-o-1@99999999999999999999"}) {
    auto t = parse_consistency_token(bad);
    CHECK_MESSAGE(!t, bad);
    if (!t) CHECK(t.status().message().find("X-Consistency-Token") != std::string::npos);
  }
  std::string many;
  for (int i = 0; i <= 64; ++i) many += (i ? "," : "") + std::string("order-o-") + std::to_string(i) + "@1";
  auto t = parse_consistency_token(many);
  REQUIRE(!t);
  CHECK(t.status().message().find("more than 64") != std::string::npos);
}
