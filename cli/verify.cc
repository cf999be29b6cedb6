#include "cli/verify.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "ledger/address.h"
#include "ledger/chain.h"
#include "ledger/checkpoint.h"
#include "ledger/file_util.h"
#include "ledger/merkle.h"

namespace chip::cli {

namespace pb = ::chipledger::v1;
using nlohmann::json;

namespace {

constexpr size_t kTrustFileBytesMax = 64 * 1024;

// What the wallet remembers about a chain.
struct Trust {
  PublicKey node_key{};
  std::optional<Checkpoint> checkpoint;
  std::string note;
};

class Verifier {
 public:
  explicit Verifier(const VerifyContext& ctx) : ctx_(ctx) {}

  int Fail(int code, const std::string& message) {
    std::cerr << "chip: " << message << "\n";
    if (ctx_.json)
      std::cout << json{{"verified", false}, {"error", message}, {"exit_code", code}}.dump(
                       -1, ' ', false, json::error_handler_t::replace)
                << "\n";
    return code;
  }
  // A broken proof or history: said loudly, exit 6.
  int Alarm(const std::string& message) {
    std::cerr << "!!! VERIFICATION FAILED: " << message << "\n";
    if (ctx_.json) {
      std::cout << json{{"verified", false}, {"error", message}, {"exit_code", kExitVerifyFailed}}
                       .dump(-1, ' ', false, json::error_handler_t::replace)
                << "\n";
    }
    return kExitVerifyFailed;
  }
  void Say(const std::string& line) {
    if (!ctx_.json) std::cout << line << "\n";
  }

  // Fetches status, checks the chain id against the genesis, loads or pins
  // the node key. Returns an exit code, 0 on success.
  int Begin() {
    auto c = ctx_.client->Context();
    grpc::Status s = ctx_.client->stub()->GetStatus(c.get(), pb::GetStatusRequest(), &status_);
    if (!s.ok()) {
      CliError e = ctx_.client->Error(s);
      return Fail(e.exit_code, e.message);
    }
    auto chain_id = ToHash32(status_.chain_id());
    auto node_key = ToHash32(status_.node_key());
    if (!chain_id || !node_key) return Alarm("node sent a malformed status");
    if (Sha256(status_.genesis_json()) != *chain_id) {
      return Alarm("the node's genesis does not hash to its chain id");
    }
    chain_id_ = *chain_id;
    // Only a validator of the chain may sign its history.
    auto genesis = ParseGenesis(status_.genesis_json());
    if (!genesis.ok()) return Alarm("the node's genesis is invalid: " + genesis.status().message());
    if (std::find(genesis->validators.begin(), genesis->validators.end(), *node_key) ==
        genesis->validators.end()) {
      return Alarm("the node key " + EncodeAddress(*node_key) +
                   " is not a validator of this chain");
    }
    presented_key_ = *node_key;
    trust_path_ = ctx_.wallet_dir + "/trust/" + ToHex(chain_id_) + ".json";
    auto loaded = LoadTrust();
    if (!loaded.ok()) return Fail(5, loaded.status().message());
    if (loaded->has_value()) {
      trust_ = **loaded;
      if (trust_.node_key != *node_key) {
        // Another node of the same cluster: any validator of the pinned
        // chain's genesis may sign its log (it may sign its blocks too),
        // and the new checkpoint must still extend the stored one.
        Say("node key " + EncodeAddress(*node_key) + " differs from the pinned " +
            EncodeAddress(trust_.node_key) +
            "; accepted: both are validators in the genesis of this chain");
      }
    } else {
      trust_.node_key = *node_key;
      Say("pinned node key " + EncodeAddress(*node_key) + " for chain " + status_.chain_name() +
          " (first contact: trust on first use)");
      Status saved = SaveTrust();
      if (!saved.ok()) return Fail(5, saved.message());
    }
    return 0;
  }

