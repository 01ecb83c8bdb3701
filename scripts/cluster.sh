#!/usr/bin/env bash
# A local deployment of ordersd as five services over a broker (NATS
# JetStream by default, or RabbitMQ streams):
#
#   scripts/cluster.sh start [--broker nats|rabbitmq] [--brokers 1|3] [--shards N] [DIR]
#                                    builds if needed, starts the broker (with
#                                    --brokers 3, a JetStream cluster of three
#                                    nodes, nats-1 to nats-3, the stream at 3
#                                    replicas) and
#                                    the order, payment, inventory, shipping
#                                    and query services, each with its data
#                                    in DIR/<service> (default ./cluster);
#                                    with --shards N (NATS only), order and
#                                    payment run as N shards each, order-0 ...
#                                    order-N-1 and payment-0 ... payment-N-1;
#                                    fails, naming the service and showing the
#                                    end of its log, unless each one started
#                                    is running and listening on its port
#   scripts/cluster.sh stop [DIR]    stops them all at once (SIGTERM) and
#                                    waits for each to exit
#   scripts/cluster.sh status [DIR]  what is running, and each /health
#
# Ports: nats 4222 (nats-1 4222, nats-2 4223, nats-3 4224; their routes
# 6222, 6223, 6224) or rabbitmq 5672; order 8081, payment 8082, inventory 8083,
# shipping 8084, query 8085, one after the other in that order (with shards:
# order-0 8081, order-1 8082, payment-0 8083, ...; override the first with ORDERSD_CLUSTER_PORT, the
# broker's with ORDERSD_NATS_PORT or ORDERSD_RABBITMQ_PORT). A RabbitMQ broker
# is private to DIR: node ordersd-cluster@localhost, its own cookie, data and
# epmd (port ORDERSD_RABBITMQ_PORT + 20000), stopped with the services. The
# broker a DIR runs is remembered in DIR/broker. Logs are DIR/<service>.log. Every service knows the
# others (--peers): any of them is an entry point, answering a route another
# one serves with a 307 redirect there (curl -L follows it, POSTs included).
#
# The broker admits each service as its own user, allowed to publish only
# its own events: `ordersd bus-users` writes them to DIR/users once (nats.conf
# for nats-server, rabbitmq-definitions.json for rabbitmq-server,
# <service>.creds for each service's --bus-creds).
set -euo pipefail
cd "$(dirname "$0")/.."

command=${1:-}
shift || true
broker_arg=""
brokers_arg=""
shards_arg=""
while [ "${1:-}" = "--broker" ] || [ "${1:-}" = "--brokers" ] || [ "${1:-}" = "--shards" ]; do
  case "$1" in
    --broker) broker_arg=${2:?--broker takes nats or rabbitmq} ;;
    --brokers) brokers_arg=${2:?--brokers takes 1 or 3} ;;
    --shards) shards_arg=${2:?--shards takes a number of shards} ;;
  esac
  shift 2
done
dir=${1:-./cluster}
abs_dir=$(realpath -m "$dir")
base=${ORDERSD_CLUSTER_PORT:-8081}
nats_port=${ORDERSD_NATS_PORT:-4222}
rabbitmq_port=${ORDERSD_RABBITMQ_PORT:-5672}
# The broker this DIR runs: --broker, else what it was started with, else nats.
broker=${broker_arg:-$(cat "$dir/broker" 2>/dev/null || echo nats)}
case "$broker" in
  nats | rabbitmq) ;;
  *) echo "cluster.sh: --broker takes nats or rabbitmq, not '$broker'" >&2; exit 2 ;;
esac
# How many broker nodes: --brokers, else what DIR was started with, else 1.
brokers=${brokers_arg:-$(cat "$dir/brokers" 2>/dev/null || echo 1)}
case "$brokers" in
  1) ;;
  3) [ "$broker" = nats ] || { echo "cluster.sh: --brokers 3 is a NATS JetStream cluster; RabbitMQ runs one node" >&2; exit 2; } ;;
  *) echo "cluster.sh: --brokers takes 1 or 3, not '$brokers'" >&2; exit 2 ;;
