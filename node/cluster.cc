#include "node/cluster.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "ledger/address.h"
#include "ledger/block.h"
#include "ledger/check.h"
#include "ledger/file_util.h"
#include "node/tls.h"

namespace chip::node {

namespace pb = ::chipledger::v1;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// Longest a forwarded submission waits for the producer's answer, and then
// for this node to apply the block that holds it.
constexpr milliseconds kForwardTimeout{10'000};
// Blocks between two trims of etcd's window (delete + compact), at most.
constexpr uint64_t kTrimEveryBlocks = 64;
// Longest a catch-up stream from one peer runs.
constexpr milliseconds kCatchUpTimeout{30'000};
// Longest the driver sleeps with nothing to do; it rechecks its state then.
constexpr milliseconds kDriverIdleWake{200};
// Retry pause of the driver when etcd or the disk refuses.
constexpr milliseconds kRetryPause{250};
// Keys of the prefix held in the driver's inbox; beyond it the node drops
// the watch and reads ranges instead (a slow disk must not grow memory).
constexpr size_t kInboxKeysMax = 4'096;
// Size of a PEM file for etcd TLS.
constexpr size_t kPemBytesMax = 256 * 1024;
// Size of a member record accepted from etcd.
constexpr size_t kMemberValueBytesMax = 1'024;

std::string Pad20(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%020" PRIu64, v);
  return buf;
}

std::optional<uint64_t> ParseHeight(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

// {"node": "<address>", "grpc": "<host:port>"}; nullopt when malformed.
struct MemberRecord {
  PublicKey key{};
  std::string grpc;
};
std::optional<MemberRecord> ParseMember(const std::string& value) {
  if (value.size() > kMemberValueBytesMax) return std::nullopt;
  auto j = nlohmann::json::parse(value, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("node") || !j["node"].is_string() ||
      !j.contains("grpc") || !j["grpc"].is_string()) {
    return std::nullopt;
  }
  auto key = DecodeAddress(j["node"].get<std::string>());
  if (!key.ok()) return std::nullopt;
  return MemberRecord{*key, j["grpc"].get<std::string>()};
}

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
  size_t txs = 0, bytes = 0;
  // A block holds whole submissions; the first is taken even if it alone
  // passes the soft byte limit (Enqueue bounds it).
  while (!queue_.empty() && txs + queue_.front()->txs.size() <= config_.block_tx_max &&
         (take.empty() || bytes + queue_.front()->bytes <= config_.cluster_block_bytes_max)) {
    txs += queue_.front()->txs.size();
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

// -------------------------------------------------------------- election --

void EtcdOrderer::ElectionLoop() {
  const std::string leader_key = prefix_ + "leader";
  const std::string member_key = prefix_ + "nodes/" + EncodeAddress(node_pub_);
  const std::string value = MemberValue();
  const milliseconds period(std::min<uint32_t>(500, config_.etcd_lease_ttl_s * 1000 / 4));
  auto set_error = [this](const Status& s) {
    std::lock_guard<std::mutex> lock(mu_);
    etcd_error_ = "etcd: " + s.message();
  };
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (election_stopping_) break;
    }
    bool need_lease = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      need_lease = lease_id_ == 0 || lease_lost_;
    }
    if (need_lease) {
      if (keeper_) {
        keeper_->Stop();
        keeper_.reset();
      }
      StepDown("its etcd lease was lost");
      auto lease = etcd_->LeaseGrant(config_.etcd_lease_ttl_s);
      if (lease.ok()) {
        auto keeper = EtcdLeaseKeeper::Start(etcd_.get(), *lease, [this](const Status& why) {
          {
            std::lock_guard<std::mutex> lock(mu_);
            lease_lost_ = true;
          }
          spdlog::warn("etcd lease lost: {}", why.ToString());
          election_cv_.notify_all();
        });
        if (keeper.ok()) {
          keeper_ = std::move(*keeper);
          std::lock_guard<std::mutex> lock(mu_);
          lease_id_ = lease->id;
          lease_lost_ = false;
        }
        auto put = etcd_->Put(member_key, value, lease->id);
        if (!put.ok()) set_error(put.status());
      } else {
        set_error(lease.status());
      }
    }
    int64_t lease_id = 0;
    bool leader = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      lease_id = lease_lost_ ? 0 : lease_id_;
      leader = is_leader_;
    }
    if (lease_id != 0 && !leader) {
      EtcdTxn txn;
      txn.compares.push_back(EtcdCompare::CreateRevisionIs(leader_key, 0));
      txn.then_ops.push_back(EtcdOp::Put(leader_key, value, lease_id));
      txn.else_gets = {leader_key};
      auto r = etcd_->Txn(txn);
      if (r.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        const auto& kv = r->else_values.empty() ? std::nullopt : r->else_values[0];
        if (r->succeeded || (kv && kv->lease_id == lease_id)) {
          // Won (or an earlier attempt of ours that timed out had won).
          is_leader_ = true;
          token_ = r->succeeded ? r->revision : kv->create_revision;
          producer_ = Member{node_pub_, advertise_};
          spdlog::info("this node is now the block producer (fencing token {})", token_);
          driver_cv_.notify_all();
        } else if (kv) {
          if (auto m = ParseMember(kv->value)) producer_ = Member{m->key, m->grpc};
        }
      } else {
        set_error(r.status());
      }
    }
    MaybeDefragment();
    auto members = etcd_->Range(EtcdRange::Prefix(prefix_ + "nodes/"));
    if (members.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      members_.clear();
      for (const auto& kv : members->kvs) {
        if (auto m = ParseMember(kv.value)) {
          members_[kv.key.substr(prefix_.size() + 6)] = Member{m->key, m->grpc};
        }
      }
      etcd_error_.clear();
    } else {
      set_error(members.status());
    }
    std::unique_lock<std::mutex> lock(mu_);
    election_cv_.wait_for(lock, period, [&] {
      return election_stopping_ || lease_lost_ || (!is_leader_ && !producer_);
    });
  }
  if (keeper_) {
    keeper_->Stop();
    keeper_.reset();
  }
  int64_t lease_id = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    lease_id = lease_id_;
    is_leader_ = false;
  }
  // Revoking deletes our leader and member keys: another node takes over
  // now instead of after the lease TTL.
  if (lease_id != 0) {
    Status s = etcd_->LeaseRevoke(lease_id);
    if (!s.ok() && s.code() != Status::Code::kNotFound) {
      spdlog::warn("revoking the etcd lease: {} (it expires by itself)", s.ToString());
    }
  }
}

