#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with clang (ASan + UBSan), replays
# the inputs of tests/fuzz/regressions/ on their targets, and runs each target
# for N seconds over a temporary copy of its seed corpus, so the checked-in
# corpus never grows. Fails when a regression input or a target crashes;
# prints per target the executions, exec/s, coverage (libFuzzer's cov: and
# ft:) and crashes. scripts/test.sh runs it (10 s per target); docs/RELIABILITY.md
# ("Fuzzing") describes the targets and a longer run.
#
#   scripts/fuzz.sh [--seconds N] [--build-dir DIR] [--jobs N] [--build-only] [TARGET...]
#
#   --seconds N      run time per target (default 10)
#   --build-dir DIR  clang build directory (default build-fuzz); configured
#                    only when it has no build files yet
#   --jobs N         targets fuzzed at the same time (default: number of cores)
#   --build-only     configure and build the targets, run nothing
#   TARGET...        a subset of the targets (default: all)
#
# A crash leaves its input, and for fuzz_apply the inputs of its epoch (see
# fuzz_apply.cc), in DIR/fuzz-artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=10
build_dir=build-fuzz
jobs=$(nproc)
build_only=0
targets=()
all_targets=(fuzz_tx fuzz_address_amount fuzz_genesis fuzz_config fuzz_proofs fuzz_pricing_csv
  fuzz_apply)

while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --build-dir) build_dir="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --build-only) build_only=1; shift ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
case "$seconds" in ''|*[!0-9]*) echo "fuzz: --seconds takes a whole number" >&2; exit 2 ;; esac

t_start=$(date +%s)
if [ ! -f "$build_dir/build.ninja" ]; then
  echo "fuzz: configuring $build_dir (clang-14, CHIP_FUZZ=ON)"
  CC=clang-14 CXX=clang++-14 cmake -S . -B "$build_dir" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
    -DCHIP_FUZZ=ON -DBUILD_TESTING=OFF >/dev/null
elif ! grep -q '^CHIP_FUZZ:BOOL=ON' "$build_dir/CMakeCache.txt"; then
  echo "fuzz: $build_dir is not a CHIP_FUZZ build; pick another --build-dir" >&2
  exit 2
fi
cmake --build "$build_dir" -j "$(nproc)" --target fuzz_targets
t_built=$(date +%s)
echo "fuzz: build took $((t_built - t_start)) s"
if [ "$build_only" = 1 ]; then exit 0; fi

work=$(mktemp -d "${TMPDIR:-/tmp}/chipfuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
artifacts="$build_dir/fuzz-artifacts"
# fuzz_apply's RocksDB stores go to tmpfs when there is one: creating a
# store syncs several files, slower on a disk.
store_tmp="${TMPDIR:-/tmp}"
if [ -d /dev/shm ] && [ -w /dev/shm ]; then store_tmp=/dev/shm; fi

run_target() {
  local t="$1" dir="$work/$1"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  if [ -d "tests/fuzz/corpus/$t" ]; then cp tests/fuzz/corpus/"$t"/* "$dir/corpus/"; fi
  local extra=()
  if [ "$t" = fuzz_apply ]; then extra=(-detect_leaks=0); fi
  local rc=0
  CHIP_FUZZ_EPOCH_DIR="$dir/epoch" TMPDIR="$store_tmp" \
    "$build_dir/tests/fuzz/$t" -max_total_time="$seconds" -timeout=60 -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/" "${extra[@]}" "$dir/corpus" >"$dir/log" 2>&1 || rc=$?
  echo "$rc" >"$dir/rc"
}

for t in "${targets[@]}"; do
  if [ ! -x "$build_dir/tests/fuzz/$t" ]; then echo "fuzz: no target $t" >&2; exit 2; fi
done

# First each target replays the inputs that once showed a bug
# (tests/fuzz/regressions/<target>-*): fixed bugs must stay fixed. Those of
# bugs still open pass here (the target skips them unless CHIP_FUZZ_STRICT=1).
replayed=0
for t in "${targets[@]}"; do
  inputs=(tests/fuzz/regressions/"$t"-*)
  [ -e "${inputs[0]}" ] || continue
  extra=()
  if [ "$t" = fuzz_apply ]; then extra=(-detect_leaks=0); fi
  if ! TMPDIR="$store_tmp" "$build_dir/tests/fuzz/$t" "${extra[@]}" "${inputs[@]}" \
      >"$work/$t.regressions.log" 2>&1; then
    mkdir -p "$artifacts/$t"
    cp "$work/$t.regressions.log" "$artifacts/$t/regressions.log"
    echo "---- $t failed on a regression input; log: $artifacts/$t/regressions.log"
    grep -av '^#[0-9]\|^INFO:' "$work/$t.regressions.log" | head -60
    exit 1
  fi
  replayed=$((replayed + ${#inputs[@]}))
done
echo "fuzz: replayed $replayed regression inputs"

# Runs the targets, `jobs` at a time.
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 0.2; done
  run_target "$t" &
done
wait

failed=0
for t in "${targets[@]}"; do
  dir="$work/$t"
  rc=$(cat "$dir/rc")
  final_stat() { sed -n "s/^stat::$1: *//p" "$dir/log" | tail -1; }
  execs=$(final_stat number_of_executed_units)
  rate=$(final_stat average_exec_per_sec)
  done_line=$(grep -a 'DONE' "$dir/log" | tail -1 || true)
  [ -n "$done_line" ] || done_line=$(grep -aE '^#[0-9]+' "$dir/log" | tail -1 || true)
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$done_line")
  ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$done_line")
  crashes=0
  if [ "$rc" != 0 ]; then
    crashes=1
    failed=1
    mkdir -p "$artifacts/$t"
    cp -r "$dir/artifacts/." "$artifacts/$t/" 2>/dev/null || true
    if [ -d "$dir/epoch" ]; then cp -r "$dir/epoch" "$artifacts/$t/epoch"; fi
    cp "$dir/log" "$artifacts/$t/log"
    echo "---- $t (exit $rc): its report; the whole log is $artifacts/$t/log"
    awk '/==[0-9]+==|runtime error|fuzz property failed|invariant failed|deadly signal|ALARM|out-of-memory/ {p = 1} p' \
      "$dir/log" | grep -av '^#[0-9]' | head -60
  fi
  printf '%-20s executions: %-9s exec/s: %-7s cov: %-6s ft: %-6s crashes: %s\n' \
    "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$crashes"
done
echo "fuzz: ${#targets[@]} targets, ${seconds} s each, total $(( $(date +%s) - t_start )) s"
exit "$failed"
