#!/usr/bin/env bash
# One node, many committed transactions: memory and read latency as the
# ledger grows. Sends CHUNKS chunks of CHUNK_TXS uniform transfers (one
# `chip bench` each, seed = chunk number, ACCOUNTS accounts), and after each
# chunk prints the node's VmRSS and the committed total; at the chunks named
# in READS_AT (e.g. "1 10") it also runs `chip bench --workload reads` over
# the accounts of chunk 1.
#
#   CHIPD=build/node/chipd CHIP=build/cli/chip CHUNKS=10 tests/bench/long_run.sh
#
# Output: one line per chunk on stdout; the JSON of every run in OUT (default
# a temporary directory that is kept).
set -euo pipefail

chipd=${CHIPD:-build/node/chipd}
chip=${CHIP:-build/cli/chip}
chunks=${CHUNKS:-10}
chunk_txs=${CHUNK_TXS:-1000000}
accounts=${ACCOUNTS:-10000}
clients=${CLIENTS:-64}
batch=${BATCH:-100}
reads_at=${READS_AT:-"1 10"}
read_requests=${READ_REQUESTS:-30000}
read_clients=${READ_CLIENTS:-8}
nice=${BENCH_NICE:-0}
out=${OUT:-$(mktemp -d /tmp/chip-long-run.XXXXXX)}
mkdir -p "$out"

chipd_pid=""
cleanup() { [[ -n $chipd_pid ]] && kill "$chipd_pid" 2>/dev/null && wait "$chipd_pid" 2>/dev/null || true; }
trap cleanup EXIT

nice -n "$nice" "$chipd" dev --data-dir "$out/chain" --wallet "$out/wallet" --listen 127.0.0.1:0 \
  --no-metrics --log-level warn >"$out/chipd.out" 2>"$out/chipd.err" &
chipd_pid=$!
addr=""
for _ in $(seq 1 300); do
  addr=$(sed -n 's/^  gRPC *\(127\.0\.0\.1:[0-9]*\)$/\1/p' "$out/chipd.out")
  [[ -n $addr ]] && break
  sleep 0.1
done
[[ -n $addr ]] || { echo "chipd did not start" >&2; exit 1; }

rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$chipd_pid/status"; }
field() { sed -n "s/.*\"$2\":\([0-9.eE+-]*\).*/\1/p" "$1" | head -1; }
reads() {
  local at=$1
  nice -n "$nice" "$chip" --node "$addr" --wallet "$out/wallet" --json bench --workload reads \
    --accounts "$accounts" --seed 1 --txs "$read_requests" --clients "$read_clients" \
    --node-pid "$chipd_pid" --quiet >"$out/reads-$at.json" 2>"$out/reads-$at.err"
  python3 - "$out/reads-$at.json" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
for k, v in j["reads"].items():
    print(f"  reads at height {j['height']}: {k:13s} {v['requests']:6d} req  p50 {v['p50_ms']:.2f} ms"
          f"  p99 {v['p99_ms']:.2f} ms  p999 {v['p999_ms']:.2f} ms  max {v['max_ms']:.1f} ms")
print(f"  reads: {j['requests_per_second']:.0f} requests/s, {j['not_found']} not found, "
      f"{j['errors_total']} errors")
EOF
}

total=0
echo "start: rss $(rss_kib) KiB, data in $out"
for c in $(seq 1 "$chunks"); do
  nice -n "$nice" "$chip" --node "$addr" --wallet "$out/wallet" --json bench --workload uniform \
    --accounts "$accounts" --seed "$c" --txs "$chunk_txs" --clients "$clients" --batch "$batch" \
    --node-pid "$chipd_pid" --quiet >"$out/chunk-$c.json" 2>"$out/chunk-$c.err" ||
    { echo "chunk $c failed: $(tail -3 "$out/chunk-$c.err")" >&2; exit 1; }
  committed=$(field "$out/chunk-$c.json" committed)
  total=$((total + ${committed%.*}))
  printf '%s chunk %2d: committed %9d total, %8.0f tx/s, p99 %7.1f ms, %5.0f us/tx, rss %7d KiB (peak in chunk %s B), db %s, load %s\n' \
    "$(date +%T)" "$c" "$total" "$(field "$out/chunk-$c.json" committed_per_second)" \
    "$(field "$out/chunk-$c.json" p99)" "$(field "$out/chunk-$c.json" cpu_us_per_committed_tx)" \
    "$(rss_kib)" "$(field "$out/chunk-$c.json" peak_rss_bytes)" "$(du -sh "$out/chain" | cut -f1)" \
    "$(cut -d' ' -f1 /proc/loadavg)"
  for r in $reads_at; do [[ $r == "$c" ]] && reads "$c"; done
done
