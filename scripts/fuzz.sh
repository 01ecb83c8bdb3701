#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/*_fuzz.cpp; clang with ASan and UBSan)
# in build-fuzz/ and runs each for N seconds (default 60), two at a time,
# from its checked-in seed corpus and regressions, copied to a temporary
# working corpus so that fuzz/corpus/ stays small. Fails on any crash, leak,
# timeout or out-of-memory; the input that caused it is kept under
# build-fuzz/artifacts/<target>/ and belongs in fuzz/regressions/<target>/,
# where the ordinary build's ctest replays it.
#
#   scripts/fuzz.sh [--seconds N] [--jobs N] [target ...]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60
jobs=2
targets=()
while (($#)); do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if ((${#targets[@]} == 0)); then
  targets=(http_request command_bodies envelope payload event_json access_token)
fi

bash scripts/install-deps.sh --fuzz
launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true  # as in test.sh --sanitize
fi
if [ ! -f build-fuzz/CMakeCache.txt ]; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -DORDERSD_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" "${launcher[@]}"
fi
build_targets=()
for t in "${targets[@]}"; do build_targets+=(--target "${t}_fuzz"); done
cmake --build build-fuzz -j "$(nproc)" "${build_targets[@]}"

source scripts/sanitizer-env.sh
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

run_one() {
  local t="$1" corpus="$work/$1/corpus" artifacts="build-fuzz/artifacts/$1/"
  mkdir -p "$corpus" "$artifacts"
  find "fuzz/corpus/$t" "fuzz/regressions/$t" -maxdepth 1 -type f ! -name README.md -exec cp {} "$corpus/" \; 2>/dev/null || true
  # -timeout: seconds per input; -rss_limit_mb: the machine has 24 GiB.
  if "build-fuzz/fuzz/${t}_fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$artifacts" "$corpus" >"$work/$t.log" 2>&1; then
    echo "fuzz $t: ok ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$work/$t.log" | grep -o '[0-9]*$') runs in ${seconds}s)"
  else
    echo "fuzz $t: FAILED; the log's tail, and the input in $artifacts:" >&2
    tail -n 60 "$work/$t.log" >&2
    return 1
  fi
}

failed=0
running=0
for t in "${targets[@]}"; do
  if ((running >= jobs)); then
    wait -n || failed=1
    running=$((running - 1))
  fi
  run_one "$t" &
  running=$((running + 1))
done
while ((running > 0)); do
  wait -n || failed=1
  running=$((running - 1))
done
if ((failed)); then
  echo "fuzz.sh: a target failed: add its input to fuzz/regressions/<target>/ with the fix" >&2
  exit 1
fi
echo "fuzz.sh: every target ran ${seconds}s without a failure"
