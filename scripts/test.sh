#!/usr/bin/env bash
# The second README command: install what is missing, check formatting and
# the include directions between folders (scripts/check-includes.sh),
# build with warnings as errors, run every test with ctest; then the suite
# again built with AddressSanitizer and UndefinedBehaviorSanitizer
# (scripts/sanitize.sh, build-asan/), then the fuzz regression inputs and a
# short run of every fuzz target (scripts/fuzz.sh, build-fuzz/). Each step
# prints its wall time; docs/RELIABILITY.md ("What CI runs") has the figures.
# The steps run one after another: building the sanitized tree at nice 19
# beside the plain suite made that suite 204 s instead of 137 s on 2 cores
# while the build gained less than that (the suite keeps both cores busy).
set -euo pipefail
cd "$(dirname "$0")/.."
step() {  # step NAME COMMAND...: runs a step and reports its wall time
  local name="$1" t0
  shift
  t0=$(date +%s)
  echo "test: == $name"
  "$@"
  echo "test: == $name passed in $(($(date +%s) - t0)) s"
}
# Twice the cores: the suite waits on processes and sockets much of the time
# (-j4 on 2 cores: 138 s against 165 s at -j2, same machine).
run_suite() { (cd build && ctest --output-on-failure -j "$(($(nproc) * 2))" --timeout 900); }

step install-deps bash scripts/install-deps.sh
step check-format bash scripts/check-format.sh
step check-includes bash scripts/check-includes.sh
step build bash scripts/build.sh
step tests run_suite
step sanitizers bash scripts/sanitize.sh
step fuzz bash scripts/fuzz.sh --seconds 10
