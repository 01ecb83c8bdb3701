#!/usr/bin/env bash
# Walks a running server through the saga: deposits and restocks, then five
# orders that end five different ways, and prints each order's timeline:
# every event of its story (order, saga, wallet, reservation, stock,
# shipment), from GET /orders/{id}/timeline.
#
#   scripts/run.sh &                       # in another terminal
#   scripts/demo.sh                        # http://127.0.0.1:8080
#   scripts/demo.sh http://127.0.0.1:9000  # or ORDERSD_URL=http://127.0.0.1:9000
#   scripts/cluster.sh start && scripts/demo.sh http://127.0.0.1:8085   # the five services: any is an entry point
#   scripts/demo.sh --traffic 60           # then a minute of orders (about 20 a second, all five
#                                          # outcomes), to watch in the console at $URL/ui/
#
# Requests follow redirects (curl -L), so against the services of
# cluster.sh each goes where it is served. An error answer stops the demo
# with the server's problem detail. Order ids carry the time, so the demo
# can run again against the same server.
set -euo pipefail

TRAFFIC=0
URL="${ORDERSD_URL:-http://127.0.0.1:8080}"
while (($# > 0)); do
  case "$1" in
    --traffic) TRAFFIC="${2:?--traffic takes a number of seconds}"; shift 2 ;;
    -*) echo "demo.sh: unknown option $1" >&2; exit 2 ;;
    *) URL="$1"; shift ;;
  esac
done
[[ "$TRAFFIC" =~ ^[0-9]+$ ]] || { echo "demo.sh: --traffic takes a number of seconds, not $TRAFFIC" >&2; exit 2; }
URL="${URL%/}"
RUN="$(date +%s)"
JSON=(-H 'Content-Type: application/json')

command -v jq >/dev/null || { echo "demo.sh needs jq (scripts/install-deps.sh installs it)" >&2; exit 1; }
curl -sfL "$URL/health" >/dev/null || { echo "no ordersd at $URL: start it with scripts/run.sh" >&2; exit 1; }

answer="$(mktemp)"
trap 'rm -f "$answer"' EXIT

# request METHOD PATH [BODY]: the answer's status, its body in $answer; a
# POST sends BODY (307 redirects keep the method and the body).
request() {
  : > "$answer"
  local args=(-sS -L -o "$answer" -w '%{http_code}')
  if [ "$1" = POST ]; then args+=("${JSON[@]}" --data-binary "${3-}"); fi
  curl "${args[@]}" "$URL$2" || true  # -w writes 000 when nothing answered
}

# call METHOD PATH [BODY]: prints the answer's body; on an error answer, or
# none, says which and why on stderr and stops the demo.
call() {
  local status; status="$(request "$@")"
  if [ "$status" = 000 ] || [ "$status" -ge 400 ]; then
    local detail; detail="$(jq -r '.detail // empty' "$answer" 2>/dev/null || true)"
    [ -n "$detail" ] || detail="$(head -c 300 "$answer" 2>/dev/null || true)"
    echo "demo: $1 $2: ${status/#000/no answer from $URL}${detail:+: $detail}" >&2
    exit 1
  fi
  cat "$answer"
}

post() { call POST "$@"; }

# place ORDER CUSTOMER SKU QUANTITY COUNTRY
place() {
  post /orders "$(jq -nc --arg o "$1" --arg c "$2" --arg s "$3" --argjson q "$4" --arg country "$5" \
    '{order_id: $o, customer_id: $c, items: [{sku: $s, quantity: $q, unit_price_cents: 1250}],
      shipping_address: {country: $country, city: "Utrecht", line1: "Oudegracht 1", postal_code: "3511"}}')" >/dev/null
}

status() { call GET "/orders/$1/state" | jq -r .status; }

# Polls until the order's status is one of the given ones (10 s at most).
wait_for() {
  local order="$1"; shift
  for _ in $(seq 1 200); do
    local s; s="$(status "$order")"
    for want in "$@"; do [ "$s" = "$want" ] && return 0; done
    sleep 0.05
  done
  echo "order $order is still $(status "$order"), expected one of: $*" >&2
  exit 1
}

# Waits until the order's saga has ended in the timeline view (10 s at most).
story_ended() {
  for _ in $(seq 1 200); do
    [ "$(request GET "/orders/$1/timeline")" = 200 ] &&
      jq -e 'any(.events[]; .type == "saga.completed.v1")' "$answer" >/dev/null && return 0
    sleep 0.05
  done
  echo "the saga of order $1 has not ended" >&2
  exit 1
}

