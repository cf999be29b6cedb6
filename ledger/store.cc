#include "ledger/store.h"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/sst_file_manager.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>
#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "ledger/check.h"

namespace chip {
namespace {

constexpr const char* kSupplyKey = "supply";
constexpr const char* kFundKey = "fund";
constexpr size_t kWriteBufferBytes = 32 << 20;    // one column family's memtable
constexpr size_t kMemtablesBytesMax = 192 << 20;  // all memtables together

const std::vector<std::string>& ColumnFamilyNames() {
  static const std::vector<std::string> names = {rocksdb::kDefaultColumnFamilyName,
                                                 "accounts",
                                                 "reservations",
                                                 "expiries",
                                                 "open_index",
                                                 "issuers",
                                                 "txs",
                                                 "history",
                                                 "blocks",
                                                 "merkle",
                                                 "observations",
                                                 "fund_members"};
  return names;
}

// The one column family an existing store may lack: added by the equity
// fund, empty on every chain that existed before it.
constexpr const char* kAddableColumnFamily = "fund_members";

Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::Ok();
  if (s.IsCorruption()) return Status::Corruption(what + ": " + s.ToString());
  if (s.IsNoSpace()) return Status::ResourceExhausted(what + ": disk full: " + s.ToString());
  return Status::IoError(what + ": " + s.ToString());
}

std::string MerkleKey(uint8_t level, uint64_t index) {
  std::string k;
  PutU8(&k, level);
  PutU64(&k, index);
  return k;
}

std::string HeightKey(uint64_t height) {
  std::string k;
  PutU64(&k, height);
  return k;
}

std::string HistoryKey(const PublicKey& account, uint64_t height, uint32_t index) {
  std::string k = AsString(account);
  PutU64(&k, height);
  PutU32(&k, index);
  return k;
}

}  // namespace

