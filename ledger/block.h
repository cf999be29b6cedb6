// Block commitments: the header bytes that are hashed and signed, and the
// hashes that commit a block to its transactions and results. Every layout is
// spelled out in docs/PROTOCOL.md.
#pragma once

#include <string>

#include "chipledger/v1/types.pb.h"
#include "ledger/bytes.h"
#include "ledger/crypto.h"

namespace chip {

namespace pb = ::chipledger::v1;

// "chipledger/block/v1" || height || prev_hash || timestamp_ms || producer ||
// tx_count || txs_hash || results_hash || state_digest || tree_size ||
// tree_root (fixed widths, BE).
std::string BlockSigningMessage(const pb::BlockHeader& h);
Hash32 BlockHash(const pb::BlockHeader& h);

// Commits to the transactions (each as length-prefixed body, signer and
// signature, so independent of protobuf encoding) and the atomic ranges.
Hash32 TxsHash(const pb::Block& block);
// Commits to the per-transaction result codes and the expired reservations.
Hash32 ResultsHash(const pb::Block& block);
// state_digest(n) = SHA-256(state_digest(n-1) || changes_hash(n)), with
// state_digest(-1) = chain_id for the genesis state.
Hash32 NextStateDigest(const Hash32& previous, const Hash32& changes_hash);

void SignHeader(const SecretKey& key, pb::BlockHeader* h);
bool VerifyHeaderSignature(const pb::BlockHeader& h);

}  // namespace chip
