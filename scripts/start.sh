#!/usr/bin/env bash
# Sets up (packages, models, build) and starts the service on the embedded default:
# `simkyc serve` with a SQLite store in ~/.local/share/simkyc (or $SIMKYC_DATA_DIR), listening on
# 127.0.0.1:8080, console at http://127.0.0.1:8080/.  With arguments it runs `simkyc ARGS...`
# instead, e.g. a one-shot verification:
#   scripts/start.sh verify --id-photo doc.jpg --live me.jpg --json
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
if [ $# -gt 0 ]; then
  exec "$root/build/simkyc" "$@"
fi
cat >&2 <<MSG
[start] API keys are needed to call the service (a key is printed once when made):
[start]   $root/build/simkyc keys create --operator my-operator --role clerk
[start] A one-shot check without the service:
[start]   $root/scripts/start.sh verify --id-photo $root/tests/data/faces/jolie-1.jpg --live $root/tests/data/faces/jolie-2.jpg
MSG
exec "$root/build/simkyc" --log-level info serve
