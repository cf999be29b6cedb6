// The history log against the RFC 6962 / RFC 9162 reference vectors (the
// 8-leaf tree public Certificate Transparency implementations test against),
// exhaustive proof checks, tampering, and signed checkpoints.
#include "ledger/merkle.h"

#include <catch2/catch.hpp>
#include <map>

#include "ledger/checkpoint.h"
#include "test_util.h"

using namespace chip;

namespace {

const std::vector<std::string> kLeafInputsHex = {"",
                                                 "00",
                                                 "10",
                                                 "2021",
                                                 "3031",
                                                 "40414243",
                                                 "5051525354555657",
                                                 "606162636465666768696a6b6c6d6e6f"};
const std::vector<std::string> kRootsHex = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};

// A log held in a map of complete-subtree nodes, as the store holds it, with
// a read counter.
struct MemLog {
  MerkleFrontier frontier;
  std::map<std::pair<uint8_t, uint64_t>, Hash32> nodes;
  mutable size_t reads = 0;
  std::vector<Hash32> roots;  // root after each size, index = size
  MemLog() { roots.push_back(MerkleEmptyRoot()); }
  void Add(const Hash32& leaf_hash) {
    std::vector<MerkleNode> created;
    frontier.Append(leaf_hash, &created);
    for (const auto& n : created) nodes[{n.level, n.index}] = n.hash;
    roots.push_back(frontier.Root());
  }
  MerkleNodeReader Reader() const {
    return [this](uint8_t l, uint64_t i) -> Result<Hash32> {
      ++reads;
      auto it = nodes.find({l, i});
      if (it == nodes.end()) return Status::NotFound("node");
      return it->second;
    };
  }
};

MemLog ReferenceLog() {
  MemLog log;
  for (const auto& hex : kLeafInputsHex) log.Add(MerkleLeafHash(*FromHex(hex)));
  return log;
}

MemLog SyntheticLog(size_t n) {
  MemLog log;
  for (size_t i = 0; i < n; ++i) log.Add(MerkleLeafHash("leaf " + std::to_string(i)));
  return log;
}

}  // namespace

