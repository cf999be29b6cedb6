// The single-node ordering seam: a bounded mempool of verified transactions
// and the thread that cuts them into blocks, applies and commits them through
// the Chain, and completes each waiting submitter with its result.
//
// With block_interval_ms = 0 (the default) this is group commit: the thread
// cuts a block as soon as it is not writing one, so a lone client waits for
// one block write instead of a timer, and the entries that arrive while a
// block is being applied and synced form the next block (its size follows the
// load). With block_interval_ms = N a block is cut N ms after the oldest
// waiting entry arrived. Either way it is cut at once when block_tx_max
// transactions wait. An entry (one submission) is
// never split across blocks, so an atomic batch is one AtomicRange.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "chipledger/v1/ledger.pb.h"
#include "ledger/chain.h"
#include "node/ops/config.h"
#include "node/ops/metrics.h"
#include "node/order/orderer.h"

namespace chip::node {

class Sequencer final : public Orderer {
 public:
  Sequencer(Chain* chain, const SecretKey* producer_key, const NodeConfig& config,
            Metrics* metrics);
  ~Sequencer() override;
  Sequencer(const Sequencer&) = delete;
  Sequencer& operator=(const Sequencer&) = delete;

  void Start() override;
  // Refuses new entries, commits those already queued, then stops the thread.
  void Stop() override;

  // Queues transactions that passed CheckTx (checked[i].code == OK).
  // ResourceExhausted when the mempool cannot take them all; Unavailable
  // once stopping.
  Result<std::shared_future<SubmitOutcome>> Enqueue(std::vector<chipledger::v1::SignedTx> txs,
                                                    std::vector<CheckedTx> checked, bool atomic,
                                                    bool forwarded = false) override;

  // The last committed header (a copy: Chain itself is owned by this thread).
  chipledger::v1::BlockHeader Tip() const override;
  // Blocks until the tip height exceeds `height` or `timeout` passes, and
  // returns the tip height.
  uint64_t WaitForHeightAbove(uint64_t height, std::chrono::milliseconds timeout) override;
  size_t depth() const override;
  // Empty while blocks commit; otherwise why they cannot (e.g. disk full).
  std::string storage_error() const override;

 private:
  void Run();
  // OK when the data directory's filesystem has more than disk_reserve_mb
  // free; ResourceExhausted otherwise.
  Status CheckDiskSpace() const;
  void CommitBlock(PendingEntries entries);

  Chain* chain_;
  const SecretKey* producer_key_;
  NodeConfig config_;
  Metrics* metrics_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable tip_cv_;
  std::deque<std::unique_ptr<PendingEntry>> queue_;
  size_t queued_txs_ = 0;
  bool stopping_ = false;
  // Set when a block failed to commit for lack of space or an I/O error: new
  // submissions are refused (reads keep working) and the thread retries
  // storage every kStorageRetryMs until it is writable again.
  Status storage_error_;
  uint64_t resume_attempts_ = 0;
  chipledger::v1::BlockHeader tip_;
  std::thread thread_;
};

}  // namespace chip::node
