#include "ledger/block.h"

namespace chip {
namespace {

// Fixed-width 32-byte field: a missing or wrong-sized value is hashed as
// zeros, and chain validation rejects wrong sizes separately.
void PutField32(std::string* out, const std::string& v) {
  if (v.size() == 32) {
    PutBytes(out, v);
  } else {
    out->append(32, '\0');
  }
}

void PutLengthPrefixed(std::string* out, const std::string& v) {
  PutU32(out, static_cast<uint32_t>(v.size()));
  PutBytes(out, v);
}

}  // namespace

std::string BlockSigningMessage(const pb::BlockHeader& h) {
  std::string m = "chipledger/block/v1";
  PutU64(&m, h.height());
  PutField32(&m, h.prev_hash());
  PutU64(&m, h.timestamp_ms());
  PutField32(&m, h.producer());
  PutU32(&m, h.tx_count());
  PutField32(&m, h.txs_hash());
  PutField32(&m, h.results_hash());
  PutField32(&m, h.state_digest());
  PutU64(&m, h.tree_size());
  PutField32(&m, h.tree_root());
  return m;
}

Hash32 BlockHash(const pb::BlockHeader& h) { return Sha256(BlockSigningMessage(h)); }

Hash32 TxsHash(const pb::Block& block) {
  Sha256Builder b;
  std::string buf = "chipledger/txs/v1";
  PutU32(&buf, static_cast<uint32_t>(block.txs_size()));
  for (const auto& tx : block.txs()) {
    PutLengthPrefixed(&buf, tx.body());
    PutLengthPrefixed(&buf, tx.signer());
    PutLengthPrefixed(&buf, tx.signature());
    if (buf.size() > 64 * 1024) {
      b.Update(buf);
      buf.clear();
    }
  }
  PutU32(&buf, static_cast<uint32_t>(block.atomic_size()));
  for (const auto& r : block.atomic()) {
    PutU32(&buf, r.first());
    PutU32(&buf, r.count());
  }
  b.Update(buf);
  return b.Finish();
}

Hash32 ResultsHash(const pb::Block& block) {
  std::string buf = "chipledger/results/v1";
  PutU32(&buf, static_cast<uint32_t>(block.results_size()));
  for (int code : block.results()) PutU32(&buf, static_cast<uint32_t>(code));
  PutU32(&buf, static_cast<uint32_t>(block.expired_reservations_size()));
  for (const auto& id : block.expired_reservations()) PutField32(&buf, id);
  // Only a block with a failed multi-operation transaction appends its list,
  // so every block without one keeps the hash it always had.
  if (block.failed_operations_size() > 0) {
    PutU32(&buf, static_cast<uint32_t>(block.failed_operations_size()));
    for (const auto& f : block.failed_operations()) {
      PutU32(&buf, f.tx());
      PutU32(&buf, f.op());
    }
  }
  return Sha256(buf);
}

Hash32 NextStateDigest(const Hash32& previous, const Hash32& changes_hash) {
  Sha256Builder b;
  b.Update(previous);
  b.Update(changes_hash);
  return b.Finish();
}

void SignHeader(const SecretKey& key, pb::BlockHeader* h) {
  Signature sig = Sign(key, BlockSigningMessage(*h));
  h->set_signature(std::string(reinterpret_cast<const char*>(sig.data()), sig.size()));
}

bool VerifyHeaderSignature(const pb::BlockHeader& h) {
  return Verify(h.producer(), BlockSigningMessage(h), h.signature());
}

}  // namespace chip
