#!/usr/bin/env bash
# scripts/fuzz.sh — builds and runs the libFuzzer targets tests/fuzz/fuzz_*.cpp.
#
#   scripts/fuzz.sh --build [TARGET...]         build (only what changed) into build-fuzz/
#   scripts/fuzz.sh --smoke [TARGET...]         build, then run all targets ~30 s in total
#   scripts/fuzz.sh --long SECONDS [TARGET...]  build, then run each target SECONDS seconds
#   scripts/fuzz.sh TARGET SECONDS              the same as --long SECONDS TARGET
#   scripts/fuzz.sh --list                      print the targets
#
# TARGET is a name such as fuzz_mrz; default all of tests/fuzz/fuzz_*.cpp.  Each target is built
# with clang++-14 -fsanitize=fuzzer,address,undefined from the sources its line in the TARGETS
# table below declares.  A target is rebuilt only when its compiler command or the content of any
# file it depends on (sources, and the headers they include) changed, so running the script again
# is cheap.  A run starts from the seed corpus tests/fuzz/corpus/NAME/ (NAME = target without
# "fuzz_"); new inputs go to build-fuzz/corpus/TARGET/ (--long, kept) or a temporary directory
# (--smoke), never into the repo.  Any finding (crash, sanitizer report, leak, timeout, OOM)
# makes the script exit 1; the input is saved under build-fuzz/artifacts/TARGET/.
#
# Environment: FUZZ_CXX (default clang++-14), SIMKYC_FUZZ_DIR (default <repo>/build-fuzz),
# SIMKYC_FUZZ_SMOKE_SECONDS (default 30, shared by all targets).
set -euo pipefail

