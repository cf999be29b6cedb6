// RocksDB storage of one chain. Column families:
//   default       chain metadata: "genesis" (canonical JSON), "tip" (BlockHeader),
//                 "supply" (Supply)
//   accounts      key(32)                      -> Account (fixed binary)
//   reservations  id(32)                       -> Reservation
//   expiries      expires_at_ms(8) || id(32)   -> "" (open reservations only)
//   open_index    account(32) || id(32)        -> role (1 byte)
//   issuers       key(32)                      -> minted_ucu (8)
//   txs           tx_hash(32)                  -> TxLocation(16) || block_time_ms(8) ||
//                                                 leaf_index(8) || SignedTx
//   merkle        level(1) || index(8)         -> complete subtree hash(32) (merkle.h)
//   observations  height(8) || index(4) [|| op(4)] -> Observation (price
//                 observations; op for an operation of a list)
//   history       account(32) || height(8) || index(4) -> tx_hash(32)
//   blocks        height(8)                    -> Block (protobuf)
//   fund_members  key(32)                      -> FundMember (ledger/fund.h)
// and in default, on a chain with a fund, "fund" (FundState).
// One block is one synced WriteBatch: after a crash the store holds every
// committed block and nothing of a block that did not commit.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "chipledger/v1/types.pb.h"
#include "ledger/apply.h"
#include "ledger/merkle.h"
#include "ledger/state.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class Snapshot;
}  // namespace rocksdb

namespace chip {

struct StoredTx {
  TxLocation location;
  uint64_t block_time_ms = 0;
  uint64_t leaf_index = 0;  // position in the history log
  pb::SignedTx tx;
};

// What a block adds to the history log.
struct LogAppend {
  uint64_t first_leaf = 0;        // leaf index of the block's first recorded tx
  std::vector<MerkleNode> nodes;  // newly completed subtrees
};

struct HistoryEntry {
  uint64_t height = 0;
  uint32_t index = 0;
  Hash32 tx_hash{};
};

struct StoredObservation {
  uint64_t height = 0;
  uint32_t index = 0;
  std::optional<uint32_t> op;  // set for an operation of a list
  Observation observation;
};

struct OpenReservationRef {
  Hash32 id{};
  ReservationRole role = ReservationRole::kPayer;
};

// An account, its fund-member record and the fund, consistent with each other
// so that a dividend credited by a concurrent commit is counted exactly once:
// for a member all three come from one snapshot; for a key with no member
// record only `account` is set (from the account cache when it has it).
struct AccountView {
  std::optional<Account> account;
  std::optional<FundMember> member;
  std::optional<FundState> fund;
};

struct StoreOptions {
  bool create_if_missing = false;
  bool sync_writes = true;  // false only in tests that measure nothing durable
  size_t block_cache_bytes = 64 << 20;
  // Committed accounts kept in memory (write-through), at most this many;
  // 0 turns the cache off. About 100 bytes each.
  size_t account_cache_entries = 256 * 1024;
};

class Store final : public StateReader {
 public:
  static Result<std::unique_ptr<Store>> Open(const std::string& path, const StoreOptions& options);
  ~Store() override;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // StateReader (committed state).
  std::optional<Account> GetAccount(const PublicKey& key) override;
  std::optional<Reservation> GetReservation(const Hash32& id) override;
  std::optional<TxLocation> GetTxLocation(const Hash32& tx_hash) override;
  uint64_t GetIssuerMinted(const PublicKey& issuer) override;
  Supply GetSupply() override;
  std::optional<FundState> GetFund() override;
  std::optional<FundMember> GetFundMember(const PublicKey& key) override;
  std::vector<std::pair<uint64_t, Hash32>> ExpiredUpTo(uint64_t time_ms, size_t max) override;
  Status status() const override { return status_; }
  // Clears a sticky read error (after the caller discarded the block).
  void ClearStatus() { status_ = Status::Ok(); }

  // Thread-safe reads for query paths (no sticky status). nullopt = absent.
  Result<std::optional<Account>> ReadAccount(const PublicKey& key);
  Result<std::optional<Reservation>> ReadReservation(const Hash32& id);
  Result<std::optional<FundState>> ReadFund();
  Result<std::optional<FundMember>> ReadFundMember(const PublicKey& key);
  Result<AccountView> ReadAccountView(const PublicKey& key);
  // A RocksDB property (e.g. "rocksdb.estimate-num-keys") summed over column
  // families; nullopt when RocksDB does not know it.
  std::optional<uint64_t> IntProperty(const std::string& name);

