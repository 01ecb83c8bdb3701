#!/usr/bin/env bash
# Installs what is missing, configures a Release build in build/ and builds
# the targets named as arguments, or every target (server, tests,
# benchmarks). Incremental on a second run.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  # Paths below the checkout are hashed relative to it, so that a clone in
  # another folder (CI's) hits the cache this one filled.
  export CCACHE_BASEDIR="$PWD"
fi
if [ ! -f build/CMakeCache.txt ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "${launcher[@]}"
fi
targets=()
for target in "$@"; do targets+=(--target "$target"); done
cmake --build build -j "$(nproc)" "${targets[@]}"
