#include "ledger/chain.h"

#include <sys/stat.h>

#include "ledger/check.h"

namespace chip {
namespace {

constexpr const char* kGenesisKey = "genesis";
constexpr const char* kTipKey = "tip";  // serialized BlockHeader of the last block

bool PathExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

Result<std::unique_ptr<Chain>> Chain::Create(const std::string& path, const Genesis& genesis,
                                             StoreOptions options) {
  if (PathExists(path + "/CURRENT"))
    return Status::AlreadyExists("a ledger store exists at " + path);
  options.create_if_missing = true;
  auto store = Store::Open(path, options);
  if (!store.ok()) return store.status();
  std::unique_ptr<Chain> chain(new Chain());
  chain->store_ = std::move(*store);
  chain->genesis_ = genesis;
  chain->genesis_json_ = CanonicalGenesis(genesis);
  chain->rules_ = RulesFromGenesis(genesis);

  // Block 0 carries the genesis state: no transactions, no producer.
  pb::Block block;
  pb::BlockHeader* h = block.mutable_header();
  h->set_height(0);
  h->set_prev_hash(std::string(32, '\0'));
  h->set_timestamp_ms(genesis.genesis_time_ms);
  h->set_producer(std::string(32, '\0'));
  h->set_tx_count(0);
  h->set_txs_hash(AsString(TxsHash(block)));
  h->set_results_hash(AsString(ResultsHash(block)));
  BlockOutcome outcome;
  outcome.changes = std::make_unique<StateTxn>(chain->store_.get());
  StageGenesisState(genesis, outcome.changes.get());
  outcome.changes_hash = outcome.changes->ChangesHash();
  h->set_state_digest(AsString(NextStateDigest(chain->rules_.chain_id, outcome.changes_hash)));
  h->set_tree_size(0);
  h->set_tree_root(AsString(MerkleEmptyRoot()));
  CHIP_RETURN_IF_ERROR(
      chain->CommitWithTip(block, outcome, LogAppend{}, {{kGenesisKey, chain->genesis_json_}}));
  return chain;
}

Result<std::unique_ptr<Chain>> Chain::Open(const std::string& path, StoreOptions options) {
  if (!PathExists(path + "/CURRENT")) return Status::NotFound("no ledger store at " + path);
  options.create_if_missing = false;
  auto store = Store::Open(path, options);
  if (!store.ok()) return store.status();
  std::unique_ptr<Chain> chain(new Chain());
  chain->store_ = std::move(*store);
  auto genesis_json = chain->store_->GetMeta(kGenesisKey);
  if (!genesis_json.ok()) return genesis_json.status();
  if (!genesis_json->has_value()) return Status::Corruption("store has no genesis");
  auto genesis = ParseGenesis(**genesis_json);
  if (!genesis.ok()) return Status::Corruption("stored genesis: " + genesis.status().message());
  chain->genesis_ = *genesis;
  chain->genesis_json_ = **genesis_json;
  chain->rules_ = RulesFromGenesis(chain->genesis_);
  auto tip = chain->store_->GetMeta(kTipKey);
  if (!tip.ok()) return tip.status();
  if (!tip->has_value() || !chain->tip_.ParseFromString(**tip)) {
    return Status::Corruption("store has no valid tip");
  }
  // The history log's right edge: O(log n) stored nodes.
  Store* db = chain->store_.get();
  auto frontier = MerkleFrontier::Load(
      chain->tip_.tree_size(), [db](uint8_t l, uint64_t i) { return db->ReadMerkleNode(l, i); });
  if (!frontier.ok()) return Status::Corruption("history log: " + frontier.status().message());
  if (AsString(frontier->Root()) != chain->tip_.tree_root()) {
    return Status::Corruption("history log root does not match the tip header");
  }
  chain->frontier_ = std::move(*frontier);
  return chain;
}

LogAppend Chain::ExtendLog(const pb::Block& block, const std::vector<Hash32>& tx_hashes,
                           MerkleFrontier* frontier) const {
  LogAppend log;
  log.first_leaf = frontier->size();
  const std::vector<bool> mask = RecordedMask(block);
  for (size_t i = 0; i < mask.size(); ++i) {
    if (!mask[i]) continue;
    std::string leaf = LeafData(tx_hashes[i], block.header().height(), static_cast<uint32_t>(i),
                                block.results(static_cast<int>(i)));
    frontier->Append(MerkleLeafHash(leaf), &log.nodes);
  }
  return log;
}

Status Chain::CommitWithTip(const pb::Block& block, const BlockOutcome& outcome,
                            const LogAppend& log,
                            std::vector<std::pair<std::string, std::string>> meta) {
  std::string tip_bytes;
  CHIP_CHECK(block.header().SerializeToString(&tip_bytes));
  meta.emplace_back(kTipKey, tip_bytes);
  CHIP_RETURN_IF_ERROR(store_->CommitBlock(block, outcome, log, meta));
  tip_ = block.header();
  return Status::Ok();
}

Result<PreparedBlock> Chain::Prepare(std::vector<pb::SignedTx> txs,
                                     std::vector<pb::AtomicRange> atomic, uint64_t timestamp_ms,
                                     const SecretKey& producer,
                                     const std::vector<CheckedTx>* checked) {
  PublicKey producer_key = producer.Public();
  if (rules_.validators.count(producer_key) == 0) {
    return Status::FailedPrecondition("this node's key is not a validator of the chain");
  }
  PreparedBlock p;
  pb::Block& block = p.block;
  pb::BlockHeader* h = block.mutable_header();
  h->set_height(tip_.height() + 1);
  h->set_prev_hash(AsString(BlockHash(tip_)));
  h->set_timestamp_ms(std::max(timestamp_ms, tip_.timestamp_ms()));
  h->set_producer(AsString(producer_key));
  for (auto& tx : txs) *block.add_txs() = std::move(tx);
  for (auto& r : atomic) *block.add_atomic() = r;

  auto outcome = ExecuteBlock(store_.get(), rules_, block, checked);
  if (!outcome.ok()) {
    store_->ClearStatus();
    return outcome.status();
  }
  for (auto code : outcome->results) block.add_results(code);
  for (const auto& id : outcome->expired) block.add_expired_reservations(AsString(id));
  for (const auto& f : outcome->failed_operations) *block.add_failed_operations() = f;
  h->set_tx_count(static_cast<uint32_t>(block.txs_size()));
  h->set_txs_hash(AsString(TxsHash(block)));
  h->set_results_hash(AsString(ResultsHash(block)));
  Hash32 prev_digest = *ToHash32(tip_.state_digest());
  h->set_state_digest(AsString(NextStateDigest(prev_digest, outcome->changes_hash)));
  p.frontier = frontier_;
  p.log = ExtendLog(block, outcome->tx_hashes, &p.frontier);
  h->set_tree_size(p.frontier.size());
  h->set_tree_root(AsString(p.frontier.Root()));
  SignHeader(producer, h);
  p.outcome = std::move(*outcome);
  return p;
}

Status Chain::CommitPrepared(PreparedBlock* prepared) {
  const pb::BlockHeader& h = prepared->block.header();
  if (h.height() != tip_.height() + 1 || h.prev_hash() != AsString(BlockHash(tip_))) {
    return Status::FailedPrecondition("prepared block " + std::to_string(h.height()) +
                                      " no longer follows the tip " +
                                      std::to_string(tip_.height()));
  }
  CHIP_RETURN_IF_ERROR(CommitWithTip(prepared->block, prepared->outcome, prepared->log, {}));
  frontier_ = std::move(prepared->frontier);
  return Status::Ok();
}

Result<pb::Block> Chain::Produce(std::vector<pb::SignedTx> txs, std::vector<pb::AtomicRange> atomic,
                                 uint64_t timestamp_ms, const SecretKey& producer,
                                 const std::vector<CheckedTx>* checked) {
  auto prepared = Prepare(std::move(txs), std::move(atomic), timestamp_ms, producer, checked);
  if (!prepared.ok()) return prepared.status();
  CHIP_RETURN_IF_ERROR(CommitPrepared(&*prepared));
  return std::move(prepared->block);
}

Status Chain::Append(const pb::Block& block, const std::vector<CheckedTx>* checked) {
  const pb::BlockHeader& h = block.header();
  const std::string at = "block " + std::to_string(h.height()) + ": ";
  if (h.height() != tip_.height() + 1) {
    return Status::FailedPrecondition(at + "does not follow tip " + std::to_string(tip_.height()));
  }
  if (h.prev_hash() != AsString(BlockHash(tip_))) {
    return Status::InvalidArgument(at + "previous hash does not match the tip");
  }
  if (h.timestamp_ms() < tip_.timestamp_ms()) {
    return Status::InvalidArgument(at + "timestamp below its predecessor's");
  }
  auto producer = ToHash32(h.producer());
  if (!producer || rules_.validators.count(*producer) == 0) {
    return Status::InvalidArgument(at + "producer is not a validator");
  }
  if (!VerifyHeaderSignature(h)) return Status::InvalidArgument(at + "bad producer signature");
  // Fields outside every commitment must not ride along into the store.
  // (Unknown fields inside a transaction are the transaction's own affair:
  // CheckTx answers them with UNKNOWN_FIELD.)
  if (!block.GetReflection()->GetUnknownFields(block).empty() || HasUnknownFields(h)) {
    return Status::InvalidArgument(at + "unknown fields in the block or header");
  }
  for (const auto& r : block.atomic()) {
    if (HasUnknownFields(r))
      return Status::InvalidArgument(at + "unknown fields in an atomic range");
  }
  for (const auto& f : block.failed_operations()) {
    if (HasUnknownFields(f))
      return Status::InvalidArgument(at + "unknown fields in a failed operation");
  }
  if (h.tx_count() != static_cast<uint32_t>(block.txs_size())) {
    return Status::InvalidArgument(at + "tx_count does not match");
  }
  if (h.txs_hash() != AsString(TxsHash(block)))
    return Status::InvalidArgument(at + "txs_hash mismatch");
  if (h.results_hash() != AsString(ResultsHash(block))) {
    return Status::InvalidArgument(at + "results_hash mismatch");
  }
  auto outcome = ExecuteBlock(store_.get(), rules_, block, checked);
  if (!outcome.ok()) {
    store_->ClearStatus();
    return outcome.status();
  }
  if (block.results_size() != static_cast<int>(outcome->results.size())) {
    return Status::InvalidArgument(at + "result count mismatch");
  }
  for (size_t i = 0; i < outcome->results.size(); ++i) {
    if (block.results(static_cast<int>(i)) != outcome->results[i]) {
      return Status::InvalidArgument(at + "result of transaction " + std::to_string(i) +
                                     " differs on re-execution");
    }
  }
  bool same_failures =
      block.failed_operations_size() == static_cast<int>(outcome->failed_operations.size());
  for (size_t i = 0; same_failures && i < outcome->failed_operations.size(); ++i) {
    const auto& f = block.failed_operations(static_cast<int>(i));
    same_failures = f.tx() == outcome->failed_operations[i].tx() &&
                    f.op() == outcome->failed_operations[i].op();
  }
  if (!same_failures) {
    return Status::InvalidArgument(at + "failed operations differ on re-execution");
  }
  if (block.expired_reservations_size() != static_cast<int>(outcome->expired.size())) {
    return Status::InvalidArgument(at + "expired reservations differ on re-execution");
  }
  for (size_t i = 0; i < outcome->expired.size(); ++i) {
    if (block.expired_reservations(static_cast<int>(i)) != AsString(outcome->expired[i])) {
      return Status::InvalidArgument(at + "expired reservations differ on re-execution");
    }
  }
  Hash32 digest = NextStateDigest(*ToHash32(tip_.state_digest()), outcome->changes_hash);
  if (h.state_digest() != AsString(digest)) {
    return Status::InvalidArgument(at + "state digest differs on re-execution");
  }
  MerkleFrontier frontier = frontier_;
  LogAppend log = ExtendLog(block, outcome->tx_hashes, &frontier);
  if (h.tree_size() != frontier.size() || h.tree_root() != AsString(frontier.Root())) {
    return Status::InvalidArgument(at + "history log size or root differs on re-execution");
  }
  CHIP_RETURN_IF_ERROR(CommitWithTip(block, *outcome, log, {}));
  frontier_ = std::move(frontier);
  return Status::Ok();
}

}  // namespace chip