  // After a failed write (e.g. a full disk) RocksDB refuses further writes
  // until told to resume; Ok once it is writable again.
  Status Resume();

  // A RocksDB checkpoint of the committed state into `dir`, which must not
  // exist: table files hard-linked when `dir` is on the same filesystem,
  // copied otherwise, after a flush of the memtables (so the copy needs no
  // write-ahead log). Each block is one write batch, so the checkpoint holds
  // whole blocks: the state at some block boundary. Safe while blocks commit.
  Status CreateCheckpoint(const std::string& dir);

  // Metadata. nullopt when absent.
  Result<std::optional<std::string>> GetMeta(const std::string& key);

  // Writes the block (header, txs, results) and its state changes in one
  // synced batch, with `extra_meta` key/values (genesis, tip) alongside.
  Status CommitBlock(const pb::Block& block, const BlockOutcome& outcome, const LogAppend& log,
                     const std::vector<std::pair<std::string, std::string>>& extra_meta);

  // A complete-subtree node of the history log. NotFound if never written.
  Result<Hash32> ReadMerkleNode(uint8_t level, uint64_t index);

  Result<std::optional<pb::Block>> GetBlock(uint64_t height);
  Result<std::optional<StoredTx>> GetTx(const Hash32& tx_hash);
  // Entries strictly older than `before` (height, index), newest first.
  Result<std::vector<HistoryEntry>> History(const PublicKey& account,
                                            std::optional<std::pair<uint64_t, uint32_t>> before,
                                            size_t limit);
  Result<std::vector<OpenReservationRef>> OpenReservations(const PublicKey& account, size_t limit);
  // The newest `limit` price observations, newest first.
  Result<std::vector<StoredObservation>> Observations(size_t limit);

  // Full scans, for invariant checks and tools; not for the hot path. Accounts
  // are updated in place (see Open): scan them only while nothing commits.
  Status ForEachAccount(const std::function<void(const PublicKey&, const Account&)>& fn);
  Status ForEachReservation(const std::function<void(const Hash32&, const Reservation&)>& fn);
  Status ForEachFundMember(const std::function<void(const PublicKey&, const FundMember&)>& fn);

 private:
  Store() = default;
  std::optional<std::string> Read(rocksdb::ColumnFamilyHandle* cf, const std::string& key);
  Status ReadRaw(rocksdb::ColumnFamilyHandle* cf, const std::string& key,
                 std::optional<std::string>* value, const rocksdb::Snapshot* snapshot = nullptr);
  void NoteError(Status s);
  // The account cache. Only the writer's thread (the StateReader methods and
  // CommitBlock) adds to it, and CommitBlock updates it after the block is
  // durable, so it never holds an uncommitted or outdated value: a query
  // thread that misses reads RocksDB and does not fill the cache (it could
  // race a commit and install an old value).
  std::optional<Account> CachedAccount(const PublicKey& key);
  void CacheAccount(const PublicKey& key, const Account& a);

  struct KeyHash {
    uint8_t sip_key[16];  // random per process: crafted keys cannot collide on purpose
    size_t operator()(const PublicKey& k) const;
  };

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  rocksdb::ColumnFamilyHandle* accounts_ = nullptr;
  rocksdb::ColumnFamilyHandle* reservations_ = nullptr;
  rocksdb::ColumnFamilyHandle* expiries_ = nullptr;
  rocksdb::ColumnFamilyHandle* open_index_ = nullptr;
  rocksdb::ColumnFamilyHandle* issuers_ = nullptr;
  rocksdb::ColumnFamilyHandle* txs_ = nullptr;
  rocksdb::ColumnFamilyHandle* history_ = nullptr;
  rocksdb::ColumnFamilyHandle* blocks_ = nullptr;
  rocksdb::ColumnFamilyHandle* merkle_ = nullptr;
  rocksdb::ColumnFamilyHandle* observations_ = nullptr;
  rocksdb::ColumnFamilyHandle* fund_members_ = nullptr;
  bool sync_writes_ = true;
  Status status_;
  size_t account_cache_max_ = 0;
  std::mutex cache_mu_;
  std::unordered_map<PublicKey, Account, KeyHash> account_cache_;
};

}  // namespace chip
