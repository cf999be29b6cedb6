// Named maxima of the protocol. Changing one changes which transactions and
// blocks are valid, so each is listed in docs/PROTOCOL.md.
#pragma once

#include <cstddef>
#include <cstdint>

namespace chip {

constexpr size_t kSignedTxBytesMax = 2048;  // serialized SignedTx envelope
constexpr size_t kTxBodyBytesMax = 1024;    // serialized TxBody
// A multi-operation transaction (docs/PROTOCOL.md, "Multi-operation
// transactions"). 128 operations: above Stellar's 100, and at 100 the one
// signature verification (about 50 us) is already under 10% of the serial
// cost of the operations it covers, so a longer list would gain little
// throughput and make each all-or-nothing rollback and each block larger.
// 16 KiB holds 128 of the largest operations (a price observation with a
// 64-byte source is about 110 bytes); 128 transfers take about 5.7 KiB.
constexpr size_t kTxOperationsMax = 128;
constexpr size_t kMultiOpTxBodyBytesMax = 16 * 1024;
constexpr size_t kMultiOpSignedTxBytesMax = kMultiOpTxBodyBytesMax + 1024;
constexpr size_t kMemoBytesMax = 256;
constexpr size_t kObservationSourceBytesMax = 64;
constexpr uint64_t kReserveTimeoutMsMax = 90ull * 24 * 3600 * 1000;  // 90 days
constexpr size_t kBlockTxCountMax = 10'000;
// Operations in one block, a single-operation transaction counting one: bounds
// a block's apply work and its size (at most about 17 MiB of bodies).
constexpr size_t kBlockOperationsMax = 131'072;
// Automatic expiries processed at the start of one block; the rest wait for
// the next block (settling them is already refused by their expiry time).
constexpr size_t kBlockExpiriesMax = 10'000;

}  // namespace chip
