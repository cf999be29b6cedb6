#include "ledger/merkle.h"

#include "ledger/check.h"
#include "ledger/crypto.h"

namespace chip {

std::string LeafData(const Hash32& tx_hash, uint64_t height, uint32_t index, int32_t code) {
  std::string d;
  d.reserve(kLeafDataBytes);
  PutHash(&d, tx_hash);
  PutU64(&d, height);
  PutU32(&d, index);
  PutU32(&d, static_cast<uint32_t>(code));
  return d;
}

Hash32 MerkleLeafHash(std::string_view leaf_data) {
  Sha256Builder b;
  b.Update(std::string_view("\x00", 1));
  b.Update(leaf_data);
  return b.Finish();
}

Hash32 MerkleNodeHash(const Hash32& left, const Hash32& right) {
  Sha256Builder b;
  b.Update(std::string_view("\x01", 1));
  b.Update(left);
  b.Update(right);
  return b.Finish();
}

Hash32 MerkleEmptyRoot() { return Sha256(""); }

namespace {

// Largest power of two strictly below n (n >= 2).
uint64_t SplitPoint(uint64_t n) {
  CHIP_CHECK(n >= 2);
  uint64_t k = 1;
  while ((k << 1) < n) k <<= 1;
  return k;
}

bool IsPowerOfTwo(uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }

uint8_t Log2(uint64_t pow2) {
  uint8_t l = 0;
  while ((uint64_t{1} << l) < pow2) ++l;
  return l;
}

// MTH of leaves [start, end): an aligned complete subtree is one stored node;
// anything else splits RFC-style. Only right-edge ranges are ever unaligned,
// so a call costs O(log n) reads. Reads are memoised per proof.
class RangeHasher {
 public:
  explicit RangeHasher(const MerkleNodeReader& read) : read_(read) {}
  Result<Hash32> Hash(uint64_t start, uint64_t end) {
    CHIP_CHECK(end > start);
    uint64_t n = end - start;
    if (IsPowerOfTwo(n) && start % n == 0) return Node(Log2(n), start / n);
    uint64_t k = SplitPoint(n);
    auto left = Hash(start, start + k);
    if (!left.ok()) return left;
    auto right = Hash(start + k, end);
    if (!right.ok()) return right;
    return MerkleNodeHash(*left, *right);
  }

