// Amounts are uint64 micro-CU (uCU): 1 CU = 1,000,000 uCU = one H100 SXM hour.
// Every sum is checked; overflow is reported, never wrapped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ledger/status.h"

namespace chip {

constexpr uint64_t kUcuPerCu = 1'000'000;

// nullopt on overflow / underflow.
inline std::optional<uint64_t> CheckedAdd(uint64_t a, uint64_t b) {
  uint64_t r;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}
inline std::optional<uint64_t> CheckedSub(uint64_t a, uint64_t b) {
  if (b > a) return std::nullopt;
  return a - b;
}

// Parses "2.5", "2.5CU", "2.5 CU", "2500000uCU" (case-insensitive units).
// A bare number means CU. At most six decimals; negative, empty, overflowing
// or garbage input is InvalidArgument. Zero is allowed here (rules decide).
Result<uint64_t> ParseAmount(std::string_view text);

// "2.500000" (CU with six decimals, no unit).
std::string FormatCu(uint64_t amount_ucu);

}  // namespace chip
