// Sanitizer reports that child processes (servers, CLI runs) wrote on their
// stderr. Under `scripts/test.sh --sanitize` a child inherits ASAN_OPTIONS
// and UBSAN_OPTIONS and reports into the file that Process gives its stderr;
// Process scans that file when it reaps the child, and test_main fails the
// test executable when any report was seen, whatever the test checked.
#pragma once

#include <string>

namespace ordersd::test {

// True when `stderr_text` holds an ASan, LeakSanitizer, UBSan or TSan report.
bool has_sanitizer_report(const std::string& stderr_text);

// Records a child's report (and prints it on this process's stderr).
void note_child_sanitizer_report(const std::string& what, const std::string& stderr_text);

// How many children reported so far.
int child_sanitizer_reports();

}  // namespace ordersd::test
