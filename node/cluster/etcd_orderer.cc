#include "node/cluster/etcd_orderer.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "ledger/address.h"
#include "ledger/block.h"
#include "ledger/check.h"
#include "ledger/file_util.h"
#include "node/cluster/internal.h"
#include "node/serve/tls.h"

namespace chip::node {

namespace pb = ::chipledger::v1;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// Longest a catch-up stream from one peer runs.
constexpr milliseconds kCatchUpTimeout{30'000};
// Longest the driver sleeps with nothing to do; it rechecks its state then.
constexpr milliseconds kDriverIdleWake{200};
// Keys of the prefix held in the driver's inbox; beyond it the node drops
// the watch and reads ranges instead (a slow disk must not grow memory).
constexpr size_t kInboxKeysMax = 4'096;
// Size of a PEM file for etcd TLS.
constexpr size_t kPemBytesMax = 256 * 1024;

bool IsStorageError(const Status& s) {
  return s.code() == Status::Code::kIoError || s.code() == Status::Code::kResourceExhausted ||
         s.code() == Status::Code::kCorruption;
}

}  // namespace

Result<std::unique_ptr<EtcdOrderer>> EtcdOrderer::Create(Chain* chain, const SecretKey* node_key,
                                                         const NodeConfig& config,
                                                         Metrics* metrics) {
  EtcdClientOptions o;
  o.endpoints = config.etcd_endpoints;
  o.call_timeout_ms = config.etcd_call_timeout_ms;
  for (auto [path, pem] : {std::pair{&config.etcd_tls_ca_file, &o.tls_ca_pem},
                           std::pair{&config.etcd_tls_cert_file, &o.tls_cert_pem},
                           std::pair{&config.etcd_tls_key_file, &o.tls_key_pem}}) {
    if (path->empty()) continue;
    auto text = ReadSmallFile(*path, kPemBytesMax);
    if (!text.ok()) return Status::InvalidArgument("etcd TLS: " + text.status().message());
    *pem = *text;
  }
  auto client = EtcdClient::Create(o);
  if (!client.ok()) {
    return Status::InvalidArgument("etcd_endpoints: " + client.status().message());
  }
  return std::unique_ptr<EtcdOrderer>(
      new EtcdOrderer(chain, node_key, config, metrics, std::move(*client)));
}

EtcdOrderer::EtcdOrderer(Chain* chain, const SecretKey* node_key, const NodeConfig& config,
                         Metrics* metrics, std::unique_ptr<EtcdClient> etcd)
    : chain_(chain),
      node_key_(node_key),
      node_pub_(node_key->Public()),
      config_(config),
      metrics_(metrics),
      etcd_(std::move(etcd)),
      prefix_("/chipledger/" + ToHex(chain->chain_id()) + "/") {
  tip_ = chain_->tip();
}

EtcdOrderer::~EtcdOrderer() { Stop(); }

std::string EtcdOrderer::BlockKey(uint64_t height) const {
  return prefix_ + "blocks/" + Pad20(height);
}

std::optional<uint64_t> EtcdOrderer::HeightOfBlockKey(const std::string& key) const {
  const std::string blocks = prefix_ + "blocks/";
  if (key.compare(0, blocks.size(), blocks) != 0) return std::nullopt;
  std::string_view rest(key);
  rest.remove_prefix(blocks.size());
  if (rest.size() != 20) return std::nullopt;
  return ParseHeight(rest);
}

std::string EtcdOrderer::MemberValue() const {
  return nlohmann::json{{"node", EncodeAddress(node_pub_)}, {"grpc", advertise_}}.dump();
}

void EtcdOrderer::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (started_) return;
    started_ = true;
  }
  spdlog::info("cluster mode: etcd {} under {}, advertising {}", config_.etcd_endpoints, prefix_,
               advertise_);
  driver_ = std::thread([this] { DriverLoop(); });
  election_ = std::thread([this] { ElectionLoop(); });
  for (size_t i = 0; i < kForwardThreads; ++i) forwarders_.emplace_back([this] { ForwardLoop(); });
  completer_ = std::thread([this] { CompleteLoop(); });
}

