#!/usr/bin/env bash
# The baseline in one run: the same transfer workloads on a throwaway
# PostgreSQL (pgbench) and on a fresh chipd dev node (chip bench), printed as
# one table with the ratio chipledger / postgres. docs/PERFORMANCE.md records
# a run and explains the method; tests/bench/README.md how to run it.
#
#   tests/bench/pg_baseline.sh            # about 5 minutes on 2 cores
#   BENCH_SECONDS=3 tests/bench/pg_baseline.sh
#
# Environment (all optional):
#   BENCH_SECONDS      length of every measured run (default 10)
#   BENCH_ACCOUNTS     accounts in both systems (default 10000)
#   BENCH_HOT          hot accounts of the hot workload (default 8)
#   BENCH_HOT_PERCENT  percent of hot-workload transfers among them (default 90)
#   PG_CLIENTS         pgbench client counts (default "1 8 32")
#   PG_OPS             transfers per SQL transaction (default "1 100")
#   CHIP_CONFIGS       chip bench runs as clients:batch[:ops], ops = operations per
#                      signed transaction (default "1:1 8:100 32:100 8:10:100 16:10:100")
#   CHIP_PRESIGN_RATE  transactions signed per second of a chip run (default 30000)
#   CHIPD_FLAGS        extra flags for chipd dev, e.g. "--block-interval-ms 20" to
#                      compare a block timer with group commit (the default)
#   BENCH_NICE         run both systems at this nice value, e.g. -10 on a machine
#                      shared with other work (negative values need root)
#   CHIP_BUILD_DIR     where cli/chip and node/chipd are built (default <repo>/build)
#   BENCH_OUT          also write the table and every raw result into this directory
#
# PostgreSQL: the Debian package is installed on demand (root, apt-get); the
# server runs from a temporary directory, listens on a unix socket there and
# never on TCP (listen_addresses = ''), with fsync and synchronous_commit on,
# so every committed transfer is as durable as a chipd block. Everything is
# stopped and removed on exit.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
secs=${BENCH_SECONDS:-10}
accounts=${BENCH_ACCOUNTS:-10000}
hot=${BENCH_HOT:-8}
hot_pct=${BENCH_HOT_PERCENT:-90}
pg_clients=${PG_CLIENTS:-"1 8 32"}
pg_ops=${PG_OPS:-"1 100"}
chip_configs=${CHIP_CONFIGS:-"1:1 8:100 32:100 8:10:100 16:10:100"}
presign_rate=${CHIP_PRESIGN_RATE:-30000}
nice=${BENCH_NICE:-0}
build=${CHIP_BUILD_DIR:-$repo/build}
chip=$build/cli/chip
chipd=$build/node/chipd
workloads="uniform hot"

die() { echo "pg_baseline: $*" >&2; exit 1; }
note() { echo "pg_baseline: $*" >&2; }

[[ -x $chip && -x $chipd ]] || die "build first: $chip and $chipd not found (set CHIP_BUILD_DIR)"
[[ $secs =~ ^[0-9]+$ && $secs -ge 1 ]] || die "BENCH_SECONDS must be a whole number of seconds"
[[ $accounts =~ ^[0-9]+$ && $accounts -ge $hot && $hot -ge 2 ]] ||
  die "BENCH_ACCOUNTS must be a number >= BENCH_HOT >= 2"

# ---- PostgreSQL, installed on demand ----
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
if [[ -z $(pg_bin) || ! -x $(pg_bin)/pgbench ]]; then
  [[ $(id -u) -eq 0 ]] || die "PostgreSQL is not installed; run as root to install it, or: apt-get install postgresql-15"
  note "installing postgresql-15 (Debian package)"
  # The package would create and start a default cluster on localhost:5432;
  # this run wants no TCP listener, so no default cluster is created.
  mkdir -p /etc/postgresql-common
  conf=/etc/postgresql-common/createcluster.conf
  if ! grep -qs '^create_main_cluster' "$conf"; then echo 'create_main_cluster = false' >>"$conf"; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15 >&2 ||
    { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15 >&2; } ||
    die "cannot install postgresql-15"
fi
pgbin=$(pg_bin)