esac
# The names of the broker's processes: nats, or nats-1 ... nats-N, or rabbitmq.
broker_nodes=(nats)
if [ "$broker" = rabbitmq ]; then
  broker_nodes=(rabbitmq)
elif [ "$brokers" -gt 1 ]; then
  broker_nodes=()
  for i in $(seq 1 "$brokers"); do broker_nodes+=("nats-$i"); done
fi
if [ -n "$brokers_arg" ] && [ -f "$dir/brokers" ] && [ "$(cat "$dir/brokers")" != "$brokers_arg" ]; then
  echo "cluster.sh: $dir runs $(cat "$dir/brokers") broker node(s); stop it and use another DIR for $brokers_arg" >&2
  exit 2
fi
if [ -n "$broker_arg" ] && [ -f "$dir/broker" ] && [ "$(cat "$dir/broker")" != "$broker_arg" ]; then
  echo "cluster.sh: $dir runs over $(cat "$dir/broker"); stop it and use another DIR for $broker_arg" >&2
  exit 2
fi
# How many shards order and payment have: --shards, else what DIR was started with, else 1.
shards=${shards_arg:-$(cat "$dir/shards" 2>/dev/null || echo 1)}
if ! [[ "$shards" =~ ^[1-8]$ ]]; then
  echo "cluster.sh: --shards takes 1 to 8, not '$shards'" >&2
  exit 2
fi
if [ "$shards" -gt 1 ] && [ "$broker" != nats ]; then
  echo "cluster.sh: --shards needs NATS: routes are subjects, which RabbitMQ streams do not have" >&2
  exit 2
fi
if [ -n "$shards_arg" ] && [ -f "$dir/shards" ] && [ "$(cat "$dir/shards")" != "$shards_arg" ]; then
  echo "cluster.sh: $dir runs $(cat "$dir/shards") shard(s); stop it and use another DIR for $shards_arg" >&2
  exit 2
fi
# The services by name: a shard is ROLE-I.
services=()
for role in order payment inventory shipping query; do
  if [ "$shards" -gt 1 ] && { [ "$role" = order ] || [ "$role" = payment ]; }; then
    for i in $(seq 0 $((shards - 1))); do services+=("$role-$i"); done
  else
    services+=("$role")
  fi
done
role_of() { echo "${1%-[0-9]*}"; }

usage() {
  [ -z "$command" ] || echo "cluster.sh: unknown command '$command'" >&2
  # The comment block at the top of this file.
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2
  exit 2
}

port_of() {
  local port=$base
  for s in "${services[@]}"; do
    if [ "$s" = "$1" ]; then echo "$port"; return; fi
    port=$((port + 1))
  done
  case "$1" in
    rabbitmq) echo "$rabbitmq_port" ;;
    nats-*) echo $((nats_port + ${1#nats-} - 1)) ;;
    *) echo "$nats_port" ;;
  esac
}

pid_of() { cat "$dir/$1.pid" 2>/dev/null || true; }

# Whether the process in DIR/<name>.pid is alive and is the one this script
# started (a pid file left behind may name a pid reused by another process).
running() {
  local pid; pid=$(pid_of "$1")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  local cmdline; cmdline=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null) || return 1
  if [ "$1" = nats ]; then
    [[ "$cmdline" == *nats-server*"$dir/users/nats.conf"* && "$cmdline" != *--server_name* ]]
  elif [[ "$1" == nats-* ]]; then
    [[ "$cmdline" == *nats-server*"$dir/users/nats.conf"*"--server_name $1 "* ]]
  elif [ "$1" = rabbitmq ]; then
    [[ "$cmdline" == *beam*"-home $abs_dir/rabbitmq "* ]]
  else
    [[ "$cmdline" == *"ordersd serve --data $dir/$1 "*"--roles $(role_of "$1") "* ]]
  fi
}

nats_server() { command -v nats-server || echo /usr/sbin/nats-server; }

size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }

# wait_started NAME PID LOG FROM TEXT: waits until the process PID, just
# started, has written TEXT to LOG past byte FROM (what it writes once it
# listens). Fails loudly when it exits first or takes longer than 30 s.
wait_started() {
  local name=$1 pid=$2 log=$3 from=$4 text=$5
  for _ in $(seq 1 300); do
    if tail -c +"$((from + 1))" "$log" 2>/dev/null | grep -qF "$text"; then
      if kill -0 "$pid" 2>/dev/null; then return 0; fi
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      failed "$name" "$pid" "$log" "$from" "exited as it started"
    fi
    sleep 0.1
  done
  failed "$name" "$pid" "$log" "$from" "is not listening on port $(port_of "$name") after 30 s"
}