void EtcdOrderer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  driver_cv_.notify_all();
  forward_cv_.notify_all();
  tip_cv_.notify_all();
  for (auto& t : forwarders_) t.join();
  forwarders_.clear();
  {
    std::lock_guard<std::mutex> lock(mu_);
    forwarders_done_ = true;
  }
  tip_cv_.notify_all();
  if (completer_.joinable()) completer_.join();
  // The driver orders what the producer still holds before the election
  // thread revokes the lease.
  if (driver_.joinable()) driver_.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    election_stopping_ = true;
  }
  election_cv_.notify_all();
  if (election_.joinable()) election_.join();
  PendingEntries left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& e : queue_) left.push_back(std::move(e));
    for (auto& e : forward_queue_) left.push_back(std::move(e));
    queue_.clear();
    forward_queue_.clear();
  }
  FailEntries(&left, Status::Unavailable("node is shutting down; resubmit to another node"));
}

Result<std::shared_future<SubmitOutcome>> EtcdOrderer::Enqueue(std::vector<pb::SignedTx> txs,
                                                               std::vector<CheckedTx> checked,
                                                               bool atomic, bool forwarded) {
  CHIP_CHECK(txs.size() == checked.size());
  CHIP_CHECK(!txs.empty());
  auto entry = std::make_unique<PendingEntry>();
  for (const auto& tx : txs) entry->bytes += tx.ByteSizeLong();
  if (entry->bytes > kClusterEntryBytesMax) {
    return Status::ResourceExhausted("a submission of " + std::to_string(entry->bytes) +
                                     " bytes does not fit one cluster block (at most " +
                                     std::to_string(kClusterEntryBytesMax) +
                                     "); submit smaller batches");
  }
  entry->txs = std::move(txs);
  entry->checked = std::move(checked);
  entry->atomic = atomic;
  CHIP_RETURN_IF_ERROR(CountOperations(entry.get()));
  entry->arrived = Clock::now();
  std::shared_future<SubmitOutcome> future = entry->promise.get_future().share();
  const size_t n = entry->txs.size();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_ || stopping_) return Status::Unavailable("node is shutting down");
    if (!storage_error_.empty()) {
      return Status::Unavailable("node cannot store blocks (" + storage_error_ +
                                 "); submit to another node");
    }
    if (queued_txs_ + forward_txs_ + n > config_.mempool_tx_max) {
      metrics_->mempool_rejections.fetch_add(1, std::memory_order_relaxed);
      return Status::ResourceExhausted("mempool full; retry later");
    }
    if (is_leader_) {
      queued_txs_ += n;
      queued_bytes_ += entry->bytes;
      metrics_->mempool_depth.store(queued_txs_, std::memory_order_relaxed);
      queue_.push_back(std::move(entry));
      driver_cv_.notify_one();
    } else if (forwarded) {
      // Sent here as to the producer, which this node no longer is (or is
      // not yet): the sender's view is stale. No second hop.
      return Status::Unavailable("this node is not the block producer (any more); resubmit");
    } else if (producer_ && producer_->key != node_pub_ && !producer_->address.empty()) {
      forward_txs_ += n;
      forward_queue_.push_back(std::move(entry));
      forward_cv_.notify_one();
    } else {
      std::string why = etcd_error_.empty() ? "an election is under way" : etcd_error_;
      return Status::Unavailable("no block producer is elected (" + why + "); resubmit shortly");
    }
  }
  return future;
}

pb::BlockHeader EtcdOrderer::Tip() const {
  std::lock_guard<std::mutex> lock(mu_);
  return tip_;
}

uint64_t EtcdOrderer::WaitForHeightAbove(uint64_t height, milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  tip_cv_.wait_for(lock, timeout, [&] { return tip_.height() > height || stopping_; });
  return tip_.height();
}

size_t EtcdOrderer::depth() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queued_txs_ + forward_txs_;
}

std::string EtcdOrderer::storage_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return storage_error_;
}

bool EtcdOrderer::OrdersLocally() const {
  std::lock_guard<std::mutex> lock(mu_);
  return is_leader_;
}

void EtcdOrderer::FillClusterStatus(pb::ClusterStatus* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  out->set_enabled(true);
  out->set_is_producer(is_leader_);
  if (producer_) {
    out->mutable_producer()->set_node_key(AsString(producer_->key));
    out->mutable_producer()->set_address(producer_->address);
  }
  for (const auto& [addr, m] : members_) {
    auto* pm = out->add_members();
    pm->set_node_key(AsString(m.key));
    pm->set_address(m.address);
  }
  out->set_etcd_tip(etcd_tip_);
  out->set_etcd_error(etcd_error_);
  if (refused_) {
    out->set_refused_block("height " + std::to_string(refused_->height) + " (etcd mod_revision " +
                           std::to_string(refused_->mod_revision) + "): " + refused_->reason);
  }
  out->set_refused_blocks_total(refused_total_);
  out->set_peer_catchup_blocks_total(peer_blocks_total_);
}

