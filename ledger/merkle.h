// The history log: one RFC 9162 (Certificate Transparency v2) Merkle tree
// over every recorded transaction, in block order. Leaf and node hashes:
//   leaf  = SHA-256(0x00 || leaf_data)
//   node  = SHA-256(0x01 || left || right)
//   empty = SHA-256("")
// leaf_data (48 bytes) = tx_hash(32) || height(u64 BE) || index(u32 BE) ||
// result code(u32 BE).
//
// Storage keeps every complete subtree hash once: node (level, i) covers
// leaves [i * 2^level, (i + 1) * 2^level). Any tree size's root, inclusion
// proof or consistency proof is computed from O(log n) such nodes, read
// through a NodeReader, so nothing is rebuilt on restart or per request.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ledger/bytes.h"
#include "ledger/status.h"

namespace chip {

constexpr size_t kLeafDataBytes = 48;

std::string LeafData(const Hash32& tx_hash, uint64_t height, uint32_t index, int32_t code);
Hash32 MerkleLeafHash(std::string_view leaf_data);
Hash32 MerkleNodeHash(const Hash32& left, const Hash32& right);
Hash32 MerkleEmptyRoot();

// A stored complete-subtree node.
struct MerkleNode {
  uint8_t level = 0;
  uint64_t index = 0;
  Hash32 hash{};
};

// The right edge of a tree: the complete subtrees of the binary decomposition
// of its size, largest first. Enough to append leaves and to get the root.
class MerkleFrontier {
 public:
  MerkleFrontier() = default;
  uint64_t size() const { return size_; }
  // Appends one leaf hash; adds the newly completed nodes to *created.
  void Append(const Hash32& leaf_hash, std::vector<MerkleNode>* created);
  Hash32 Root() const;
  // Rebuilds the frontier of `size` from stored nodes.
  static Result<MerkleFrontier> Load(uint64_t size,
                                     const std::function<Result<Hash32>(uint8_t, uint64_t)>& read);

 private:
  uint64_t size_ = 0;
  std::vector<MerkleNode> subtrees_;  // largest first
};

// Reads stored nodes; NotFound/Corruption propagate.
using MerkleNodeReader = std::function<Result<Hash32>(uint8_t level, uint64_t index)>;

// Root of the first `size` leaves.
Result<Hash32> MerkleRootAt(uint64_t size, const MerkleNodeReader& read);
// RFC 9162 2.1.3.1 inclusion proof of leaf `index` in the tree of `size`.
// InvalidArgument when index >= size.
Result<std::vector<Hash32>> MerkleInclusionProof(uint64_t index, uint64_t size,
                                                 const MerkleNodeReader& read);
// RFC 9162 2.1.4.1 consistency proof from `first` to `second`
// (0 < first <= second). InvalidArgument otherwise.
Result<std::vector<Hash32>> MerkleConsistencyProof(uint64_t first, uint64_t second,
                                                   const MerkleNodeReader& read);

// Verifiers (RFC 9162 2.1.3.2 and 2.1.4.2); pure, for clients.
bool VerifyInclusion(const Hash32& leaf_hash, uint64_t index, uint64_t size,
                     const std::vector<Hash32>& proof, const Hash32& root);
bool VerifyConsistency(uint64_t first, uint64_t second, const Hash32& first_root,
                       const Hash32& second_root, const std::vector<Hash32>& proof);

}  // namespace chip
