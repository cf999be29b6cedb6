// Test tool that plays a dishonest node operator against a stopped node's
// data directory, so tests can show that `chip verify` notices.
//   chip_tamper corrupt-block <data_dir> <height>
//       edits the first transaction of a stored block in place (amount + 1),
//       leaving every hash, signature and log node as it was;
//   chip_tamper rewrite <data_dir> <height>
//       rebuilds the whole history with the node's own key, leaving out the
//       transactions of block <height> (a node denying what it applied), and
//       replaces db/ with it. Every block of the new history is validly
//       signed; only clients that remember an earlier checkpoint can tell.
#include <rocksdb/db.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "ledger/chain.h"
#include "ledger/file_util.h"

using namespace chip;
namespace pb = ::chipledger::v1;

namespace {

int Die(const std::string& m) {
  std::fprintf(stderr, "chip_tamper: %s\n", m.c_str());
  return 1;
}

int CorruptBlock(const std::string& data_dir, uint64_t height) {
  std::string path = data_dir + "/db";
  std::vector<std::string> names;
  auto s = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names);
  if (!s.ok()) return Die(s.ToString());
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  s = rocksdb::DB::Open(rocksdb::Options(), path, cfs, &handles, &db);
  if (!s.ok()) return Die(s.ToString());
  rocksdb::ColumnFamilyHandle* blocks = nullptr;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == "blocks") blocks = handles[i];
  }
  std::string key;
  PutU64(&key, height);
  std::string value;
  s = db->Get(rocksdb::ReadOptions(), blocks, key, &value);
  if (!s.ok()) return Die("block: " + s.ToString());
  pb::Block block;
  if (!block.ParseFromString(value) || block.txs_size() == 0)
    return Die("block has no transactions");
  pb::TxBody body;
  body.ParseFromString(block.txs(0).body());
  if (body.has_transfer())
    body.mutable_transfer()->set_amount_ucu(body.transfer().amount_ucu() + 1);
  if (body.has_mint()) body.mutable_mint()->set_amount_ucu(body.mint().amount_ucu() + 1);
  block.mutable_txs(0)->set_body(body.SerializeAsString());
  s = db->Put(rocksdb::WriteOptions(), blocks, key, block.SerializeAsString());
  if (!s.ok()) return Die(s.ToString());
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
  std::printf("corrupted block %llu\n", static_cast<unsigned long long>(height));
  return 0;
}

int Rewrite(const std::string& data_dir, uint64_t skip_height) {
  auto key_text = ReadSmallFile(data_dir + "/node_key.json", 4096);
  if (!key_text.ok()) return Die(key_text.status().message());
  auto j = nlohmann::json::parse(*key_text, nullptr, false);
  auto seed = FromHex(j.value("seed_hex", ""));
  if (!seed || seed->size() != 32) return Die("node key");
  std::array<uint8_t, 32> s;
  std::copy(seed->begin(), seed->end(), s.begin());
  SecretKey node_key = KeyFromSeed(s);

  auto original = Chain::Open(data_dir + "/db");
  if (!original.ok()) return Die(original.status().message());
  std::string forged_path = data_dir + "/db.forged";
  std::filesystem::remove_all(forged_path);
  auto forged = Chain::Create(forged_path, (*original)->genesis());
  if (!forged.ok()) return Die(forged.status().message());
  for (uint64_t h = 1; h <= (*original)->height(); ++h) {
    auto b = (*original)->store()->GetBlock(h);
    if (!b.ok() || !b->has_value()) return Die("cannot read block " + std::to_string(h));
    const pb::Block& block = **b;
    std::vector<pb::SignedTx> txs;
    std::vector<pb::AtomicRange> atomic;
    if (h != skip_height) {
      txs.assign(block.txs().begin(), block.txs().end());
      atomic.assign(block.atomic().begin(), block.atomic().end());
    }
    auto made = (*forged)->Produce(std::move(txs), std::move(atomic), block.header().timestamp_ms(),
                                   node_key);
    if (!made.ok())
      return Die("re-producing block " + std::to_string(h) + ": " + made.status().message());
  }
  forged->reset();
  original->reset();
  std::filesystem::rename(data_dir + "/db", data_dir + "/db.original");
  std::filesystem::rename(forged_path, data_dir + "/db");
  std::printf("rewrote history without block %llu's transactions\n",
              static_cast<unsigned long long>(skip_height));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (!InitCrypto().ok() || argc != 4) {
    return Die("usage: chip_tamper corrupt-block|rewrite <data_dir> <height>");
  }
  std::string cmd = argv[1];
  uint64_t height = std::strtoull(argv[3], nullptr, 10);
  if (cmd == "corrupt-block") return CorruptBlock(argv[2], height);
  if (cmd == "rewrite") return Rewrite(argv[2], height);
  return Die("unknown command " + cmd);
}
