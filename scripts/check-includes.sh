#!/usr/bin/env bash
# Fails when a project include ("folder/...") crosses a layer the wrong way.
# The allowed directions are docs/ARCHITECTURE.md, "Include directions":
#
#   proto/ (generated)     <- everything
#   ledger/                -> proto
#   ledger/pricing/        -> ledger, proto
#   wallet/                -> ledger, proto
#   support/               -> ledger, proto
#   node/                  -> ledger, wallet, support, proto
#   cli/                   -> ledger, wallet, support, proto
#   tests/                 -> anything
#
# and inside node/ (its README):
#   node/ops/              -> node/ops, node/cluster/etcd_client.h (devnet starts etcd)
#   node/order/            -> node/order, node/ops
#   node/serve/            -> node/serve, node/order, node/ops
#   node/cluster/          -> node/cluster, node/serve, node/order, node/ops
#   node/ (main.cc, node.*) -> any of node/
#
# A generated header ("chipledger/v1/...", "etcd/...") counts as proto. The
# build runs this script too (the check_includes target), so a wrong include
# fails `cmake --build` as well as CI.
set -euo pipefail
cd "$(dirname "$0")/.."

# allowed PREFIXES for files under DIR (longest DIR wins)
rules=(
  "ledger/pricing/|ledger/ chipledger/ "
  "ledger/|ledger/ chipledger/ "
  "wallet/|wallet/ ledger/ chipledger/ "
  "support/|support/ ledger/ chipledger/ "
  "node/ops/|node/ops/ node/cluster/etcd_client.h ledger/ wallet/ support/ chipledger/ "
  "node/order/|node/order/ node/ops/ ledger/ wallet/ support/ chipledger/ "
  "node/serve/|node/serve/ node/order/ node/ops/ ledger/ wallet/ support/ chipledger/ "
  "node/cluster/|node/cluster/ node/serve/ node/order/ node/ops/ ledger/ wallet/ support/ chipledger/ etcd/ "
  "node/|node/ ledger/ wallet/ support/ chipledger/ "
  "cli/|cli/ ledger/ wallet/ support/ chipledger/ "
)
# Project folders: an include that starts with one of these is ours.
ours='^(ledger|wallet|support|node|cli|tests|proto|chipledger|etcd)/'

fail=0
checked=0
while IFS= read -r file; do
  rule=""
  for r in "${rules[@]}"; do
    dir=${r%%|*}
    if [[ "$file" == "$dir"* ]]; then rule=$r; break; fi
  done
  [ -n "$rule" ] || continue  # tests/, proto/, scripts: unrestricted
  allowed=${rule#*|}
  while IFS=: read -r line inc; do
    [[ "$inc" =~ $ours ]] || continue
    checked=$((checked + 1))
    ok=0
    for a in $allowed; do
      if [[ "$inc" == "$a"* ]]; then ok=1; break; fi
    done
    if [ "$ok" -eq 0 ]; then
      echo "check-includes: $file:$line includes \"$inc\", which ${rule%%|*} may not include" >&2
      fail=1
    fi
  done < <(grep -n -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file" |
    sed -E 's/^([0-9]+):[^"]*"([^"]+)".*/\1:\2/')
done < <(git ls-files --cached --others --exclude-standard -- '*.cc' '*.h' '*.in')

if [ "$fail" -ne 0 ]; then
  echo "check-includes: failed (allowed directions: docs/ARCHITECTURE.md, \"Include directions\")" >&2
  exit 1
fi
echo "check-includes: $checked project includes follow the layer rules"
