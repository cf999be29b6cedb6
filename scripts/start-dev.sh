#!/usr/bin/env bash
# The first README command: install what is missing, build, install chipd and
# chip into /usr/local/bin, and start a single-node development chain in
# ./.chipdev with a funded wallet key 'dev' (Ctrl-C stops it; running this
# again resumes the same chain). Extra arguments go to `chipd dev`.
#
# --smoke   for CI: start the node in the background on free ports with
#           throwaway directories, wait until it answers, make a transfer,
#           stop it cleanly, and exit 0 only if all of that worked.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

bash scripts/install-deps.sh
bash scripts/build.sh
if [ -w /usr/local/bin ]; then
  cmake --install build --prefix /usr/local >/dev/null
  bin=/usr/local/bin
else
  cmake --install build --prefix "$root/build" >/dev/null
  bin=$root/build/bin
fi
chipd=$bin/chipd
chip=$bin/chip

if [ "${1:-}" != "--smoke" ]; then
  exec "$chipd" dev "$@"
fi

# --- smoke run ---
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
free_port() {  # a random high port nothing answers on
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
}
port=$(free_port)
metrics=$(free_port)
export CHIP_HOME=$work/wallet CHIP_NODE=127.0.0.1:$port CHIP_PASSPHRASE=smoke-test
"$chipd" dev --data-dir "$work/chain" --listen "127.0.0.1:$port" \
  --metrics-listen "127.0.0.1:$metrics" >"$work/chipd.out" 2>"$work/chipd.err" &
pid=$!
for _ in $(seq 1 300); do
  if "$chip" status >/dev/null 2>&1; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then cat "$work/chipd.err" >&2; echo "smoke: chipd exited" >&2; exit 1; fi
  sleep 0.1
done
"$chip" status
"$chip" keys new smoke >/dev/null
"$chip" send smoke 1.5 --from dev
"$chip" balance smoke | grep -q "1.500000 CU"
curl -sf "http://127.0.0.1:$metrics/metrics" | grep -q '^chip_blocks_committed_total 1$'
kill -TERM "$pid"
wait "$pid"
echo "smoke: chipd dev started, answered, committed a transfer and stopped cleanly"
