#include "ledger/pricing/curve.h"

#include <cmath>

#include "ledger/pricing/dates.h"

namespace chip::pricing {

double UsdPerCu(const Curve& curve, int64_t t_ms) {
  // Subtract in double: t_ms - t0_ms could overflow int64 for extreme inputs,
  // and a double's 53 bits hold any realistic span to well under a millisecond.
  const double years = (static_cast<double>(t_ms) - static_cast<double>(curve.t0_ms)) / kMsPerYear;
  return curve.p0_usd_per_cu * std::exp2(-years / curve.halving_years);
}

Result<int64_t> TimeOfPrice(const Curve& curve, double usd_per_cu) {
  if (!(usd_per_cu > 0) || !std::isfinite(usd_per_cu)) {
    return Status::InvalidArgument("price must be positive and finite");
  }
  if (!(curve.p0_usd_per_cu > 0) || !std::isfinite(curve.p0_usd_per_cu)) {
    return Status::InvalidArgument("curve p0 must be positive and finite");
  }
  if (curve.halving_years == 0 || !std::isfinite(curve.halving_years)) {
    return Status::InvalidArgument("curve halving time must be non-zero and finite");
  }
  const double years = curve.halving_years * std::log2(curve.p0_usd_per_cu / usd_per_cu);
  const double t_ms = static_cast<double>(curve.t0_ms) + years * kMsPerYear;
  // 2^63 is exactly representable; anything at or beyond it does not fit int64.
  constexpr double kInt64Limit = 9223372036854775808.0;
  if (!std::isfinite(t_ms) || t_ms >= kInt64Limit || t_ms < -kInt64Limit) {
    return Status::InvalidArgument("the curve reaches that price outside the representable time");
  }
  return static_cast<int64_t>(std::llround(t_ms));
}

const std::vector<Preset>& Presets() {
  // Facts from shared/data/README.md; see data/README.md for the citations.
  static const std::vector<Preset> kPresets = {
      {"moore", 2.0,
       "Moore's law reference line: transistor counts and FLOP/s double every ~2 years"},
      {"epoch-all-gpus", 2.46,
       "Hobbhahn & Besiroglu, Epoch AI 2022, Trends in GPU price-performance, Table 1: all GPUs "
       "2006-2021, n=470",
       2.24, 2.72},
      {"epoch-ml-gpus", 2.07,
       "Hobbhahn & Besiroglu, Epoch AI 2022, Table 1: GPUs used in ML research, n=26", 1.54, 3.13},
      {"epoch-top-gpus", 2.95,
       "Hobbhahn & Besiroglu, Epoch AI 2022, Table 1: top price-performance GPU of each month, "
       "n=57",
       2.54, 3.52},
      {"epoch-fp16", 2.30, "Hobbhahn & Besiroglu, Epoch AI 2022, Table 1: FP16 subset, n=91", 1.69,
       3.62},
      {"epoch-ml-hardware", 2.1,
       "Hobbhahn, Heim & Aydos, Epoch AI 2023, Trends in Machine Learning Hardware: ML "
       "accelerators, about 2.1 years"},
      {"cotra-2020", 2.5, "Cotra 2020 (biological anchors report): FLOP per dollar, ~2.5 years"},
      {"ai-impacts-2019", 2.32, "AI Impacts 2019: CPU FLOP/s per dollar"},
      {"koomey-post-2000", 2.6,
       "Koomey's law after 2000: computations per kWh (energy, not price; a bound for the power "
       "share of the cost)"},
  };
  return kPresets;
}

const Preset* FindPreset(std::string_view name) {
  for (const Preset& preset : Presets()) {
    const std::string_view candidate(preset.name);
    if (candidate.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < name.size() && same; ++i) {
      char c = name[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      same = c == candidate[i];
    }
    if (same) return &preset;
  }
  return nullptr;
}

}  // namespace chip::pricing