Result<std::unique_ptr<Store>> Store::Open(const std::string& path, const StoreOptions& options) {
  rocksdb::Options db_options;
  db_options.create_if_missing = options.create_if_missing;
  // A store written before the fund existed gains its members table empty
  // (such a chain has no fund); a store missing any other table is from an
  // older, incompatible build and is refused below.
  db_options.create_missing_column_families = true;
  db_options.max_open_files = 512;
  db_options.keep_log_file_num = 4;
  // One writer (the chain's commit thread), so concurrent memtable inserts
  // buy nothing; RocksDB requires them off for in-place updates (accounts).
  db_options.allow_concurrent_memtable_write = false;
  // With an SstFileManager, RocksDB watches free space after a "no space"
  // error and recovers by itself once space returns (see Store::Resume).
  db_options.sst_file_manager.reset(rocksdb::NewSstFileManager(rocksdb::Env::Default()));
  // Memtables are most of a busy node's memory. Each column family's is
  // kWriteBufferBytes (RocksDB's default is 64 MiB, and up to two per family
  // before a flush completes: 1.4 GiB over eleven families), and all of them
  // together are held to kMemtablesBytesMax by flushing the largest early.
  // Memory then stops growing after a few hundred thousand transactions
  // instead of climbing as each family fills its first 64 MiB; a smaller skip
  // list is also cheaper to insert into. The cost is more, smaller flushes.
  db_options.db_write_buffer_size = kMemtablesBytesMax;

  // Point lookups dominate (accounts, idempotency checks on tx hashes), so
  // every table gets a bloom filter; a shared block cache bounds read memory.
  // (Tuning and the measurements behind it: docs/PERFORMANCE.md, "RocksDB".)
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  // Filters and index blocks live in the block cache, so they count against
  // its bound instead of growing with the number of SST files.
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf_options.write_buffer_size = kWriteBufferBytes;
  // The duplicate check looks up every new transaction's hash, and almost all
  // of them are absent: without a memtable bloom filter each miss walks the
  // whole skip list of the txs memtable. Whole-key filtering needs no prefix
  // extractor; 2% of the memtable size gives about 1% false positives.
  rocksdb::ColumnFamilyOptions txs_options = cf_options;
  txs_options.memtable_whole_key_filtering = true;
  txs_options.memtable_prefix_bloom_size_ratio = 0.02;

  // Tables whose keys arrive in order within a prefix: history (per account,
  // height || index grows), merkle (per level, index grows), blocks and
  // observations (heights grow). A per-prefix insert hint lets the skip list
  // continue from the previous insert instead of searching from the top: the
  // sequencer spent most of its time in that search (docs/PERFORMANCE.md).
  // The hints cost about 250 bytes per prefix in a memtable, freed with it.
  auto hinted = [&](size_t prefix_bytes) {
    rocksdb::ColumnFamilyOptions o = cf_options;
    o.memtable_insert_with_hint_prefix_extractor.reset(
        rocksdb::NewFixedPrefixTransform(prefix_bytes));
    return o;
  };
  const rocksdb::ColumnFamilyOptions history_options = hinted(32);
  // Every block rewrites the accounts it touches, and a memtable keeps each
  // version: with 10,000 busy accounts the accounts memtable held hundreds
  // of thousands of versions, deep to insert into and flushed often. Account
  // records have a fixed size, so in place the memtable keeps one entry per
  // account. Measured with chip_apply_bench: commit 19.9/17.8 -> 16.4/14.5 us
  // of CPU per transfer (docs/PERFORMANCE.md, "Round 3"). The price: an
  // iterator over accounts racing a commit may see a mix of two blocks, so
  // ForEachAccount is for quiescent stores only (invariant checks); point
  // reads are locked per key by RocksDB and never see a torn record.
  rocksdb::ColumnFamilyOptions accounts_options = cf_options;
  accounts_options.inplace_update_support = true;
  const rocksdb::ColumnFamilyOptions merkle_options = hinted(1);
  const rocksdb::ColumnFamilyOptions height_options = hinted(1);

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& name : ColumnFamilyNames()) {
    const rocksdb::ColumnFamilyOptions* o = &cf_options;
    if (name == "txs") o = &txs_options;
    if (name == "accounts") o = &accounts_options;
    if (name == "history") o = &history_options;
    if (name == "merkle") o = &merkle_options;
    if (name == "blocks" || name == "observations") o = &height_options;
    descriptors.emplace_back(name, *o);
  }

  std::unique_ptr<Store> store(new Store());
  store->sync_writes_ = options.sync_writes;
  store->account_cache_max_ = options.account_cache_entries;
  KeyHash hasher;
  randombytes_buf(hasher.sip_key, sizeof(hasher.sip_key));
  store->account_cache_ = std::unordered_map<PublicKey, Account, KeyHash>(1024, hasher);
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(db_options, path, &existing).ok()) {
    for (const auto& name : ColumnFamilyNames()) {
      if (name == kAddableColumnFamily ||
          std::find(existing.begin(), existing.end(), name) != existing.end()) {
        continue;
      }
      return Status::FailedPrecondition(
          "the store at " + path +
          " was written by an older, incompatible version (column family " + name +
          " not found); there is no migration before 1.0: start a new chain");
    }
  }
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, path, descriptors, &store->handles_, &raw);
  if (!s.ok()) {
    if (s.IsInvalidArgument() &&
        s.ToString().find("Column family not found") != std::string::npos) {
      return Status::FailedPrecondition(
          "the store at " + path + " was written by an older, incompatible version (" +
          s.ToString() + "); there is no migration before 1.0: start a new chain");
    }
    if (s.IsInvalidArgument() && !options.create_if_missing) {
      return Status::NotFound("no ledger store at " + path + ": " + s.ToString());
    }
    return FromRocks(s, "opening " + path);
  }
  store->db_.reset(raw);
  auto& h = store->handles_;
  CHIP_CHECK(h.size() == ColumnFamilyNames().size());
  store->meta_ = h[0];
  store->accounts_ = h[1];
  store->reservations_ = h[2];
  store->expiries_ = h[3];
  store->open_index_ = h[4];
  store->issuers_ = h[5];
  store->txs_ = h[6];
  store->history_ = h[7];
  store->blocks_ = h[8];
  store->merkle_ = h[9];
  store->observations_ = h[10];
  store->fund_members_ = h[11];
  return store;
}

