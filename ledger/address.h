// Text form of an account key. An address is "chip" followed by the RFC 4648
// base32 (lower case, no padding) of the 32-byte public key and a 4-byte
// checksum, the first 4 bytes of SHA-256("chipledger/addr/v1" || key):
// 62 characters in all. A mistyped character fails the checksum.
#pragma once

#include <string>
#include <string_view>

#include "ledger/bytes.h"
#include "ledger/status.h"

namespace chip {

constexpr std::string_view kAddressPrefix = "chip";
constexpr size_t kAddressChars = 62;

std::string EncodeAddress(const PublicKey& key);
// Accepts upper or lower case. InvalidArgument says whether the length, a
// character or the checksum is wrong.
Result<PublicKey> DecodeAddress(std::string_view text);

}  // namespace chip
