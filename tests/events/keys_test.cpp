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

TEST_CASE("a space's range holds every key of the space and no key of another") {
  auto [begin, end] = keys::state_range("view-orders");
  auto inside = [&](const std::string& k) { return begin <= k && k < end; };
  CHECK(inside(keys::state_key("view-orders", "")));
  CHECK(inside(keys::state_key("view-orders", "o/1")));
  CHECK(inside(keys::state_key("view-orders", std::string(300, '\xff'))));
  CHECK_FALSE(inside(keys::state_key("view-order", "s")));     // a shorter name that the key completes
  CHECK_FALSE(inside(keys::state_key("view-orders#2", "o/1")));  // a longer name
  CHECK_FALSE(inside(keys::state_key("view-ordert", "")));
}
