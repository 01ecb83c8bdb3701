#!/usr/bin/env bash
# Renders soak_bench's CSV to a PNG (800x500): the server's RSS, the WAL and
# the data directory's size, and orders settled per second, over time.
# Installs gnuplot-nox when it is missing (scripts/install-deps.sh --bench).
#
# Usage: bench/soak_plot.sh soak.csv soak.png [title]
set -euo pipefail
csv=${1:?usage: soak_plot.sh CSV PNG [TITLE]}
png=${2:?usage: soak_plot.sh CSV PNG [TITLE]}
title=${3:-ordersd soak: $(($(wc -l <"$csv") - 1)) s}

if ! command -v gnuplot >/dev/null 2>&1; then
  bash "$(dirname "$0")/../scripts/install-deps.sh" --bench
fi

gnuplot <<GNUPLOT
set terminal pngcairo size 800,500 font "sans,9"
set output "$png"
set datafile separator ","
set key top left
set multiplot layout 2,1 title "$title"
set lmargin 10
set rmargin 10
set ylabel "MB"
set y2label "orders settled"
set y2tics
set ytics nomirror
set format y2 "%.0s%c"
set grid
plot "$csv" using 1:5 with lines lw 2 title "RSS", \
     "$csv" using 1:7 with lines lw 2 title "WAL", \
     "$csv" using 1:6 with lines lw 2 title "data dir", \
     "$csv" using 1:3 axes x1y2 with lines dt 2 lc rgb "gray40" title "settled (right)"
unset y2label
unset y2tics
set ytics mirror
set xlabel "seconds"
set ylabel "orders/s"
plot "$csv" using 1:4 with lines lc rgb "dark-green" title "orders settled per second"
unset multiplot
GNUPLOT
echo "$png"
