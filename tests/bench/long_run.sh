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
# After each chunk it also scrapes the node's /metrics for where the memory
# is: RssAnon/RssFile and threads from /proc, RocksDB's block cache (one
# shared cache, counted once), memtables and table readers, and glibc
# malloc's arenas (in use, free inside the arenas, mmapped, arena count).
# These go to a second line per chunk and to OUT/memory.csv (bytes). RSS
# after a chunk depends on how full the memtables happen to be (up to
# 192 MiB, returned to the system at each flush), so it also samples VmRSS
# every second during each chunk and prints the chunk's mean and maximum
# (OUT/rss-N.txt, KiB).
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

metrics_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
nice -n "$nice" "$chipd" dev --data-dir "$out/chain" --wallet "$out/wallet" --listen 127.0.0.1:0 \
  --metrics-listen "127.0.0.1:$metrics_port" --log-level warn >"$out/chipd.out" 2>"$out/chipd.err" &
chipd_pid=$!
addr=""
for _ in $(seq 1 300); do
  addr=$(sed -n 's/^  gRPC *\(127\.0\.0\.1:[0-9]*\)$/\1/p' "$out/chipd.out")
  [[ -n $addr ]] && break
  sleep 0.1
done
[[ -n $addr ]] || { echo "chipd did not start" >&2; exit 1; }

rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$chipd_pid/status"; }
# memory CHUNK COMMITTED: appends a row (bytes) to OUT/memory.csv and prints
# the breakdown in MiB.
memory() {
  curl -s --max-time 10 "http://127.0.0.1:$metrics_port/metrics" |
    python3 -c '
import os, sys
chunk, committed, status, csv = sys.argv[1:5]
m = {}
for line in sys.stdin:
    if line.strip() and not line.startswith("#"):
        k, _, v = line.strip().rpartition(" ")
        m[k] = float(v)
st = {}
for line in open(status):
    k, _, v = line.partition(":")
    st[k] = v.split()
kib = lambda k: int(st[k][0]) * 1024 if k in st else -1
row = {"chunk": chunk, "committed": committed, "rss": kib("VmRSS"), "rss_anon": kib("RssAnon"),
       "rss_file": kib("RssFile"), "threads": int(st["Threads"][0])}
for col, metric in [("block_cache", "chip_rocksdb_block_cache_usage"),
                    ("memtables", "chip_rocksdb_cur_size_all_mem_tables"),
                    ("table_readers", "chip_rocksdb_estimate_table_readers_mem"),
                    ("malloc_arena", "chip_malloc_arena_bytes"),
                    ("malloc_in_use", "chip_malloc_in_use_bytes"),
                    ("malloc_free", "chip_malloc_free_bytes"),
                    ("malloc_mmap", "chip_malloc_mmap_bytes"),
                    ("malloc_arenas", "chip_malloc_arenas")]:
    row[col] = m.get(metric, -1)
new = not os.path.exists(csv)
with open(csv, "a") as f:
    if new:
        f.write(",".join(row) + "\n")
    f.write(",".join(str(int(float(v))) for v in row.values()) + "\n")
mib = lambda k: "%.0f" % (row[k] / 1048576)
print("  memory MiB: rss %s (anon %s, file %s), block cache %s, memtables %s, table readers %s;"
      " malloc arenas %s (in use %s, free %s), mmap %s; %d arenas, %d threads"
      % (mib("rss"), mib("rss_anon"), mib("rss_file"), mib("block_cache"), mib("memtables"),
         mib("table_readers"), mib("malloc_arena"), mib("malloc_in_use"), mib("malloc_free"),
         mib("malloc_mmap"), row["malloc_arenas"], row["threads"]))
' "$1" "$2" "/proc/$chipd_pid/status" "$out/memory.csv"
}
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
memory 0 0
for c in $(seq 1 "$chunks"); do
  (while sleep 1; do rss_kib; done) >"$out/rss-$c.txt" 2>/dev/null &
  sampler=$!
  nice -n "$nice" "$chip" --node "$addr" --wallet "$out/wallet" --json bench --workload uniform \
    --accounts "$accounts" --seed "$c" --txs "$chunk_txs" --clients "$clients" --batch "$batch" \
    --node-pid "$chipd_pid" --quiet >"$out/chunk-$c.json" 2>"$out/chunk-$c.err" ||
    { kill "$sampler"; echo "chunk $c failed: $(tail -3 "$out/chunk-$c.err")" >&2; exit 1; }
  kill "$sampler"
  wait "$sampler" 2>/dev/null || true
  committed=$(field "$out/chunk-$c.json" committed)
  total=$((total + ${committed%.*}))
  printf '%s chunk %2d: committed %9d total, %8.0f tx/s, p99 %7.1f ms, %5.0f us/tx, rss %7d KiB (peak in chunk %s B), db %s, load %s\n' \
    "$(date +%T)" "$c" "$total" "$(field "$out/chunk-$c.json" committed_per_second)" \
    "$(field "$out/chunk-$c.json" p99)" "$(field "$out/chunk-$c.json" cpu_us_per_committed_tx)" \
    "$(rss_kib)" "$(field "$out/chunk-$c.json" peak_rss_bytes)" "$(du -sh "$out/chain" | cut -f1)" \
    "$(cut -d' ' -f1 /proc/loadavg)"
  memory "$c" "$total"
  awk '{ s += $1; if ($1 > m) m = $1 } END { if (NR) printf "  rss during the chunk: mean %.0f MiB, max %.0f MiB (%d samples)\n", s / NR / 1024, m / 1024, NR }' "$out/rss-$c.txt"
  for r in $reads_at; do [[ $r == "$c" ]] && reads "$c"; done
done
