#!/usr/bin/env bash
# Builds (via the set-up) and prints the benchmark table.  Extra arguments go to `simkyc bench`.
#   bash bench/run.sh [-n 30] [--json]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh" >/dev/null
echo "# $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u +%F)"
exec "$root/build/simkyc" bench "$@"
