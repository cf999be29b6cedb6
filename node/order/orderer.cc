#include "node/order/orderer.h"

#include <optional>
#include <vector>

#include "ledger/apply.h"
#include "ledger/check.h"
#include "ledger/limits.h"

namespace chip::node {

namespace pb = ::chipledger::v1;

namespace {

// `failed_op`: the block's failed_operations entry for this transaction.
pb::TxResult ResultFor(Store* store, const pb::Block& block, size_t index, const Hash32& hash,
                       bool recorded, std::optional<uint32_t> failed_op) {
  pb::TxResult r;
  r.set_tx_hash(AsString(hash));
  pb::ResultCode code = block.results(static_cast<int>(index));
  r.set_code(code);
  // Where this block holds it, recorded or not: a member of a failed atomic
  // range is not recorded (no record, history entry or leaf), but the block
  // keeps it at this index with this code, inside its atomic range, under
  // the header's txs_hash and results_hash; GetBlock shows it there.
  r.set_height(block.header().height());
  r.set_index(static_cast<uint32_t>(index));
  r.set_block_time_ms(block.header().timestamp_ms());
  if (failed_op) r.set_failed_operation(*failed_op);
  if (!recorded && code != pb::RESULT_TX_TOO_LARGE) {
    // Not recorded by this block. If an earlier block recorded it (a retry,
    // possibly inside an atomic batch that failed only because of that),
    // answer with the original outcome, as for a duplicate caught before the
    // mempool.
    auto stored = store->GetTx(hash);
    if (stored.ok() && stored->has_value()) r = FromStored(store, hash, **stored, true);
  }
  return r;
}

}  // namespace

pb::TxResult FromStored(Store* store, const Hash32& hash, const StoredTx& s, bool already_applied) {
  pb::TxResult r;
  r.set_tx_hash(AsString(hash));
  r.set_code(static_cast<pb::ResultCode>(s.location.code));
  r.set_height(s.location.height);
  r.set_index(s.location.index);
  r.set_block_time_ms(s.block_time_ms);
  r.set_already_applied(already_applied);
  if (s.location.code != pb::RESULT_OK) {
    // The failing operation of a recorded multi-operation transaction is
    // kept in its block (failed_operations), not in the record.
    pb::TxBody body;
    if (body.ParseFromString(s.tx.body()) && IsMultiOp(body)) {
      auto block = store->GetBlock(s.location.height);
      if (block.ok() && block->has_value()) {
        for (const auto& f : (*block)->failed_operations()) {
          if (f.tx() == s.location.index) r.set_failed_operation(f.op());
        }
      }
    }
  }
  return r;
}

Status CountOperations(PendingEntry* entry) {
  entry->ops = 0;
  for (const CheckedTx& c : entry->checked) entry->ops += OperationCount(c.body);
  if (entry->ops > kBlockOperationsMax) {
    return Status::ResourceExhausted("a submission of " + std::to_string(entry->ops) +
                                     " operations does not fit one block (at most " +
                                     std::to_string(kBlockOperationsMax) +
                                     "); submit smaller batches");
  }
  return Status::Ok();
}

BlockInput TakeBlockInput(PendingEntries* entries, bool move_checked) {
  BlockInput in;
  for (auto& e : *entries) {
    if (e->atomic) {
      pb::AtomicRange r;
      r.set_first(static_cast<uint32_t>(in.txs.size()));
      r.set_count(static_cast<uint32_t>(e->txs.size()));
      in.atomic.push_back(r);
    }
    for (size_t i = 0; i < e->txs.size(); ++i) {
      in.txs.push_back(std::move(e->txs[i]));
      if (move_checked) {
        in.checked.push_back(std::move(e->checked[i]));  // the hash is copied, not moved
      } else {
        in.checked.push_back(e->checked[i]);
      }
    }
    e->txs.clear();
  }
  return in;
}

void AnswerCommitted(Store* store, Metrics* metrics, const pb::Block& block,
                     PendingEntries* entries) {
  auto now = std::chrono::steady_clock::now();
  const std::vector<bool> recorded_mask = RecordedMask(block);
  // Which operation decided each failed list, looked up once per block
  // rather than scanned for every transaction.
  std::vector<std::optional<uint32_t>> failed_ops(recorded_mask.size());
  for (const auto& f : block.failed_operations()) {
    if (f.tx() < failed_ops.size()) failed_ops[f.tx()] = f.op();
  }
  size_t index = 0;
  uint64_t recorded = 0;
  for (auto& e : *entries) {
    SubmitOutcome out;
    for (size_t i = 0; i < e->checked.size(); ++i, ++index) {
      CHIP_CHECK(index < recorded_mask.size());
      out.results.push_back(ResultFor(store, block, index, e->checked[i].hash, recorded_mask[index],
                                      failed_ops[index]));
      metrics->CountResult(block.results(static_cast<int>(index)));
      if (recorded_mask[index]) ++recorded;
    }
    metrics->submit_latency.Observe(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(now - e->arrived).count()));
    e->promise.set_value(std::move(out));
  }
  CHIP_CHECK(index == recorded_mask.size());
  metrics->txs_committed.fetch_add(recorded, std::memory_order_relaxed);
  entries->clear();
}

void FailEntries(PendingEntries* entries, const Status& why) {
  CHIP_CHECK(!why.ok());
  for (auto& e : *entries) e->promise.set_value(SubmitOutcome{why, {}});
  entries->clear();
}

uint64_t WallClockMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace chip::node
