#!/usr/bin/env bash
# scripts/sanitize.sh — the tests again under sanitizers (issue 16); scripts/test.sh runs both.
#
#   scripts/sanitize.sh asan [extra ctest arguments]   ASan + UBSan build in build-asan/: unit and
#                                                      integration tests (the simkyc binary the
#                                                      CLI and API tests start is instrumented too)
#   scripts/sanitize.sh tsan [extra ctest arguments]   TSan build in build-tsan/: the concurrency
#                                                      tests (threads in the test or in `serve`)
#
# Not run under ASan (ASAN_EXCLUDE): the model-evaluation tests that decode and run networks over
# many real photos (Dnn, FaceAnalysis, Detector, Liveness*, FusionFit, Calibration): they are
# 5-20x slower instrumented, the code they exercise is the third-party inference (OpenCV dnn,
# dlib, XNNPACK), not instrumented anyway, and the same stages are reached by the API tests'
# full flows, which do run here.  The fuzz smoke and the browser test run in the normal build.
# A sanitizer report fails the test that produced it (halt_on_error / abort_on_error).
# Environment: SIMKYC_SANITIZE_JOBS (default nproc).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
kind=${1:-}
shift || true
jobs=${SIMKYC_SANITIZE_JOBS:-$(nproc)}

ASAN_EXCLUDE='^(Dnn|FaceAnalysis|Detector|Liveness[A-Za-z]*|FusionFit|FusionModel|Calibration|Models|PairList)\.|^fuzz_smoke$|^web_console$'
TSAN_INCLUDE='^(SlowClients\.|Api\.NumberLimitHoldsUnderSixteenConcurrentClients|Api\.KillDashNine|Store\..*(Concurrent|Thread|Parallel)|Crypto\..*(Concurrent|Thread|Parallel))'

case "$kind" in
  asan)
    dir="$root/build-asan"
    flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
    select=(-E "$ASAN_EXCLUDE")
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    ;;
  tsan)
    dir="$root/build-tsan"
    flags="-fsanitize=thread -fno-omit-frame-pointer"
    select=(-R "$TSAN_INCLUDE")
    export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$root/tests/tsan.supp}
    ;;
  -h|--help|*) sed -n 2,17p "$0" | sed 's/^# \{0,1\}//'; [[ "$kind" == -h || "$kind" == --help ]] && exit 0; exit 2 ;;
esac

say() { printf '[sanitize %s] %s\n' "$kind" "$*" >&2; }
start=$(date +%s)
if [[ ! -f "$dir/CMakeCache.txt" ]]; then
  say "configuring $dir"
  cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIMKYC_WERROR=OFF \
    -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_C_FLAGS="$flags" \
    -DCMAKE_EXE_LINKER_FLAGS="$flags" -DCMAKE_SHARED_LINKER_FLAGS="$flags" > /dev/null
fi
say "building simkyc and simkyc_tests (log: $dir/build.log)"
if ! cmake --build "$dir" -j "$jobs" --target simkyc simkyc_tests > "$dir/build.log" 2>&1; then
  grep -E 'error|Error' "$dir/build.log" | head -40 >&2
  say "build failed; see $dir/build.log"
  exit 1
fi
built=$(date +%s)
say "built in $((built - start)) s; running ctest ${select[*]}"
cd "$dir"
ctest --output-on-failure -j "$jobs" "${select[@]}" "$@"
say "tests took $(($(date +%s) - built)) s"
