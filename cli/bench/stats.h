// What a `chip bench` run counts: live counters for the progress line, each
// submitter's observations, and latency percentiles.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "cli/bench/plan.h"

namespace chip::cli::bench_internal {

// ---- counters shared with the progress line ----

struct Live {
  std::atomic<uint64_t> submitted{0};
  std::atomic<uint64_t> answered{0};
  std::atomic<uint64_t> committed{0};
  std::atomic<uint64_t> rejected{0};
  std::atomic<uint64_t> errors{0};
};

// What one submitter saw; merged after the window.
struct ClientStats {
  std::vector<std::pair<uint32_t, uint32_t>> latencies;  // (microseconds, transactions)
  std::map<int32_t, uint64_t> rejected;                  // result code -> count
  std::map<std::string, uint64_t> errors;                // gRPC code -> transactions
  uint64_t busy_retries = 0;
  uint64_t jobs_completed = 0;
  uint64_t jobs_abandoned = 0;  // a step failed, so the later ones were not sent
  uint64_t jobs_open = 0;       // still in progress when the duration ended
  // Reads workload: latencies per ReadKind (transactions = 1), and answers
  // that were NOT_FOUND (an account the seed names that was never funded).
  std::vector<std::pair<uint32_t, uint32_t>> read_latencies[kReadKinds];
  uint64_t not_found = 0;
};

struct LatencySummary {
  double p50_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0, mean_ms = 0;
};

// Percentiles, maximum and mean of (microseconds, transactions) samples,
// each sample weighing its transaction count.
LatencySummary Summarize(std::vector<std::pair<uint32_t, uint32_t>> samples);

}  // namespace chip::cli::bench_internal
