#!/usr/bin/env bash
# Runs the console's browser tests: Playwright (pinned in
# tests/browser/package-lock.json) driving Debian's chromium against real
# servers started from BINARY. Screenshots and failure traces go to OUT_DIR.
#
#   tests/browser/run.sh build/ordersd build/browser
set -euo pipefail
export ORDERSD_BINARY="$(realpath "${1:?usage: run.sh ORDERSD_BINARY [OUT_DIR]}")"
export BROWSER_TEST_OUT="$(realpath -m "${2:-build/browser}")"
cd "$(dirname "$0")"

[ -x /usr/bin/chromium ] || { echo "no /usr/bin/chromium: run scripts/install-deps.sh" >&2; exit 1; }
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -d node_modules ] || [ "$(cat node_modules/.installed-lock 2>/dev/null)" != "$lock_sum" ]; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > node_modules/.installed-lock
fi
mkdir -p "$BROWSER_TEST_OUT/screenshots"
start=$(date +%s)
./node_modules/.bin/playwright test
echo "browser tests took $(($(date +%s) - start)) s; screenshots in $BROWSER_TEST_OUT/screenshots"
