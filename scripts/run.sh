#!/usr/bin/env bash
# Sets up everything on a fresh Debian 12 machine, builds, and starts the
# server on 127.0.0.1:8080 with its data in ./data. Extra arguments go to
# `ordersd serve`, e.g. scripts/run.sh --durability async
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/build.sh ordersd
exec ./build/ordersd serve --data ./data --listen 127.0.0.1:8080 "$@"
