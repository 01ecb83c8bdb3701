#!/usr/bin/env bash
# Sets up everything on a fresh Debian 12 machine, builds, and runs every
# test through ctest. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/build.sh
cd build
ctest --output-on-failure --timeout 900 -j "$(nproc)"
