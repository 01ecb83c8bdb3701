#!/usr/bin/env bash
# Renders soak_bench's CSV to a PNG (800x500): the server's RSS and the WAL
# (MB, left axis) and the data directory (GB, right axis) above, orders
# settled per second below, over time.
# Installs gnuplot-nox when it is missing (scripts/install-deps.sh --bench).
#
# Usage: bench/soak_plot.sh soak.csv soak.png [title]
set -euo pipefail
csv=${1:?usage: soak_plot.sh CSV PNG [TITLE]}
png=${2:?usage: soak_plot.sh CSV PNG [TITLE]}
last=$(tail -n 1 "$csv")
default_title="ordersd soak: $(cut -d, -f3 <<<"$last") orders settled in $(cut -d, -f1 <<<"$last") s"
title=${3:-$default_title}

if ! command -v gnuplot >/dev/null 2>&1; then
  bash "$(dirname "$0")/../scripts/install-deps.sh" --bench
fi

gnuplot <<GNUPLOT
set terminal pngcairo size 800,500 font "sans,9"
set output "$png"
set datafile separator ","
set key top left opaque
set multiplot layout 2,1 title "$title"
set lmargin 10
set rmargin 10
set grid
set ylabel "MB"
set yrange [0:*]
set offsets 0, 0, graph 0.3, 0
set y2label "GB"
set y2range [0:*]
set y2tics
set ytics nomirror
plot "$csv" using 1:5 with lines lw 2 title "RSS (MB)", \
     "$csv" using 1:7 with lines lw 1.5 title "WAL, *.log (MB)", \
     "$csv" using 1:(\$6/1024) axes x1y2 with lines lw 1.5 dt 2 title "data directory (GB, right)"
unset y2label
unset y2tics
set ytics mirror
set offsets 0, 0, graph 0.15, 0
set xlabel "seconds"
set ylabel "orders/s"
plot "$csv" using 1:4 with lines lc rgb "dark-green" title "orders settled per second"
unset multiplot
GNUPLOT
echo "$png"