void EtcdOrderer::MaybeDefragment() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!is_leader_) return;
  }
  if (config_.etcd_defrag_interval_s == 0 ||
      Clock::now() - last_defrag_ < std::chrono::seconds(config_.etcd_defrag_interval_s)) {
    return;
  }
  last_defrag_ = Clock::now();
  if (member_clients_.empty()) {
    std::string list = config_.etcd_endpoints;
    size_t start = 0;
    while (start <= list.size()) {
      size_t comma = list.find(',', start);
      std::string one = list.substr(start, comma == std::string::npos ? comma : comma - start);
      start = comma == std::string::npos ? list.size() + 1 : comma + 1;
      if (one.empty()) continue;
      EtcdClientOptions o = etcd_->options();  // TLS settings included
      o.endpoints = one;
      // Defragmenting a large member takes a while; it blocks only it.
      o.call_timeout_ms = 60'000;
      auto c = EtcdClient::Create(o);
      if (c.ok()) member_clients_.push_back(std::move(*c));
    }
    if (member_clients_.empty()) return;
  }
  // One member per turn: the others keep a quorum meanwhile.
  EtcdClient* member = member_clients_[next_defrag_ % member_clients_.size()].get();
  ++next_defrag_;
  auto started = Clock::now();
  Status s = member->Defragment();
  auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - started).count();
  if (s.ok()) {
    spdlog::info("defragmented etcd member {} in {} ms", member->options().endpoints, took);
  } else {
    spdlog::warn("defragmenting etcd member {}: {}", member->options().endpoints, s.ToString());
  }
}

