#!/usr/bin/env bash
# Sets up (packages, models, build) and runs every test (unit, CLI end-to-end, fuzz smoke).
#   scripts/test.sh [extra ctest arguments, e.g. -R Cli]
# With SIMKYC_SANITIZERS=1 it then runs the tests again under ASan+UBSan and the concurrency tests
# under TSan (scripts/sanitize.sh); not yet the default: that run has not been measured (issue 16).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
cd "$root/build"
ctest --output-on-failure -j "$(nproc)" "$@"
if [ "${SIMKYC_SANITIZERS:-0}" = 1 ]; then
  bash "$root/scripts/sanitize.sh" asan "$@"
  bash "$root/scripts/sanitize.sh" tsan "$@"
fi
