// EtcdOrderer: the ordering seam of a multi-node cluster (chipd start
// --etcd). etcd orders blocks and elects the producer; it is trusted for
// order and availability, never for content: every node applies a block only
// if it is signed by a genesis validator, links to its predecessor and
// re-executes to the same results and state digest (Chain::Append).
//
// Keys, under /chipledger/<chain id hex>/ (node/cluster/etcd_client.h):
//   leader        the producer's election key, bound to its lease; value
//                 {"node": "<address>", "grpc": "<host:port>"}
//   nodes/<addr>  every live node, bound to its lease, same value
//   tip           height of the last ordered block (20 digits)
//   blocks/<h>    one serialized block, h zero-padded to 20 digits
//
// Threads (all owned here; the Chain is written only by the driver):
//   driver     follows etcd (range reads, then a watch of the whole prefix;
//              back to range reads on any watch end) and applies blocks in
//              etcd order; when this node is the producer, cuts blocks from
//              its mempool and appends each with one fenced etcd txn
//              (leader create_revision == our token, tip == h), committing
//              locally only once etcd took it; an ambiguous etcd error is
//              resolved by reading block h back. Also trims etcd to a
//              window of recent blocks and compacts; a node whose next block
//              is below the window fetches blocks from a peer (StreamBlocks)
//              and verifies them like any other.
//   election   keeps this node's lease (EtcdLeaseKeeper), registers it under
//              nodes/, campaigns for `leader` whenever it is free.
//   forwarders submissions that reach a non-producer are sent to the
//              producer (SubmitBatch); the client is answered once this node
//              has applied the block holding them. Their CheckTx results are
//              kept until then, and the driver's Append reuses them for the
//              byte-identical transactions of that block (no second verify).
//
// Refused blocks: a block in etcd that fails verification is logged as an
// error, reported in GetStatus, and not applied by any node (the check is
// deterministic, so all nodes refuse the same block). The producer then
// replaces it (and anything ordered after it) with its own block in one
// fenced txn, so the cluster continues past it (docs/OPERATIONS.md).
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "chipledger/v1/ledger.grpc.pb.h"
#include "ledger/chain.h"
#include "node/cluster/etcd_client.h"
#include "node/ops/config.h"
#include "node/ops/metrics.h"
#include "node/order/orderer.h"

namespace chip::node {

// Forwarding threads per node: each holds one request to the producer at a
// time (a round trip lasts about a block interval plus an etcd append), so
// they bound the forwarded rate together with the batch each one carries.
inline constexpr size_t kForwardThreads = 16;
// Blocks per range read while following etcd.
inline constexpr int64_t kFollowPageBlocks = 64;
// A submission larger than this (serialized) cannot go into one etcd value.
inline constexpr size_t kClusterEntryBytesMax = 1u << 20;

class EtcdOrderer final : public Orderer {
 public:
  // InvalidArgument for a malformed etcd endpoint list. Connects lazily.
  static Result<std::unique_ptr<EtcdOrderer>> Create(Chain* chain, const SecretKey* node_key,
                                                     const NodeConfig& config, Metrics* metrics);
  ~EtcdOrderer() override;
  EtcdOrderer(const EtcdOrderer&) = delete;
  EtcdOrderer& operator=(const EtcdOrderer&) = delete;

  // The gRPC address peers use to reach this node; call before Start.
  void SetAdvertise(std::string host_port) { advertise_ = std::move(host_port); }

  void Start() override;
  // A producer first orders what is queued (while etcd takes it), then
  // revokes its lease so another node takes over at once.
  void Stop() override;
  Result<std::shared_future<SubmitOutcome>> Enqueue(std::vector<chipledger::v1::SignedTx> txs,
                                                    std::vector<CheckedTx> checked, bool atomic,
                                                    bool forwarded = false) override;
  chipledger::v1::BlockHeader Tip() const override;
  uint64_t WaitForHeightAbove(uint64_t height, std::chrono::milliseconds timeout) override;
  size_t depth() const override;
  std::string storage_error() const override;
  void FillClusterStatus(chipledger::v1::ClusterStatus* out) const override;
  bool OrdersLocally() const override;

 private:
  struct Member {
    PublicKey key{};
    std::string address;  // "" when unknown
  };
  struct Refused {
    uint64_t height = 0;
    int64_t mod_revision = 0;
    std::string reason;
  };

  EtcdOrderer(Chain* chain, const SecretKey* node_key, const NodeConfig& config, Metrics* metrics,
              std::unique_ptr<EtcdClient> etcd);

  // --- keys ---
  std::string BlockKey(uint64_t height) const;
  std::optional<uint64_t> HeightOfBlockKey(const std::string& key) const;
  std::string MemberValue() const;

