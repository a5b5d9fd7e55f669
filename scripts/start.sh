#!/usr/bin/env bash
# Sets up (packages, models, build) and runs simkyc.  With no arguments it runs a one-shot
# verification of two bundled sample photos; with arguments it runs `simkyc ARGS...`.
#   scripts/start.sh                       # sample verify
#   scripts/start.sh verify --id-photo A --live B --json
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
if [ $# -eq 0 ]; then
  set -- verify --id-photo "$root/tests/data/faces/jolie-1.jpg" --live "$root/tests/data/faces/jolie-2.jpg" --fmr 1e-3
fi
exec "$root/build/simkyc" "$@"
