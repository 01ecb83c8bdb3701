#!/usr/bin/env bash
# Bundles the web console (src/console/) into OUT_DIR: index.html, app.js
# and app.css, minified, with every package inside (the console loads
# nothing from the network but the server's own API). The packages are the
# versions pinned in src/console/package-lock.json; `npm ci` runs only when
# src/console/node_modules is missing or was installed from another lock.
# The build (CMakeLists.txt) runs this, then embeds OUT_DIR in the binary.
#
#   scripts/build-console.sh build/generated/console
set -euo pipefail
out="$(realpath -m "${1:?usage: build-console.sh OUT_DIR}")"
cd "$(dirname "$0")/../src/console"

lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -d node_modules ] || [ "$(cat node_modules/.installed-lock 2>/dev/null)" != "$lock_sum" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > node_modules/.installed-lock
fi
mkdir -p "$out"
# Chrome 100 and Firefox 100 (2022) or later: what esbuild may assume.
./node_modules/.bin/esbuild src/main.jsx --bundle --minify --log-level=warning \
  --target=chrome100,firefox100,safari15 --jsx=automatic --jsx-import-source=preact \
  --outfile="$out/app.js"
cp index.html "$out/index.html"