  // Gets and verifies the latest checkpoint, proves it extends the stored one
  // and stores it. Returns an exit code.
  int UpdateCheckpoint() {
    pb::GetCheckpointResponse cp;
    auto c = ctx_.client->Context();
    grpc::Status s = ctx_.client->stub()->GetCheckpoint(c.get(), pb::GetCheckpointRequest(), &cp);
    if (!s.ok()) {
      CliError e = ctx_.client->Error(s);
      return Fail(e.exit_code, e.message);
    }
    // Signed by the node answering now (a validator: checked in Pin).
    auto verified = VerifyCheckpoint(cp.note(), presented_key_);
    if (!verified.ok()) return Alarm("checkpoint: " + verified.status().message());
    std::string origin = CheckpointOrigin(status_.chain_name(), chain_id_);
    if (verified->origin != origin)
      return Alarm("checkpoint is for another log: " + verified->origin);
    latest_ = *verified;
    if (trust_.checkpoint) {
      const Checkpoint& old = *trust_.checkpoint;
      if (latest_.tree_size < old.tree_size) {
        return Alarm("the log shrank: this wallet verified " + std::to_string(old.tree_size) +
                     " leaves, the node now signs " + std::to_string(latest_.tree_size) +
                     " (history was rewritten or rolled back)");
      }
      if (latest_.tree_size == old.tree_size) {
        if (latest_.root != old.root) {
          return Alarm("FORK: two different roots signed for tree size " +
                       std::to_string(old.tree_size));
        }
      } else if (old.tree_size > 0) {
        pb::GetConsistencyProofRequest req;
        req.set_first(old.tree_size);
        req.set_second(latest_.tree_size);
        pb::GetConsistencyProofResponse resp;
        auto c2 = ctx_.client->Context();
        grpc::Status s2 = ctx_.client->stub()->GetConsistencyProof(c2.get(), req, &resp);
        if (!s2.ok()) {
          if (s2.error_code() == grpc::StatusCode::OUT_OF_RANGE) {
            return Alarm("the node cannot prove its log extends the verified one: " +
                         s2.error_message());
          }
          CliError e = ctx_.client->Error(s2);
          return Fail(e.exit_code, e.message);
        }
        std::vector<Hash32> proof;
        for (const auto& p : resp.proof()) {
          auto h = ToHash32(p);
          if (!h) return Alarm("malformed consistency proof");
          proof.push_back(*h);
        }
        if (!VerifyConsistency(old.tree_size, latest_.tree_size, old.root, latest_.root, proof)) {
          return Alarm("FORK: the log of " + std::to_string(latest_.tree_size) +
                       " leaves does not extend the verified log of " +
                       std::to_string(old.tree_size) + " leaves (history was rewritten)");
        }
      }
    }
    trust_.checkpoint = latest_;
    trust_.note = cp.note();
    trust_.node_key = presented_key_;
    Status saved = SaveTrust();
    if (!saved.ok()) return Fail(5, saved.message());
    return 0;
  }

  const pb::GetStatusResponse& status() const { return status_; }
  const Checkpoint& latest() const { return latest_; }
  const Trust& trust() const { return trust_; }
  const Hash32& chain_id() const { return chain_id_; }
  const VerifyContext& ctx() const { return ctx_; }

 private:
  Result<std::optional<Trust>> LoadTrust() {
    struct stat st;
    if (::stat(trust_path_.c_str(), &st) != 0) return std::optional<Trust>();
    auto text = ReadSmallFile(trust_path_, kTrustFileBytesMax);
    if (!text.ok()) return text.status();
    json j = json::parse(*text, nullptr, false);
    Trust t;
    if (j.is_discarded() || !j.is_object() || !j.contains("node_key") ||
        !j["node_key"].is_string()) {
      return Status::InvalidArgument(trust_path_ + ": malformed");
    }
    auto key = DecodeAddress(j["node_key"].get<std::string>());
    if (!key.ok()) return Status::InvalidArgument(trust_path_ + ": " + key.status().message());
    t.node_key = *key;
    if (j.contains("checkpoint_note") && j["checkpoint_note"].is_string()) {
      // The stored checkpoint is re-verified, so editing the file by hand
      // cannot smuggle in a tree head the node never signed.
      t.note = j["checkpoint_note"].get<std::string>();
      auto c = VerifyCheckpoint(t.note, t.node_key);
      if (!c.ok())
        return Status::InvalidArgument(trust_path_ +
                                       ": stored checkpoint: " + c.status().message());
      t.checkpoint = *c;
    }
    return std::optional<Trust>(t);
  }

  Status SaveTrust() {
    std::string dir = ctx_.wallet_dir + "/trust";
    ::mkdir(ctx_.wallet_dir.c_str(), 0700);
    ::mkdir(dir.c_str(), 0700);
    json j = {{"chain_id", ToHex(chain_id_)},
              {"chain_name", status_.chain_name()},
              {"node_key", EncodeAddress(trust_.node_key)}};
    if (trust_.checkpoint) {
      j["checkpoint_note"] = trust_.note;
      j["tree_size"] = trust_.checkpoint->tree_size;
      j["root"] = ToHex(trust_.checkpoint->root);
    }
    return WriteFileAtomic(trust_path_, j.dump(2) + "\n", 0600);
  }

