#!/usr/bin/env bash
# Renders the server CPU per order by thread role from saga_bench --json
# runs as stacked bars (800x450 PNG): one bar per run and phase (placement
# alone, end to end, open loop), so two builds measured in one sitting
# (saga_bench --binary) can be seen side by side.
# Installs gnuplot-nox when it is missing (scripts/install-deps.sh --bench).
#
# Usage: bench/cpu_roles_plot.sh OUT.png LABEL=run.json [LABEL=run.json ...]
#   e.g. bench/cpu_roles_plot.sh cpu.png before=base.json after=new.json
set -euo pipefail
png=${1:?usage: cpu_roles_plot.sh OUT.png LABEL=run.json ...}
shift
[ $# -ge 1 ] || { echo "usage: cpu_roles_plot.sh OUT.png LABEL=run.json ..." >&2; exit 2; }
if ! command -v gnuplot >/dev/null 2>&1; then
  bash "$(dirname "$0")/../scripts/install-deps.sh" --bench
fi
data=$(mktemp)
trap 'rm -f "$data"' EXIT
# One row per (phase, run): the label, then µs per order for each role.
python3 - "$data" "$@" <<'PY'
import json, sys
out, runs = sys.argv[1], sys.argv[2:]
roles = ["http", "log-writer", "log-syncer", "saga", "payment", "inventory", "shipping",
         "projectors", "rocksdb background", "other"]
phases = [("placement_only", "placing"), ("end_to_end", "end to end"), ("open_loop", "open loop")]
with open(out, "w") as f:
    f.write("run\t" + "\t".join(r.replace(" ", "_") for r in roles) + "\n")
    for key, name in phases:
        for arg in runs:
            label, path = arg.split("=", 1)
            cpu = json.load(open(path))["server_cpu_us_per_order"][key]
            f.write(f"\"{name}\\n{label}\"\t" + "\t".join(f"{cpu.get(r, 0):.2f}" for r in roles) + "\n")
        f.write("\"\"\t" + "\t".join("0" for _ in roles) + "\n")  # a gap between phases
PY
gnuplot <<GNUPLOT
set terminal pngcairo size 900,480 font "sans,9" noenhanced
set output "$png"
set title "ordersd: server CPU per order by thread role (saga_bench, µs)"
set style data histograms
set style histogram rowstacked
set style fill solid 0.85 border -1
set boxwidth 0.7
set key outside right top vertical
set ylabel "µs of server CPU per order"
set yrange [0:*]
set grid ytics
set bmargin 4
set datafile separator "\t"
colors = "#8e44ad #16a085 #5dade2 #f39c12 #f7dc6f #2e86c1 #e74c3c #2c3e50 #a04000 #95a5a6"
plot for [i=2:11] "$data" using i:xtic(1) title columnheader(i) linecolor rgb word(colors, i-1)
GNUPLOT
echo "wrote $png"
