// A chain: a Store plus its genesis rules and tip. It is the only writer of
// its store. Produce() makes the next block from transactions (the node's
// sequencer); Append() checks and commits a block made elsewhere (a follower,
// a replay). Both run the same ExecuteBlock, so every node computes the same
// results and state digest from the same blocks.
//
// Not thread-safe: the node serialises calls to Produce/Append; the read
// methods of store() may be called concurrently with them (RocksDB reads).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ledger/apply.h"
#include "ledger/block.h"
#include "ledger/genesis.h"
#include "ledger/store.h"

namespace chip {

// A block built and signed on top of a chain's tip but not committed: the
// producer of a cluster first gets it ordered (etcd) and only then commits
// it, so a block etcd refused never reaches the store.
struct PreparedBlock {
  pb::Block block;
  BlockOutcome outcome;
  LogAppend log;
  MerkleFrontier frontier;  // the history log after this block
};

class Chain {
 public:
  // Creates a store at `path` holding the genesis state as block 0.
  // AlreadyExists when a store is there already.
  static Result<std::unique_ptr<Chain>> Create(const std::string& path, const Genesis& genesis,
                                               StoreOptions options = {});
  // Opens an existing store. NotFound when there is none.
  static Result<std::unique_ptr<Chain>> Open(const std::string& path, StoreOptions options = {});

  const Genesis& genesis() const { return genesis_; }
  const std::string& genesis_json() const { return genesis_json_; }
  const ChainRules& rules() const { return rules_; }
  const Hash32& chain_id() const { return rules_.chain_id; }
  const pb::BlockHeader& tip() const { return tip_; }
  uint64_t height() const { return tip_.height(); }
  Hash32 tip_hash() const { return BlockHash(tip_); }
  Store* store() { return store_.get(); }

  // Builds the next block from `txs` (in order, with `atomic` ranges),
  // applies, signs and commits it. A timestamp below the tip's is raised to
  // it. `checked` may carry CheckTx results for `txs` (else checked here).
  // The returned block holds its results.
  Result<pb::Block> Produce(std::vector<pb::SignedTx> txs, std::vector<pb::AtomicRange> atomic,
                            uint64_t timestamp_ms, const SecretKey& producer,
                            const std::vector<CheckedTx>* checked = nullptr);

  // Produce in two steps: Prepare builds, applies (staged) and signs the next
  // block; CommitPrepared commits it. FailedPrecondition from CommitPrepared
  // when the tip moved in between (nothing is written then).
  Result<PreparedBlock> Prepare(std::vector<pb::SignedTx> txs, std::vector<pb::AtomicRange> atomic,
                                uint64_t timestamp_ms, const SecretKey& producer,
                                const std::vector<CheckedTx>* checked = nullptr);
  // The block stays in *prepared; its staged outcome is consumed.
  Status CommitPrepared(PreparedBlock* prepared);

  // Verifies `block` against the tip (height, link, time, validator
  // signature, commitments) and by re-executing it (results and state
  // digest must match); commits it or changes nothing.
  Status Append(const pb::Block& block, const std::vector<CheckedTx>* checked = nullptr);

 private:
  Chain() = default;
  // Appends the block's recorded transactions to a copy of the history log
  // frontier; the caller installs it once the block is committed.
  // `tx_hashes` are the block's transaction hashes (BlockOutcome::tx_hashes,
  // computed once by CheckTx instead of again here).
  LogAppend ExtendLog(const pb::Block& block, const std::vector<Hash32>& tx_hashes,
                      MerkleFrontier* frontier) const;
  Status CommitWithTip(const pb::Block& block, const BlockOutcome& outcome, const LogAppend& log,
                       std::vector<std::pair<std::string, std::string>> meta);

  std::unique_ptr<Store> store_;
  Genesis genesis_;
  std::string genesis_json_;
  ChainRules rules_;
  pb::BlockHeader tip_;
  MerkleFrontier frontier_;  // history log after tip_
};

}  // namespace chip
