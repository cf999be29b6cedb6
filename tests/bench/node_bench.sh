#!/usr/bin/env bash
# Closed-loop and offered-load chip bench runs against one fresh `chipd dev`,
# for before/after comparisons of the node's transaction path. Prints one
# line per run (workload, clients, batch, rate, tx/s, p50, p99, node us/tx).
#
#   CHIPD=build/node/chipd CHIP=build/cli/chip tests/bench/node_bench.sh
#   RUNS="uniform:64:100 hot:64:100 jobs:32:100 uniform:64:50@20000" SECS=10 ...
#
# RUNS entries are workload:clients:batch[@rate]. BENCH_NICE (default 0, -20
# as root on a shared machine) applies to both processes. KEEP=1 leaves the
# data directory for inspection.
set -euo pipefail

chipd=${CHIPD:-build/node/chipd}
chip=${CHIP:-build/cli/chip}
runs=${RUNS:-"uniform:64:100 hot:64:100 jobs:32:100"}
secs=${SECS:-10}
accounts=${ACCOUNTS:-10000}
nice=${BENCH_NICE:-0}
presign_rate=${PRESIGN_RATE:-40000}

tmp=$(mktemp -d /tmp/chip-node-bench.XXXXXX)
chipd_pid=""
cleanup() {
  [[ -n $chipd_pid ]] && kill "$chipd_pid" 2>/dev/null && wait "$chipd_pid" 2>/dev/null || true
  [[ -n ${KEEP:-} ]] || rm -rf "$tmp"
}
trap cleanup EXIT

nice -n "$nice" "$chipd" dev --data-dir "$tmp/chain" --wallet "$tmp/wallet" --listen 127.0.0.1:0 \
  --no-metrics --log-level warn >"$tmp/chipd.out" 2>"$tmp/chipd.err" &
chipd_pid=$!
addr=""
for _ in $(seq 1 300); do
  addr=$(sed -n 's/^  gRPC *\(127\.0\.0\.1:[0-9]*\)$/\1/p' "$tmp/chipd.out")
  [[ -n $addr ]] && break
  kill -0 "$chipd_pid" 2>/dev/null || { echo "chipd exited: $(tail -5 "$tmp/chipd.err")" >&2; exit 1; }
  sleep 0.1
done
[[ -n $addr ]] || { echo "chipd did not start" >&2; exit 1; }

field() { sed -n "s/.*\"$2\":\([0-9.eE+-]*\).*/\1/p" "$1" | head -1; }
printf '%-8s %7s %5s %7s %8s %8s %8s %8s %6s %s\n' workload clients batch rate "tx/s" p50_ms p99_ms \
  us_per_tx load rejected
seed=1
for run in $runs; do
  spec=${run%%@*}
  rate=0
  [[ $run == *@* ]] && rate=${run##*@}
  IFS=: read -r w c b <<<"$spec"
  txs=$((secs * presign_rate))
  out=$tmp/run-$seed.json
  seed=$((seed + 1))
  nice -n "$nice" "$chip" --node "$addr" --wallet "$tmp/wallet" --json bench --workload "$w" \
    --accounts "$accounts" --duration "${secs}s" --clients "$c" --batch "$b" --txs "$txs" \
    --rate "$rate" --seed "$seed" --node-pid "$chipd_pid" --quiet >"$out" 2>"$tmp/err" ||
    { echo "chip bench failed: $(tail -3 "$tmp/err")" >&2; exit 1; }
  tps=$(field "$out" committed_per_second)
  us=$(printf '%.0f' "$(field "$out" cpu_us_per_committed_tx)")
  printf '%-8s %7s %5s %7s %8.0f %8.1f %8.1f %8s %6s %s%s\n' "$w" "$c" "$b" "$rate" "$tps" \
    "$(field "$out" p50)" "$(field "$out" p99)" "$us" "$(cut -d' ' -f1 /proc/loadavg)" \
    "$(field "$out" rejected_total)" "$(grep -q '"exhausted":true' "$out" && echo ' exhausted' || true)"
done
