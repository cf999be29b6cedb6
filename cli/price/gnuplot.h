// Drawing a price chart: the curve, its 95% band, reference lines and the
// observations, as a PNG written by gnuplot (pngcairo when it has it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/util.h"
#include "ledger/pricing/curve.h"

namespace chip::cli::price_internal {

struct ChartPoint {
  int64_t time_ms;
  double usd_per_cu;
};

struct ChartInput {
  pricing::Curve curve;
  double halving_low_years = 0, halving_high_years = 0;
  std::vector<ChartPoint> points;   // plotted as observations
  std::vector<ChartPoint> flagged;  // drawn again, circled: outliers / far off the curve
  std::optional<int64_t> now_ms;    // extends the x range to show the curve ahead
  std::string title;
  // Published halving times drawn through the same (t0, P0) for comparison.
  std::vector<const pricing::Preset*> references;
};

// Writes the chart of `in` to `out_path` with gnuplot (found on PATH, killed
// after kGnuplotTimeoutMs). False with *error set when gnuplot is missing,
// fails or writes no image, or there is nothing to draw.
bool RenderChart(const ChartInput& in, const std::string& out_path, CliError* error);

}  // namespace chip::cli::price_internal
