#include "events/uuid.h"

#include <doctest/doctest.h>

#include <set>

using ordersd::RandomUuidGenerator;
using ordersd::Uuid;

TEST_CASE("a uuid prints as 8-4-4-4-12 lowercase hex and parses back") {
  Uuid id{0x0123456789abcdefull, 0xfedcba9876543210ull};
  CHECK(id.to_string() == "01234567-89ab-cdef-fedc-ba9876543210");
  CHECK(Uuid::parse(id.to_string()) == id);
  CHECK(Uuid::parse("01234567-89AB-CDEF-FEDC-BA9876543210") == id);
}

TEST_CASE("text that is not a uuid does not parse") {
  CHECK_FALSE(Uuid::parse(""));
  CHECK_FALSE(Uuid::parse("01234567-89ab-cdef-fedc-ba987654321"));     // short
  CHECK_FALSE(Uuid::parse("01234567-89ab-cdef-fedc-ba98765432100"));   // long
  CHECK_FALSE(Uuid::parse("01234567x89ab-cdef-fedc-ba9876543210"));    // separator
  CHECK_FALSE(Uuid::parse("0123456g-89ab-cdef-fedc-ba9876543210"));    // digit
}

TEST_CASE("random uuids are version 4, RFC 4122 variant, and distinct") {
  RandomUuidGenerator gen;
  std::set<Uuid> seen;
  for (int i = 0; i < 10000; ++i) {
    Uuid id = gen.next();
    CHECK(((id.hi >> 12) & 0xf) == 4);
    CHECK(((id.lo >> 62) & 0x3) == 2);
    seen.insert(id);
  }
  CHECK(seen.size() == 10000);
}

TEST_CASE("a name-derived uuid is the same for the same name and differs between names") {
  CHECK(ordersd::uuid_from_name("saga/order-1/charge") == ordersd::uuid_from_name("saga/order-1/charge"));
  CHECK(ordersd::uuid_from_name("saga/order-1/charge") != ordersd::uuid_from_name("saga/order-1/refund"));
  CHECK_FALSE(ordersd::uuid_from_name("").is_nil());
}
