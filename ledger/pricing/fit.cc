#include "ledger/pricing/fit.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "ledger/check.h"
#include "ledger/pricing/dates.h"

namespace chip::pricing {
namespace {

// 1.4826 * MAD estimates the standard deviation of normal residuals.
constexpr double kMadToSigma = 1.4826;
constexpr double kOutlierSigmas = 3.0;
constexpr double kZ95 = 1.959963984540054;

double Median(std::vector<double> values) {
  CHIP_CHECK(!values.empty());
  const size_t mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid), values.end());
  const double upper = values[mid];
  if (values.size() % 2 == 1) return upper;
  const double lower =
      *std::max_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid));
  return lower + (upper - lower) / 2;
}

// The value at 1-based fractional rank `rank` of sorted `values`, linearly
// interpolated and clamped to [1, size].
double AtRank(const std::vector<double>& sorted, double rank) {
  CHIP_CHECK(!sorted.empty());
  const double n = static_cast<double>(sorted.size());
  rank = std::clamp(rank, 1.0, n);
  const double below = std::floor(rank);
  const size_t i = static_cast<size_t>(below) - 1;
  if (i + 1 >= sorted.size()) return sorted.back();
  return sorted[i] + (rank - below) * (sorted[i + 1] - sorted[i]);
}

// Halving time of a slope in log2 units per year; no halving (slope >= 0)
// is +infinity, used for interval bounds.
double HalvingOrInfinity(double slope) {
  return slope < 0 ? -1.0 / slope : std::numeric_limits<double>::infinity();
}

}  // namespace

Result<FitResult> FitTheilSen(const std::vector<Observation>& observations, int64_t t0_ms) {
  const size_t n = observations.size();
  if (n < 3) {
    return Status::InvalidArgument("a fit needs at least 3 observations, got " + std::to_string(n));
  }
  if (n > kFitObservationsMax) {
    return Status::InvalidArgument("a fit takes at most " + std::to_string(kFitObservationsMax) +
                                   " observations, got " + std::to_string(n));
  }
  std::vector<double> x(n), y(n);
  for (size_t i = 0; i < n; ++i) {
    const Observation& o = observations[i];
    if (!(o.usd_per_cu > 0) || !std::isfinite(o.usd_per_cu)) {
      return Status::InvalidArgument("observation " + std::to_string(i) +
                                     ": the price must be positive and finite");
    }
    x[i] = (static_cast<double>(o.time_ms) - static_cast<double>(t0_ms)) / kMsPerYear;
    y[i] = std::log2(o.usd_per_cu);
  }

  std::vector<double> slopes;
  slopes.reserve(n * (n - 1) / 2);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i + 1; j < n; ++j) {
      // Compare the integer times: equal ms give no slope, distinct ones a finite one.
      if (observations[i].time_ms == observations[j].time_ms) continue;
      slopes.push_back((y[j] - y[i]) / (x[j] - x[i]));
    }
  }
  if (slopes.empty()) {
    return Status::InvalidArgument("a fit needs observations at 2 or more distinct times");
  }
  std::sort(slopes.begin(), slopes.end());
  const size_t pairs = slopes.size();
  const size_t mid = pairs / 2;
  const double slope =
      pairs % 2 == 1 ? slopes[mid] : slopes[mid - 1] + (slopes[mid] - slopes[mid - 1]) / 2;

  // Var(S) of Kendall's statistic, corrected for groups of equal times: those
  // pairs contribute no slope, so they must not count in the variance either.
  std::map<int64_t, double> tie_counts;
  for (const Observation& o : observations) tie_counts[o.time_ms] += 1;
  const double nd = static_cast<double>(n);
  double var_s = nd * (nd - 1) * (2 * nd + 5);
  for (const auto& [time_ms, t] : tie_counts) var_s -= t * (t - 1) * (2 * t + 5);
  var_s /= 18;
  const double c = kZ95 * std::sqrt(std::max(var_s, 0.0));
  const double big_n = static_cast<double>(pairs);
  const double slope_low = AtRank(slopes, (big_n - c) / 2);
  const double slope_high = AtRank(slopes, (big_n + c) / 2 + 1);
  slopes = std::vector<double>();  // release up to ~100 MB before the rest

  std::vector<double> intercepts(n);
  for (size_t i = 0; i < n; ++i) intercepts[i] = y[i] - slope * x[i];
  const double intercept = Median(intercepts);

  std::vector<double> abs_residuals(n);
  for (size_t i = 0; i < n; ++i) abs_residuals[i] = std::fabs(intercepts[i] - intercept);
  // The median of the residuals is 0 by construction of the intercept, so the
  // MAD is the median of their absolute values.
  const double mad = Median(abs_residuals);

  FitResult fit;
  fit.curve.p0_usd_per_cu = std::exp2(intercept);
  fit.curve.t0_ms = t0_ms;
  fit.curve.halving_years = slope == 0 ? std::numeric_limits<double>::infinity() : -1.0 / slope;
  fit.slope_log2_per_year = slope;
  fit.slope_low_log2_per_year = slope_low;
  fit.slope_high_log2_per_year = slope_high;
  // A steeper fall (more negative slope) is a shorter halving time.
  fit.halving_low_years = HalvingOrInfinity(slope_low);
  fit.halving_high_years = HalvingOrInfinity(slope_high);
  fit.n_used = n;
  fit.pairs_used = pairs;
  fit.residual_mad_log2 = mad;
  // With an exact fit the MAD is 0 and rounding noise would count as outliers.
  const double threshold = std::max(kOutlierSigmas * kMadToSigma * mad, 1e-9);
  for (size_t i = 0; i < n; ++i) {
    if (abs_residuals[i] > threshold) fit.outliers.push_back(i);
  }
  return fit;
}

}  // namespace chip::pricing