void EtcdOrderer::SetTip(const pb::BlockHeader& header) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    tip_ = header;
    if (header.height() > etcd_tip_) etcd_tip_ = header.height();
    if (refused_ && refused_->height <= header.height()) refused_.reset();
  }
  tip_cv_.notify_all();
  metrics_->blocks_committed.fetch_add(1, std::memory_order_relaxed);
}

void EtcdOrderer::StepDown(const std::string& why) {
  PendingEntries failed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!is_leader_) return;
    is_leader_ = false;
    token_ = 0;
    if (producer_ && producer_->key == node_pub_) producer_.reset();
    for (auto& e : queue_) failed.push_back(std::move(e));
    queue_.clear();
    queued_txs_ = 0;
    queued_bytes_ = 0;
    metrics_->mempool_depth.store(0, std::memory_order_relaxed);
  }
  spdlog::warn("no longer the block producer: {}", why);
  FailEntries(&failed, Status::Unavailable("this node stopped producing blocks (" + why +
                                           ") before ordering the transactions; resubmit "
                                           "(safe: transactions are idempotent)"));
  election_cv_.notify_all();
}

// ---------------------------------------------------------------- driver --

void EtcdOrderer::DriverLoop() {
  auto next_sync = Clock::now();
  for (;;) {
    std::deque<std::pair<EtcdKeyValue, bool>> batch;
    bool ended = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      batch.swap(inbox_);
      ended = watch_ended_;
    }
    for (const auto& [kv, deleted] : batch) HandleKv(kv, deleted);
    if (ended) need_sync_ = true;
    if (need_sync_ && Clock::now() >= next_sync) {
      StopWatch();
      if (SyncFromEtcd()) {
        need_sync_ = false;
      } else {
        next_sync = Clock::now() + kRetryPause;
      }
    }
    if (!need_sync_ && ProduceReady()) {
      ProduceOne();
      continue;
    }
    std::unique_lock<std::mutex> lock(mu_);
    if (stopping_ && (!is_leader_ || queue_.empty() || need_sync_)) break;
    auto wake = Clock::now() + kDriverIdleWake;
    if (need_sync_) wake = std::min(wake, next_sync);
    // The block interval runs from the oldest entry's arrival. With no entry
    // queued there is no such deadline yet, so the first one to arrive must
    // end this wait and re-arm it: before it did (#7), a producer that had
    // emptied its mempool slept until the idle wake, and every block of a
    // lightly loaded cluster was cut up to 200 ms late instead of after
    // block_interval_ms.
    const bool cut_pending = is_leader_ && !queue_.empty();
    if (cut_pending) {
      wake = std::min(wake, queue_.front()->arrived + milliseconds(config_.block_interval_ms));
    }
    driver_cv_.wait_until(lock, wake, [&] {
      return !inbox_.empty() || (watch_ended_ && !need_sync_) || stopping_ ||
             (is_leader_ && !cut_pending && !queue_.empty()) ||
             (is_leader_ && (queued_txs_ >= config_.block_tx_max ||
                             queued_bytes_ >= config_.cluster_block_bytes_max));
    });
  }
  StopWatch();
}

