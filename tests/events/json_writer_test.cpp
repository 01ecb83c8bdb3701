// JsonWriter writes what a JSON parser reads back as the same values:
// every control character, quote and backslash escaped, everything else
// (UTF-8 included) as it is, integers at their limits, commas in place.
#include "events/json_writer.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

using ordersd::JsonWriter;
using nlohmann::json;

TEST_CASE("strings: control characters, quotes and backslashes are escaped; the rest is written as it is") {
  std::string every_control;
  for (int c = 0; c < 0x20; ++c) every_control += static_cast<char>(c);
  for (const std::string& s : {std::string(), std::string("plain"), std::string("say \"hi\" \\ there"), every_control,
                               std::string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), std::string("\"") + "x\n"}) {
    JsonWriter w(16);
    w.open('{').key("k").string(s).close('}');
    std::string text = w.take();
    INFO(text);
    for (char c : text) CHECK(static_cast<unsigned char>(c) >= 0x20);
    CHECK(json::parse(text)["k"] == s);
  }
  JsonWriter w(16);
  w.string("a\tb\x01");
  CHECK(w.take() == "\"a\\tb\\u0001\"");
}

TEST_CASE("random strings round-trip through a JSON parser") {
  std::mt19937 rng(16);
  std::uniform_int_distribution<int> byte(0, 127), length(0, 40);
  for (int i = 0; i < 2000; ++i) {
    std::string s;
    for (int n = length(rng); n > 0; --n) s += static_cast<char>(byte(rng));
    JsonWriter w(64);
    w.open('[').string(s).string(s).close(']');
    json back = json::parse(w.take());
    REQUIRE(back.size() == 2);
    CHECK(back[0] == s);
    CHECK(back[1] == s);
  }
}

TEST_CASE("integers at their limits, and commas between members and elements") {
  JsonWriter w(64);
  w.open('{');
  w.key("zero").number(0);
  w.key("max").number(std::numeric_limits<uint64_t>::max());
  w.key("min").signed_number(std::numeric_limits<int64_t>::min());
  w.key("list").open('[').number(1).signed_number(-2).null().open('{').close('}').close(']');
  w.key("raw").json(R"({"a":[1,2]})");
  w.close('}');
  std::string text = w.take();
  CHECK(text ==
        R"({"zero":0,"max":18446744073709551615,"min":-9223372036854775808,"list":[1,-2,null,{}],"raw":{"a":[1,2]}})");
  json back = json::parse(text);
  CHECK(back["max"].get<uint64_t>() == std::numeric_limits<uint64_t>::max());
  CHECK(back["min"].get<int64_t>() == std::numeric_limits<int64_t>::min());
}
