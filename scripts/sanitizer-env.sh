# Sourced by scripts/test.sh --sanitize and scripts/fuzz.sh: how the
# sanitizers report. Every report ends the process with a non-zero exit
# code; children (servers started by the tests) inherit these and write
# their reports to their stderr, which the test harness reads.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=1:strict_string_checks=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=${root}/scripts/lsan.supp:print_suppressions=0:${LSAN_OPTIONS:-}"