void EtcdOrderer::StartWatch(int64_t from_revision) {
  EtcdWatchOptions o;
  o.key = prefix_;
  o.range_end = EtcdClient::PrefixEnd(prefix_);
  o.start_revision = from_revision;
  {
    std::lock_guard<std::mutex> lock(mu_);
    watch_ended_ = false;
  }
  auto on_events = [this](const std::vector<EtcdEvent>& events) {
    std::lock_guard<std::mutex> lock(mu_);
    if (watch_ended_) return;  // overflowed: the driver reads ranges instead
    for (const auto& ev : events) {
      bool deleted = ev.type == EtcdEvent::Type::kDelete;
      if (ev.kv.key.compare(0, prefix_.size() + 7, prefix_ + "blocks/") == 0) {
        inbox_.emplace_back(ev.kv, deleted);
      } else {
        HandleMetaKvLocked(ev.kv, deleted);
      }
    }
    if (inbox_.size() > kInboxKeysMax) {
      inbox_.clear();
      watch_ended_ = true;
    }
    driver_cv_.notify_one();
  };
  auto on_end = [this](const EtcdWatchEnd& end) {
    std::lock_guard<std::mutex> lock(mu_);
    watch_ended_ = true;
    if (end.reason != EtcdWatchEnd::Reason::kStopped) {
      spdlog::debug("etcd watch ended ({}); reading ranges", end.status.ToString());
    }
    driver_cv_.notify_one();
  };
  auto w = EtcdWatch::Start(etcd_.get(), o, on_events, on_end);
  if (!w.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    watch_ended_ = true;
    return;
  }
  watch_ = std::move(*w);
}

void EtcdOrderer::StopWatch() {
  if (watch_) {
    watch_->Stop();
    watch_.reset();
  }
  std::lock_guard<std::mutex> lock(mu_);
  watch_ended_ = false;  // the driver is resyncing; not a new end
}

void EtcdOrderer::HandleMetaKvLocked(const EtcdKeyValue& kv, bool deleted) {
  if (kv.key == prefix_ + "tip") {
    if (deleted) return;
    if (auto t = ParseHeight(kv.value)) etcd_tip_ = *t;
  } else if (kv.key == prefix_ + "leader") {
    if (deleted) {
      producer_.reset();
      election_cv_.notify_all();
    } else if (auto m = ParseMember(kv.value)) {
      producer_ = Member{m->key, m->grpc};
    }
  } else if (kv.key.compare(0, prefix_.size() + 6, prefix_ + "nodes/") == 0) {
    std::string name = kv.key.substr(prefix_.size() + 6);
    if (deleted) {
      members_.erase(name);
    } else if (auto m = ParseMember(kv.value)) {
      members_[name] = Member{m->key, m->grpc};
    }
  }
}

