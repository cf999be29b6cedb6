// The ordering seam: what the gRPC services need from whatever orders
// transactions into blocks. Two implementations:
//   Sequencer   (node/order/sequencer.h) a single node orders and commits by itself;
//   EtcdOrderer (node/cluster/etcd_orderer.h) several nodes share one order through etcd.
// Both own the Chain's writes on their own thread; services only read the
// store and call these methods.
#pragma once

#include <chrono>
#include <cstdint>
#include <future>
#include <string>
#include <vector>

#include "chipledger/v1/ledger.pb.h"
#include "ledger/status.h"
#include "ledger/store.h"
#include "ledger/tx.h"
#include "node/ops/metrics.h"

namespace chip::node {

struct SubmitOutcome {
  Status status;                                  // not OK: see Orderer::Enqueue
  std::vector<chipledger::v1::TxResult> results;  // one per submitted tx
};

// One submission waiting for its block: it is never split across blocks, so
// an atomic batch is one AtomicRange.
struct PendingEntry {
  std::vector<chipledger::v1::SignedTx> txs;
  std::vector<CheckedTx> checked;
  bool atomic = false;
  size_t bytes = 0;  // serialized size of txs
  size_t ops = 0;    // operations of txs (OperationCount), for kBlockOperationsMax
  std::chrono::steady_clock::time_point arrived;
  std::promise<SubmitOutcome> promise;
};
using PendingEntries = std::vector<std::unique_ptr<PendingEntry>>;

// Sets entry->ops from its checked bodies. A submission of more operations
// than one block may hold (kBlockOperationsMax) is refused with
// ResourceExhausted, since no block could carry it.
Status CountOperations(PendingEntry* entry);

// The inputs of one block, moved out of its entries (their txs are empty
// afterwards; their checked results keep the hashes).
struct BlockInput {
  std::vector<chipledger::v1::SignedTx> txs;
  std::vector<CheckedTx> checked;
  std::vector<chipledger::v1::AtomicRange> atomic;
};
// With move_checked, the entries' CheckedTx bodies are moved too (their
// hashes stay): for an orderer that never gives entries back to a queue.
BlockInput TakeBlockInput(PendingEntries* entries, bool move_checked = false);

// Answers every entry of a committed block with its results, each with its
// height, index and block time in this block, recorded or not (an unrecorded
// retry of a transaction recorded earlier gets the original outcome and
// position instead), and counts them in the metrics.
void AnswerCommitted(Store* store, Metrics* metrics, const chipledger::v1::Block& block,
                     PendingEntries* entries);
void FailEntries(PendingEntries* entries, const Status& why);

// The answer for a transaction recorded earlier, from its stored record.
// For a failed multi-operation transaction it reads the block from `store`
// for the failing operation's index.
chipledger::v1::TxResult FromStored(Store* store, const Hash32& hash, const StoredTx& s,
                                    bool already_applied);

// gRPC metadata a cluster node sets on submissions it forwards.
inline constexpr char kForwardedMetadataKey[] = "chip-forwarded-by";

// Milliseconds since the Unix epoch: the timestamp a producer gives a block.
uint64_t WallClockMs();

class Orderer {
 public:
  virtual ~Orderer() = default;

  virtual void Start() = 0;
  // Refuses new entries, finishes or fails those queued, stops the threads.
  virtual void Stop() = 0;

  // Queues transactions that passed CheckTx (checked[i].code == OK) and
  // returns the outcome to wait for. Errors now or in the outcome:
  // ResourceExhausted (mempool or disk full), Unavailable (stopping, no
  // producer reachable, or the outcome is unknown: the client retries, which
  // is safe because transactions are idempotent).
  // `forwarded`: the submission came from another node of a cluster (it
  // must not be forwarded again, so two nodes with stale views of who
  // produces cannot bounce it between them).
  virtual Result<std::shared_future<SubmitOutcome>> Enqueue(
      std::vector<chipledger::v1::SignedTx> txs, std::vector<CheckedTx> checked, bool atomic,
      bool forwarded = false) = 0;

  // The last header this node committed.
  virtual chipledger::v1::BlockHeader Tip() const = 0;
  // Blocks until the tip height exceeds `height` or `timeout` passes (or the
  // orderer stops), and returns the tip height.
  virtual uint64_t WaitForHeightAbove(uint64_t height, std::chrono::milliseconds timeout) = 0;
  // Transactions waiting in this node's mempool.
  virtual size_t depth() const = 0;
  // Empty while this node can take writes; otherwise why not.
  virtual std::string storage_error() const = 0;
  // True when this node orders what it is given itself (a single node, or
  // the producer of a cluster), so its committed state is the newest there
  // is: admission then also makes its state-dependent checks
  // (node/serve/admission.h). A follower forwards, and the producer checks.
  virtual bool OrdersLocally() const { return true; }
  // Cluster view for GetStatus; leaves `out` untouched on a single node.
  virtual void FillClusterStatus(chipledger::v1::ClusterStatus* out) const { (void)out; }
};

}  // namespace chip::node