  VerifyContext ctx_;
  pb::GetStatusResponse status_;
  Hash32 chain_id_{};
  std::string trust_path_;
  Trust trust_;
  PublicKey presented_key_{};  // the key of the node answering this run
  Checkpoint latest_;
};

}  // namespace

int VerifyTx(const VerifyContext& ctx, const std::string& tx_hash_hex) {
  auto hash = Hash32FromHex(tx_hash_hex);
  Verifier v(ctx);
  if (!hash) return v.Fail(2, "transaction hash must be 64 hex digits");
  if (int rc = v.Begin()) return rc;
  std::optional<Checkpoint> before = v.trust().checkpoint;
  if (int rc = v.UpdateCheckpoint()) return rc;
  const Checkpoint& cp = v.latest();
  if (cp.tree_size == 0) return v.Fail(1, "the history log is still empty");
  pb::GetInclusionProofRequest req;
  req.set_tx_hash(AsString(*hash));
  req.set_tree_size(cp.tree_size);
  pb::GetInclusionProofResponse resp;
  auto c = ctx.client->Context();
  grpc::Status s = ctx.client->stub()->GetInclusionProof(c.get(), req, &resp);
  if (!s.ok()) {
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
      return v.Fail(1, "the node has no record of transaction " + tx_hash_hex);
    }
    if (s.error_code() == grpc::StatusCode::OUT_OF_RANGE) {
      // Committed after the checkpoint was signed: not an inconsistency.
      return v.Fail(1, "transaction " + tx_hash_hex +
                           " is not in the signed checkpoint yet; run chip verify tx again");
    }
    CliError e = ctx.client->Error(s);
    return v.Fail(e.exit_code, e.message);
  }
  if (resp.tree_size() != cp.tree_size || resp.leaf_data().size() != kLeafDataBytes ||
      resp.leaf_data().substr(0, 32) != AsString(*hash)) {
    return v.Alarm("the proof is for another leaf or tree size");
  }
  std::vector<Hash32> proof;
  for (const auto& p : resp.proof()) {
    auto h = ToHash32(p);
    if (!h) return v.Alarm("malformed inclusion proof");
    proof.push_back(*h);
  }
  if (!VerifyInclusion(MerkleLeafHash(resp.leaf_data()), resp.leaf_index(), cp.tree_size, proof,
                       cp.root)) {
    return v.Alarm("inclusion proof of " + tx_hash_hex + " does not match the signed root");
  }
  std::string_view leaf(resp.leaf_data());
  leaf.remove_prefix(32);
  uint64_t height = 0;
  uint32_t index = 0, code = 0;
  GetU64(&leaf, &height);
  GetU32(&leaf, &index);
  GetU32(&leaf, &code);
  const char* result = ResultName(static_cast<pb::ResultCode>(code));
  json j = {{"verified", true},
            {"tx_hash", tx_hash_hex},
            {"leaf_index", resp.leaf_index()},
            {"tree_size", cp.tree_size},
            {"root", ToHex(cp.root)},
            {"height", height},
            {"index", index},
            {"code", result},
            {"node_key", EncodeAddress(v.trust().node_key)},
            {"extends_previous_checkpoint", before.has_value()}};
  if (ctx.json) {
    std::cout << j.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
  } else {
    std::cout << "verified: transaction " << tx_hash_hex << "\n  is leaf " << resp.leaf_index()
              << " of the history log (" << cp.tree_size << " leaves, root "
              << ToHex(cp.root).substr(0, 16) << "...)\n  applied in block " << height
              << " at index " << index << " with result " << result
              << "\n  checkpoint signed by the pinned node key "
              << EncodeAddress(v.trust().node_key) << "\n";
    if (before)
      std::cout << "  and proved to extend the checkpoint of " << before->tree_size
                << " leaves verified before\n";
  }
  return 0;
}

int VerifyLog(const VerifyContext& ctx) {
  Verifier v(ctx);
  if (int rc = v.Begin()) return rc;
  std::optional<Checkpoint> before = v.trust().checkpoint;
  if (int rc = v.UpdateCheckpoint()) return rc;
  json j = {{"verified", true},
            {"tree_size", v.latest().tree_size},
            {"root", ToHex(v.latest().root)},
            {"previous_tree_size", before ? before->tree_size : 0},
            {"first_checkpoint", !before.has_value()}};
  if (ctx.json) {
    std::cout << j.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
  } else if (!before) {
    std::cout << "verified checkpoint of " << v.latest().tree_size
              << " leaves and stored it: later runs prove the log only grows from here\n";
  } else {
    std::cout << "verified: the log of " << v.latest().tree_size << " leaves extends the one of "
              << before->tree_size << " leaves verified before (root "
              << ToHex(v.latest().root).substr(0, 16) << "...)\n";
  }
  return 0;
}

