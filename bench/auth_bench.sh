#!/usr/bin/env bash
# What authentication costs per request: GET /participants (scope admin, an
# in-memory answer) measured with wrk against four servers, one after the
# other, each started for its configuration:
#
#   1. open (no --tokens, no --jwks), no Authorization header: the reference
#   2. --tokens, an API token
#   3. --jwks, an RS256 JWT (RSA-2048)
#   4. --jwks, an ES256 JWT (P-256)
#
# and GET /health/live on the first server, the floor of what the server
# answers at all. Prints requests/s, p50 and p99 latency and the ratio of
# requests/s to configuration 1, then the same table as markdown.
#
#   bench/auth_bench.sh [--connections 64] [--seconds 10] [--binary PATH]
#
# --binary measures another build of ordersd (say, a worktree of the commit
# before a change) instead of this tree's build/ordersd. The keys and JWTs
# come from build/bench/mint_tokens. Nothing is written to the log (the saga
# and its participants are held), so durability is async.
set -euo pipefail
cd "$(dirname "$0")/.."

connections=64
seconds=10
binary=""
while [ $# -gt 0 ]; do
  case "$1" in
    --connections) connections=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    *) echo "usage: $0 [--connections N] [--seconds S] [--binary PATH]" >&2; exit 2 ;;
  esac
done

if [ -z "$binary" ]; then
  bash scripts/build.sh ordersd mint_tokens >/dev/null
  binary=./build/ordersd
else
  bash scripts/build.sh mint_tokens >/dev/null
fi
command -v wrk >/dev/null || bash scripts/install-deps.sh --bench

issuer=https://idp.bench.invalid
audience=ordersd-bench
work=$(mktemp -d)
server=""
stop_server() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    server=""
  fi
}
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "auth_bench: $*" >&2
  if [ -f "$work/server.err" ]; then tail -5 "$work/server.err" | sed 's/^/  server: /' >&2; fi
  exit 1
}

# Credentials: an API token with admin, and an RS256 and an ES256 JWT with
# "admin metrics" from a JWKS holding both public keys.
api_token=$("$binary" token create --file "$work/tokens.jsonl" --name bench --scopes admin,metrics)
build/bench/mint_tokens --dir "$work/idp" --issuer "$issuer" --audience "$audience"
rs256=$(cat "$work/idp/rs256.jwt")
es256=$(cat "$work/idp/es256.jwt")

# Starts a server with the extra options given; sets $url.
start_server() {
  rm -rf "$work/data"
  "$binary" serve --data "$work/data" --listen 127.0.0.1:0 --durability async \
    --paused saga,payment,inventory,shipping "$@" >"$work/server.out" 2>"$work/server.err" &
  server=$!
  for _ in $(seq 100); do grep -q listening "$work/server.out" && break; sleep 0.1; done
  local port
  port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$work/server.out")
  [ -n "$port" ] || fail "the server did not start ($*)"
  url="http://127.0.0.1:$port"
}

status_of() {  # path, curl args...
  local path=$1; shift
  curl -s -o /dev/null -w '%{http_code}' "$@" "$url$path"
}

# One curl must answer 200 with the header and, on a secured server, 401
# without it; else the figures would be of refusals.
sanity() {  # name, expect_401 (yes|no), authorization header or ""
  local name=$1 secured=$2 header=$3
  local code
  if [ -n "$header" ]; then
    code=$(status_of /participants -H "$header")
  else
    code=$(status_of /participants)
  fi
  [ "$code" = 200 ] || fail "$name: GET /participants answered $code, not 200"
  if [ "$secured" = yes ]; then
    code=$(status_of /participants)
    [ "$code" = 401 ] || fail "$name: GET /participants without a token answered $code, not 401"
  fi
}

