#!/usr/bin/env bash
# Disk full and read-only data directories, on a small tmpfs this script
# mounts (needs root, as CI runs; elsewhere it says so and exits 0).
#  1. With less free space than disk_reserve_mb, chipd refuses writes with
#     RESOURCE_EXHAUSTED and a log line that says why, and keeps serving reads.
#  2. Once space returns, writes resume by themselves; nothing committed is
#     lost (chip verify chain re-derives the whole chain).
#  3. A read-only data directory is refused at start-up with the reason.
# Usage: disk_full.sh CHIPD CHIP
set -euo pipefail
chipd=$1 chip=$2
if [ "$(id -u)" -ne 0 ]; then echo "disk_full: not root, cannot mount a tmpfs: skipped"; exit 0; fi
work=$(mktemp -d)
mnt=$work/mnt
mkdir -p "$mnt"
# 128 MiB: RocksDB preallocates each WAL file at about 1.1 x the memtable
# size (32 MiB per column family, ledger/store.cc).
mount -t tmpfs -o size=128m tmpfs "$mnt"
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "disk_full: FAILED: $*" >&2; echo "--- chipd log:" >&2; cat "$work/chipd.log" >&2; exit 1; }
port() { local p; while :; do p=$((20000 + RANDOM % 40000)); if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi; done; }
export CHIP_HOME=$work/wallet CHIP_NODE=127.0.0.1:$(port) CHIP_PASSPHRASE=disk-test
start() {
  "$chipd" dev --data-dir "$mnt/chain" --listen "$CHIP_NODE" --no-metrics --block-interval-ms 5 \
    --disk-reserve-mb 16 >>"$work/chipd.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 200); do
    "$chip" status >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { pid=""; return 1; }
    sleep 0.05
  done
  return 1
}
start || fail "chipd did not start"
"$chip" keys new x >/dev/null
"$chip" send x 1 >/dev/null || fail "first transfer"

# 1. Shrink the filesystem below the reserve.
used_kb=$(df -k "$mnt" | awk 'NR==2 {print $3}')
mount -o remount,size=$((used_kb / 1024 + 8))m "$mnt"
set +e
out=$("$chip" send x 1 2>&1); rc=$?
set -e
[ $rc -eq 1 ] || fail "send on a full disk exited $rc, want 1: $out"
echo "$out" | grep -q "disk almost full" || fail "no clear refusal: $out"
grep -q "refusing new transactions, still serving reads" "$work/chipd.log" || fail "no log line"
"$chip" balance x | grep -q "1.000000 CU" || fail "reads stopped working"
"$chip" status >/dev/null || fail "status stopped working"

# 2. Space returns: writes resume.
mount -o remount,size=128m "$mnt"
ok=""
for _ in $(seq 1 100); do
  if "$chip" send x 1 >/dev/null 2>&1; then ok=1; break; fi
  sleep 0.1
done
[ -n "$ok" ] || fail "writes did not resume"
grep -q "storage writable again" "$work/chipd.log" || fail "no resume log line"
"$chip" balance x | grep -q "2.000000 CU" || fail "balance after resume"
"$chip" verify chain >/dev/null || fail "verify chain after resume"
kill -TERM "$pid"; wait "$pid" || fail "clean stop"; pid=""

# 3. A read-only data directory is refused at start-up.
mount -o remount,ro "$mnt"
if start; then fail "started on a read-only filesystem"; fi
grep -qi "read-only file system" "$work/chipd.log" || fail "no read-only reason"
echo "disk_full: refused at the reserve, served reads, resumed, refused a read-only directory"
