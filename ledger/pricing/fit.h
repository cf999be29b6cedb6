// Fitting the cost curve to price observations with a robust regression.
//
// Rental prices move in cycles (above $8 per H100-hour at the 2023 peak, about
// $1.70 for one-year contracts in late 2025) and hyperscaler list prices sit
// 3-4x above the market, so least squares on log prices would follow the
// outliers. Theil-Sen takes the median of all pairwise slopes instead: it
// tolerates up to ~29% wild points and needs no tuning constant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ledger/pricing/curve.h"
#include "ledger/status.h"

namespace chip::pricing {

// O(n^2) pairwise slopes held in memory (8 bytes each): 5000 observations
// need ~100 MB for ~12.5 million slopes, the most an offline fit should take.
constexpr size_t kFitObservationsMax = 5000;

struct Observation {
  int64_t time_ms = 0;    // ms since the Unix epoch, UTC
  double usd_per_cu = 0;  // positive, finite
};

struct FitResult {
  // p0 at the caller's t0; halving_years = -1 / slope, which is +infinity for
  // a flat fit and negative when prices rose (they double every -H years).
  Curve curve;
  // 95% interval of the halving time, from Sen's interval of the slope. A
  // slope bound at or above zero (no halving) maps to +infinity, so a rising
  // or flat fit reports [low, +inf] or [+inf, +inf].
  double halving_low_years = 0, halving_high_years = 0;
  // The slope itself, log2(USD per CU) per year, and its 95% interval.
  double slope_log2_per_year = 0, slope_low_log2_per_year = 0, slope_high_log2_per_year = 0;
  size_t n_used = 0;             // observations (all are used; outliers only weigh less)
  size_t pairs_used = 0;         // pairs with distinct times, whose slopes were taken
  double residual_mad_log2 = 0;  // median absolute deviation of the log2 residuals
  // Indices into the input whose |residual| > 3 * 1.4826 * MAD (three robust
  // standard deviations), ascending.
  std::vector<size_t> outliers;
};

// Theil-Sen fit of log2(usd_per_cu) against (time - t0) in years:
//   slope     = median of the pairwise slopes over pairs with distinct times,
//   intercept = median of (y - slope * x), p0 = 2^intercept,
//   slope 95% interval: Sen's rank method with the normal approximation,
//     C = 1.96 * sqrt(Var(S)), Var(S) = [n(n-1)(2n+5) - sum over groups of
//     equal times of t(t-1)(2t+5)] / 18, bounds at the ((N - C) / 2)-th and
//     ((N + C) / 2 + 1)-th smallest of the N slopes (Gilbert 1987),
//     interpolated between neighbours and clamped to the extreme slopes.
// InvalidArgument for fewer than 3 observations, fewer than 2 distinct times,
// a non-positive or non-finite price, or more than kFitObservationsMax.
Result<FitResult> FitTheilSen(const std::vector<Observation>& observations, int64_t t0_ms);

}  // namespace chip::pricing