// ------------------------------------------------------------ forwarding --

pb::Ledger::Stub* EtcdOrderer::StubFor(const std::string& address) {
  std::lock_guard<std::mutex> lock(stubs_mu_);
  auto it = stubs_.find(address);
  if (it != stubs_.end()) return it->second.get();
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  // TLS with this node's certificate as client certificate when the node
  // has one (docs/OPERATIONS.md, "Node to node"); the files were checked at
  // start, so a failure here is a file changed since: fail closed (TLS
  // with default roots, which will not accept the peer) rather than fall
  // back to plaintext.
  auto credentials = MakeChannelCredentials(PeerTlsFiles(config_), address);
  if (!credentials.ok()) {
    spdlog::error("credentials for peer {}: {}", address, credentials.status().ToString());
  }
  auto channel = grpc::CreateCustomChannel(
      address,
      credentials.ok() ? *credentials : grpc::SslCredentials(grpc::SslCredentialsOptions()), args);
  channels_[address] = channel;
  auto stub = pb::Ledger::NewStub(channel);
  auto* raw = stub.get();
  stubs_[address] = std::move(stub);
  return raw;
}

void EtcdOrderer::RememberChecked(const PendingEntries& group) {
  std::lock_guard<std::mutex> lock(checked_mu_);
  for (const auto& e : group) {
    CHIP_CHECK(e->txs.size() == e->checked.size());
    for (size_t i = 0; i < e->txs.size(); ++i) {
      CHIP_CHECK(e->checked[i].code == pb::RESULT_OK);  // Enqueue takes checked txs only
      checked_[e->checked[i].hash] = Checked{e->txs[i], e->checked[i]};
    }
  }
}

void EtcdOrderer::ForgetChecked(const PendingEntries& group) {
  std::lock_guard<std::mutex> lock(checked_mu_);
  for (const auto& e : group) {
    for (const auto& c : e->checked) checked_.erase(c.hash);
  }
}

std::optional<std::vector<CheckedTx>> EtcdOrderer::PrecheckedFor(const pb::Block& block,
                                                                 size_t* reused) {
  *reused = 0;
  std::vector<CheckedTx> out(static_cast<size_t>(block.txs_size()));
  std::vector<bool> found(out.size(), false);
  size_t hits = 0;
  {
    std::lock_guard<std::mutex> lock(checked_mu_);
    if (checked_.empty()) return std::nullopt;
    for (size_t i = 0; i < out.size(); ++i) {
      const pb::SignedTx& tx = block.txs(static_cast<int>(i));
      auto it = checked_.find(TxHash(chain_->chain_id(), tx.body()));
      // Equal body, signer and signature, and nothing else (CheckTx refuses
      // unknown fields): CheckTx would give the block's copy the same result.
      if (it == checked_.end() || tx.body() != it->second.tx.body() ||
          tx.signer() != it->second.tx.signer() || tx.signature() != it->second.tx.signature() ||
          !tx.GetReflection()->GetUnknownFields(tx).empty()) {
        continue;
      }
      out[i] = it->second.checked;
      found[i] = true;
      ++hits;
    }
  }
  if (hits == 0) return std::nullopt;
  *reused = hits;
  for (size_t i = 0; i < out.size(); ++i) {
    if (!found[i]) out[i] = CheckTx(block.txs(static_cast<int>(i)), chain_->chain_id());
  }
  return out;
}