Store::~Store() {
  if (db_) {
    for (auto* handle : handles_) db_->DestroyColumnFamilyHandle(handle);
    db_->Close().PermitUncheckedError();
  }
}

size_t Store::KeyHash::operator()(const PublicKey& k) const {
  uint8_t out[crypto_shorthash_BYTES];
  crypto_shorthash(out, k.data(), k.size(), sip_key);
  size_t h = 0;
  static_assert(sizeof(h) <= sizeof(out), "SipHash gives 8 bytes");
  std::memcpy(&h, out, sizeof(h));
  return h;
}

std::optional<Account> Store::CachedAccount(const PublicKey& key) {
  std::lock_guard<std::mutex> lock(cache_mu_);
  auto it = account_cache_.find(key);
  if (it == account_cache_.end()) return std::nullopt;
  return it->second;
}

void Store::CacheAccount(const PublicKey& key, const Account& a) {
  if (account_cache_max_ == 0) return;
  std::lock_guard<std::mutex> lock(cache_mu_);
  auto it = account_cache_.find(key);
  if (it != account_cache_.end()) {
    it->second = a;
    return;
  }
  // Full: drop an arbitrary entry. Which one does not matter for
  // correctness, and any policy keeps memory bounded.
  if (account_cache_.size() >= account_cache_max_) account_cache_.erase(account_cache_.begin());
  account_cache_.emplace(key, a);
}

void Store::NoteError(Status s) {
  if (status_.ok() && !s.ok()) status_ = std::move(s);
}

Status Store::ReadRaw(rocksdb::ColumnFamilyHandle* cf, const std::string& key,
                      std::optional<std::string>* value, const rocksdb::Snapshot* snapshot) {
  std::string v;
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot;
  rocksdb::Status s = db_->Get(ro, cf, key, &v);
  if (s.IsNotFound()) {
    value->reset();
    return Status::Ok();
  }
  if (!s.ok()) return FromRocks(s, "read");
  *value = std::move(v);
  return Status::Ok();
}

std::optional<std::string> Store::Read(rocksdb::ColumnFamilyHandle* cf, const std::string& key) {
  std::optional<std::string> value;
  Status s = ReadRaw(cf, key, &value);
  if (!s.ok()) NoteError(std::move(s));
  return value;
}

Result<std::optional<Account>> Store::ReadAccount(const PublicKey& key) {
  if (auto cached = CachedAccount(key)) return cached;
  std::optional<std::string> v;
  CHIP_RETURN_IF_ERROR(ReadRaw(accounts_, AsString(key), &v));
  if (!v) return std::optional<Account>();
  auto a = DecodeAccount(*v);
  if (!a) return Status::Corruption("bad account record");
  return a;
}

Result<std::optional<Reservation>> Store::ReadReservation(const Hash32& id) {
  std::optional<std::string> v;
  CHIP_RETURN_IF_ERROR(ReadRaw(reservations_, AsString(id), &v));
  if (!v) return std::optional<Reservation>();
  auto r = DecodeReservation(*v);
  if (!r) return Status::Corruption("bad reservation record");
  return r;
}

std::optional<uint64_t> Store::IntProperty(const std::string& name) {
  uint64_t total = 0;
  bool any = false;
  // The column families share one block cache: its usage is the same figure
  // in each, not a part to sum.
  if (name == "rocksdb.block-cache-usage") {
    uint64_t v = 0;
    if (!db_->GetIntProperty(handles_.front(), name, &v)) return std::nullopt;
    return v;
  }
  for (auto* handle : handles_) {
    uint64_t v = 0;
    if (db_->GetIntProperty(handle, name, &v)) {
      total += v;
      any = true;
    }
  }
  if (!any) return std::nullopt;
  return total;
}

