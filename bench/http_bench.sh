#!/usr/bin/env bash
# Places orders over HTTP with wrk and measures GET /health over the same
# number of keep-alive connections in the same run, as the floor of what the
# server can answer at all. Prints orders/s, p50 and p99 latency, and the
# ratio to /health. Durable (fsync) by default.
#
#   bench/http_bench.sh [--connections 64] [--seconds 10] [--durability fsync|async] [--binary PATH]
#
# --binary measures another build of ordersd (say, a worktree of the commit
# before a change) instead of this tree's build/ordersd.
set -euo pipefail
cd "$(dirname "$0")/.."

connections=64
seconds=10
durability=fsync
binary=""
while [ $# -gt 0 ]; do
  case "$1" in
    --connections) connections=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --durability) durability=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    *) echo "usage: $0 [--connections N] [--seconds S] [--durability fsync|async] [--binary PATH]" >&2; exit 2 ;;
  esac
done

if [ -z "$binary" ]; then
  bash scripts/build.sh >/dev/null
  binary=./build/ordersd
fi
command -v wrk >/dev/null || bash scripts/install-deps.sh --bench

data=$(mktemp -d)
out=$(mktemp)
cleanup() {
  [ -n "${server:-}" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  rm -rf "$data" "$out"
}
trap cleanup EXIT

# The saga and its participants are held: this measures placing orders alone
# (bench/saga_bench measures orders carried to their end).
"$binary" serve --data "$data" --listen 127.0.0.1:0 --durability "$durability" \
  --paused saga,payment,inventory,shipping >"$out" 2>/dev/null &
server=$!
for _ in $(seq 100); do grep -q listening "$out" && break; sleep 0.1; done
port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$out")
[ -n "$port" ] || { echo "the server did not start" >&2; exit 1; }
url="http://127.0.0.1:$port"

# "Requests/sec:  1234.5" and the "50%"/"99%" lines of --latency, in microseconds.
to_us() { awk '{v=$1; if (v ~ /us$/) {sub("us","",v); print v} else if (v ~ /ms$/) {sub("ms","",v); print v*1000} else {sub("s","",v); print v*1000000}}'; }
measure() {  # name, extra wrk args...
  local name=$1; shift
  local report
  report=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency "$@")
  local rps p50 p99
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$report")
  p50=$(awk '$1=="50%" {print $2}' <<<"$report" | to_us)
  p99=$(awk '$1=="99%" {print $2}' <<<"$report" | to_us)
  echo "$name $rps $p50 $p99"
  grep '^STATUS' <<<"$report" || true
  if grep -q 'Non-2xx\|Socket errors' <<<"$report"; then grep 'Non-2xx\|Socket errors' <<<"$report" >&2; fi
}

wrk -t2 -c"$connections" -d2s "$url/health" >/dev/null  # warm-up, not measured
health=$(measure health "$url/health")
orders=$(measure orders -s bench/place_orders.lua "$url/orders")

read -r _ h_rps h_p50 h_p99 <<<"$(head -1 <<<"$health")"
read -r _ o_rps o_p50 o_p99 <<<"$(head -1 <<<"$orders")"
status=$(grep '^STATUS' <<<"$orders" | sed 's/^STATUS //')
head_position=$(curl -s "$url/health" | sed -n 's/.*"head":\([0-9]*\).*/\1/p')

printf '\nhttp_bench: %d keep-alive connections, %ss per run, durability %s, 2 wrk threads\n\n' \
  "$connections" "$seconds" "$durability"
printf '%-22s %12s %10s %10s\n' "" "requests/s" "p50 us" "p99 us"
printf '%-22s %12.0f %10.0f %10.0f\n' "GET /health" "$h_rps" "$h_p50" "$h_p99"
printf '%-22s %12.0f %10.0f %10.0f\n' "POST /orders" "$o_rps" "$o_p50" "$o_p99"
ratio=$(awk -v o="$o_rps" -v h="$h_rps" 'BEGIN {printf "%.2f", o/h}')
printf '\norders/health ratio: %s (target >= 0.50)   answers: %s   log head: %s\n' "$ratio" "$status" "$head_position"
