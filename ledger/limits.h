// Named maxima of the protocol. Changing one changes which transactions and
// blocks are valid, so each is listed in docs/PROTOCOL.md.
#pragma once

#include <cstddef>
#include <cstdint>

namespace chip {

constexpr size_t kSignedTxBytesMax = 2048;  // serialized SignedTx envelope
constexpr size_t kTxBodyBytesMax = 1024;    // serialized TxBody
constexpr size_t kMemoBytesMax = 256;
constexpr size_t kObservationSourceBytesMax = 64;
constexpr uint64_t kReserveTimeoutMsMax = 90ull * 24 * 3600 * 1000;  // 90 days
constexpr size_t kBlockTxCountMax = 10'000;
// Automatic expiries processed at the start of one block; the rest wait for
// the next block (settling them is already refused by their expiry time).
constexpr size_t kBlockExpiriesMax = 10'000;

}  // namespace chip
