#include "support/child_reports.h"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace ordersd::test {

namespace {
std::atomic<int> reports{0};
std::mutex print_mu;
}  // namespace

bool has_sanitizer_report(const std::string& text) {
  for (const char* marker : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "SUMMARY: UndefinedBehaviorSanitizer",
                             "WARNING: ThreadSanitizer", "runtime error: "}) {
    if (text.find(marker) != std::string::npos) return true;
  }
  return false;
}

void note_child_sanitizer_report(const std::string& what, const std::string& stderr_text) {
  reports.fetch_add(1);
  std::lock_guard lk(print_mu);
  std::fprintf(stderr, "=== sanitizer report from child %s ===\n%s\n=== end of the child's stderr ===\n", what.c_str(),
               stderr_text.c_str());
  std::fflush(stderr);
}

int child_sanitizer_reports() { return reports.load(); }

}  // namespace ordersd::test
