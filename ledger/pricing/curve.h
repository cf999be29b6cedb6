// The cost curve of compute: the market price of 1 CU falls exponentially,
//   usd_per_cu(t) = p0 * 2^(-(t - t0) / H),
// halving every H years. H is the published "doubling time of FLOP/s per
// dollar": the same number read from the other side.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "ledger/status.h"

namespace chip::pricing {

struct Curve {
  double p0_usd_per_cu = 0;  // the price at t0
  int64_t t0_ms = 0;         // ms since the Unix epoch, UTC
  // Years (of 365.25 days) for the price to halve. +infinity is a flat price;
  // a negative value is a rising price that doubles every -H years (a fit may
  // report one honestly, see fit.h). Zero is invalid.
  double halving_years = 0;
};

// The price of 1 CU at t_ms. Works before t0 too (the price was higher).
double UsdPerCu(const Curve& curve, int64_t t_ms);

// When the curve reaches `usd_per_cu`, in ms since the epoch. InvalidArgument
// for a non-positive price, a curve with a non-positive p0 or zero or
// non-finite H, or a time outside the int64 ms range.
Result<int64_t> TimeOfPrice(const Curve& curve, double usd_per_cu);

// A named halving time from the published record. Interval bounds are the
// study's 95% confidence interval where it gives one.
struct Preset {
  const char* name;
  double halving_years;
  const char* source;
  std::optional<double> halving_low_years = std::nullopt;
  std::optional<double> halving_high_years = std::nullopt;
};

// All presets, in a fixed order (see data/README.md for the table). Names:
// moore, epoch-all-gpus, epoch-ml-gpus, epoch-top-gpus, epoch-fp16,
// epoch-ml-hardware, cotra-2020, ai-impacts-2019, koomey-post-2000.
const std::vector<Preset>& Presets();

// Case-insensitive by name; nullptr if unknown.
const Preset* FindPreset(std::string_view name);

}  // namespace chip::pricing
