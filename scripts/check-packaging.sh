#!/usr/bin/env bash
# Checks packaging/ with the tools that read it: the systemd unit
# (systemd-analyze verify), the Prometheus alert rules (promtool) and the
# Grafana dashboard (jq). A check whose tool is missing (install-deps.sh
# could not install it) is skipped with a message; any other failure exits 1.
# Which metrics the rules and the dashboard name is checked by ctest
# (packaging_test), against a real server.
#
#   scripts/check-packaging.sh [BINARY]   BINARY: the built ordersd (build/ordersd)
set -euo pipefail
cd "$(dirname "$0")/.."
binary="$(realpath "${1:-build/ordersd}")"
failed=0

# The unit runs /usr/bin/ordersd, which need not exist here: verify a copy
# whose ExecStart names the built binary, everything else as written.
if command -v systemd-analyze >/dev/null 2>&1; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  sed "s|^ExecStart=/usr/bin/ordersd |ExecStart=$binary |" packaging/ordersd.service >"$tmp/ordersd.service"
  if ! grep -q "^ExecStart=$binary " "$tmp/ordersd.service"; then
    echo "packaging/ordersd.service: ExecStart does not run /usr/bin/ordersd" >&2
    failed=1
  # Unknown keys are only warnings for systemd-analyze: any output fails.
  elif ! out="$(cd "$tmp" && systemd-analyze verify ordersd.service 2>&1)" || [ -n "$out" ]; then
    echo "packaging/ordersd.service: systemd-analyze verify failed:" >&2
    echo "$out" >&2
    failed=1
  else
    echo "packaging/ordersd.service: systemd-analyze verify ok"
  fi
else
  echo "packaging/ordersd.service: SKIPPED, systemd-analyze is not installed (package systemd)"
fi

if command -v promtool >/dev/null 2>&1; then
  if promtool check rules packaging/prometheus/ordersd-rules.yml; then
    echo "packaging/prometheus/ordersd-rules.yml: promtool check rules ok"
  else
    failed=1
  fi
else
  echo "packaging/prometheus/ordersd-rules.yml: SKIPPED, promtool is not installed (package prometheus)"
fi

if command -v jq >/dev/null 2>&1; then
  if jq -e '.panels | length > 0' packaging/grafana/ordersd-dashboard.json >/dev/null; then
    echo "packaging/grafana/ordersd-dashboard.json: valid JSON"
  else
    echo "packaging/grafana/ordersd-dashboard.json: not valid JSON, or no panels" >&2
    failed=1
  fi
else
  echo "packaging/grafana/ordersd-dashboard.json: SKIPPED, jq is not installed"
fi
exit "$failed"
