#!/usr/bin/env bash
# Builds everything with AddressSanitizer (with LeakSanitizer) and
# UndefinedBehaviorSanitizer (with float-cast-overflow) into build-asan/ (GCC,
# -O0 -g1, -Werror) and runs the ctest suite there, without the tests of the
# labels below. Fails when a test fails or when any process the tests started
# (chipd, chip, the tools) wrote a sanitizer report, even one whose exit code
# no test looked at. scripts/test.sh runs it after the plain suite;
# docs/RELIABILITY.md ("Sanitizers") says what runs, what is left out and why,
# and the measured times.
#
#   scripts/sanitize.sh [--build-dir DIR] [--build-only | --no-build] [ctest arguments...]
#
#   --build-dir DIR  build directory (default build-asan)
#   --build-only     configure and build, run nothing (scripts/test.sh builds
#                    this way while the plain suite runs)
#   --no-build       run the suite on what DIR holds, without building first
#   e.g. scripts/sanitize.sh -R integration:    (a subset of the tests)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

build_dir=build-asan
do_build=1
do_test=1
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir="$2"; shift 2 ;;
    --build-only) do_test=0; shift ;;
    --no-build) do_build=0; shift ;;
    *) break ;;
  esac
done
case "$build_dir" in /*) ;; *) build_dir="$root/$build_dir" ;; esac

# Labels left out of this run (the reasons are where the labels are given):
#   build-tree   builds and runs the plain build/ tree, not this one
#                (tests/CMakeLists.txt);
#   kill-cycles  SIGKILL-and-restart loops, 2 to 2.5 times slower under ASan,
#                whose code paths other tests reach (tests/sanitize/labels.cmake);
#   asan-pending five cluster tests not yet verified under ASan (same file).
# CHIP_SANITIZE_EXCLUDE_LABELS=build-tree runs the kill-cycles tests too.
exclude_labels=${CHIP_SANITIZE_EXCLUDE_LABELS-'build-tree|kill-cycles|asan-pending'}

t_start=$(date +%s)
# GCC's -fsanitize=undefined leaves out float-cast-overflow (a double beyond
# an integer type's range cast to it), which the pricing code has to avoid.
# Debug (no NDEBUG) at -O0 with line tables only (-g1, all that a report's
# stack needs): GCC compiles UBSan-instrumented code at -O1 about 2.5 times
# slower than at -O0, and the tests spend most of their time in the
# uninstrumented libraries (gRPC, RocksDB, libsodium) and in starting processes.
if [ "$do_build" = 1 ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" \
    -DCHIP_WERROR=ON -DCHIP_SANITIZE=address,undefined,float-cast-overflow >/dev/null
  # Only what the sanitized suite runs: the test binaries and the programs they
  # start. chip_crash (label kill-cycles, left out below) and the measurement
  # tool chip_apply_bench are not built here.
  cmake --build "$build_dir" -j "$(nproc)" --target ledger_tests wallet_tests integration_tests \
    node_tls_tests pricing_tests etcd_tests cluster_tests chip_tamper chipd chip
fi
t_built=$(date +%s)
echo "sanitize: build took $((t_built - t_start)) s"
if [ "$do_test" = 0 ]; then exit 0; fi
if [ ! -f "$build_dir/CTestTestfile.cmake" ]; then
  echo "sanitize: $build_dir holds no build; run without --no-build first" >&2
  exit 2
fi

# Every sanitized process writes its report to a file of its own
# (<log>.<pid>) rather than to stderr, which the integration tests send to
# log files of their temporary directories and delete.
logs="$build_dir/sanitizer-logs"
rm -rf "$logs"
mkdir -p "$logs"
export ASAN_OPTIONS="detect_leaks=1:check_initialization_order=1:strict_init_order=1:\
detect_stack_use_after_return=0:log_path=$logs/asan:log_exe_name=1"
export LSAN_OPTIONS="suppressions=$root/tests/sanitize/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan:log_exe_name=1"

rc=0
exclude=()
if [ -n "$exclude_labels" ]; then exclude=(-LE "$exclude_labels"); fi
(cd "$build_dir" && ctest --output-on-failure -j "$(nproc)" --timeout 900 "${exclude[@]}" "$@") ||
  rc=$?
t_tested=$(date +%s)
echo "sanitize: tests took $((t_tested - t_built)) s"

reports=$(find "$logs" -type f | sort)
if [ -n "$reports" ]; then
  echo "sanitize: $(echo "$reports" | wc -l) sanitizer report(s) in $logs:"
  for f in $reports; do
    echo "---- $f"
    head -80 "$f"
  done
  rc=1
fi
echo "sanitize: total $((t_tested - t_start)) s, exit $rc"
exit "$rc"
