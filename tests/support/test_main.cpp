#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "support/child_reports.h"

// doctest's own main, and a failure when a child process the tests started
// wrote a sanitizer report (see support/child_reports.h).
int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  int result = context.run();
  if (context.shouldExit()) return result;
  if (int n = ordersd::test::child_sanitizer_reports(); n > 0) {
    std::fprintf(stderr, "%d child process(es) wrote a sanitizer report: failing\n", n);
    return result ? result : 1;
  }
  return result;
}