std::optional<Account> Store::GetAccount(const PublicKey& key) {
  if (auto cached = CachedAccount(key)) return cached;
  auto v = Read(accounts_, AsString(key));
  if (!v) return std::nullopt;
  auto a = DecodeAccount(*v);
  if (!a) {
    NoteError(Status::Corruption("bad account record"));
    return a;
  }
  CacheAccount(key, *a);  // the writer's thread: see CachedAccount
  return a;
}

std::optional<Reservation> Store::GetReservation(const Hash32& id) {
  auto v = Read(reservations_, AsString(id));
  if (!v) return std::nullopt;
  auto r = DecodeReservation(*v);
  if (!r) NoteError(Status::Corruption("bad reservation record"));
  return r;
}

std::optional<TxLocation> Store::GetTxLocation(const Hash32& tx_hash) {
  auto v = Read(txs_, AsString(tx_hash));
  if (!v) return std::nullopt;
  if (v->size() < 32) {
    NoteError(Status::Corruption("bad transaction record"));
    return std::nullopt;
  }
  return DecodeTxLocation(std::string_view(*v).substr(0, 16));
}

uint64_t Store::GetIssuerMinted(const PublicKey& issuer) {
  auto v = Read(issuers_, AsString(issuer));
  if (!v) return 0;
  std::string_view in(*v);
  uint64_t minted = 0;
  if (!GetU64(&in, &minted) || !in.empty()) NoteError(Status::Corruption("bad issuer record"));
  return minted;
}

Supply Store::GetSupply() {
  auto v = Read(meta_, kSupplyKey);
  if (!v) return Supply{};
  auto s = DecodeSupply(*v);
  if (!s) {
    NoteError(Status::Corruption("bad supply record"));
    return Supply{};
  }
  return *s;
}

std::optional<FundState> Store::GetFund() {
  auto v = Read(meta_, kFundKey);
  if (!v) return std::nullopt;
  auto f = DecodeFundState(*v);
  if (!f) NoteError(Status::Corruption("bad fund record"));
  return f;
}

std::optional<FundMember> Store::GetFundMember(const PublicKey& key) {
  auto v = Read(fund_members_, AsString(key));
  if (!v) return std::nullopt;
  auto m = DecodeFundMember(*v);
  if (!m) NoteError(Status::Corruption("bad fund member record"));
  return m;
}

Result<std::optional<FundState>> Store::ReadFund() {
  std::optional<std::string> v;
  CHIP_RETURN_IF_ERROR(ReadRaw(meta_, kFundKey, &v));
  if (!v) return std::optional<FundState>();
  auto f = DecodeFundState(*v);
  if (!f) return Status::Corruption("bad fund record");
  return f;
}

Result<std::optional<FundMember>> Store::ReadFundMember(const PublicKey& key) {
  std::optional<std::string> v;
  CHIP_RETURN_IF_ERROR(ReadRaw(fund_members_, AsString(key), &v));
  if (!v) return std::optional<FundMember>();
  auto m = DecodeFundMember(*v);
  if (!m) return Status::Corruption("bad fund member record");
  return m;
}

Result<AccountView> Store::ReadAccountView(const PublicKey& key) {
  // A block's batch is atomic, so a snapshot sees all of a block or none.
  const rocksdb::Snapshot* snap = db_->GetSnapshot();
  struct Release {
    rocksdb::DB* db;
    const rocksdb::Snapshot* s;
    ~Release() { db->ReleaseSnapshot(s); }
  } release{db_.get(), snap};
  AccountView view;
  std::optional<std::string> v;
  CHIP_RETURN_IF_ERROR(ReadRaw(fund_members_, AsString(key), &v, snap));
  if (!v) {
    // Not a member at the snapshot: owed nothing then, and a later
    // registration starts owing nothing, so any newer account value is
    // consistent with "no dividend". The cached read will do.
    auto account = ReadAccount(key);
    if (!account.ok()) return account.status();
    view.account = *account;
    return view;
  }
  view.member = DecodeFundMember(*v);
  if (!view.member) return Status::Corruption("bad fund member record");
  // A member: the account and the fund from the same snapshot, not through
  // the account cache (it may hold a value newer than the snapshot).
  CHIP_RETURN_IF_ERROR(ReadRaw(accounts_, AsString(key), &v, snap));
  if (v) {
    view.account = DecodeAccount(*v);
    if (!view.account) return Status::Corruption("bad account record");
  }
  CHIP_RETURN_IF_ERROR(ReadRaw(meta_, kFundKey, &v, snap));
  if (v) {
    view.fund = DecodeFundState(*v);
    if (!view.fund) return Status::Corruption("bad fund record");
  }
  return view;
}

