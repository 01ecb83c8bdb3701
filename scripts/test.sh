#!/usr/bin/env bash
# Sets up everything on a fresh Debian 12 machine, builds, and runs every
# test through ctest, lints api/openapi.yaml and checks packaging/.
# Exits non-zero on any failure.
#
#   scripts/test.sh              the Release build in build/ (the browser
#                                tests of the console included: Playwright
#                                and Debian's chromium), then the lint of
#                                api/openapi.yaml (scripts/lint-openapi.sh)
#   scripts/test.sh --sanitize   the same suite built with ASan, LeakSanitizer
#                                and UBSan (every check, no recovery) in
#                                build-sanitize/; any report fails the run
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" != "--sanitize" ]; then
  bash scripts/build.sh
  (cd build && ctest --output-on-failure --timeout 900 -j "$(nproc)")
  bash scripts/lint-openapi.sh
  bash scripts/check-packaging.sh build/ordersd
  exit 0
fi

bash scripts/install-deps.sh
launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  # As in build.sh; and with -g ccache would hash the build directory too,
  # so a clone elsewhere would miss (its debug info then names this folder).
  export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true
fi
if [ ! -f build-sanitize/CMakeCache.txt ]; then
  # -O1: the tests run several times faster than at -O0, and ASan still
  # reports exact lines.
  cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g -O1" \
    -DORDERSD_SANITIZE=ON -DORDERSD_BENCHMARKS=OFF "${launcher[@]}"
fi
cmake --build build-sanitize -j "$(nproc)"

source scripts/sanitizer-env.sh
cd build-sanitize
# The browser tests (label `browser`) test the console's page, not memory: the Release run has them.
ctest --output-on-failure --timeout 900 -j "$(nproc)" -LE browser
