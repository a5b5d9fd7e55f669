#!/usr/bin/env bash
# Service load benchmark: verifications per second, p50/p99 and errors through `simkyc serve` on
# loopback (full flow: session, consent, document, live), next to the in-process figure measured
# in the same run.  Bounded in time; talks only to 127.0.0.1.
#   bash bench/load.sh [--seconds 20] [--clients 4] [--json]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh" >/dev/null
exec "$root/build/simkyc" loadtest "$@"
