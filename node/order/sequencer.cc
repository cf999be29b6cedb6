#include "node/order/sequencer.h"

#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include "ledger/check.h"
#include "ledger/limits.h"

namespace chip::node {

namespace pb = ::chipledger::v1;

constexpr int kStorageRetryMs = 500;

Sequencer::Sequencer(Chain* chain, const SecretKey* producer_key, const NodeConfig& config,
                     Metrics* metrics)
    : chain_(chain), producer_key_(producer_key), config_(config), metrics_(metrics) {
  tip_ = chain_->tip();
}

Sequencer::~Sequencer() { Stop(); }

void Sequencer::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Sequencer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  tip_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Result<std::shared_future<SubmitOutcome>> Sequencer::Enqueue(std::vector<pb::SignedTx> txs,
                                                             std::vector<CheckedTx> checked,
                                                             bool atomic, bool /*forwarded*/) {
  CHIP_CHECK(txs.size() == checked.size());
  CHIP_CHECK(!txs.empty());
  for (const auto& c : checked) CHIP_CHECK(c.code == pb::RESULT_OK);
  auto entry = std::make_unique<PendingEntry>();
  entry->txs = std::move(txs);
  entry->checked = std::move(checked);
  entry->atomic = atomic;
  CHIP_RETURN_IF_ERROR(CountOperations(entry.get()));
  entry->arrived = std::chrono::steady_clock::now();
  std::shared_future<SubmitOutcome> future = entry->promise.get_future().share();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return Status::Unavailable("node is shutting down");
    if (!storage_error_.ok()) {
      std::string why = "node cannot write blocks (" + storage_error_.message() +
                        "); reads still work, writes resume when storage recovers";
      if (storage_error_.code() == Status::Code::kResourceExhausted) {
        return Status::ResourceExhausted(why);
      }
      return Status::Unavailable(why);
    }
    if (queued_txs_ + entry->txs.size() > config_.mempool_tx_max) {
      metrics_->mempool_rejections.fetch_add(1, std::memory_order_relaxed);
      return Status::ResourceExhausted("mempool full (" + std::to_string(queued_txs_) +
                                       " transactions waiting); retry later");
    }
    queued_txs_ += entry->txs.size();
    metrics_->mempool_depth.store(queued_txs_, std::memory_order_relaxed);
    queue_.push_back(std::move(entry));
  }
  work_cv_.notify_one();
  return future;
}

pb::BlockHeader Sequencer::Tip() const {
  std::lock_guard<std::mutex> lock(mu_);
  return tip_;
}

Status Sequencer::CheckDiskSpace() const {
  if (config_.disk_reserve_mb == 0) return Status::Ok();
  struct statvfs vfs;
  if (::statvfs(config_.data_dir.c_str(), &vfs) != 0) return Status::Ok();  // cannot tell
  uint64_t free_mb = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize / (1024 * 1024);
  if (free_mb >= config_.disk_reserve_mb) return Status::Ok();
  return Status::ResourceExhausted("disk almost full: " + std::to_string(free_mb) + " MiB free, " +
                                   std::to_string(config_.disk_reserve_mb) +
                                   " MiB kept in reserve (disk_reserve_mb)");
}

std::string Sequencer::storage_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return storage_error_.ok() ? "" : storage_error_.message();
}

size_t Sequencer::depth() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queued_txs_;
}

uint64_t Sequencer::WaitForHeightAbove(uint64_t height, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  tip_cv_.wait_for(lock, timeout, [&] { return tip_.height() > height || stopping_; });
  return tip_.height();
}

