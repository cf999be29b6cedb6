// The producer half of EtcdOrderer: building a block from the queue, the
// fenced etcd append that orders it, and trimming etcd's window.
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "ledger/address.h"
#include "ledger/check.h"
#include "ledger/limits.h"
#include "node/cluster/etcd_orderer.h"
#include "node/cluster/internal.h"

namespace chip::node {

namespace pb = ::chipledger::v1;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// Blocks between two trims of etcd's window (delete + compact), at most.
constexpr uint64_t kTrimEveryBlocks = 64;

}  // namespace

bool EtcdOrderer::ProduceReady() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!is_leader_ || queue_.empty()) return false;
  const uint64_t h = tip_.height();
  bool repair = refused_ && refused_->height == h + 1;
  if (etcd_tip_ > h && !repair) return false;  // still catching up
  return stopping_ || queued_txs_ >= config_.block_tx_max ||
         queued_bytes_ >= config_.cluster_block_bytes_max ||
         Clock::now() >= queue_.front()->arrived + milliseconds(config_.block_interval_ms);
}

PendingEntries EtcdOrderer::TakeBlockEntries() {
  std::lock_guard<std::mutex> lock(mu_);
  PendingEntries take;
  size_t txs = 0, bytes = 0, ops = 0;
  // A block holds whole submissions; the first is taken even if it alone
  // passes the soft byte limit (Enqueue bounds it).
  while (!queue_.empty() && txs + queue_.front()->txs.size() <= config_.block_tx_max &&
         ops + queue_.front()->ops <= kBlockOperationsMax &&
         (take.empty() || bytes + queue_.front()->bytes <= config_.cluster_block_bytes_max)) {
    txs += queue_.front()->txs.size();
    ops += queue_.front()->ops;
    bytes += queue_.front()->bytes;
    take.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  queued_txs_ -= txs;
  queued_bytes_ -= bytes;
  metrics_->mempool_depth.store(queued_txs_, std::memory_order_relaxed);
  return take;
}

void EtcdOrderer::Requeue(PendingEntries* entries) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = entries->rbegin(); it != entries->rend(); ++it) {
    queued_txs_ += (*it)->checked.size();
    queued_bytes_ += (*it)->bytes;
    queue_.push_front(std::move(*it));
  }
  entries->clear();
}

std::optional<bool> EtcdOrderer::ReadBack(uint64_t height, const std::string& value) {
  auto deadline = Clock::now() + 3 * milliseconds(config_.etcd_call_timeout_ms);
  while (Clock::now() < deadline) {
    auto r = etcd_->Range(BlockKey(height));
    if (r.ok()) return !r->kvs.empty() && r->kvs[0].value == value;
    std::this_thread::sleep_for(kRetryPause);
  }
  return std::nullopt;
}

