// The node must not be able to rewrite or fork history, or deny a
// transaction it applied, without `chip verify` noticing.
#include <catch2/catch.hpp>

#include "harness.h"

using namespace chip;
using namespace chip::itest;
using nlohmann::json;

namespace {

int Tamper(const DevNode& node, const std::string& what, uint64_t height) {
  pid_t pid = Spawn(CHIP_TAMPER_PATH, {what, node.data_dir(), std::to_string(height)}, {},
                    node.dir().Sub("tamper.out"), node.dir().Sub("tamper.err"));
  return WaitExit(pid, std::chrono::seconds(60));
}

}  // namespace

TEST_CASE("chip verify proves inclusion and growth, and catches rewritten history",
          "[integration][verify]") {
  DevNode node;
  REQUIRE(node.Start());
  node.ChipJson({"keys", "new", "alice"});
  std::vector<std::string> hashes;
  std::vector<uint64_t> heights;
  for (int i = 0; i < 6; ++i) {
    json r = node.ChipJson({"send", "alice", std::to_string(i + 1)});
    hashes.push_back(r["tx_hash"]);
    heights.push_back(r["height"]);
  }

  // First contact pins the node key and the checkpoint.
  json v = node.ChipJson({"verify", "tx", hashes[2]});
  CHECK(v["verified"] == true);
  CHECK(v["height"] == heights[2]);
  CHECK(v["code"] == "OK");
  CHECK(v["tree_size"] == 6);
  CHECK(v["extends_previous_checkpoint"] == false);
  // More history: the log is proved to extend the pinned checkpoint.
  for (int i = 0; i < 3; ++i) node.ChipJson({"send", "alice", "1"});
  json log = node.ChipJson({"verify", "log"});
  CHECK(log["verified"] == true);
  CHECK(log["previous_tree_size"] == 6);
  CHECK(log["tree_size"] == 9);
  json chain = node.ChipJson({"verify", "chain"});
  CHECK(chain["verified"] == true);
  CHECK(chain["matches_pinned_checkpoint"] == true);
  CHECK(chain["tree_size"] == 9);
  CHECK(node.ChipJson({"verify", "tx", hashes[5]})["extends_previous_checkpoint"] == true);
  // Unknown transactions are not "verified".
  CHECK(node.Chip({"verify", "tx", std::string(64, 'a')}).code == 1);

  REQUIRE(node.Stop() == 0);
  std::filesystem::copy(node.data_dir(), node.dir().Sub("pristine"),
                        std::filesystem::copy_options::recursive);

  SECTION("a node that rewrites its history to deny a transaction is caught") {
    REQUIRE(Tamper(node, "rewrite", heights[1]) == 0);
    REQUIRE(node.Start());
    // The forged history is internally consistent and validly signed...
    Run tx_gone = node.Chip({"tx", hashes[1]});
    CHECK(tx_gone.code == 1);
    // ...but it does not extend what this wallet verified before.
    Run vlog = node.Chip({"verify", "log"});
    CHECK(vlog.code == 6);
    CHECK(vlog.err.find("VERIFICATION FAILED") != std::string::npos);
    Run vchain = node.Chip({"verify", "chain"});
    CHECK(vchain.code == 6);
    CHECK((vchain.err.find("FORK") != std::string::npos ||
           vchain.err.find("fewer transactions") != std::string::npos));
    Run vtx = node.Chip({"verify", "tx", hashes[4]});
    CHECK(vtx.code == 6);
  }

  SECTION("a block edited in the store is caught by re-deriving the chain") {
    REQUIRE(Tamper(node, "corrupt-block", heights[3]) == 0);
    REQUIRE(node.Start());
    Run vchain = node.Chip({"verify", "chain"});
    CHECK(vchain.code == 6);
    CHECK(vchain.err.find("block " + std::to_string(heights[3])) != std::string::npos);
  }

  SECTION("a node key other than the pinned one is reported, and accepted for a validator") {
    REQUIRE(node.Start());
    // Pretend this wallet had pinned another key for the chain.
    std::string trust_dir = node.wallet() + "/trust";
    auto entry = *std::filesystem::directory_iterator(trust_dir);
    json trust = json::parse(ReadFile(entry.path().string()));
    trust["node_key"] = EncodeAddress(test::TestKey(77).Public());
    trust.erase("checkpoint_note");
    std::ofstream(entry.path().string()) << trust.dump();
    Run vlog = node.Chip({"verify", "log"});
    // The node's key is a validator of the pinned chain's genesis (another
    // node of a cluster, say): noted, and the log is still checked.
    INFO(vlog.out << vlog.err);
    CHECK(vlog.code == 0);
    CHECK((vlog.out + vlog.err).find("differs from the pinned") != std::string::npos);
    json pinned = json::parse(ReadFile(entry.path().string()));
    CHECK(pinned["node_key"] != trust["node_key"]);
  }
}