# The order's whole story: every event of every stream that took part, in
# log order (GET /orders/{id}/timeline), by position, stream kind and type.
timeline() {
  echo "$1 ($2)"
  story_ended "$1"
  call GET "/orders/$1/timeline" | jq -r '.events[] |
    "  \(.position | tostring | ("     " + .)[-5:])  \((.stream | split("-")[0]) + "            " | .[:12])\(.type)" +
    (if .payload.outcome then "  outcome=\(.payload.outcome)" else "" end) +
    (if (.payload.reason // "") != "" then "  reason=\(.payload.reason)" else "" end) +
    (if .payload.amount_cents and (.type | startswith("saga.") | not) then "  amount_cents=\(.payload.amount_cents)" else "" end) +
    (if .payload.shipment_id then "  shipment_id=\(.payload.shipment_id)" else "" end) +
    (if (.payload.lines // []) != [] and (.type | startswith("saga.") | not) then "  lines=\([.payload.lines[] | "\(.sku) x\(.quantity)"] | join(", "))" else "" end) +
    (if .payload.requested then "  sku=\(.payload.sku) requested=\(.payload.requested) available=\(.payload.available)" else "" end) +
    (if .payload.quantity then "  sku=\(.payload.sku) quantity=\(.payload.quantity)" else "" end)'
}

ann="ann-$RUN" bob="bob-$RUN" mug="mug-$RUN" lamp="lamp-$RUN"
echo "== deposits and restocks"
post "/customers/$ann/deposits" '{"amount_cents": 100000}' | jq -c '{customer_id, balance_cents}'
post "/customers/$bob/deposits" '{"amount_cents": 500}' | jq -c '{customer_id, balance_cents}'
post "/inventory/$mug/restock" '{"quantity": 10}' | jq -c '{sku, available}'
post "/inventory/$lamp/restock" '{"quantity": 1}' | jq -c '{sku, available}'

ships="ships-$RUN" declined="declined-$RUN" short="out-of-stock-$RUN" far="cannot-ship-$RUN" midway="cancelled-$RUN"
place "$ships" "$ann" "$mug" 2 NL
place "$declined" "$bob" "$mug" 1 NL
place "$short" "$ann" "$lamp" 3 DE
place "$far" "$ann" "$mug" 1 BR

# Cancelled midway: hold the inventory service, so the saga waits on the
# reservation; the customer cancels; the inventory service comes back, the
# reservation is made, and the saga undoes it and the charge.
post /participants/inventory/pause >/dev/null
place "$midway" "$ann" "$mug" 1 NL
wait_for "$midway" payment_processed
post "/orders/$midway/cancel" '{}' >/dev/null
post /participants/inventory/resume >/dev/null

for order in "$ships" "$declined" "$short" "$far" "$midway"; do wait_for "$order" shipment_initiated cancelled; done
echo
echo "== timelines"
timeline "$ships" "ships"
timeline "$declined" "declined: the customer cannot pay"
timeline "$short" "out of stock"
timeline "$far" "cannot ship to BR"
timeline "$midway" "cancelled midway"
echo
echo "== afterwards"
call GET "/customers/$ann/wallet" | jq -c '{customer_id, balance_cents, charged_cents}'
# The inventory view follows the log (across services, the broker too):
# wait (10 s at most) until it shows every unit back or shipped.
for _ in $(seq 1 200); do
  if [ "$(request GET "/inventory/$mug")" = 200 ] && jq -e '.reserved == 0 and .restocked == 10' "$answer" >/dev/null; then
    break
  fi
  sleep 0.05
done
call GET "/inventory/$mug" | jq -c '{sku, restocked, available, reserved, shipped}'

if ((TRAFFIC > 0)); then
  echo
  echo "== $TRAFFIC s of orders: watch them at $URL/ui/"
  post "/customers/$ann/deposits" '{"amount_cents": 1000000000}' >/dev/null
  post "/inventory/$mug/restock" '{"quantity": 1000000}' >/dev/null
  placed=0 end=$((SECONDS + TRAFFIC))
  while ((SECONDS < end)); do
    # One in ten declined (bob cannot pay), one in ten refused by shipping
    # (BR), one in twenty out of stock (the lamp), the rest shipped.
    for i in 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19; do
      order="traffic-$RUN-$placed"
      case "$i" in
        3|13) place "$order" "$bob" "$mug" 1 NL ;;
        7|17) place "$order" "$ann" "$mug" 1 BR ;;
        11) place "$order" "$ann" "$lamp" 1 NL ;;
        *) place "$order" "$ann" "$mug" 1 NL ;;
      esac
      placed=$((placed + 1))
    done
    echo "  $placed orders placed"
    sleep 0.5
  done
fi
