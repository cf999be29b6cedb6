#include "cli/bench/common.h"

#include <cstdio>

namespace chip::cli::bench_internal {

std::pair<uint32_t, uint32_t> Pair(SplitMix64* rng, uint32_t n) {
  auto a = static_cast<uint32_t>(rng->Below(n));
  auto b = static_cast<uint32_t>((a + 1 + rng->Below(n - 1)) % n);
  return {a, b};
}

std::string WithCommas(uint64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

unsigned SigningThreads() { return std::max(1u, std::thread::hardware_concurrency()); }

}  // namespace chip::cli::bench_internal