void EtcdOrderer::ForwardLoop() {
  for (;;) {
    PendingEntries group;
    std::optional<Member> producer;
    {
      std::unique_lock<std::mutex> lock(mu_);
      forward_cv_.wait(lock, [&] { return !forward_queue_.empty() || stopping_; });
      if (forward_queue_.empty()) return;
      size_t txs = 0;
      // Plain submissions travel together; an atomic one travels alone.
      while (!forward_queue_.empty()) {
        auto& next = forward_queue_.front();
        if (!group.empty() && (next->atomic || group.front()->atomic ||
                               txs + next->txs.size() > config_.submit_batch_tx_max)) {
          break;
        }
        txs += next->txs.size();
        group.push_back(std::move(next));
        forward_queue_.pop_front();
      }
      forward_txs_ -= txs;
      producer = producer_;
      if (is_leader_) {
        // This node became the producer meanwhile: order them here.
        for (auto& e : group) {
          queued_txs_ += e->txs.size();
          queued_bytes_ += e->bytes;
          queue_.push_back(std::move(e));
        }
        driver_cv_.notify_one();
        continue;
      }
    }
    if (!producer || producer->address.empty() || producer->key == node_pub_) {
      FailEntries(&group, Status::Unavailable("no block producer is elected; resubmit shortly"));
      continue;
    }
    RememberChecked(group);
    pb::SubmitBatchRequest req;
    req.set_atomic(group.front()->atomic);
    for (auto& e : group) {
      for (auto& tx : e->txs) *req.add_txs() = std::move(tx);
      e->txs.clear();
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kForwardTimeout);
    ctx.AddMetadata(kForwardedMetadataKey, advertise_);
    pb::SubmitBatchResponse resp;
    grpc::Status s = StubFor(producer->address)->SubmitBatch(&ctx, req, &resp);
    if (!s.ok() || resp.results_size() != req.txs_size()) {
      ForgetChecked(group);
      std::string why = s.ok() ? "a malformed answer" : s.error_message();
      FailEntries(&group, s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED
                              ? Status::ResourceExhausted("producer: " + why)
                              : Status::Unavailable("forwarding to the block producer at " +
                                                    producer->address + " failed (" + why +
                                                    "); resubmit (safe: idempotent)"));
      continue;
    }
    // Answer once this node has applied the block holding them, so a read
    // right after the answer sees them here too; the completer waits, so
    // this thread can forward the next group meanwhile.
    uint64_t top = 0;
    for (const auto& res : resp.results()) top = std::max<uint64_t>(top, res.height());
    {
      std::lock_guard<std::mutex> lock(mu_);
      answered_.push_back(
          Answered{std::move(group), std::move(resp), top, Clock::now() + kForwardTimeout});
    }
    tip_cv_.notify_all();
  }
}

void EtcdOrderer::CompleteLoop() {
  for (;;) {
    std::vector<Answered> ready;
    {
      std::unique_lock<std::mutex> lock(mu_);
      tip_cv_.wait_for(lock, milliseconds(100), [&] {
        if (stopping_ && forwarders_done_) return true;
        for (const auto& a : answered_) {
          if (a.height <= tip_.height() || Clock::now() >= a.deadline) return true;
        }
        return false;
      });
      for (auto it = answered_.begin(); it != answered_.end();) {
        if (it->height <= tip_.height() || Clock::now() >= it->deadline ||
            (stopping_ && forwarders_done_)) {
          ready.push_back(std::move(*it));
          it = answered_.erase(it);
        } else {
          ++it;
        }
      }
      if (ready.empty() && stopping_ && forwarders_done_ && answered_.empty()) return;
    }
    for (auto& a : ready) {
      ForgetChecked(a.entries);
      int index = 0;
      for (auto& e : a.entries) {
        SubmitOutcome out;
        for (size_t i = 0; i < e->checked.size(); ++i) {
          out.results.push_back(a.response.results(index++));
        }
        e->promise.set_value(std::move(out));
      }
    }
  }
}

}  // namespace chip::node
