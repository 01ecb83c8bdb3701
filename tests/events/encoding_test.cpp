// Bytes as text: hex and base64url, each with one spelling per byte string.
#include <doctest/doctest.h>

#include <string>

#include "events/encoding.h"

using namespace ordersd;

TEST_CASE("hex: lowercase, two digits a byte, and back; anything else is refused") {
  CHECK(to_hex(std::string("\x00\x0f\xa5\xff", 4)) == "000fa5ff");
  CHECK(from_hex("000fa5ff") == std::string("\x00\x0f\xa5\xff", 4));
  CHECK(from_hex("") == std::string());
  CHECK_FALSE(from_hex("0"));       // odd length
  CHECK_FALSE(from_hex("0A"));      // uppercase is another spelling
  CHECK_FALSE(from_hex("zz"));
}

TEST_CASE("base64url: RFC 4648's vectors without padding, and strict decoding") {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""}, {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"}, {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [bytes, text] : vectors) {
    CHECK(base64url(bytes) == text);
    CHECK(base64url_decode(text) == bytes);
  }
  CHECK(base64url("\xfb\xff") == "-_8");  // the URL-safe letters
  CHECK(base64url_decode("-_8") == "\xfb\xff");
  CHECK_FALSE(base64url_decode("Zg=="));  // padding
  CHECK_FALSE(base64url_decode("Z"));     // no byte ends after one character
  CHECK_FALSE(base64url_decode("Zh"));    // unused bits set: another spelling of "f"
  CHECK_FALSE(base64url_decode("Zm+v"));  // the other alphabet
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  CHECK(base64url_decode(base64url(all)) == all);
}