void Sequencer::Run() {
  const auto interval = std::chrono::milliseconds(config_.block_interval_ms);
  for (;;) {
    PendingEntries take;
    {
      std::unique_lock<std::mutex> lock(mu_);
      while (!storage_error_.ok() && !stopping_) {
        // Degraded: probe storage until it accepts writes again.
        lock.unlock();
        Status resumed = CheckDiskSpace();
        if (resumed.ok()) resumed = chain_->store()->Resume();
        lock.lock();
        if (resumed.ok()) {
          spdlog::warn("storage writable again: accepting transactions");
          storage_error_ = Status::Ok();
          break;
        }
        if (++resume_attempts_ % 20 == 1)
          spdlog::warn("storage still refuses writes: {}", resumed.ToString());
        work_cv_.wait_for(lock, std::chrono::milliseconds(kStorageRetryMs));
      }
      work_cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) return;  // stopping with nothing left to commit
      // With an interval, wait for the block to fill or the oldest entry's
      // interval to pass; a stop cuts the wait short but still commits what is
      // queued. Without one (group commit) take what is there now.
      if (interval.count() > 0) {
        auto deadline = queue_.front()->arrived + interval;
        work_cv_.wait_until(lock, deadline,
                            [&] { return queued_txs_ >= config_.block_tx_max || stopping_; });
      }
      size_t txs = 0, ops = 0;
      while (!queue_.empty() && txs + queue_.front()->txs.size() <= config_.block_tx_max &&
             ops + queue_.front()->ops <= kBlockOperationsMax) {
        txs += queue_.front()->txs.size();
        ops += queue_.front()->ops;
        take.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      // An entry never exceeds block_tx_max (ValidateConfig) nor
      // kBlockOperationsMax (CountOperations).
      CHIP_CHECK(!take.empty());
      queued_txs_ -= txs;
      metrics_->mempool_depth.store(queued_txs_, std::memory_order_relaxed);
    }
    CommitBlock(std::move(take));
  }
}

void Sequencer::CommitBlock(PendingEntries entries) {
  if (Status space = CheckDiskSpace(); !space.ok()) {
    spdlog::error("{}: refusing new transactions, still serving reads; retrying every {} ms",
                  space.message(), kStorageRetryMs);
    {
      std::lock_guard<std::mutex> lock(mu_);
      storage_error_ = space;
    }
    FailEntries(&entries, Status::ResourceExhausted(space.message()));
    return;
  }
  // The sequencer never requeues an entry, so its checked bodies can move.
  BlockInput in = TakeBlockInput(&entries, /*move_checked=*/true);
  const size_t tx_count = in.txs.size();
  const auto started = std::chrono::steady_clock::now();
  auto prepared = chain_->Prepare(std::move(in.txs), std::move(in.atomic), WallClockMs(),
                                  *producer_key_, &in.checked);
  const auto executed = std::chrono::steady_clock::now();
  const Status committed = prepared.ok() ? chain_->CommitPrepared(&*prepared) : prepared.status();
  const auto written = std::chrono::steady_clock::now();
  if (!committed.ok()) {
    metrics_->block_failures.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("block {} not committed: {}", chain_->height() + 1, committed.ToString());
    if (committed.code() == Status::Code::kResourceExhausted ||
        committed.code() == Status::Code::kIoError) {
      spdlog::error(
          "storage refuses writes ({}): refusing new transactions, still serving reads; "
          "retrying every {} ms",
          committed.code() == Status::Code::kResourceExhausted ? "disk full" : "I/O error",
          kStorageRetryMs);
      std::lock_guard<std::mutex> lock(mu_);
      storage_error_ = committed;
    }
    FailEntries(&entries,
                committed.code() == Status::Code::kResourceExhausted
                    ? Status::ResourceExhausted("block not committed: " + committed.message())
                    : Status::Unavailable("block not committed: " + committed.message()));
    return;
  }
  const pb::Block& block = prepared->block;
  {
    std::lock_guard<std::mutex> lock(mu_);
    tip_ = block.header();
  }
  tip_cv_.notify_all();
  metrics_->blocks_committed.fetch_add(1, std::memory_order_relaxed);
  AnswerCommitted(chain_->store(), metrics_, block, &entries);
  auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  spdlog::debug("block {} committed: {} txs, prepare {:.1f} ms, write {:.1f} ms, answer {:.1f} ms",
                block.header().height(), tx_count, ms(executed - started), ms(written - executed),
                ms(std::chrono::steady_clock::now() - written));
}

}  // namespace chip::node
