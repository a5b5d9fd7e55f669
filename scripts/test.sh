#!/usr/bin/env bash
# Sets up (packages, models, build) and runs every test (unit, CLI end-to-end, fuzz smoke).
#   scripts/test.sh [extra ctest arguments, e.g. -R Cli]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
cd "$root/build"
ctest --output-on-failure -j "$(nproc)" "$@"
