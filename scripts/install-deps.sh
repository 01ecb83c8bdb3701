#!/usr/bin/env bash
# Installs the Debian packages ordersd builds and tests with, if any is missing.
# Uses sudo when not run as root. A second run installs nothing.
set -euo pipefail

PACKAGES=(
  g++ cmake make ccache pkg-config
  librocksdb-dev libboost-dev nlohmann-json3-dev
  libflatbuffers-dev flatbuffers-compiler
  doctest-dev libcli11-dev libjemalloc-dev
  libspdlog-dev libfmt-dev libssl-dev libcrypt-dev
  curl openssl jq util-linux
  libnats-dev nats-server
  librabbitmq-dev rabbitmq-server
  python3-yaml python3-jsonschema
  chromium
)
# scripts/check-packaging.sh checks packaging/ with these: systemd-analyze
# (systemd) and promtool (prometheus: about 19 MB to download, 96 MB installed
# with its few web assets; the lightest package that ships promtool). Best
# effort: when one cannot be installed, its check is skipped with a message.
OPTIONAL=(systemd prometheus)
# Benchmarks also need wrk, and gnuplot for bench/soak_plot.sh: `install-deps.sh --bench`.
# The fuzz targets (scripts/fuzz.sh) need clang and its runtimes (libFuzzer,
# ASan, UBSan): `install-deps.sh --fuzz`.
for option in "$@"; do
  case "$option" in
    --bench) PACKAGES+=(wrk gnuplot-nox) ;;
    --fuzz) PACKAGES+=(clang libclang-rt-14-dev) ;;
    *) echo "install-deps.sh: unknown option $option" >&2; exit 2 ;;
  esac
done

# Building the console (scripts/build-console.sh), linting api/openapi.yaml
# and the browser tests need node and npm: Debian's, unless the machine has
# them already. The browser tests drive Debian's chromium (above).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
missing=()
for pkg in "${PACKAGES[@]}"; do
  installed "$pkg" || missing+=("$pkg")
done
optional_missing=()
for pkg in "${OPTIONAL[@]}"; do
  installed "$pkg" || optional_missing+=("$pkg")
done
if ((${#missing[@]} == 0 && ${#optional_missing[@]} == 0)); then
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
if ((${#missing[@]} > 0)); then
  echo "installing: ${missing[*]}" >&2
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if ((${#optional_missing[@]} > 0)); then
  echo "installing (optional): ${optional_missing[*]}" >&2
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${optional_missing[@]}" ||
    echo "install-deps.sh: could not install ${optional_missing[*]}; their checks will be skipped" >&2
fi