tmp=$(mktemp -d /tmp/pg_baseline.XXXXXX)
chipd_pid=""
pg_started=""
# PostgreSQL refuses to run as root: as root the server runs as the package's
# postgres user, owning only its data and socket directories.
pg_user=()
if [[ $(id -u) -eq 0 ]]; then pg_user=(runuser -u postgres --); fi
as_pg() { "${pg_user[@]}" "$@"; }
cleanup() {
  set +e
  if [[ -n $chipd_pid ]]; then
    kill "$chipd_pid" 2>/dev/null
    wait "$chipd_pid" 2>/dev/null
  fi
  if [[ -n $pg_started ]]; then as_pg "$pgbin/pg_ctl" -D "$tmp/pg" -m fast -w stop >/dev/null 2>&1; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

load_start=$(cut -d' ' -f1 /proc/loadavg)
mkdir -p "$tmp/pg" "$tmp/sock" "$tmp/logs" "$tmp/results"
chmod 755 "$tmp"
if [[ $(id -u) -eq 0 ]]; then chown postgres: "$tmp/pg" "$tmp/sock"; fi

note "starting PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') in $tmp (unix socket only)"
as_pg "$pgbin/initdb" -D "$tmp/pg" -U bench -A trust -E UTF8 --no-instructions >"$tmp/logs/initdb.log" 2>&1 ||
  die "initdb failed: $(tail -5 "$tmp/logs/initdb.log")"
# Durable settings are the defaults, stated so nobody wonders: fsync on,
# synchronous_commit on, full_page_writes on. Memory sized for this machine.
nice -n "$nice" "${pg_user[@]}" "$pgbin/pg_ctl" -D "$tmp/pg" -w -l "$tmp/pg/server.log" -o \
  "-c listen_addresses='' -k $tmp/sock -c fsync=on -c synchronous_commit=on -c full_page_writes=on \
   -c shared_buffers=512MB -c max_connections=100 -c max_wal_size=4GB -c checkpoint_timeout=30min" \
  start >/dev/null || die "postgres did not start: $(tail -5 "$tmp/pg/server.log")"
pg_started=1
psql_() { "$pgbin/psql" -h "$tmp/sock" -U bench -X -q -v ON_ERROR_STOP=1 "$@"; }
psql_ -d postgres -c "CREATE DATABASE bench"
psql_ -d bench <<SQL
CREATE TABLE accounts (
  id integer PRIMARY KEY,
  balance bigint NOT NULL CHECK (balance >= 0)
);
CREATE TABLE transfers (
  id bigserial PRIMARY KEY,
  src integer NOT NULL,
  dst integer NOT NULL,
  amount bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO accounts SELECT g, 1000000000000 FROM generate_series(1, $accounts) g;
VACUUM ANALYZE accounts;
SQL

# One transfer = one transaction: debit, credit, record. The two rows are
# updated in id order so concurrent opposite transfers cannot deadlock; the
# CHECK is the insufficient-funds rule. Hot: hot_pct% of transfers are
# between accounts 1..hot, the rest uniform, as in chip bench.
pair_uniform='\set a random(1, :n)
\set d random(1, :n - 1)
\set b 1 + ((:a - 1 + :d) % :n)'
pair_hot='\set r random(1, 100)
\if :r <= :hot_pct
\set a random(1, :hot)
\set d random(1, :hot - 1)
\set b 1 + ((:a - 1 + :d) % :hot)
\else
\set a random(1, :n)
\set d random(1, :n - 1)
\set b 1 + ((:a - 1 + :d) % :n)
\endif'
transfer='\set amt random(1, 100)
\set lo least(:a, :b)
\set hi greatest(:a, :b)
\set dlo case when :a < :b then -:amt else :amt end
BEGIN;
UPDATE accounts SET balance = balance + :dlo WHERE id = :lo;
UPDATE accounts SET balance = balance - :dlo WHERE id = :hi;
INSERT INTO transfers (src, dst, amount) VALUES (:a, :b, :amt);
END;'
printf '%s\n%s\n' "$pair_uniform" "$transfer" >"$tmp/uniform-1.sql"
printf '%s\n%s\n' "$pair_hot" "$transfer" >"$tmp/hot-1.sql"

# K transfers in one SQL transaction, the counterpart of a K-operation chipd
# transaction. The rows are locked first in id order (SELECT ... ORDER BY id
# FOR UPDATE), so concurrent lists cannot deadlock whatever accounts they
# share; then the debits and the credits are each one UPDATE of the rows'
# summed deltas (an account may appear several times in a list), and the
# transfers are inserted in blocks of 50 rows: pgbench allows at most 255
# variables per statement. The balances are far above any list's debits, so
# the CHECK never fires and no list fails.
multi_script() {  # multi_script WORKLOAD K
  local w=$1 k=$2 i ids="" debits="" credits="" rows="" sep="" pair=$pair_uniform
  if [[ $w == hot ]]; then pair=$pair_hot; fi
  for ((i = 1; i <= k; i++)); do
    # The pair's variables a, d, b, r get the suffix _i.
    echo "$pair" | sed -E -e "s/:(a|b|d|r)\b/:\1_$i/g" -e 's/^\\set (a|b|d|r) /\\set \1_'"$i"' /'
    echo "\set amt_$i random(1, 100)"
    ids+="$sep:a_$i, :b_$i"
    debits+="$sep(:a_$i::int, :amt_$i::bigint)"
    credits+="$sep(:b_$i::int, :amt_$i::bigint)"
    sep=", "
  done
  echo "BEGIN;"
  echo "SELECT 1 FROM accounts WHERE id IN ($ids) ORDER BY id FOR UPDATE;"
  echo "UPDATE accounts a SET balance = a.balance - v.d FROM (SELECT id, sum(d) AS d FROM (VALUES $debits) t(id, d) GROUP BY id) v WHERE a.id = v.id;"
  echo "UPDATE accounts a SET balance = a.balance + v.d FROM (SELECT id, sum(d) AS d FROM (VALUES $credits) t(id, d) GROUP BY id) v WHERE a.id = v.id;"
  for ((i = 1; i <= k; i += 50)); do
    rows="" sep=""
    for ((j = i; j < i + 50 && j <= k; j++)); do
      rows+="$sep(:a_$j, :b_$j, :amt_$j)"
      sep=", "
    done
    echo "INSERT INTO transfers (src, dst, amount) VALUES $rows;"
  done
  echo "END;"
}
for w in $workloads; do
  for k in $pg_ops; do
    [[ $k =~ ^[0-9]+$ && $k -ge 1 && $k -le 1000 ]] || die "PG_OPS takes numbers 1..1000"
    if [[ $k -gt 1 ]]; then multi_script "$w" "$k" >"$tmp/$w-$k.sql"; fi
  done
done

# rows: workload system clients batch ops tps ops_per_s p50_ms p99_ms
rows=$tmp/results/rows.tsv
: >"$rows"
ncpu=$(nproc)

# p50 and p99 (ms) of the per-transaction latencies (µs, field 3) in pgbench logs.
percentiles() {
  cat "$@" | awk '{print $3}' | sort -n | awk '
    { v[NR] = $1 }
    END {
      if (NR == 0) { print "0 0"; exit }
      i50 = int(NR * 0.50); if (i50 < NR * 0.50) i50++; if (i50 < 1) i50 = 1
      i99 = int(NR * 0.99); if (i99 < NR * 0.99) i99++; if (i99 < 1) i99 = 1
      printf "%.2f %.2f\n", v[i50] / 1000, v[i99] / 1000
    }'
}

for w in $workloads; do
  for k in $pg_ops; do
    for c in $pg_clients; do
      j=$((c < ncpu ? c : ncpu))
      note "pgbench $w, $c clients, $k transfers per transaction, ${secs}s"
      rm -f "$tmp/logs/pgbench_log".*
      out=$tmp/results/pgbench-$w-$c-$k.txt
      nice -n "$nice" "$pgbin/pgbench" -h "$tmp/sock" -U bench -n -M prepared -c "$c" -j "$j" -T "$secs" \
        -f "$tmp/$w-$k.sql" -D n="$accounts" -D hot="$hot" -D hot_pct="$hot_pct" \
        -l --log-prefix="$tmp/logs/pgbench_log" bench >"$out" 2>&1 ||
        die "pgbench failed: $(tail -5 "$out")"
      tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$out")
      read -r p50 p99 < <(percentiles "$tmp/logs/pgbench_log".*)
      printf '%s\tpostgres\t%s\t1\t%s\t%s\t%s\t%s\t%s\n' "$w" "$c" "$k" "${tps:-0}" \
        "$(awk -v t="${tps:-0}" -v k="$k" 'BEGIN { printf "%.1f", t * k }')" "$p50" "$p99" >>"$rows"
    done
  done
done
as_pg "$pgbin/pg_ctl" -D "$tmp/pg" -m fast -w stop >/dev/null
pg_started=""

# ---- chipd dev, fresh, on a free loopback port ----
note "starting chipd dev in $tmp/chain"
nice -n "$nice" "$chipd" dev --data-dir "$tmp/chain" --wallet "$tmp/wallet" --listen 127.0.0.1:0 --no-metrics \
  --log-level warn ${CHIPD_FLAGS:-} >"$tmp/logs/chipd.out" 2>"$tmp/logs/chipd.err" &
chipd_pid=$!
addr=""
for _ in $(seq 1 300); do
  addr=$(sed -n 's/^  gRPC *\(127\.0\.0\.1:[0-9]*\)$/\1/p' "$tmp/logs/chipd.out")
  [[ -n $addr ]] && break
  kill -0 "$chipd_pid" 2>/dev/null || die "chipd exited: $(tail -5 "$tmp/logs/chipd.err")"
  sleep 0.1
done
[[ -n $addr ]] || die "chipd did not start"
block_interval=$(sed -n 's/^block_interval_ms *= *\([0-9]*\).*/\1/p' "$tmp/chain/config.toml" 2>/dev/null || true)

field() { sed -n "s/.*\"$2\":\([0-9.eE+-]*\).*/\1/p" "$1" | head -1; }
for w in $workloads; do
  for cfg in $chip_configs; do
    IFS=: read -r c b k <<<"$cfg"
    k=${k:-1}
    [[ $c =~ ^[0-9]+$ && $b =~ ^[0-9]+$ && $k =~ ^[0-9]+$ ]] ||
      die "CHIP_CONFIGS entries are clients:batch[:ops], got $cfg"
    # Sign about what the run can send: CHIP_PRESIGN_RATE transactions per
    # second, or 400,000 operations per second of lists (a run that sends them
    # all early says "exhausted" and is a lower bound). With group commit even
    # a lone client sends more than 1,000 per second.
    if [[ $k -eq 1 ]]; then txs=$((secs * presign_rate)); else txs=$((secs * 400000 / k)); fi
    note "chip bench $w, $c clients, batch $b, $k operations per transaction, ${secs}s"
    name=chip-$w-$c-$b-$k
    out=$tmp/results/$name.json
    nice -n "$nice" "$chip" --node "$addr" --wallet "$tmp/wallet" --json bench --workload "$w" \
      --accounts "$accounts" --hot-accounts "$hot" --hot-percent "$hot_pct" --ops "$k" \
      --duration "${secs}s" --clients "$c" --batch "$b" --txs "$txs" --node-pid "$chipd_pid" \
      >"$out" 2>"$tmp/logs/$name.err" ||
      die "chip bench failed: $(tail -5 "$tmp/logs/$name.err")"
    printf '%s\tchipledger\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$c" "$b" "$k" \
      "$(field "$out" committed_per_second)" "$(field "$out" committed_ops_per_second)" \
      "$(field "$out" p50)" "$(field "$out" p99)" >>"$rows"
    grep -q '"exhausted":true' "$out" && note "  ran out of pre-signed transactions: the figure is a lower bound"
    if ! grep -q '"errors_total":0' "$out" || ! grep -q '"rejected_total":0' "$out"; then
      note "  rejected or failed transactions: see $out"
    fi
  done
done

# ---- the table ----
table=$tmp/results/table.txt
load_end=$(cut -d' ' -f1 /proc/loadavg)
{
  echo "PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') vs chipd $("$chipd" --version | awk '{print $2}')" \
    "| $accounts accounts, hot = $hot_pct% among $hot | ${secs}s per run" \
    "| $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" \
    "| chipd block_interval_ms ${block_interval:-0} (0 = group commit) | load average $load_start -> $load_end | nice $nice"
  # Rows are compared within a workload and a number of operations (transfers)
  # per transaction: ops/s against the best PostgreSQL ops/s of the same pair.
  awk -F'\t' '
    { w[NR] = $1; sys[NR] = $2; c[NR] = $3; b[NR] = $4; k[NR] = $5; tps[NR] = $6; ops[NR] = $7
      p50[NR] = $8; p99[NR] = $9; key = $1 " " $5
      if (!(key in seen)) { seen[key] = 1; order[++nk] = key }
      if ($2 == "postgres" && $7 + 0 > best[key]) best[key] = $7 + 0
      if ($2 == "chipledger" && $7 + 0 > bestc[key]) bestc[key] = $7 + 0 }
    END {
      printf "%-8s %-11s %7s %6s %5s %10s %10s %9s %9s %8s\n", "workload", "system", "clients", "batch", "ops", "tx/s", "ops/s", "p50 ms", "p99 ms", "ratio"
      for (i = 1; i <= NR; i++) {
        key = w[i] " " k[i]
        r = (sys[i] == "chipledger" && best[key] > 0) ? sprintf("%.2fx", ops[i] / best[key]) : "-"
        printf "%-8s %-11s %7d %6d %5d %10.0f %10.0f %9.1f %9.1f %8s\n", w[i], sys[i], c[i], b[i], k[i], tps[i], ops[i], p50[i], p99[i], r
      }
      for (i = 1; i <= nk; i++) {
        key = order[i]; split(key, part, " ")
        if ((key in best) && (key in bestc))
          printf "best %-8s %3d ops/tx: chipledger %.0f ops/s / postgres %.0f ops/s = %.2fx\n", part[1], part[2], bestc[key], best[key], (best[key] > 0 ? bestc[key] / best[key] : 0)
      }
    }' "$rows"
  echo "ops = transfers per transaction (one signed chipd transaction, one SQL transaction); ratio:"
  echo "chipledger ops/s over the best durable PostgreSQL ops/s of the same workload and ops"
} | tee "$table"

if [[ -n ${BENCH_OUT:-} ]]; then
  mkdir -p "$BENCH_OUT"
  cp "$tmp"/results/* "$BENCH_OUT"/
  note "results in $BENCH_OUT"
fi
