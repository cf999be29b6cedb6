// Fixed-size byte strings and the big-endian encodings used in hashed and
// stored records (docs/PROTOCOL.md gives every layout).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chip {

constexpr size_t kKeyBytes = 32;        // Ed25519 public key, hashes, ids
constexpr size_t kSignatureBytes = 64;  // Ed25519 detached signature

using Hash32 = std::array<uint8_t, 32>;
using PublicKey = Hash32;
using Signature = std::array<uint8_t, kSignatureBytes>;

std::string ToHex(const uint8_t* data, size_t size);
inline std::string ToHex(std::string_view s) {
  return ToHex(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
template <size_t N>
std::string ToHex(const std::array<uint8_t, N>& a) {
  return ToHex(a.data(), N);
}
// Lower- or upper-case hex without prefix; nullopt on odd length or bad digit.
std::optional<std::string> FromHex(std::string_view hex);
std::optional<Hash32> Hash32FromHex(std::string_view hex);

// Copies a 32-byte string into a Hash32; nullopt when the size is wrong.
std::optional<Hash32> ToHash32(std::string_view bytes);
inline std::string_view AsView(const Hash32& h) {
  return std::string_view(reinterpret_cast<const char*>(h.data()), h.size());
}
inline std::string AsString(const Hash32& h) { return std::string(AsView(h)); }

void PutU8(std::string* out, uint8_t v);
void PutU32(std::string* out, uint32_t v);
void PutU64(std::string* out, uint64_t v);
inline void PutBytes(std::string* out, std::string_view b) { out->append(b.data(), b.size()); }
inline void PutHash(std::string* out, const Hash32& h) { PutBytes(out, AsView(h)); }

// Reads big-endian values from the front of `in`, advancing it; false if short.
bool GetU8(std::string_view* in, uint8_t* v);
bool GetU32(std::string_view* in, uint32_t* v);
bool GetU64(std::string_view* in, uint64_t* v);
bool GetHash(std::string_view* in, Hash32* h);

}  // namespace chip
