#include "cli/bench/stats.h"

#include <algorithm>
#include <cmath>

namespace chip::cli::bench_internal {

LatencySummary Summarize(std::vector<std::pair<uint32_t, uint32_t>> samples) {
  LatencySummary out;
  std::sort(samples.begin(), samples.end());
  uint64_t total = 0;
  long double sum = 0;
  for (const auto& [us, n] : samples) {
    total += n;
    sum += static_cast<long double>(us) * n;
  }
  if (total == 0) return out;
  auto at = [&](double q) {
    auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total)));
    uint64_t seen = 0;
    for (const auto& [us, n] : samples) {
      seen += n;
      if (seen >= rank) return us / 1000.0;
    }
    return samples.back().first / 1000.0;
  };
  out.p50_ms = at(0.50);
  out.p99_ms = at(0.99);
  out.p999_ms = at(0.999);
  out.max_ms = samples.back().first / 1000.0;
  out.mean_ms = static_cast<double>(sum / total) / 1000.0;
  return out;
}

}  // namespace chip::cli::bench_internal
