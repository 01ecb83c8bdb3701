#include "events/event_json.h"

#include <doctest/doctest.h>

#include <cstdio>
#include <ctime>
#include <random>
#include <string>

using ordersd::events::format_time_us;
using ordersd::events::parse_time_us;

namespace {

// What the C library says, for comparison.
std::string reference(int64_t time_us) {
  std::time_t seconds = static_cast<std::time_t>(time_us / 1000000);
  int64_t micros = time_us % 1000000;
  if (micros < 0) {
    micros += 1000000;
    --seconds;
  }
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char out[64];
  std::snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(micros));
  return out;
}

}  // namespace

TEST_CASE("a time is written as RFC 3339 UTC with microseconds") {
  CHECK(format_time_us(0) == "1970-01-01T00:00:00.000000Z");
  CHECK(format_time_us(1'795'689'306'413'015) == "2026-11-26T10:35:06.413015Z");
  CHECK(format_time_us(-1) == "1969-12-31T23:59:59.999999Z");
  CHECK(format_time_us(951'782'400'000'000) == "2000-02-29T00:00:00.000000Z");  // a leap day of a century year
  CHECK(format_time_us(4'107'542'399'999'999) == "2100-02-28T23:59:59.999999Z");
  CHECK(format_time_us(4'107'542'400'000'000) == "2100-03-01T00:00:00.000000Z");  // 2100 is not a leap year
}

TEST_CASE("a time read back is the time written, for any time; other text is none") {
  std::mt19937_64 rng(11);
  std::uniform_int_distribution<int64_t> any(-100'000'000'000'000'000, 300'000'000'000'000'000);
  for (int i = 0; i < 200'000; ++i) {
    int64_t t = any(rng);
    REQUIRE(parse_time_us(format_time_us(t)) == t);
  }
  for (int64_t t : {int64_t{0}, int64_t{-1}, int64_t{951'782'400'000'000}, int64_t{4'107'542'400'000'000}}) {
    CHECK(parse_time_us(format_time_us(t)) == t);
  }
  for (const char* bad : {"", "2026-11-26T10:35:06Z", "2026-11-26T10:35:06.413015", "2026-11-26 10:35:06.413015Z",
                          "2026-13-26T10:35:06.413015Z", "2026-11-26T24:35:06.413015Z", "x026-11-26T10:35:06.413015Z",
                          "-11-26T10:35:06.413015Z", "2026-11-26T10:35:06.41301xZ"}) {
    INFO(bad);
    CHECK_FALSE(parse_time_us(bad));
  }
}

TEST_CASE("the time writer agrees with the C library from 1900 to 9999") {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int64_t> any(-2'208'988'800'000'000, 253'402'300'799'999'999);
  for (int i = 0; i < 200'000; ++i) {
    int64_t t = any(rng);
    REQUIRE(format_time_us(t) == reference(t));
  }
  // Every day boundary of four years, leap day included.
  for (int64_t day = 10'957; day < 10'957 + 4 * 366; ++day) {
    REQUIRE(format_time_us(day * 86'400'000'000) == reference(day * 86'400'000'000));
    REQUIRE(format_time_us(day * 86'400'000'000 - 1) == reference(day * 86'400'000'000 - 1));
  }
}