# "Requests/sec:  1234.5" and the "50%"/"99%" lines of --latency, in microseconds.
to_us() { awk '{v=$1; if (v ~ /us$/) {sub("us","",v); print v} else if (v ~ /ms$/) {sub("ms","",v); print v*1000} else {sub("s","",v); print v*1000000}}'; }
measure() {  # name, wrk args...: prints "rps p50 p99"
  local name=$1; shift
  local report
  report=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency "$@")
  if grep -q 'Non-2xx' <<<"$report"; then
    grep 'Non-2xx' <<<"$report" >&2
    fail "$name: wrk counted answers that were not 2xx"
  fi
  if grep -q 'Socket errors' <<<"$report"; then grep 'Socket errors' <<<"$report" | sed "s/^/$name: /" >&2; fi
  local rps p50 p99
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$report")
  p50=$(awk '$1=="50%" {print $2}' <<<"$report" | to_us)
  p99=$(awk '$1=="99%" {print $2}' <<<"$report" | to_us)
  [ -n "$rps" ] && [ -n "$p50" ] && [ -n "$p99" ] || fail "$name: cannot read wrk's report"
  echo "$rps $p50 $p99"
}
warm_up() { wrk -t2 -c"$connections" -d2s "$@" >/dev/null; }

names=()
figures=()
run() {  # name, wrk args...
  local name=$1; shift
  echo "measuring $name..." >&2
  names+=("$name")
  figures+=("$(measure "$name" "$@")")
}

# 1. Open, and the floor.
start_server
sanity "open" no ""
warm_up "$url/participants"
run "GET /health/live (floor)" "$url/health/live"
run "1. open, no header" "$url/participants"
stop_server

# 2. API tokens.
start_server --tokens "$work/tokens.jsonl"
sanity "API token" yes "Authorization: Bearer $api_token"
warm_up -H "Authorization: Bearer $api_token" "$url/participants"
run "2. --tokens, API token" -H "Authorization: Bearer $api_token" "$url/participants"
stop_server

# 3 and 4. JWTs, each against a server of its own.
jwt_options=(--jwks "$work/idp/jwks.json" --jwt-issuer "$issuer" --jwt-audience "$audience")
start_server "${jwt_options[@]}"
sanity "RS256" yes "Authorization: Bearer $rs256"
warm_up -H "Authorization: Bearer $rs256" "$url/participants"
run "3. --jwks, RS256 JWT" -H "Authorization: Bearer $rs256" "$url/participants"
stop_server

start_server "${jwt_options[@]}"
sanity "ES256" yes "Authorization: Bearer $es256"
warm_up -H "Authorization: Bearer $es256" "$url/participants"
run "4. --jwks, ES256 JWT" -H "Authorization: Bearer $es256" "$url/participants"
stop_server

# The table: the reference is configuration 1 (the second row measured).
read -r ref_rps _ _ <<<"${figures[1]}"
ratio() { awk -v r="$1" -v ref="$ref_rps" 'BEGIN {printf "%.2f", r/ref}'; }

printf '\nauth_bench: GET /participants, %d keep-alive connections, %ss per run, 2 wrk threads\n\n' \
  "$connections" "$seconds"
printf '%-26s %12s %10s %10s %10s\n' "" "requests/s" "p50 us" "p99 us" "vs open"
order=(1 2 3 4 0)
for i in "${order[@]}"; do
  read -r rps p50 p99 <<<"${figures[$i]}"
  printf '%-26s %12.0f %10.0f %10.0f %10s\n' "${names[$i]}" "$rps" "$p50" "$p99" "$(ratio "$rps")"
done

printf '\n| configuration | requests/s | p50 µs | p99 µs | vs open |\n'
printf '| --- | ---: | ---: | ---: | ---: |\n'
for i in "${order[@]}"; do
  read -r rps p50 p99 <<<"${figures[$i]}"
  name=${names[$i]}
  case "$i" in
    0) name="\`GET /health/live\` (open; the floor)" ;;
    1) name="1. open server, no header" ;;
    2) name="2. \`--tokens\`, API token" ;;
    3) name="3. \`--jwks\`, RS256 JWT" ;;
    4) name="4. \`--jwks\`, ES256 JWT" ;;
  esac
  printf '| %s | %.0f | %.0f | %.0f | %s |\n' "$name" "$rps" "$p50" "$p99" "$(ratio "$rps")"
done
