#include "events/stream_heads.h"

#include <doctest/doctest.h>

using ordersd::events::StreamHeads;

TEST_CASE("a stream head is remembered and updated") {
  StreamHeads heads(4);
  CHECK_FALSE(heads.get("a"));
  heads.put("a", 1);
  CHECK(heads.get("a") == 1u);
  heads.put("a", 5);
  CHECK(heads.get("a") == 5u);
  CHECK(heads.size() == 1);
}

TEST_CASE("the cache never holds more streams than its capacity and forgets the least recently used") {
  StreamHeads heads(3);
  heads.put("a", 1);
  heads.put("b", 2);
  heads.put("c", 3);
  CHECK(heads.get("a") == 1u);  // a is now the most recently used; b the least
  heads.put("d", 4);
  CHECK(heads.size() == 3);
  CHECK_FALSE(heads.get("b"));
  CHECK(heads.get("a") == 1u);
  CHECK(heads.get("c") == 3u);
  CHECK(heads.get("d") == 4u);
  for (int i = 0; i < 1000; ++i) heads.put("s" + std::to_string(i), static_cast<uint64_t>(i));
  CHECK(heads.size() == 3);
  CHECK(heads.get("s999") == 999u);
}