TEST_CASE("roots match the RFC 6962 reference vectors", "[ledger][merkle]") {
  CHECK(ToHex(MerkleEmptyRoot()) ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  MemLog log = ReferenceLog();
  for (size_t n = 1; n <= 8; ++n) {
    INFO("size " << n);
    CHECK(ToHex(log.roots[n]) == kRootsHex[n - 1]);
    auto from_store = MerkleRootAt(n, log.Reader());
    REQUIRE(from_store.ok());
    CHECK(*from_store == log.roots[n]);
  }
}

TEST_CASE("inclusion and consistency proofs match the reference vectors", "[ledger][merkle]") {
  MemLog log = ReferenceLog();
  struct Incl {
    uint64_t index, size;
    std::vector<std::string> proof;
  };
  const Incl incl[] = {
      {0,
       8,
       {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {5,
       8,
       {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {2, 3, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
      {1,
       5,
       {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
  };
  for (const auto& v : incl) {
    INFO("inclusion " << v.index << " in " << v.size);
    auto proof = MerkleInclusionProof(v.index, v.size, log.Reader());
    REQUIRE(proof.ok());
    REQUIRE(proof->size() == v.proof.size());
    for (size_t i = 0; i < v.proof.size(); ++i) CHECK(ToHex((*proof)[i]) == v.proof[i]);
    Hash32 leaf = MerkleLeafHash(*FromHex(kLeafInputsHex[v.index]));
    CHECK(VerifyInclusion(leaf, v.index, v.size, *proof, log.roots[v.size]));
  }
  struct Cons {
    uint64_t first, second;
    std::vector<std::string> proof;
  };
  const Cons cons[] = {
      {1, 1, {}},
      {1,
       8,
       {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {6,
       8,
       {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {2,
       5,
       {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
  };
  for (const auto& v : cons) {
    INFO("consistency " << v.first << " -> " << v.second);
    auto proof = MerkleConsistencyProof(v.first, v.second, log.Reader());
    REQUIRE(proof.ok());
    REQUIRE(proof->size() == v.proof.size());
    for (size_t i = 0; i < v.proof.size(); ++i) CHECK(ToHex((*proof)[i]) == v.proof[i]);
    CHECK(VerifyConsistency(v.first, v.second, log.roots[v.first], log.roots[v.second], *proof));
  }
}

TEST_CASE("every proof up to 300 leaves verifies and costs O(log n) reads", "[ledger][merkle]") {
  MemLog log = SyntheticLog(300);
  size_t checked = 0;
  for (uint64_t size = 1; size <= 300; ++size) {
    size_t log2 = 0;
    while ((uint64_t{1} << log2) < size) ++log2;
    for (uint64_t index = 0; index < size; ++index) {
      log.reads = 0;
      auto proof = MerkleInclusionProof(index, size, log.Reader());
      REQUIRE(proof.ok());
      REQUIRE(log.reads <= 2 * log2 + 2);
      Hash32 leaf = MerkleLeafHash("leaf " + std::to_string(index));
      if (!VerifyInclusion(leaf, index, size, *proof, log.roots[size])) {
        FAIL("inclusion " << index << " in " << size);
      }
      ++checked;
    }
  }
  for (uint64_t second = 1; second <= 300; second += (second < 70 ? 1 : 7)) {
    for (uint64_t first = 1; first <= second; ++first) {
      auto proof = MerkleConsistencyProof(first, second, log.Reader());
      REQUIRE(proof.ok());
      if (!VerifyConsistency(first, second, log.roots[first], log.roots[second], *proof)) {
        FAIL("consistency " << first << " -> " << second);
      }
      ++checked;
    }
  }
  CHECK(checked > 45'000);
  // Requests outside the tree are refused.
  CHECK_FALSE(MerkleInclusionProof(300, 300, log.Reader()).ok());
  CHECK_FALSE(MerkleConsistencyProof(0, 5, log.Reader()).ok());
  CHECK_FALSE(MerkleConsistencyProof(6, 5, log.Reader()).ok());
}

TEST_CASE("a flipped bit in a proof, leaf or root is rejected", "[ledger][merkle]") {
  MemLog log = SyntheticLog(77);
  auto flip = [](Hash32 h, size_t bit) {
    h[bit / 8] = static_cast<uint8_t>(h[bit / 8] ^ (1u << (bit % 8)));
    return h;
  };
  for (uint64_t index : {0u, 13u, 64u, 76u}) {
    auto proof = *MerkleInclusionProof(index, 77, log.Reader());
    Hash32 leaf = MerkleLeafHash("leaf " + std::to_string(index));
    REQUIRE(VerifyInclusion(leaf, index, 77, proof, log.roots[77]));
    for (size_t bit : {0u, 100u, 255u}) {
      CHECK_FALSE(VerifyInclusion(flip(leaf, bit), index, 77, proof, log.roots[77]));
      CHECK_FALSE(VerifyInclusion(leaf, index, 77, proof, flip(log.roots[77], bit)));
      for (size_t p = 0; p < proof.size(); ++p) {
        auto bad = proof;
        bad[p] = flip(bad[p], bit);
        CHECK_FALSE(VerifyInclusion(leaf, index, 77, bad, log.roots[77]));
      }
    }
    CHECK_FALSE(VerifyInclusion(leaf, index + 1, 77, proof, log.roots[77]));
    // (The size is not re-checked here: a verifier takes it from the signed
    // checkpoint together with the root.)
    CHECK_FALSE(VerifyInclusion(leaf, index, 77, proof, log.roots[76]));
    auto shorter = proof;
    shorter.pop_back();
    CHECK_FALSE(VerifyInclusion(leaf, index, 77, shorter, log.roots[77]));
  }
  auto cproof = *MerkleConsistencyProof(20, 77, log.Reader());
  REQUIRE(VerifyConsistency(20, 77, log.roots[20], log.roots[77], cproof));
  for (size_t p = 0; p < cproof.size(); ++p) {
    auto bad = cproof;
    bad[p] = flip(bad[p], 7);
    CHECK_FALSE(VerifyConsistency(20, 77, log.roots[20], log.roots[77], bad));
  }
  CHECK_FALSE(VerifyConsistency(20, 77, flip(log.roots[20], 1), log.roots[77], cproof));
  CHECK_FALSE(VerifyConsistency(20, 77, log.roots[20], flip(log.roots[77], 1), cproof));
  CHECK_FALSE(VerifyConsistency(20, 77, log.roots[20], log.roots[77], {}));
  // A rewritten history (a different leaf 5) is not consistent with the old root.
  MemLog other = SyntheticLog(77);
  MemLog forked;
  for (size_t i = 0; i < 77; ++i) {
    forked.Add(MerkleLeafHash(i == 5 ? std::string("forged") : "leaf " + std::to_string(i)));
  }
  auto fork_proof = *MerkleConsistencyProof(20, 77, forked.Reader());
  CHECK_FALSE(VerifyConsistency(20, 77, other.roots[20], forked.roots[77], fork_proof));
}

TEST_CASE("frontier reloaded from stored nodes continues the same log", "[ledger][merkle]") {
  MemLog log = SyntheticLog(1000);
  for (uint64_t size : {0u, 1u, 2u, 3u, 255u, 256u, 257u, 999u, 1000u}) {
    auto f = MerkleFrontier::Load(size, log.Reader());
    REQUIRE(f.ok());
    CHECK(f->Root() == log.roots[size]);
  }
  auto f = *MerkleFrontier::Load(999, log.Reader());
  std::vector<MerkleNode> created;
  f.Append(MerkleLeafHash("leaf 999"), &created);
  CHECK(f.Root() == log.roots[1000]);
}

TEST_CASE("checkpoints are C2SP signed notes that verify only untouched", "[ledger][checkpoint]") {
  SecretKey key = test::TestKey(9);
  Checkpoint c{"chipledger/test/abcd", 12345, Sha256("root")};
  std::string note = SignCheckpoint(c, key);
  // Three body lines, a blank line, one signature line with an em dash.
  CHECK(note.rfind("chipledger/test/abcd\n12345\n", 0) == 0);
  CHECK(note.find("\n\n\xe2\x80\x94 chip") != std::string::npos);
  auto ok = VerifyCheckpoint(note, key.Public());
  REQUIRE(ok.ok());
  CHECK(ok->tree_size == 12345);
  CHECK(ok->root == c.root);
  CHECK(ok->origin == c.origin);
  CHECK_FALSE(VerifyCheckpoint(note, test::TestKey(10).Public()).ok());
  for (size_t i = 0; i < note.size(); ++i) {
    std::string bad = note;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    if (VerifyCheckpoint(bad, key.Public()).ok()) FAIL("flipped byte " << i << " accepted");
  }
  CHECK_FALSE(VerifyCheckpoint("", key.Public()).ok());
  CHECK_FALSE(VerifyCheckpoint(note.substr(0, note.size() - 1), key.Public()).ok());
  // The verifier key string has the note tooling's shape.
  std::string vkey = NoteVerifierKey(EncodeAddress(key.Public()), key.Public());
  CHECK(vkey.rfind(EncodeAddress(key.Public()) + "+", 0) == 0);
  CHECK(std::count(vkey.begin(), vkey.end(), '+') >= 2);
}