std::vector<std::pair<uint64_t, Hash32>> Store::ExpiredUpTo(uint64_t time_ms, size_t max) {
  std::vector<std::pair<uint64_t, Hash32>> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), expiries_));
  for (it->SeekToFirst(); it->Valid() && out.size() < max; it->Next()) {
    std::string_view k(it->key().data(), it->key().size());
    uint64_t t = 0;
    Hash32 id;
    if (!GetU64(&k, &t) || !GetHash(&k, &id) || !k.empty()) {
      NoteError(Status::Corruption("bad expiry key"));
      break;
    }
    if (t > time_ms) break;
    out.emplace_back(t, id);
  }
  if (!it->status().ok()) NoteError(FromRocks(it->status(), "expiry scan"));
  return out;
}

Result<std::optional<std::string>> Store::GetMeta(const std::string& key) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_, key, &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "read meta " + key);
  return std::optional<std::string>(std::move(value));
}

Status Store::Resume() {
  rocksdb::Status s = db_->Resume();
  // "Busy": RocksDB's own recovery is under way; the next probe sees its end.
  return FromRocks(s, "resume writes");
}

Status Store::CreateCheckpoint(const std::string& dir) {
  rocksdb::Checkpoint* raw = nullptr;
  CHIP_RETURN_IF_ERROR(FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw), "checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  return FromRocks(checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0),
                   "checkpoint into " + dir);
}

Result<Hash32> Store::ReadMerkleNode(uint8_t level, uint64_t index) {
  std::optional<std::string> v;
  CHIP_RETURN_IF_ERROR(ReadRaw(merkle_, MerkleKey(level, index), &v));
  if (!v) {
    return Status::NotFound("history log node " + std::to_string(level) + "/" +
                            std::to_string(index));
  }
  auto h = ToHash32(*v);
  if (!h) return Status::Corruption("history log node");
  return *h;
}

