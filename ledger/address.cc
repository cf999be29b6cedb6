#include "ledger/address.h"

#include <cstring>

#include "ledger/check.h"
#include "ledger/crypto.h"

namespace chip {
namespace {

constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
constexpr size_t kPayloadBytes = 36;  // key || checksum
constexpr size_t kBase32Chars = 58;   // ceil(36 * 8 / 5)

std::array<uint8_t, 4> Checksum(const PublicKey& key) {
  std::string msg = "chipledger/addr/v1";
  PutHash(&msg, key);
  Hash32 h = Sha256(msg);
  return {h[0], h[1], h[2], h[3]};
}

int Base32Value(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

}  // namespace

std::string EncodeAddress(const PublicKey& key) {
  uint8_t payload[kPayloadBytes];
  std::memcpy(payload, key.data(), 32);
  auto sum = Checksum(key);
  std::memcpy(payload + 32, sum.data(), 4);
  std::string out(kAddressPrefix);
  uint32_t buffer = 0;
  int bits = 0;
  for (uint8_t byte : payload) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kAlphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (5 - bits)) & 31]);
  CHIP_CHECK(out.size() == kAddressChars);
  return out;
}

Result<PublicKey> DecodeAddress(std::string_view text) {
  if (text.size() != kAddressChars) {
    return Status::InvalidArgument("address must be " + std::to_string(kAddressChars) +
                                   " characters, got " + std::to_string(text.size()));
  }
  std::string_view prefix = text.substr(0, kAddressPrefix.size());
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = prefix[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kAddressPrefix[i]) return Status::InvalidArgument("address must start with 'chip'");
  }
  uint8_t payload[kPayloadBytes];
  size_t n = 0;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text.substr(kAddressPrefix.size(), kBase32Chars)) {
    int v = Base32Value(c);
    if (v < 0)
      return Status::InvalidArgument(std::string("address has invalid character '") + c + "'");
    buffer = (buffer << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      payload[n++] = static_cast<uint8_t>((buffer >> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  CHIP_CHECK(n == kPayloadBytes);
  // 58 characters carry 290 bits; the 2 spare bits must be zero so that every
  // key has exactly one address.
  if ((buffer & ((1u << bits) - 1)) != 0) {
    return Status::InvalidArgument("address is not canonical (its last character is wrong)");
  }
  PublicKey key;
  std::memcpy(key.data(), payload, 32);
  auto sum = Checksum(key);
  if (std::memcmp(sum.data(), payload + 32, 4) != 0) {
    return Status::InvalidArgument("address checksum mismatch (mistyped address?)");
  }
  return key;
}

}  // namespace chip