void EtcdOrderer::HandleKv(const EtcdKeyValue& kv, bool deleted) {
  if (auto h = HeightOfBlockKey(kv.key)) {
    if (!deleted) HandleBlockKv(*h, kv);
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  HandleMetaKvLocked(kv, deleted);
}

void EtcdOrderer::HandleBlockKv(uint64_t height, const EtcdKeyValue& kv) {
  const uint64_t h = chain_->height();
  if (height > h + 1) {
    need_sync_ = true;  // a gap: range reads (or a peer) fill it
    return;
  }
  pb::Block block;
  Status s;
  if (!block.ParseFromString(kv.value)) {
    s = Status::InvalidArgument("not a decodable block");
  } else if (block.header().height() != height) {
    s = Status::InvalidArgument("stored under height " + std::to_string(height) +
                                " but says height " + std::to_string(block.header().height()));
  } else if (height <= h) {
    // Already applied (our own block, or a re-read): etcd must hold the same.
    Hash32 applied_hash{};
    if (height == h) {
      applied_hash = chain_->tip_hash();
    } else {
      auto mine = chain_->store()->GetBlock(height);
      if (!mine.ok() || !mine->has_value()) return;  // cannot tell; nothing to do
      applied_hash = BlockHash((*mine)->header());
    }
    if (BlockHash(block.header()) == applied_hash) return;
    s = Status::InvalidArgument("differs from the block this node applied at that height");
  } else {
    const auto t0 = Clock::now();
    // The transactions this node forwarded were verified on their way in;
    // the block need not verify them again (it does all others).
    size_t reused = 0;
    auto prechecked = PrecheckedFor(block, &reused);
    s = chain_->Append(block, prechecked ? &*prechecked : nullptr);
    if (s.ok()) {
      spdlog::debug(
          "applied block {}: {} txs ({} checked on their way in), {} ms after it was built, "
          "append {:.1f} ms",
          height, block.txs_size(), reused,
          static_cast<int64_t>(WallClockMs() - block.header().timestamp_ms()),
          std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      SetTip(block.header());
      return;
    }
    if (IsStorageError(s)) {
      spdlog::error("cannot store block {}: {}; retrying", height, s.ToString());
      std::lock_guard<std::mutex> lock(mu_);
      storage_error_ = s.message();
      need_sync_ = true;
      return;
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  bool fresh = !refused_ || refused_->height != height || refused_->mod_revision != kv.mod_revision;
  if (height == h + 1) refused_ = Refused{height, kv.mod_revision, s.message()};
  if (fresh) {
    ++refused_total_;
    spdlog::error(
        "REFUSED block {} from etcd (mod_revision {}): {}. This node does not apply it; the "
        "producer replaces it with a valid block",
        height, kv.mod_revision, s.message());
  }
}

bool EtcdOrderer::SyncFromEtcd() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (!storage_error_.empty()) {
      lock.unlock();
      Status r = chain_->store()->Resume();
      lock.lock();
      if (!r.ok()) return false;
      spdlog::warn("storage writable again");
      storage_error_.clear();
    }
  }
  auto fail = [this](const Status& s) {
    std::lock_guard<std::mutex> lock(mu_);
    etcd_error_ = "etcd: " + s.message();
    return false;
  };
  for (;;) {
    const uint64_t h = chain_->height();
    EtcdRange r;
    r.key = BlockKey(h + 1);
    r.range_end = EtcdClient::PrefixEnd(prefix_ + "blocks/");
    r.limit = kFollowPageBlocks;
    auto page = etcd_->Range(r);
    if (!page.ok()) return fail(page.status());
    auto tip = etcd_->Range(prefix_ + "tip");
    if (!tip.ok()) return fail(tip.status());
    uint64_t etcd_tip = 0;
    if (!tip->kvs.empty()) etcd_tip = ParseHeight(tip->kvs[0].value).value_or(0);
    {
      std::lock_guard<std::mutex> lock(mu_);
      etcd_tip_ = etcd_tip;
      tip_present_ = !tip->kvs.empty();
      etcd_error_.clear();
    }
    // Blocks after ours that etcd no longer holds (trimmed below its
    // window): a peer serves them.
    uint64_t first = page->kvs.empty() ? etcd_tip + 1 : HeightOfBlockKey(page->kvs[0].key).value();
    if (first > h + 1 && etcd_tip > h) {
      if (!CatchUpFromPeers(first - 1)) {
        std::lock_guard<std::mutex> lock(mu_);
        etcd_error_ = "blocks " + std::to_string(h + 1) + ".." + std::to_string(first - 1) +
                      " are no longer in etcd and no peer served them";
        return false;
      }
      continue;
    }
    bool stuck = false;
    for (const auto& kv : page->kvs) {
      uint64_t height = HeightOfBlockKey(kv.key).value();
      HandleBlockKv(height, kv);
      if (chain_->height() < height) {
        stuck = true;  // refused (or a storage error): wait for what comes next
        break;
      }
    }
    if (stuck || !page->more) {
      StartWatch(page->revision + 1);
      return true;
    }
  }
}

bool EtcdOrderer::CatchUpFromPeers(uint64_t target) {
  std::vector<std::string> peers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (producer_ && producer_->key != node_pub_) peers.push_back(producer_->address);
    for (const auto& [name, m] : members_) {
      if (m.key != node_pub_ && std::find(peers.begin(), peers.end(), m.address) == peers.end())
        peers.push_back(m.address);
    }
  }
  const uint64_t start = chain_->height();
  for (const auto& peer : peers) {
    if (peer.empty() || chain_->height() >= target) continue;
    auto* stub = StubFor(peer);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kCatchUpTimeout);
    pb::StreamBlocksRequest req;
    req.set_from_height(chain_->height() + 1);
    auto reader = stub->StreamBlocks(&ctx, req);
    pb::StreamBlocksResponse msg;
    uint64_t got = 0;
    while (chain_->height() < target && reader->Read(&msg)) {
      if (msg.block().header().height() != chain_->height() + 1) break;
      Status s = chain_->Append(msg.block());
      if (!s.ok()) {
        spdlog::warn("peer {} served block {} that does not verify: {}", peer,
                     msg.block().header().height(), s.ToString());
        break;
      }
      SetTip(msg.block().header());
      ++got;
    }
    ctx.TryCancel();
    reader->Finish();
    {
      std::lock_guard<std::mutex> lock(mu_);
      peer_blocks_total_ += got;
    }
    if (got > 0) spdlog::info("fetched {} blocks from peer {} (below the etcd window)", got, peer);
  }
  return chain_->height() >= target || chain_->height() > start;
}

}  // namespace chip::node
