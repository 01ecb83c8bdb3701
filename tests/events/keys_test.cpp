#include "events/keys.h"

#include <doctest/doctest.h>

namespace keys = ordersd::events::keys;

TEST_CASE("position keys sort in numeric order") {
  CHECK(keys::position_key(1) < keys::position_key(2));
  CHECK(keys::position_key(255) < keys::position_key(256));
  CHECK(keys::position_key(0xffffffffull) < keys::position_key(0x100000000ull));
  CHECK(keys::get_u64(keys::position_key(0x0102030405060708ull)) == 0x0102030405060708ull);
}

TEST_CASE("a stream's keys sort by version and share the stream's prefix") {
  CHECK(keys::stream_key("order-1", 9) < keys::stream_key("order-1", 10));
  CHECK(keys::stream_key("order-1", 1).starts_with(keys::stream_prefix("order-1")));
  // A stream whose id extends another's is not inside the other's prefix.
  CHECK_FALSE(keys::stream_key("order-10", 1).starts_with(keys::stream_prefix("order-1")));
}

TEST_CASE("a stream key parses back into stream and version") {
  std::string key = keys::stream_key("order-42", 7);
  auto parsed = keys::parse_stream_key(key);  // views into `key`
  REQUIRE(parsed);
  CHECK(parsed->stream == "order-42");
  CHECK(parsed->version == 7);
  CHECK_FALSE(keys::parse_stream_key(""));
  CHECK_FALSE(keys::parse_stream_key(keys::stream_prefix("order-42")));  // no version
}

TEST_CASE("state keys of different spaces never collide") {
  CHECK(keys::state_key("ab", "c") != keys::state_key("a", "bc"));
  CHECK(keys::id_key({1, 2}).size() == 16);
}