  // --- driver ---
  void DriverLoop();
  // Range-reads etcd from the applied height on, applies, then starts a
  // watch; false (with etcd_error_ set) when etcd did not answer.
  bool SyncFromEtcd();
  void StartWatch(int64_t from_revision);
  void StopWatch();
  // Handles one key of the prefix seen by a read or the watch.
  void HandleKv(const EtcdKeyValue& kv, bool deleted);
  void HandleBlockKv(uint64_t height, const EtcdKeyValue& kv);
  // tip, leader and nodes/ keys; mu_ held.
  void HandleMetaKvLocked(const EtcdKeyValue& kv, bool deleted);
  // Fetches and applies blocks up to `target` from peers; true on progress.
  bool CatchUpFromPeers(uint64_t target);
  bool ProduceReady();
  void ProduceOne();
  PendingEntries TakeBlockEntries();
  // Puts entries back at the front of the mempool, in order.
  void Requeue(PendingEntries* entries);
  // Reads block `height` back after an ambiguous append: true when etcd
  // holds exactly `value` there, false when it holds something else or
  // nothing; nullopt when etcd could not be read before the deadline.
  std::optional<bool> ReadBack(uint64_t height, const std::string& value);
  void TrimEtcd(uint64_t height);
  void SetTip(const chipledger::v1::BlockHeader& header);
  void StepDown(const std::string& why);

  // --- election ---
  void ElectionLoop();
  // Producer only: defragments the next etcd member when it is due.
  void MaybeDefragment();

  // --- forwarding ---
  void ForwardLoop();
  // Answers forwarded submissions once this node applied their block.
  void CompleteLoop();
  // CheckTx results of transactions this node forwarded, kept until the
  // group is answered so the block holding them need not verify them again.
  void RememberChecked(const PendingEntries& group);
  void ForgetChecked(const PendingEntries& group);
  // CheckTx results for every transaction of `block`: remembered ones where
  // the transaction is byte-for-byte the one this node checked, CheckTx for
  // the rest; *reused counts the former. nullopt when none is remembered
  // (Append then checks all).
  std::optional<std::vector<CheckedTx>> PrecheckedFor(const chipledger::v1::Block& block,
                                                      size_t* reused);
  chipledger::v1::Ledger::Stub* StubFor(const std::string& address);

  Chain* chain_;
  const SecretKey* node_key_;
  const PublicKey node_pub_;
  const NodeConfig config_;
  Metrics* metrics_;
  std::unique_ptr<EtcdClient> etcd_;
  const std::string prefix_;  // "/chipledger/<chain id hex>/"
  std::string advertise_;

  // Driver-thread state.
  std::unique_ptr<EtcdWatch> watch_;
  bool need_sync_ = true;  // range-read etcd before trusting the watch

  mutable std::mutex mu_;
  std::condition_variable driver_cv_;
  std::condition_variable election_cv_;
  std::condition_variable forward_cv_;
  std::condition_variable tip_cv_;
  bool started_ = false;
  bool stopping_ = false;
  bool election_stopping_ = false;  // set once the driver has finished
  bool forwarders_done_ = false;    // the forwarding threads have ended
  chipledger::v1::BlockHeader tip_;
  // Mempool of the producer, and submissions waiting to be forwarded.
  std::deque<std::unique_ptr<PendingEntry>> queue_;
  size_t queued_txs_ = 0;
  size_t queued_bytes_ = 0;
  std::deque<std::unique_ptr<PendingEntry>> forward_queue_;
  size_t forward_txs_ = 0;
  // From the watch: keys in revision order, then its end.
  std::deque<std::pair<EtcdKeyValue, bool>> inbox_;
  bool watch_ended_ = true;
  // Leadership.
  bool is_leader_ = false;
  int64_t token_ = 0;        // create_revision of our leader key
  int64_t lease_id_ = 0;     // this node's lease (0: none)
  bool lease_lost_ = false;  // the keeper gave up on lease_id_
  std::optional<Member> producer_;
  std::map<std::string, Member> members_;  // by address text
  uint64_t etcd_tip_ = 0;
  bool tip_present_ = false;  // etcd holds a tip key at all
  std::string etcd_error_;
  std::string storage_error_;
  std::optional<Refused> refused_;
  uint64_t refused_total_ = 0;
  uint64_t peer_blocks_total_ = 0;

  std::unique_ptr<EtcdLeaseKeeper> keeper_;  // election thread only
  // Election thread only: one client per etcd member, for Defragment.
  std::vector<std::unique_ptr<EtcdClient>> member_clients_;
  size_t next_defrag_ = 0;
  std::chrono::steady_clock::time_point last_defrag_ = std::chrono::steady_clock::now();
  std::mutex stubs_mu_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_;
  std::map<std::string, std::unique_ptr<chipledger::v1::Ledger::Stub>> stubs_;

  std::thread driver_;
  std::thread election_;
  std::vector<std::thread> forwarders_;
  std::thread completer_;
  // Forwarded groups the producer answered, waiting for this node to apply
  // the block at `height`; answered then, or at `deadline` regardless.
  struct Answered {
    PendingEntries entries;
    chipledger::v1::SubmitBatchResponse response;
    uint64_t height = 0;
    std::chrono::steady_clock::time_point deadline;
  };
  std::deque<Answered> answered_;
  // Forwarded transactions in flight, by hash: the signed transaction (its
  // signer and signature, which the hash does not cover) and its CheckTx
  // result. At most the forwarded submissions in flight: entries leave when
  // their group is answered or fails.
  struct Checked {
    chipledger::v1::SignedTx tx;
    CheckedTx checked;
  };
  std::mutex checked_mu_;
  std::map<Hash32, Checked> checked_;
};

}  // namespace chip::node