# target | sources (globs relative to the repo; the target's own .cpp is added) | pkg-config
# modules | extra libFuzzer options | extra link options
#
# fuzz_api_body and fuzz_http include src/api/server.cpp to reach its request-body helpers (they
# sit in an anonymous namespace).  The route table and service methods they never call refer to
# the model stages, which a fuzz build does not compile: the link drops unreached code
# (--gc-sections) and lets the references it cannot drop stay unresolved (non-PIE, so they are
# address 0: a call would crash and be reported as a finding, never pass silently).
API_SRC='src/core/*.cpp src/image/*.cpp src/document/id_number.cpp src/document/regions.cpp src/document/mrz.cpp src/registry/service.cpp src/registry/store.cpp src/api/metrics.cpp src/api/guarded_server.cpp'
API_PKG='opencv4 libwebp libopenjp2 libturbojpeg libpng zlib libsodium cpp-httplib spdlog fmt openssl'
API_LINK='-no-pie -Wl,--gc-sections -Wl,--unresolved-symbols=ignore-in-object-files'
TARGETS="
fuzz_id_number | src/core/reason.cpp src/core/result.cpp src/document/id_number.cpp src/document/regions.cpp | | -max_len=64 |
fuzz_mrz       | src/core/reason.cpp src/core/result.cpp src/document/id_number.cpp src/document/regions.cpp src/document/mrz.cpp | | -max_len=256 |
fuzz_image     | src/core/*.cpp src/image/*.cpp | opencv4 libwebp libopenjp2 libturbojpeg libpng zlib libsodium | |
fuzz_api_body  | $API_SRC | $API_PKG | -max_len=4096 | $API_LINK
fuzz_http      | $API_SRC | $API_PKG | -max_len=8192 | $API_LINK
"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${SIMKYC_FUZZ_DIR:-$ROOT/build-fuzz}
CXX=${FUZZ_CXX:-clang++-14}
SMOKE_SECONDS=${SIMKYC_FUZZ_SMOKE_SECONDS:-30}
# shellcheck disable=SC2054  # the commas belong to -fsanitize=
CXXFLAGS_FUZZ=(-std=c++20 -g -O1 -fno-omit-frame-pointer
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
  -Wall -Wextra -Wno-unused-parameter -I"$ROOT/src")

usage() { sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2; }
die() { echo "fuzz.sh: $*" >&2; exit 1; }

# Prints field $2 (1-based) of the table line for target $1; fails if there is no line.
table_field() {
  local line
  line=$(printf '%s\n' "$TARGETS" | awk -F'|' -v t="$1" '{n=$1; gsub(/ /,"",n)} n==t {print; exit}')
  [[ -n "$line" ]] || return 1
  printf '%s\n' "$line" | awk -F'|' -v f="$2" '{x=$f; gsub(/^ +| +$/,"",x); print x}'
}

all_targets() {
  local f
  for f in "$ROOT"/tests/fuzz/fuzz_*.cpp; do
    [[ -e "$f" ]] && basename "$f" .cpp
  done
}

# Builds target $1 into $OUT/$1 unless it is up to date.
build_target() {
  local t=$1 globs pkgs src=() g f cflags=() libs=() deps dep_list=() pkg_list=() stamp
  globs=$(table_field "$t" 2) ||
    die "$t has no line in the TARGETS table of scripts/fuzz.sh: add its sources there"
  pkgs=$(table_field "$t" 3)
  local link_opts
  link_opts=$(table_field "$t" 5)
  (
    cd "$ROOT"
    shopt -s nullglob
    for g in $globs; do
      for f in $g; do src+=("$ROOT/$f"); done
    done
    src+=("$ROOT/tests/fuzz/$t.cpp")
    cflags=("${CXXFLAGS_FUZZ[@]}")
    if [[ -n "$link_opts" ]]; then
      local lo=()
      read -r -a lo <<< "$link_opts"
      cflags+=(-ffunction-sections -fdata-sections)
      libs+=("${lo[@]}")
    fi
    if [[ -n "$pkgs" ]]; then
      local pc pc_flags=()
      read -r -a pkg_list <<< "$pkgs"
      pc=$(pkg-config --cflags "${pkg_list[@]}") || die "pkg-config --cflags $pkgs failed"
      read -r -a pc_flags <<< "$pc"
      cflags+=("${pc_flags[@]}")
      pc=$(pkg-config --libs "${pkg_list[@]}") || die "pkg-config --libs $pkgs failed"
      local pc_libs=()
      read -r -a pc_libs <<< "$pc"
      libs+=("${pc_libs[@]}")
    fi
    # Everything the result depends on: the command, the compiler, and each source and header
    # the preprocessor reaches (outside system directories).
    deps=$("$CXX" -MM "${cflags[@]}" "${src[@]}" | sed -e 's/[\\]$//' | tr ' ' '\n' |
             grep -v ':$' | grep . | sort -u) ||
      die "$t: dependency scan failed (a source does not preprocess)"
    mapfile -t dep_list <<< "$deps"
    stamp=$({ "$CXX" --version | head -n1; printf '%s\n' "${cflags[@]}" "${libs[@]}" "${src[@]}"
              sha256sum "${dep_list[@]}"; } | sha256sum | cut -d' ' -f1)
    if [[ -x "$OUT/$t" && -f "$OUT/$t.stamp" && "$(cat "$OUT/$t.stamp")" == "$stamp" ]]; then
      echo "fuzz.sh: $t is up to date"
      exit 0
    fi
    echo "fuzz.sh: building $t (${#src[@]} sources)"
    "$CXX" "${cflags[@]}" "${src[@]}" -o "$OUT/$t.tmp.$$" "${libs[@]}" || die "$t: build failed"
    mv -f "$OUT/$t.tmp.$$" "$OUT/$t"
    echo "$stamp" > "$OUT/$t.stamp"
  )
}

# Runs target $1 for $2 seconds; exits non-zero on a finding.
run_target() {
  local t=$1 secs=$2 mode=$3 seed="$ROOT/tests/fuzz/corpus/${1#fuzz_}" work opts log rc
  opts=$(table_field "$t" 4)
  mkdir -p "$OUT/artifacts/$t" "$OUT/logs"
  if [[ "$mode" == long ]]; then
    work="$OUT/corpus/$t"
    mkdir -p "$work"
  else
    work=$(mktemp -d "$OUT/smoke.$t.XXXXXX")
  fi
  log="$OUT/logs/$t.$mode.log"
  local dirs=("$work")
  [[ -d "$seed" ]] && dirs+=("$seed")
  echo "fuzz.sh: running $t for ${secs}s"
  rc=0
  # shellcheck disable=SC2086
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$OUT/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$OUT/artifacts/$t/" $opts "${dirs[@]}" > "$log" 2>&1 || rc=$?
  [[ "$mode" == long ]] || rm -rf "$work"
  local execs
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  if [[ $rc -ne 0 ]]; then
    echo "fuzz.sh: $t FOUND A PROBLEM (exit $rc); log $log; inputs in $OUT/artifacts/$t/" >&2
    tail -n 40 "$log" >&2
    return 1
  fi
  echo "fuzz.sh: $t ok: ${execs:-?} executions in ${secs}s, no findings"
}

[[ $# -ge 1 ]] || usage
mode=$1
shift
secs=0
case "$mode" in
  --list) all_targets; exit 0 ;;
  --build) ;;
  --smoke) ;;
  --long)
    [[ $# -ge 1 && "$1" =~ ^[0-9]+$ && "$1" -gt 0 ]] || die "--long needs a number of seconds"
    secs=$1
    shift
    ;;
  -h|--help) usage ;;
  fuzz_*)
    # TARGET SECONDS
    [[ $# -eq 1 && "$1" =~ ^[0-9]+$ && "$1" -gt 0 ]] || die "usage: fuzz.sh TARGET SECONDS"
    secs=$1
    set -- "$mode"
    mode=--long
    ;;
  *) usage ;;
esac

if [[ $# -gt 0 ]]; then
  targets=("$@")
  for t in "${targets[@]}"; do
    [[ -f "$ROOT/tests/fuzz/$t.cpp" ]] || die "no such target: $t (tests/fuzz/$t.cpp)"
  done
else
  mapfile -t targets < <(all_targets)
fi
[[ ${#targets[@]} -gt 0 ]] || die "no targets in tests/fuzz/"
command -v "$CXX" > /dev/null || die "$CXX not found (apt-get install clang-14)"

mkdir -p "$OUT"
# One build at a time (several build trees may run the smoke test at once).
exec 9> "$OUT/.lock"
flock 9
for t in "${targets[@]}"; do build_target "$t"; done
flock -u 9

failed=0
case "$mode" in
  --build) exit 0 ;;
  --smoke)
    per=$(( SMOKE_SECONDS / ${#targets[@]} ))
    (( per >= 3 )) || per=3
    for t in "${targets[@]}"; do run_target "$t" "$per" smoke || failed=1; done
    ;;
  --long)
    for t in "${targets[@]}"; do run_target "$t" "$secs" long || failed=1; done
    ;;
esac
exit $failed
