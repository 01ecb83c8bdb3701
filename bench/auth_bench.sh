#!/usr/bin/env bash
# What authentication costs per request: GET /participants (scope admin, an
# in-memory answer) measured with wrk against four servers, each started for
# its configuration:
#
#   1. open (no --tokens, no --jwks), no Authorization header: the reference
#   2. --tokens, an API token
#   3. --jwks, an RS256 JWT (RSA-2048)
#   4. --jwks, an ES256 JWT (P-256)
#
# and GET /health/live on the first server, the floor of what the server
# answers at all. Prints requests/s, p50 and p99 latency, the ratio of
# requests/s to configuration 1, and the server's CPU time (user + system,
# from /proc) per request, then the same table as markdown. Throughput on a
# shared machine moves with whatever else runs; CPU per request much less.
#
#   bench/auth_bench.sh [--connections 64] [--seconds 10] [--rounds 1] [--binary PATH]
#
# The four servers run side by side (idle but for the one measured).
# --rounds R measures every configuration R times, round after round, each
# round in another order, and reports the median of each figure: on a shared
# machine, load that comes and goes then falls on every configuration alike
# instead of on whichever ran at the time.
#
# --binary measures another build of ordersd (say, a worktree of the commit
# before a change) instead of this tree's build/ordersd. The keys and JWTs
# come from build/bench/mint_tokens. Nothing is written to the log (the saga
# and its participants are held), so durability is async.
set -euo pipefail
cd "$(dirname "$0")/.."

connections=64
seconds=10
rounds=1
binary=""
while [ $# -gt 0 ]; do
  case "$1" in
    --connections) connections=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    *) echo "usage: $0 [--connections N] [--seconds S] [--rounds R] [--binary PATH]" >&2; exit 2 ;;
  esac
done

if [ -z "$binary" ]; then
  bash scripts/build.sh ordersd mint_tokens >/dev/null
  binary=./build/ordersd
else
  bash scripts/build.sh mint_tokens >/dev/null
fi
command -v wrk >/dev/null || bash scripts/install-deps.sh --bench

[ "$rounds" -ge 1 ] 2>/dev/null || { echo "auth_bench: --rounds is a number, 1 or more" >&2; exit 2; }

issuer=https://idp.bench.invalid
audience=ordersd-bench
work=$(mktemp -d)
servers=()
cleanup() {
  local p
  for p in "${servers[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${servers[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "auth_bench: $*" >&2
  exit 1
}

# Credentials: an API token with admin, and an RS256 and an ES256 JWT with
# "admin metrics" from a JWKS holding both public keys.
api_token=$("$binary" token create --file "$work/tokens.jsonl" --name bench --scopes admin,metrics 2>/dev/null)
build/bench/mint_tokens --dir "$work/idp" --issuer "$issuer" --audience "$audience"
rs256=$(cat "$work/idp/rs256.jwt")
es256=$(cat "$work/idp/es256.jwt")

# Starts a server named $1 with the extra options that follow; its URL is
# ${url[$1]}.
declare -A url pid
start_server() {
  local name=$1; shift
  "$binary" serve --data "$work/$name.data" --listen 127.0.0.1:0 --durability async \
    --paused saga,payment,inventory,shipping "$@" >"$work/$name.out" 2>"$work/$name.err" &
  servers+=($!)
  pid[$name]=$!
  for _ in $(seq 100); do grep -q listening "$work/$name.out" && break; sleep 0.1; done
  local port
  port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$work/$name.out")
  if [ -z "$port" ]; then
    tail -5 "$work/$name.err" | sed 's/^/  server: /' >&2
    fail "the $name server did not start"
  fi
  url[$name]="http://127.0.0.1:$port"
}

# One curl must answer 200 with the header and, on a secured server, 401
# without it; else the figures would be of refusals.
sanity() {  # server, secured (yes|no), bearer token or ""
  local name=$1 secured=$2 token=$3
  local args=(-s -o /dev/null -w '%{http_code}')
  [ -n "$token" ] && args+=(-H "Authorization: Bearer $token")
  local code
  code=$(curl "${args[@]}" "${url[$name]}/participants")
  [ "$code" = 200 ] || fail "$name: GET /participants answered $code, not 200"
  if [ "$secured" = yes ]; then
    code=$(curl -s -o /dev/null -w '%{http_code}' "${url[$name]}/participants")
    [ "$code" = 401 ] || fail "$name: GET /participants without a token answered $code, not 401"
  fi
}

start_server open
start_server tokens --tokens "$work/tokens.jsonl"
jwt_options=(--jwks "$work/idp/jwks.json" --jwt-issuer "$issuer" --jwt-audience "$audience")
start_server rs256 "${jwt_options[@]}"
start_server es256 "${jwt_options[@]}"
sanity open no ""
sanity tokens yes "$api_token"
sanity rs256 yes "$rs256"
sanity es256 yes "$es256"

# The configurations, by index: 0 is the floor, 1 the reference.
names=("GET /health/live (floor)" "1. open, no header" "2. --tokens, API token" "3. --jwks, RS256 JWT"
       "4. --jwks, ES256 JWT")
md_names=("\`GET /health/live\` (open; the floor)" "1. open server, no header" "2. \`--tokens\`, API token"
          "3. \`--jwks\`, RS256 JWT" "4. \`--jwks\`, ES256 JWT")