int VerifyChain(const VerifyContext& ctx) {
  Verifier v(ctx);
  if (int rc = v.Begin()) return rc;
  auto genesis = ParseGenesis(v.status().genesis_json());
  if (!genesis.ok()) return v.Alarm("the node's genesis is invalid: " + genesis.status().message());
  char tmpl[] = "/tmp/chip-verify-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return v.Fail(1, "cannot create a temporary directory");
  std::string dir = tmpl;
  struct Cleanup {
    std::string d;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(d, ec);
    }
  } cleanup{dir};
  StoreOptions opts;
  opts.sync_writes = false;  // a scratch replica: durability is not needed
  auto replica = Chain::Create(dir + "/db", *genesis, opts);
  if (!replica.ok()) return v.Fail(1, replica.status().message());
  Chain& chain = **replica;

  // Block 0 must be the genesis state this wallet computes itself.
  const uint64_t tip = v.status().height();
  for (uint64_t h = 0; h <= tip; ++h) {
    pb::GetBlockRequest req;
    req.set_height(h);
    pb::GetBlockResponse resp;
    auto c = ctx.client->Context();
    grpc::Status s = ctx.client->stub()->GetBlock(c.get(), req, &resp);
    if (!s.ok()) {
      CliError e = ctx.client->Error(s);
      return v.Fail(e.exit_code, "block " + std::to_string(h) + ": " + e.message);
    }
    if (h == 0) {
      if (BlockHash(resp.block().header()) != chain.tip_hash()) {
        return v.Alarm(
            "block 0: the node's genesis block differs from the one its genesis defines");
      }
      continue;
    }
    if (resp.block_hash() != AsString(BlockHash(resp.block().header()))) {
      return v.Alarm("block " + std::to_string(h) +
                     ": the hash the node reports is not the header's");
    }
    Status appended = chain.Append(resp.block());
    if (!appended.ok()) return v.Alarm(appended.message());
    if (!ctx.json && h % 1000 == 0) std::cerr << "  verified " << h << " of " << tip << " blocks\r";
  }
  if (AsString(chain.tip_hash()) != v.status().tip_hash() ||
      chain.tip().state_digest() != v.status().state_digest()) {
    return v.Alarm("the node's status (tip hash or state digest) does not match its own blocks");
  }
  // The pinned checkpoint must be a prefix of this history.
  bool checked_pin = false;
  if (v.trust().checkpoint) {
    const Checkpoint& pin = *v.trust().checkpoint;
    Store* store = chain.store();
    if (pin.tree_size > chain.tip().tree_size()) {
      return v.Alarm(
          "the chain has fewer transactions (" + std::to_string(chain.tip().tree_size()) +
          ") than the checkpoint verified before (" + std::to_string(pin.tree_size) + ")");
    }
    auto root = MerkleRootAt(
        pin.tree_size, [store](uint8_t l, uint64_t i) { return store->ReadMerkleNode(l, i); });
    if (!root.ok()) return v.Fail(1, root.status().message());
    if (*root != pin.root) {
      return v.Alarm("FORK: the chain's first " + std::to_string(pin.tree_size) +
                     " transactions differ from the history verified before");
    }
    checked_pin = true;
  }
  json j = {{"verified", true},
            {"blocks", tip + 1},
            {"tip_hash", ToHex(chain.tip_hash())},
            {"state_digest", ToHex(chain.tip().state_digest())},
            {"tree_size", chain.tip().tree_size()},
            {"tree_root", ToHex(chain.tip().tree_root())},
            {"matches_pinned_checkpoint", checked_pin}};
  if (ctx.json) {
    std::cout << j.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
  } else {
    std::cout << "verified: re-executed " << tip
              << " blocks from genesis; every block hash, signature,\n"
              << "  result, history log root and state digest matches (tip "
              << ToHex(chain.tip_hash()).substr(0, 16) << "..., " << chain.tip().tree_size()
              << " transactions)\n";
    if (checked_pin) std::cout << "  and the history contains the checkpoint verified before\n";
  }
  return 0;
}

}  // namespace chip::cli
