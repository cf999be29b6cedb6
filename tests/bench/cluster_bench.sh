#!/usr/bin/env bash
# One node against a cluster, in one invocation: runs the same chip bench
# workloads against a fresh single node (`chipd dev`) and a fresh 3-node
# `chipd devnet` (3 etcd members + 3 nodes, all on this machine), then a
# kill -9 of the cluster's producer, and prints one table with the ratio and
# the measured failover time (docs/PERFORMANCE.md, "Cluster").
#
#   CHIPD=build/node/chipd CHIP=build/cli/chip tests/bench/cluster_bench.sh
#   RUNS="uniform:32:100 hot:32:100" SECS=10 NODES=3 ...
#
# RUNS entries are workload:clients:batch[@rate] (rate: offered tx/s, for
# latency below saturation; default as fast as the clients go). The cluster runs submit to a
# follower (node1), so every transaction is forwarded to the producer, the
# path a client that picks any node takes. On one 2-core machine the cluster
# verifies every signature three times (once per node) plus once more on
# the follower's way in: the figures measure that machine, not a cluster of
# machines.
set -euo pipefail

chipd=$(realpath "${CHIPD:-build/node/chipd}")
chip=$(realpath "${CHIP:-build/cli/chip}")
runs=${RUNS:-"uniform:32:100 hot:32:100"}
secs=${SECS:-10}
nodes=${NODES:-3}
accounts=${ACCOUNTS:-10000}
presign_rate=${PRESIGN_RATE:-30000}

tmp=$(mktemp -d /tmp/chip-cluster-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [[ -n ${KEEP:-} ]] || rm -rf "$tmp"
}
trap cleanup EXIT

free_base() { # a base port with $1 free ports above it
  local base
  for _ in $(seq 1 50); do
    base=$((20000 + RANDOM % 30000))
    local ok=1
    for k in $(seq 0 $(($1 - 1))); do
      if (: <"/dev/tcp/127.0.0.1/$((base + k))") 2>/dev/null; then ok=0; fi
    done
    [[ $ok == 1 ]] && { echo "$base"; return; }
  done
  echo "no free ports" >&2
  exit 1
}

wait_for() { # file pattern
  for _ in $(seq 1 600); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "timed out waiting for '$2' in $1: $(tail -5 "$1")" >&2
  exit 1
}

field() { sed -n "s/.*\"$2\":\([0-9.eE+-]*\).*/\1/p" "$1" | head -1; }

bench() { # label node wallet workload clients batch seed rate -> prints tps p50 p99
  local out=$tmp/$1.json
  "$chip" --node "$2" --wallet "$3" --json bench --workload "$4" --accounts "$accounts" \
    --duration "${secs}s" --clients "$5" --batch "$6" --txs $((secs * presign_rate)) \
    --seed "$7" --rate "$8" --verify --quiet >"$out" 2>"$tmp/$1.err" ||
    { echo "chip bench ($1) failed: $(tail -3 "$tmp/$1.err")" >&2; exit 1; }
  printf '%.0f %.1f %.1f' "$(field "$out" committed_per_second)" "$(field "$out" p50)" \
    "$(field "$out" p99)"
}

# --- one node ---
port=$(free_base 2)
"$chipd" dev --data-dir "$tmp/single" --wallet "$tmp/wallet1" --listen "127.0.0.1:$port" \
  --no-metrics --log-level warn >"$tmp/single.out" 2>&1 &
pids+=($!)
wait_for "$tmp/single.out" "chipd dev is running"
declare -A single
seed=1
for run in $runs; do
  rate=0
  [[ $run == *@* ]] && rate=${run##*@}
  IFS=: read -r w c b <<<"${run%%@*}"
  single[$run]=$(bench "single-$seed" "127.0.0.1:$port" "$tmp/wallet1" "$w" "$c" "$b" "$seed" "$rate")
  seed=$((seed + 1))
done
kill -INT "${pids[0]}"
wait "${pids[0]}" || true
pids=()

# --- cluster ---
base=$(free_base $((2 * nodes)))
etcd_base=$(free_base 6)
"$chipd" devnet --nodes "$nodes" --dir "$tmp/net" --wallet "$tmp/wallet3" --base-port "$base" \
  --etcd-base-port "$etcd_base" --log-level warn >"$tmp/devnet.out" 2>&1 &
pids+=($!)
wait_for "$tmp/devnet.out" "chipd devnet is running"
follower=""
for _ in $(seq 1 300); do
  st=$("$chip" --node "127.0.0.1:$base" --wallet "$tmp/wallet3" status --json 2>/dev/null || true)
  producer=$(sed -n 's/.*"producer":"\([0-9.:]*\)".*/\1/p' <<<"$st" | head -1)
  if [[ -n $producer ]]; then
    for i in $(seq 0 $((nodes - 1))); do
      a="127.0.0.1:$((base + 2 * i))"
      [[ $a != "$producer" ]] && { follower=$a; break; }
    done
    break
  fi
  sleep 0.1
done
[[ -n $follower ]] || { echo "no producer elected" >&2; exit 1; }
declare -A cluster
for run in $runs; do
  rate=0
  [[ $run == *@* ]] && rate=${run##*@}
  IFS=: read -r w c b <<<"${run%%@*}"
  cluster[$run]=$(bench "cluster-$seed" "$follower" "$tmp/wallet3" "$w" "$c" "$b" "$seed" "$rate")
  seed=$((seed + 1))
done

# --- failover: kill -9 the producer, time until a follower commits again ---
ppid=$(pgrep -f -- "--listen $producer" | head -1)
to=$(CHIP_PASSPHRASE=bench "$chip" --wallet "$tmp/wallet3" keys new failover --json |
  sed -n 's/.*"address":"\(chip[a-z0-9]*\)".*/\1/p')
[[ -n $to ]] || { echo "cannot make a key" >&2; exit 1; }
start=$(date +%s.%N)
kill -9 "$ppid"
for _ in $(seq 1 1200); do
  "$chip" --node "$follower" --wallet "$tmp/wallet3" --timeout-ms 5000 send "$to" 1uCU \
    --from dev >/dev/null 2>&1 && break
  sleep 0.05
done
failover=$(echo "$(date +%s.%N) - $start" | bc)

echo
echo "chip bench, ${secs} s per run, $accounts accounts; cluster: $nodes nodes + 3 etcd members"
echo "on this one machine ($(nproc) cores), submitting to a follower (forwarded to the producer)"
printf '%-22s %10s %9s %9s %10s %9s %9s %7s\n' run "1 node tx/s" p50_ms p99_ms "$nodes nodes tx/s" \
  p50_ms p99_ms ratio
for run in $runs; do
  read -r t1 a1 b1 <<<"${single[$run]}"
  read -r t3 a3 b3 <<<"${cluster[$run]}"
  printf '%-22s %10s %9s %9s %10s %9s %9s %7.2f\n' "$run" "$t1" "$a1" "$b1" "$t3" "$a3" "$b3" \
    "$(echo "$t3 / $t1" | bc -l)"
done
printf 'failover: first commit on a follower %.2f s after kill -9 of the producer (lease TTL 3 s)\n' \
  "$failover"
echo "host load average: $(cut -d' ' -f1-3 /proc/loadavg)"