args_of() {  # configuration index: sets args, wrk's arguments (a header, the URL), and server
  case "$1" in
    0) server=open; args=("${url[open]}/health/live") ;;
    1) server=open; args=("${url[open]}/participants") ;;
    2) server=tokens; args=(-H "Authorization: Bearer $api_token" "${url[tokens]}/participants") ;;
    3) server=rs256; args=(-H "Authorization: Bearer $rs256" "${url[rs256]}/participants") ;;
    4) server=es256; args=(-H "Authorization: Bearer $es256" "${url[es256]}/participants") ;;
  esac
}

# "Requests/sec:  1234.5" and the "50%"/"99%" lines of --latency, in microseconds.
to_us() { awk '{v=$1; if (v ~ /us$/) {sub("us","",v); print v} else if (v ~ /ms$/) {sub("ms","",v); print v*1000} else {sub("s","",v); print v*1000000}}'; }
# A process's user + system CPU time so far, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks_per_second=$(getconf CLK_TCK)
measure() {  # name, server pid, wrk args...: prints "rps p50 p99 cpu_us_per_request"
  local name=$1 server_pid=$2; shift 2
  local report before after
  before=$(cpu_ticks "$server_pid")
  report=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency "$@")
  after=$(cpu_ticks "$server_pid")
  if grep -q 'Non-2xx' <<<"$report"; then
    grep 'Non-2xx' <<<"$report" >&2
    fail "$name: wrk counted answers that were not 2xx"
  fi
  if grep -q 'Socket errors' <<<"$report"; then grep 'Socket errors' <<<"$report" | sed "s/^/$name: /" >&2; fi
  local rps p50 p99 requests cpu
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$report")
  requests=$(awk '/ requests in / {print $1}' <<<"$report")
  p50=$(awk '$1=="50%" {print $2}' <<<"$report" | to_us)
  p99=$(awk '$1=="99%" {print $2}' <<<"$report" | to_us)
  [ -n "$rps" ] && [ -n "$p50" ] && [ -n "$p99" ] && [ "${requests:-0}" -gt 0 ] ||
    fail "$name: cannot read wrk's report"
  cpu=$(awk -v t=$((after - before)) -v hz="$ticks_per_second" -v n="$requests" 'BEGIN {print t / hz * 1e6 / n}')
  echo "$rps $p50 $p99 $cpu"
}

n=${#names[@]}
for ((i = 0; i < n; i++)); do  # warm-up, not measured
  args_of "$i"
  wrk -t2 -c"$connections" -d2s "${args[@]}" >/dev/null
done

# figures[i] holds one "rps p50 p99 cpu" line per round.
figures=()
for ((r = 0; r < rounds; r++)); do
  for ((k = 0; k < n; k++)); do
    i=$(((k + r) % n))
    echo "round $((r + 1))/$rounds: ${names[$i]}..." >&2
    args_of "$i"
    line=$(measure "${names[$i]}" "${pid[$server]}" "${args[@]}")
    figures[i]+="$line"$'\n'
  done
done

# The median of column $2 of the lines in $1.
median() { awk -v c="$2" 'NF {print $c}' <<<"$1" | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
declare -a rps p50 p99 cpu
for ((i = 0; i < n; i++)); do
  rps[i]=$(median "${figures[$i]}" 1)
  p50[i]=$(median "${figures[$i]}" 2)
  p99[i]=$(median "${figures[$i]}" 3)
  cpu[i]=$(median "${figures[$i]}" 4)
done
ratio() { awk -v r="$1" -v ref="${rps[1]}" 'BEGIN {printf "%.2f", r/ref}'; }

what="$seconds s per run"
[ "$rounds" -gt 1 ] && what="$rounds rounds of $seconds s, medians"
printf '\nauth_bench: GET /participants, %d keep-alive connections, %s, 2 wrk threads\n\n' "$connections" "$what"
printf '%-26s %12s %10s %10s %10s %16s\n' "" "requests/s" "p50 us" "p99 us" "vs open" "server CPU us/req"
order=(1 2 3 4 0)
for i in "${order[@]}"; do
  printf '%-26s %12.0f %10.0f %10.0f %10s %16.1f\n' "${names[$i]}" "${rps[$i]}" "${p50[$i]}" "${p99[$i]}" \
    "$(ratio "${rps[$i]}")" "${cpu[$i]}"
done
if [ "$rounds" -gt 1 ]; then
  printf '\nby round, requests/s (server CPU us/req):\n'
  for i in "${order[@]}"; do
    printf '%-26s %s\n' "${names[$i]}" \
      "$(awk 'NF {printf "%s%.0f (%.1f)", (NR>1 ? "  " : ""), $1, $4}' <<<"${figures[$i]}")"
  done
fi

printf '\n| configuration | requests/s | p50 µs | p99 µs | vs open | server CPU µs/req |\n'
printf '| --- | ---: | ---: | ---: | ---: | ---: |\n'
for i in "${order[@]}"; do
  printf '| %s | %.0f | %.0f | %.0f | %s | %.1f |\n' "${md_names[$i]}" "${rps[$i]}" "${p50[$i]}" "${p99[$i]}" \
    "$(ratio "${rps[$i]}")" "${cpu[$i]}"
done