 private:
  Result<Hash32> Node(uint8_t level, uint64_t index) {
    auto key = std::make_pair(level, index);
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    auto h = read_(level, index);
    if (h.ok()) cache_[key] = *h;
    return h;
  }
  const MerkleNodeReader& read_;
  std::map<std::pair<uint8_t, uint64_t>, Hash32> cache_;
};

// PATH(m, D[start:end]) of RFC 9162 2.1.3.1.
Status Path(RangeHasher* h, uint64_t m, uint64_t start, uint64_t end, std::vector<Hash32>* out) {
  uint64_t n = end - start;
  if (n == 1) return Status::Ok();
  uint64_t k = SplitPoint(n);
  if (m < k) {
    CHIP_RETURN_IF_ERROR(Path(h, m, start, start + k, out));
    auto sibling = h->Hash(start + k, end);
    if (!sibling.ok()) return sibling.status();
    out->push_back(*sibling);
  } else {
    CHIP_RETURN_IF_ERROR(Path(h, m - k, start + k, end, out));
    auto sibling = h->Hash(start, start + k);
    if (!sibling.ok()) return sibling.status();
    out->push_back(*sibling);
  }
  return Status::Ok();
}

// SUBPROOF(m, D[start:end], b) of RFC 9162 2.1.4.1.
Status Subproof(RangeHasher* h, uint64_t m, uint64_t start, uint64_t end, bool b,
                std::vector<Hash32>* out) {
  uint64_t n = end - start;
  if (m == n) {
    if (b) return Status::Ok();
    auto whole = h->Hash(start, end);
    if (!whole.ok()) return whole.status();
    out->push_back(*whole);
    return Status::Ok();
  }
  uint64_t k = SplitPoint(n);
  if (m <= k) {
    CHIP_RETURN_IF_ERROR(Subproof(h, m, start, start + k, b, out));
    auto right = h->Hash(start + k, end);
    if (!right.ok()) return right.status();
    out->push_back(*right);
  } else {
    CHIP_RETURN_IF_ERROR(Subproof(h, m - k, start + k, end, false, out));
    auto left = h->Hash(start, start + k);
    if (!left.ok()) return left.status();
    out->push_back(*left);
  }
  return Status::Ok();
}

}  // namespace

void MerkleFrontier::Append(const Hash32& leaf_hash, std::vector<MerkleNode>* created) {
  MerkleNode node{0, size_, leaf_hash};
  created->push_back(node);
  // Merge equal-sized trailing subtrees, like carrying in binary addition.
  while (!subtrees_.empty() && subtrees_.back().level == node.level) {
    const MerkleNode& left = subtrees_.back();
    MerkleNode parent{static_cast<uint8_t>(node.level + 1), left.index >> 1,
                      MerkleNodeHash(left.hash, node.hash)};
    subtrees_.pop_back();
    created->push_back(parent);
    node = parent;
  }
  subtrees_.push_back(node);
  ++size_;
}

Hash32 MerkleFrontier::Root() const {
  if (subtrees_.empty()) return MerkleEmptyRoot();
  Hash32 acc = subtrees_.back().hash;
  for (size_t i = subtrees_.size() - 1; i-- > 0;) acc = MerkleNodeHash(subtrees_[i].hash, acc);
  return acc;
}

Result<MerkleFrontier> MerkleFrontier::Load(uint64_t size, const MerkleNodeReader& read) {
  MerkleFrontier f;
  uint64_t start = 0;
  for (int level = 63; level >= 0; --level) {
    uint64_t span = uint64_t{1} << level;
    if ((size & span) == 0) continue;
    auto h = read(static_cast<uint8_t>(level), start >> level);
    if (!h.ok()) return h.status();
    f.subtrees_.push_back(MerkleNode{static_cast<uint8_t>(level), start >> level, *h});
    start += span;
  }
  f.size_ = size;
  return f;
}

Result<Hash32> MerkleRootAt(uint64_t size, const MerkleNodeReader& read) {
  if (size == 0) return MerkleEmptyRoot();
  RangeHasher h(read);
  return h.Hash(0, size);
}

Result<std::vector<Hash32>> MerkleInclusionProof(uint64_t index, uint64_t size,
                                                 const MerkleNodeReader& read) {
  if (index >= size) return Status::InvalidArgument("leaf index outside the tree");
  RangeHasher h(read);
  std::vector<Hash32> out;
  CHIP_RETURN_IF_ERROR(Path(&h, index, 0, size, &out));
  return out;
}

Result<std::vector<Hash32>> MerkleConsistencyProof(uint64_t first, uint64_t second,
                                                   const MerkleNodeReader& read) {
  if (first == 0 || first > second) {
    return Status::InvalidArgument("consistency needs 0 < first <= second");
  }
  RangeHasher h(read);
  std::vector<Hash32> out;
  if (first == second) return out;
  CHIP_RETURN_IF_ERROR(Subproof(&h, first, 0, second, true, &out));
  return out;
}

bool VerifyInclusion(const Hash32& leaf_hash, uint64_t index, uint64_t size,
                     const std::vector<Hash32>& proof, const Hash32& root) {
  // RFC 9162 2.1.3.2.
  if (index >= size) return false;
  uint64_t fn = index, sn = size - 1;
  Hash32 r = leaf_hash;
  for (const Hash32& p : proof) {
    if (sn == 0) return false;
    if ((fn & 1) == 1 || fn == sn) {
      r = MerkleNodeHash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = MerkleNodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

bool VerifyConsistency(uint64_t first, uint64_t second, const Hash32& first_root,
                       const Hash32& second_root, const std::vector<Hash32>& proof) {
  // RFC 9162 2.1.4.2.
  if (first == 0 || first > second) return false;
  if (first == second) return proof.empty() && first_root == second_root;
  if (proof.empty()) return false;
  std::vector<Hash32> path = proof;
  if (IsPowerOfTwo(first)) path.insert(path.begin(), first_root);
  uint64_t fn = first - 1, sn = second - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash32 fr = path[0], sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash32& c = path[i];
    if (sn == 0) return false;
    if ((fn & 1) == 1 || fn == sn) {
      fr = MerkleNodeHash(c, fr);
      sr = MerkleNodeHash(c, sr);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = MerkleNodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && fr == first_root && sr == second_root;
}

}  // namespace chip