Status Store::CommitBlock(const pb::Block& block, const BlockOutcome& outcome, const LogAppend& log,
                          const std::vector<std::pair<std::string, std::string>>& extra_meta) {
  const StateTxn& c = *outcome.changes;
  const uint64_t height = block.header().height();
  rocksdb::WriteBatch batch;
  auto check = [](const rocksdb::Status& s) { CHIP_CHECK(s.ok()); };
  for (const auto& [k, v] : c.accounts())
    check(batch.Put(accounts_, AsString(k), EncodeAccount(v)));
  for (const auto& [k, v] : c.reservations()) {
    check(batch.Put(reservations_, AsString(k), EncodeReservation(v)));
  }
  for (const auto& [k, present] : c.expiries()) {
    std::string key;
    PutU64(&key, k.first);
    PutHash(&key, k.second);
    check(present ? batch.Put(expiries_, key, "") : batch.Delete(expiries_, key));
  }
  for (const auto& [k, role] : c.open_index()) {
    std::string key = AsString(k.first) + AsString(k.second);
    check(role ? batch.Put(open_index_, key, std::string(1, static_cast<char>(*role)))
               : batch.Delete(open_index_, key));
  }
  for (const auto& [k, v] : c.issuers()) {
    std::string val;
    PutU64(&val, v);
    check(batch.Put(issuers_, AsString(k), val));
  }
  if (c.supply()) check(batch.Put(meta_, kSupplyKey, EncodeSupply(*c.supply())));
  if (c.fund()) check(batch.Put(meta_, kFundKey, EncodeFundState(*c.fund())));
  for (const auto& [k, m] : c.fund_members()) {
    check(m ? batch.Put(fund_members_, AsString(k), EncodeFundMember(*m))
            : batch.Delete(fund_members_, AsString(k)));
  }
  // Leaves are numbered in block order; c.txs() is keyed by hash, so number
  // the recorded transactions by position first.
  std::vector<uint64_t> leaf_of(static_cast<size_t>(block.txs_size()), 0);
  {
    uint64_t next = log.first_leaf;
    const std::vector<bool> mask = RecordedMask(block);
    for (size_t i = 0; i < mask.size(); ++i) {
      if (mask[i]) leaf_of[i] = next++;
    }
    CHIP_CHECK(next - log.first_leaf == c.txs().size());
  }
  for (const auto& [k, v] : c.observations()) {
    check(batch.Put(observations_, EncodeObservationKey(k), v));
  }
  for (const auto& node : log.nodes) {
    check(batch.Put(merkle_, MerkleKey(node.level, node.index), AsString(node.hash)));
  }
  for (const auto& [hash, loc] : c.txs()) {
    CHIP_CHECK(loc.height == height);
    CHIP_CHECK(loc.index < static_cast<uint32_t>(block.txs_size()));
    std::string val = EncodeTxLocation(loc);
    PutU64(&val, block.header().timestamp_ms());
    PutU64(&val, leaf_of[loc.index]);
    std::string tx_bytes;
    CHIP_CHECK(block.txs(static_cast<int>(loc.index)).SerializeToString(&tx_bytes));
    val += tx_bytes;
    check(batch.Put(txs_, AsString(hash), val));
    for (const PublicKey& account : outcome.touched[loc.index]) {
      check(batch.Put(history_, HistoryKey(account, height, loc.index), AsString(hash)));
    }
  }
  std::string block_bytes;
  CHIP_CHECK(block.SerializeToString(&block_bytes));
  check(batch.Put(blocks_, HeightKey(height), block_bytes));
  for (const auto& [k, v] : extra_meta) check(batch.Put(meta_, k, v));

  rocksdb::WriteOptions wo;
  wo.sync = sync_writes_;
  CHIP_RETURN_IF_ERROR(FromRocks(db_->Write(wo, &batch), "commit block " + std::to_string(height)));
  // Durable now: the cache may show it.
  for (const auto& [k, v] : c.accounts()) CacheAccount(k, v);
  return Status::Ok();
}

Result<std::optional<pb::Block>> Store::GetBlock(uint64_t height) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), blocks_, HeightKey(height), &value);
  if (s.IsNotFound()) return std::optional<pb::Block>();
  if (!s.ok()) return FromRocks(s, "read block");
  pb::Block block;
  if (!block.ParseFromString(value)) return Status::Corruption("block " + std::to_string(height));
  return std::optional<pb::Block>(std::move(block));
}

Result<std::optional<StoredTx>> Store::GetTx(const Hash32& tx_hash) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), txs_, AsString(tx_hash), &value);
  if (s.IsNotFound()) return std::optional<StoredTx>();
  if (!s.ok()) return FromRocks(s, "read tx");
  std::string_view in(value);
  StoredTx out;
  auto loc = in.size() >= 32 ? DecodeTxLocation(in.substr(0, 16)) : std::nullopt;
  if (!loc) return Status::Corruption("transaction record");
  out.location = *loc;
  in.remove_prefix(16);
  CHIP_CHECK(GetU64(&in, &out.block_time_ms));
  CHIP_CHECK(GetU64(&in, &out.leaf_index));
  if (!out.tx.ParseFromArray(in.data(), static_cast<int>(in.size()))) {
    return Status::Corruption("transaction record body");
  }
  return std::optional<StoredTx>(std::move(out));
}