failed() {
  local name=$1 pid=$2 log=$3 from=$4 why=$5
  {
    echo "cluster: $name (pid $pid) $why; the end of $log:"
    tail -c +"$((from + 1))" "$log" 2>/dev/null | tail -n 15 | sed 's/^/  | /'
    echo "cluster: start failed; what did start is still running (scripts/cluster.sh stop $dir)"
  } >&2
  if ! kill -0 "$pid" 2>/dev/null; then rm -f "$dir/$name.pid"; fi
  exit 1
}

start() {
  bash scripts/build.sh ordersd
  mkdir -p "$dir"
  echo "$broker" > "$dir/broker"
  echo "$brokers" > "$dir/brokers"
  echo "$shards" > "$dir/shards"
  if [ ! -f "$dir/users/nats.conf" ]; then
    ./build/ordersd bus-users --dir "$dir/users" > /dev/null
  fi
  if [ "$broker" = rabbitmq ] && [ ! -f "$dir/users/rabbitmq-definitions.json" ]; then
    echo "cluster.sh: $dir/users predates RabbitMQ users: run ./build/ordersd bus-users --dir $dir/users --force" >&2
    exit 1
  fi
  if [ "$broker" = rabbitmq ]; then start_rabbitmq; else start_nats; fi
  local bus_url=""
  for node in "${broker_nodes[@]}"; do bus_url+="${bus_url:+,}nats://127.0.0.1:$(port_of "$node")"; done
  [ "$broker" = rabbitmq ] && bus_url="amqp://127.0.0.1:$rabbitmq_port/"
  echo "broker: $bus_url"
  local peers=""
  # The same list for every process; with shards, it is the shard map (ROLE/I=URL).
  for s in "${services[@]}"; do
    local entry; entry=$(role_of "$s")
    [ "$s" = "$entry" ] || entry+="/${s##*-}"
    peers+="${peers:+,}$entry=http://127.0.0.1:$(port_of "$s")"
  done
  for s in "${services[@]}"; do
    local port; port=$(port_of "$s")
    if running "$s"; then
      echo "$s: already running (pid $(pid_of "$s")): http://127.0.0.1:$port"
      continue
    fi
    local log="$dir/$s.log" from; from=$(size_of "$dir/$s.log")
    local role; role=$(role_of "$s")
    local shard_args=()
    [ "$s" = "$role" ] || shard_args=(--shard "${s##*-}/$shards")
    ./build/ordersd serve --data "$dir/$s" --listen "127.0.0.1:$port" --roles "$role" --peers "$peers" \
      --bus "$bus_url" --bus-creds "$dir/users/$role.creds" "${shard_args[@]}" < /dev/null >> "$log" 2>&1 &
    echo $! > "$dir/$s.pid"
    wait_started "$s" $! "$log" "$from" "listening on 127.0.0.1:$port"
    echo "$s: http://127.0.0.1:$port"
  done
  echo "any service is an entry point: curl -L http://127.0.0.1:$base/ lists every route"
}

start_nats() {
  local routes=""
  for node in "${broker_nodes[@]}"; do
    [ "$node" = nats ] || routes+="${routes:+,}nats://127.0.0.1:$(($(port_of "$node") + 2000))"
  done
  for node in "${broker_nodes[@]}"; do
    if running "$node"; then
      echo "$node: already running (pid $(pid_of "$node"))"
      continue
    fi
    local port; port=$(port_of "$node")
    local cluster_args=()
    if [ "$node" != nats ]; then
      # One of a JetStream cluster: named, routed to the others.
      cluster_args=(--server_name "$node" --cluster_name ordersd --cluster "nats://127.0.0.1:$((port + 2000))" --routes "$routes")
    fi
    local from; from=$(size_of "$dir/$node.log")
    "$(nats_server)" -c "$dir/users/nats.conf" "${cluster_args[@]}" --jetstream --store_dir "$dir/$node" \
      --addr 127.0.0.1 --port "$port" --log "$dir/$node.log" < /dev/null > /dev/null 2>&1 &
    echo $! > "$dir/$node.pid"
    wait_started "$node" $! "$dir/$node.log" "$from" "Listening for client connections on 127.0.0.1:$port"
  done
}

