#!/usr/bin/env bash
# The second README command: install what is missing, check formatting and
# the include directions between folders (scripts/check-includes.sh),
# build with warnings as errors, run every test with ctest; then the suite
# again built with AddressSanitizer and UndefinedBehaviorSanitizer
# (scripts/sanitize.sh, build-asan/), then the fuzz regression inputs and a
# short run of every fuzz target (scripts/fuzz.sh, build-fuzz/). The sanitized
# tree builds in the background of the plain suite and the fuzz targets in
# the background of the sanitized suite. Each step prints its wall time;
# docs/RELIABILITY.md ("What CI runs") has the figures.
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

# A build in the background at the lowest CPU priority (nice 19), while a
# suite runs in the foreground: a suite leaves a sixth to a third of the two
# cores idle (it waits on processes, sockets and fsyncs), and a nice-19
# compiler gets only what the tests leave, so the tests run as they would
# alone. background NAME COMMAND... starts one; finish NAME waits for it and
# prints its log.
declare -A bg_pid bg_log bg_t0
# A failing step ends the script; a build still running in the background is
# stopped with it (setsid gives it a process group of its own).
stop_background() {
  local p
  for p in "${bg_pid[@]}"; do kill -- "-$p" 2>/dev/null || true; done
}
trap stop_background EXIT
background() {
  local name="$1"
  shift
  bg_log[$name]=$(mktemp "${TMPDIR:-/tmp}/chiptest-$name.XXXXXX")
  bg_t0[$name]=$(date +%s)
  echo "test: == $name started in the background (nice 19)"
  setsid nice -n 19 "$@" >"${bg_log[$name]}" 2>&1 &
  bg_pid[$name]=$!
}
finish() {
  local name="$1" rc=0 t0
  t0=$(date +%s)
  wait "${bg_pid[$name]}" || rc=$?
  unset "bg_pid[$name]"
  cat "${bg_log[$name]}"
  rm -f "${bg_log[$name]}"
  if [ "$rc" != 0 ]; then
    echo "test: == $name FAILED (exit $rc)"
    return "$rc"
  fi
  echo "test: == $name passed in $(($(date +%s) - bg_t0[$name])) s" \
    "(waited $(($(date +%s) - t0)) s for it)"
}

step install-deps bash scripts/install-deps.sh
step check-format bash scripts/check-format.sh
step check-includes bash scripts/check-includes.sh
step build bash scripts/build.sh
background sanitizer-build bash scripts/sanitize.sh --build-only
step tests run_suite
finish sanitizer-build
background fuzz-build bash scripts/fuzz.sh --build-only
step sanitizers bash scripts/sanitize.sh --no-build
finish fuzz-build
step fuzz bash scripts/fuzz.sh --seconds 10
