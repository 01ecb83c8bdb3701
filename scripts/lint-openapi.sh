#!/usr/bin/env bash
# Lints api/openapi.yaml with @redocly/cli: the version pinned in
# api/package-lock.json, the rules in api/redocly.yaml. `npm ci` runs only
# when api/node_modules is missing or was installed from another lock.
# Exits non-zero when it finds a problem (redocly.yaml makes every rule an
# error).
set -euo pipefail
cd "$(dirname "$0")/../api"

lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -d node_modules ] || [ "$(cat node_modules/.installed-lock 2>/dev/null)" != "$lock_sum" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > node_modules/.installed-lock
fi
# No usage reports and no look-ups of newer versions: the lint runs offline.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
npx --no-install redocly lint openapi.yaml