Result<std::vector<HistoryEntry>> Store::History(
    const PublicKey& account, std::optional<std::pair<uint64_t, uint32_t>> before, size_t limit) {
  std::vector<HistoryEntry> out;
  std::string prefix = AsString(account);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), history_));
  if (before) {
    it->SeekForPrev(HistoryKey(account, before->first, before->second));
    // SeekForPrev lands on the cursor itself when it exists: skip it.
    if (it->Valid() &&
        it->key() == rocksdb::Slice(HistoryKey(account, before->first, before->second))) {
      it->Prev();
    }
  } else {
    std::string upper = prefix;
    upper.append(12, '\xff');
    it->SeekForPrev(upper);
  }
  for (; it->Valid() && out.size() < limit; it->Prev()) {
    std::string_view k(it->key().data(), it->key().size());
    if (k.substr(0, 32) != prefix) break;
    k.remove_prefix(32);
    HistoryEntry e;
    if (!GetU64(&k, &e.height) || !GetU32(&k, &e.index) || !k.empty()) {
      return Status::Corruption("history key");
    }
    auto h = ToHash32(std::string_view(it->value().data(), it->value().size()));
    if (!h) return Status::Corruption("history value");
    e.tx_hash = *h;
    out.push_back(e);
  }
  if (!it->status().ok()) return FromRocks(it->status(), "history scan");
  return out;
}

Result<std::vector<OpenReservationRef>> Store::OpenReservations(const PublicKey& account,
                                                                size_t limit) {
  std::vector<OpenReservationRef> out;
  std::string prefix = AsString(account);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), open_index_));
  for (it->Seek(prefix); it->Valid() && out.size() < limit; it->Next()) {
    std::string_view k(it->key().data(), it->key().size());
    if (k.substr(0, 32) != prefix) break;
    auto id = ToHash32(k.substr(32));
    if (!id || it->value().size() != 1) return Status::Corruption("open reservation index");
    out.push_back({*id, static_cast<ReservationRole>(it->value()[0])});
  }
  if (!it->status().ok()) return FromRocks(it->status(), "open reservation scan");
  return out;
}

Result<std::vector<StoredObservation>> Store::Observations(size_t limit) {
  std::vector<StoredObservation> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), observations_));
  for (it->SeekToLast(); it->Valid() && out.size() < limit; it->Prev()) {
    StoredObservation s;
    auto k = DecodeObservationKey(std::string_view(it->key().data(), it->key().size()));
    auto o = DecodeObservation(std::string_view(it->value().data(), it->value().size()));
    if (!k || !o) return Status::Corruption("observation record");
    s.height = k->height;
    s.index = k->index;
    s.op = k->op;
    s.observation = std::move(*o);
    out.push_back(std::move(s));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "observation scan");
  return out;
}

Status Store::ForEachAccount(const std::function<void(const PublicKey&, const Account&)>& fn) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), accounts_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto k = ToHash32(std::string_view(it->key().data(), it->key().size()));
    auto a = DecodeAccount(std::string_view(it->value().data(), it->value().size()));
    if (!k || !a) return Status::Corruption("account record");
    fn(*k, *a);
  }
  return FromRocks(it->status(), "account scan");
}

Status Store::ForEachFundMember(
    const std::function<void(const PublicKey&, const FundMember&)>& fn) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), fund_members_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto k = ToHash32(std::string_view(it->key().data(), it->key().size()));
    auto m = DecodeFundMember(std::string_view(it->value().data(), it->value().size()));
    if (!k || !m) return Status::Corruption("fund member record");
    fn(*k, *m);
  }
  return FromRocks(it->status(), "fund member scan");
}

Status Store::ForEachReservation(const std::function<void(const Hash32&, const Reservation&)>& fn) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), reservations_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto k = ToHash32(std::string_view(it->key().data(), it->key().size()));
    auto r = DecodeReservation(std::string_view(it->value().data(), it->value().size()));
    if (!k || !r) return Status::Corruption("reservation record");
    fn(*k, *r);
  }
  return FromRocks(it->status(), "reservation scan");
}

}  // namespace chip
