// Boost's assertions, in builds that keep them (Debug, the sanitizer and
// fuzz builds; BOOST_ENABLE_ASSERT_DEBUG_HANDLER is set for every target,
// so Release builds compile them out as before): each failure is printed
// and aborts, as BOOST_ASSERT would, except one that is wrong.
//
// Beast 1.74 (Debian 12) asserts `n >= 5` in basic_parser::parse_chunk_header
// when it is called again after a final chunk "0\r\n" came without its
// closing CRLF, on the grounds that it must then hold at least "0\r\n\r\n"'s
// first five bytes; a client that sends "0\r\n" and then one more byte gets
// there with n = 4. The code after the assertion handles that (it looks for
// the end of the message and asks for more), as checked under ASan with the
// input in fuzz/regressions/http_request/final-chunk-split; Beast fixed the
// assertion in 2024 (boostorg/beast pull request 2861).
#include <boost/assert.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace boost {

namespace {

bool known_wrong(std::string_view expr, std::string_view file) {
  return expr == "n >= 5" && file.ends_with("boost/beast/http/impl/basic_parser.ipp");
}

}  // namespace

void assertion_failed_msg(char const* expr, char const* msg, char const* function, char const* file, long line) {
  if (known_wrong(expr, file)) return;
  std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed%s%s.\n", file, line, function, expr, msg ? ": " : "",
               msg ? msg : "");
  std::abort();
}

void assertion_failed(char const* expr, char const* function, char const* file, long line) {
  assertion_failed_msg(expr, nullptr, function, file, line);
}

}  // namespace boost