# RabbitMQ, private to DIR: its node name, cookie (HOME), data, logs, config
# and epmd port are all its own; the services' users come from the
# definitions bus-users wrote.
rabbitmq_env() {
  echo HOME="$abs_dir/rabbitmq" RUNNING_UNDER_SYSTEMD=1 RABBITMQ_NODENAME=ordersd-cluster@localhost \
    RABBITMQ_DIST_PORT=$((rabbitmq_port + 20001)) ERL_EPMD_PORT=$((rabbitmq_port + 20000)) \
    RABBITMQ_MNESIA_BASE="$abs_dir/rabbitmq/mnesia" RABBITMQ_LOG_BASE="$abs_dir/rabbitmq/log" \
    RABBITMQ_CONFIG_FILE="$abs_dir/rabbitmq/rabbitmq" RABBITMQ_ENABLED_PLUGINS_FILE="$abs_dir/rabbitmq/enabled_plugins"
}

start_rabbitmq() {
  if running rabbitmq; then
    echo "broker: already running (pid $(pid_of rabbitmq))"
    return
  fi
  mkdir -p "$dir/rabbitmq"
  cat > "$dir/rabbitmq/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$rabbitmq_port
load_definitions = $abs_dir/users/rabbitmq-definitions.json
log.console = false
log.file.level = warning
CONF
  echo "[]." > "$dir/rabbitmq/enabled_plugins"
  local from; from=$(size_of "$dir/rabbitmq.log")
  # shellcheck disable=SC2046
  env $(rabbitmq_env) /usr/lib/rabbitmq/bin/rabbitmq-server < /dev/null >> "$dir/rabbitmq.log" 2>&1 &
  echo $! > "$dir/rabbitmq.pid"
  wait_started rabbitmq $! "$dir/rabbitmq.log" "$from" "Starting broker... completed"
}

# stop_all NAME...: SIGTERM to each that runs, all at once, then waits for
# each (SIGKILL after 30 s).
stop_all() {
  local -A pids=()
  for s in "$@"; do
    if running "$s"; then
      pids[$s]=$(pid_of "$s")
      kill -TERM "${pids[$s]}"
    fi
    [ -n "${pids[$s]:-}" ] || rm -f "$dir/$s.pid"
  done
  local deadline=$((SECONDS + 30))
  for s in "$@"; do
    local pid=${pids[$s]:-}
    [ -n "$pid" ] || continue
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.05; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "$s: still running 30 s after SIGTERM; SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    echo "$s: stopped"
    rm -f "$dir/$s.pid"
  done
}

stop() {
  stop_all "${services[@]}"  # the services first, so that what they publish as they stop reaches the broker
  if [ "$broker" = rabbitmq ]; then
    stop_all rabbitmq
    # Its epmd outlives it; it is this DIR's alone.
    ERL_EPMD_PORT=$((rabbitmq_port + 20000)) epmd -kill > /dev/null 2>&1 || true
  else
    stop_all "${broker_nodes[@]}"
  fi
}

status() {
  for s in "${services[@]}"; do
    local port; port=$(port_of "$s")
    if running "$s"; then
      echo "$s (pid $(pid_of "$s")): $(curl -s "http://127.0.0.1:$port/health" || echo 'no answer')"
    else
      echo "$s: not running"
    fi
  done
  if [ "$broker" = rabbitmq ]; then
    if running rabbitmq; then echo "rabbitmq (pid $(pid_of rabbitmq)): amqp://127.0.0.1:$rabbitmq_port/"; else echo "rabbitmq: not running"; fi
  else
    for node in "${broker_nodes[@]}"; do
      if running "$node"; then echo "$node (pid $(pid_of "$node")): nats://127.0.0.1:$(port_of "$node")"; else echo "$node: not running"; fi
    done
  fi
}

case "$command" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) usage ;;
esac
