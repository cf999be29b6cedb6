// Small helpers of the `chip bench` files: the clock, deterministic random
// numbers, number formatting and a parallel loop.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace chip::cli::bench_internal {

using Clock = std::chrono::steady_clock;

inline double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Deterministic, portable random numbers (std::uniform_int_distribution is
// not the same across standard libraries, and runs must be reproducible).
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n > 0. The modulo bias is below n / 2^64: nothing at
  // the sizes used here.
  uint64_t Below(uint64_t n) { return Next() % n; }

 private:
  uint64_t state_;
};

// Two distinct accounts among [0, n), n >= 2.
std::pair<uint32_t, uint32_t> Pair(SplitMix64* rng, uint32_t n);

// 1234567 -> "1,234,567".
std::string WithCommas(uint64_t v);
// `v` with `digits` decimals.
std::string Fixed(double v, int digits);

// Runs fn(i) for i in [0, n) on `threads` threads (the caller is one of them).
template <typename Fn>
void ParallelFor(size_t n, unsigned threads, const Fn& fn) {
  constexpr size_t kChunk = 64;
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (;;) {
      size_t begin = next.fetch_add(kChunk);
      if (begin >= n) return;
      size_t end = std::min(n, begin + kChunk);
      for (size_t i = begin; i < end; ++i) fn(i);
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
}

// The threads that sign (and check) transactions: one per core.
unsigned SigningThreads();

}  // namespace chip::cli::bench_internal
