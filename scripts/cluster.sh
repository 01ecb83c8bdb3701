#!/usr/bin/env bash
# A local deployment of ordersd as five services over NATS JetStream:
#
#   scripts/cluster.sh start [DIR]   builds if needed, starts nats-server and
#                                    the order, payment, inventory, shipping
#                                    and query services, each with its data
#                                    in DIR/<service> (default ./cluster)
#   scripts/cluster.sh stop [DIR]    stops them (SIGTERM, then waits)
#   scripts/cluster.sh status [DIR]  what is running, and each /health
#
# Ports: nats 4222; order 8081, payment 8082, inventory 8083, shipping 8084,
# query 8085 (override the first with ORDERSD_CLUSTER_PORT, the broker's with
# ORDERSD_NATS_PORT). Logs are DIR/<service>.log.
#
# The broker admits each service as its own user, allowed to publish only
# its own events: `ordersd bus-users` writes them to DIR/users once (nats.conf
# for nats-server, <service>.creds for each service's --bus-creds).
set -euo pipefail
cd "$(dirname "$0")/.."

command=${1:-}
dir=${2:-./cluster}
base=${ORDERSD_CLUSTER_PORT:-8081}
nats_port=${ORDERSD_NATS_PORT:-4222}
services=(order payment inventory shipping query)

pid_of() { cat "$dir/$1.pid" 2>/dev/null || true; }
running() { local pid; pid=$(pid_of "$1"); [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }
nats_server() { command -v nats-server || echo /usr/sbin/nats-server; }

wait_for_port() {
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "cluster: nothing is listening on port $1; see $dir/*.log" >&2
  return 1
}

start() {
  bash scripts/build.sh ordersd
  mkdir -p "$dir"
  if [ ! -f "$dir/users/nats.conf" ]; then
    ./build/ordersd bus-users --dir "$dir/users" > /dev/null
  fi
  if ! running nats; then
    "$(nats_server)" -c "$dir/users/nats.conf" --jetstream --store_dir "$dir/nats" --addr 127.0.0.1 \
      --port "$nats_port" --log "$dir/nats.log" < /dev/null > /dev/null 2>&1 &
    echo $! > "$dir/nats.pid"
  fi
  wait_for_port "$nats_port"
  local port=$base
  for s in "${services[@]}"; do
    if ! running "$s"; then
      ./build/ordersd serve --data "$dir/$s" --listen "127.0.0.1:$port" --roles "$s" \
        --bus "nats://127.0.0.1:$nats_port" --bus-creds "$dir/users/$s.creds" < /dev/null >> "$dir/$s.log" 2>&1 &
      echo $! > "$dir/$s.pid"
    fi
    wait_for_port "$port"
    echo "$s: http://127.0.0.1:$port"
    port=$((port + 1))
  done
  echo "broker: nats://127.0.0.1:$nats_port"
}

stop() {
  for s in "${services[@]}" nats; do
    if running "$s"; then
      local pid; pid=$(pid_of "$s")
      kill -TERM "$pid"
      while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
      echo "$s: stopped"
    fi
    rm -f "$dir/$s.pid"
  done
}

status() {
  local port=$base
  for s in "${services[@]}"; do
    if running "$s"; then
      echo "$s (pid $(pid_of "$s")): $(curl -s "http://127.0.0.1:$port/health" || echo 'no answer')"
    else
      echo "$s: not running"
    fi
    port=$((port + 1))
  done
  if running nats; then echo "nats (pid $(pid_of nats)): nats://127.0.0.1:$nats_port"; else echo "nats: not running"; fi
}

case "$command" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *)
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