void EtcdOrderer::ProduceOne() {
  const auto t_start = Clock::now();
  PendingEntries entries = TakeBlockEntries();
  if (entries.empty()) return;
  const auto first_arrived = entries.front()->arrived;
  int64_t token = 0;
  std::optional<Refused> refused;
  uint64_t etcd_tip = 0;
  bool tip_present = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    token = token_;
    refused = refused_;
    etcd_tip = etcd_tip_;
    tip_present = tip_present_;
    if (!is_leader_) token = 0;
  }
  if (token == 0) {
    FailEntries(&entries, Status::Unavailable("this node is no longer the block producer; "
                                              "resubmit (safe: transactions are idempotent)"));
    return;
  }
  // The entries keep their checked results (hashes) for the answers.
  PendingEntries keep = std::move(entries);
  BlockInput in = TakeBlockInput(&keep);
  const uint64_t h = chain_->height();
  auto prepared = chain_->Prepare(std::move(in.txs), std::move(in.atomic), WallClockMs(),
                                  *node_key_, &in.checked);
  if (!prepared.ok()) {
    metrics_->block_failures.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("block {} not built: {}", h + 1, prepared.status().ToString());
    FailEntries(&keep, Status::Unavailable("block not built: " + prepared.status().message()));
    return;
  }
  std::string value;
  CHIP_CHECK(prepared->block.SerializeToString(&value));
  const auto t_built = Clock::now();
  const std::string leader_key = prefix_ + "leader";
  const std::string tip_key = prefix_ + "tip";
  EtcdTxn txn;
  txn.compares.push_back(EtcdCompare::CreateRevisionIs(leader_key, token));
  bool repair = refused && refused->height == h + 1;
  if (repair) {
    // Replace the refused block, and whatever was ordered after it (nothing
    // after an invalid block can be valid), in one fenced txn.
    txn.compares.push_back(EtcdCompare::ValueIs(tip_key, Pad20(etcd_tip)));
    txn.compares.push_back(EtcdCompare::ModRevisionIs(BlockKey(h + 1), refused->mod_revision));
    txn.then_ops.push_back(EtcdOp::Put(BlockKey(h + 1), value));
    txn.then_ops.push_back(
        EtcdOp::Delete(BlockKey(h + 2), EtcdClient::PrefixEnd(prefix_ + "blocks/")));
  } else if (h == 0 || !tip_present) {
    txn.compares.push_back(etcd_tip == 0 && !tip_present ? EtcdCompare::VersionIs(tip_key, 0)
                                                         : EtcdCompare::ValueIs(tip_key, Pad20(h)));
    txn.then_ops.push_back(EtcdOp::Put(BlockKey(h + 1), value));
  } else {
    txn.compares.push_back(EtcdCompare::ValueIs(tip_key, Pad20(h)));
    txn.then_ops.push_back(EtcdOp::Put(BlockKey(h + 1), value));
  }
  txn.then_ops.push_back(EtcdOp::Put(tip_key, Pad20(h + 1)));
  txn.else_gets = {leader_key, tip_key};
  bool ambiguous = false;
  auto r = etcd_->Txn(txn, &ambiguous);
  const auto t_ordered = Clock::now();
  if (r.ok() && !r->succeeded) {
    const auto& leader = r->else_values[0];
    if (!leader || leader->create_revision != token) {
      need_sync_ = true;
      PendingEntries lost = std::move(keep);
      StepDown("another node holds the producer key (this node was fenced)");
      FailEntries(&lost, Status::Unavailable("this node lost the producer role before ordering "
                                             "the block; resubmit (safe: idempotent)"));
      return;
    }
    // The tip moved under us: catch up, then try again with the same entries
    // (their transactions are in the block now: give them back).
    spdlog::warn("etcd tip is not {} (block {} not appended); re-reading etcd", h, h + 1);
    need_sync_ = true;
    int next = 0;
    for (auto& e : keep) {
      for (size_t i = 0; i < e->checked.size(); ++i) {
        e->txs.push_back(std::move(*prepared->block.mutable_txs(next++)));
      }
    }
    CHIP_CHECK(next == prepared->block.txs_size());
    Requeue(&keep);
    return;
  }
  if (!r.ok()) {
    std::optional<bool> ours;
    if (ambiguous) ours = ReadBack(h + 1, value);
    if (!ours || !*ours) {
      need_sync_ = true;
      {
        std::lock_guard<std::mutex> lock(mu_);
        etcd_error_ = "etcd: " + r.status().message();
      }
      spdlog::warn("block {} not ordered: {}{}", h + 1, r.status().ToString(),
                   ambiguous ? (ours ? " (read back: not in etcd)" : " (outcome unknown)") : "");
      FailEntries(&keep,
                  Status::Unavailable(std::string(ambiguous && !ours ? "outcome unknown: " : "") +
                                      "etcd did not confirm the block (" + r.status().message() +
                                      "); resubmit (safe: transactions are idempotent)"));
      return;
    }
    // The ambiguous append did commit: carry on as if it had answered.
  }
  Status c = chain_->CommitPrepared(&*prepared);
  if (!c.ok()) {
    spdlog::error("block {} is ordered in etcd but this node cannot store it: {}", h + 1,
                  c.ToString());
    {
      std::lock_guard<std::mutex> lock(mu_);
      storage_error_ = c.message();
    }
    need_sync_ = true;
    FailEntries(&keep, Status::Unavailable("block " + std::to_string(h + 1) +
                                           " was ordered but this node could not store it; "
                                           "resubmit to another node to get the results"));
    return;
  }
  const auto t_committed = Clock::now();
  auto ms = [](Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
  // Where a block's time goes, for `--log-level debug` (docs/PERFORMANCE.md).
  spdlog::debug(
      "produced block {}: {} txs in {} entries, {} bytes; oldest entry waited {:.1f} ms, "
      "build {:.1f} ms, etcd {:.1f} ms, commit {:.1f} ms",
      h + 1, prepared->block.txs_size(), keep.size(), value.size(), ms(t_start - first_arrived),
      ms(t_built - t_start), ms(t_ordered - t_built), ms(t_committed - t_ordered));
  {
    std::lock_guard<std::mutex> lock(mu_);
    etcd_tip_ = h + 1;
    tip_present_ = true;
  }
  SetTip(prepared->block.header());
  AnswerCommitted(chain_->store(), metrics_, prepared->block, &keep);
  TrimEtcd(h + 1);
}

void EtcdOrderer::TrimEtcd(uint64_t height) {
  // Trim at least four times per window, so etcd holds at most 1.25 windows.
  const uint64_t every =
      std::max<uint64_t>(1, std::min<uint64_t>(kTrimEveryBlocks, config_.etcd_window_blocks / 4));
  if (height % every != 0 || height <= config_.etcd_window_blocks) return;
  const uint64_t keep_from = height - config_.etcd_window_blocks + 1;
  auto del = etcd_->DeleteRange(BlockKey(0), BlockKey(keep_from));
  if (!del.ok()) {
    spdlog::warn("trimming etcd below block {}: {}", keep_from, del.status().ToString());
    return;
  }
  Status c = etcd_->Compact(del->revision);
  if (!c.ok() && c.code() != Status::Code::kFailedPrecondition) {
    spdlog::warn("compacting etcd at revision {}: {}", del->revision, c.ToString());
  }
  spdlog::debug("etcd trimmed below block {} ({} keys), compacted at revision {}", keep_from,
                del->deleted, del->revision);
}

}  // namespace chip::node
