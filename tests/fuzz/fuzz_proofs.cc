// fuzz_proofs: history-log proofs (ledger/merkle.h), signed checkpoints and
// base64 (ledger/checkpoint.h).
//
// The first input byte picks how the rest is read:
//   even: a real tree of 1..256 leaves derived from the input, a leaf index
//         and an older size. The proofs the store would serve
//         (MerkleInclusionProof, MerkleConsistencyProof over an in-memory
//         node table) must verify, and must fail once any one bit of the
//         proof, the leaf or a root is flipped. MerkleRootAt agrees with the
//         frontier's root.
//   odd:  arbitrary tree sizes, index and proof hashes: VerifyInclusion and
//         VerifyConsistency must return, whatever they answer.
// Always, on the rest as text: VerifyCheckpoint with a fixed key never
// crashes, and a checkpoint it accepts re-signs and re-verifies to the same
// fields; Base64Decode never crashes, and what it accepts encodes back to the
// same text; Base64Encode of the raw bytes decodes back to them.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ledger/checkpoint.h"
#include "ledger/merkle.h"
#include "tests/fuzz/fuzz_util.h"

namespace chip {
namespace {

void Flip(Hash32* h, uint8_t bit) { (*h)[(bit / 8) % 32] ^= static_cast<uint8_t>(1 << (bit % 8)); }

void RealTree(FuzzedDataProvider* in) {
  const uint64_t size = in->ConsumeIntegralInRange<uint64_t>(1, 256);
  const uint64_t index = in->ConsumeIntegralInRange<uint64_t>(0, size - 1);
  const uint64_t first = in->ConsumeIntegralInRange<uint64_t>(1, size);
  const uint8_t salt = in->ConsumeIntegral<uint8_t>();
  const uint8_t bit = in->ConsumeIntegral<uint8_t>();
  const uint8_t which = in->ConsumeIntegral<uint8_t>();

  std::map<std::pair<uint8_t, uint64_t>, Hash32> nodes;
  std::vector<Hash32> leaves;
  std::vector<Hash32> roots;  // roots[s] = root of the first s leaves
  MerkleFrontier frontier;
  roots.push_back(frontier.Root());
  for (uint64_t i = 0; i < size; ++i) {
    Hash32 tx_hash = Sha256(std::string(1, static_cast<char>(salt)) + std::to_string(i));
    leaves.push_back(MerkleLeafHash(LeafData(tx_hash, i / 3, static_cast<uint32_t>(i % 3), 1)));
    std::vector<MerkleNode> created;
    frontier.Append(leaves.back(), &created);
    for (const auto& n : created) nodes[{n.level, n.index}] = n.hash;
    roots.push_back(frontier.Root());
  }
  FUZZ_ASSERT(roots[0] == MerkleEmptyRoot(), "empty root");
  MerkleNodeReader read = [&nodes](uint8_t level, uint64_t i) -> Result<Hash32> {
    auto it = nodes.find({level, i});
    if (it == nodes.end()) return Status::NotFound("no node");
    return it->second;
  };
  const std::string where = "size " + std::to_string(size) + " index " + std::to_string(index) +
                            " first " + std::to_string(first);
  for (uint64_t s : {first, size}) {
    auto root = MerkleRootAt(s, read);
    FUZZ_ASSERT(root.ok() && *root == roots[s], where + ": " + root.status().ToString());
  }

  auto inclusion = MerkleInclusionProof(index, size, read);
  FUZZ_ASSERT(inclusion.ok(), where + ": " + inclusion.status().ToString());
  FUZZ_ASSERT(VerifyInclusion(leaves[index], index, size, *inclusion, roots[size]), where);
  {
    std::vector<Hash32> proof = *inclusion;
    Hash32 leaf = leaves[index], root = roots[size];
    if (!proof.empty() && which % 3 == 0) {
      Flip(&proof[which % proof.size()], bit);
    } else if (which % 3 == 1) {
      Flip(&leaf, bit);
    } else {
      Flip(&root, bit);
    }
    FUZZ_ASSERT(!VerifyInclusion(leaf, index, size, proof, root), where + " tampered inclusion");
  }

  auto consistency = MerkleConsistencyProof(first, size, read);
  FUZZ_ASSERT(consistency.ok(), where + ": " + consistency.status().ToString());
  FUZZ_ASSERT(VerifyConsistency(first, size, roots[first], roots[size], *consistency), where);
  {
    std::vector<Hash32> proof = *consistency;
    Hash32 old_root = roots[first], new_root = roots[size];
    if (!proof.empty() && which % 3 == 0) {
      Flip(&proof[which % proof.size()], bit);
    } else if (which % 3 == 1) {
      Flip(&old_root, bit);
    } else {
      Flip(&new_root, bit);
    }
    FUZZ_ASSERT(!VerifyConsistency(first, size, old_root, new_root, proof),
                where + " tampered consistency");
  }
}

void ArbitraryProofs(FuzzedDataProvider* in) {
  const uint64_t size = in->ConsumeIntegral<uint64_t>();
  const uint64_t index = in->ConsumeIntegral<uint64_t>();
  const uint64_t first = in->ConsumeIntegral<uint64_t>();
  const size_t count = in->ConsumeIntegralInRange<size_t>(0, 70);
  std::vector<Hash32> proof(count);
  for (auto& h : proof) {
    std::vector<uint8_t> b = in->ConsumeBytes<uint8_t>(32);
    std::copy(b.begin(), b.end(), h.begin());
  }
  Hash32 a{}, b{};
  if (!proof.empty()) a = proof.front();
  if (!proof.empty()) b = proof.back();
  (void)VerifyInclusion(a, index, size, proof, b);
  (void)VerifyConsistency(first, size, a, b, proof);
  (void)VerifyConsistency(index, size, b, a, proof);
}

void CheckpointAndBase64(std::string_view text) {
  const SecretKey& key = fuzz::CheckpointKey();
  auto c = VerifyCheckpoint(text, key.Public());
  if (c.ok()) {
    std::string note = SignCheckpoint(*c, key);
    auto again = VerifyCheckpoint(note, key.Public());
    FUZZ_ASSERT(again.ok(), note + ": " + again.status().ToString());
    FUZZ_ASSERT(again->origin == c->origin, note);
    FUZZ_ASSERT(again->tree_size == c->tree_size, note);
    FUZZ_ASSERT(again->root == c->root, note);
  }
  // Only canonical text decodes. Base64Decode once accepted every byte
  // 0x80-0xff as '/' (libsodium 1.0.18's decoder does); it now checks the
  // alphabet first. Reproducer: tests/fuzz/regressions/fuzz_proofs-base64-high-bytes.
  auto decoded = Base64Decode(text);
  if (decoded) FUZZ_ASSERT(Base64Encode(*decoded) == text, std::string(text));
  auto round = Base64Decode(Base64Encode(text));
  FUZZ_ASSERT(round && *round == text, std::string(text));
}

}  // namespace
}  // namespace chip

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chip;
  fuzz::InitOnce();
  if (size == 0) return 0;
  const std::string_view rest = fuzz::AsText(data + 1, size - 1);
  FuzzedDataProvider in(data + 1, size - 1);
  if (data[0] % 2 == 0) {
    RealTree(&in);
  } else {
    ArbitraryProofs(&in);
  }
  CheckpointAndBase64(rest);
  return 0;
}
