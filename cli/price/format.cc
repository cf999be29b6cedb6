#include "cli/price/format.h"

#include <cmath>
#include <cstdio>

#include "ledger/pricing/catalog.h"
#include "ledger/pricing/dates.h"

namespace chip::cli::price_internal {

namespace pb = ::chipledger::v1;
using nlohmann::json;

json Num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

std::string Fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

std::string Usd(double v) { return "$" + Fixed(v, v >= 100 ? 2 : 4); }

std::string Bound(double years) {
  if (std::isinf(years)) return years > 0 ? "inf" : "-inf";
  return Fixed(years, 2);
}

std::string HalvingText(double years) {
  if (std::isinf(years)) return "none (a flat price)";
  if (years < 0) return "none: the price rises, doubling every " + Fixed(-years, 2) + " years";
  return Fixed(years, 2) + " years";
}

std::string IntervalText(double low, double high) {
  // A genesis prior is one published number; the node reports it as its own
  // bounds rather than inventing an interval.
  if (low == high) return "no interval (a single value)";
  return "95% interval [" + Bound(low) + ", " + Bound(high) + "] years";
}

std::string ChipName(const std::string& id) {
  const pricing::ChipSpec* spec = pricing::Catalog::Builtin().Find(id);
  return spec != nullptr ? spec->name : "";
}

json CurveJson(const pb::Curve& c) {
  return {{"p0_usd_per_cu", c.p0_usd_per_cu()},
          {"t0_ms", c.t0_ms()},
          {"t0", pricing::FormatDateTime(c.t0_ms())},
          {"halving_years", Num(c.halving_years())},
          {"halving_low_years", Num(c.halving_low_years())},
          {"halving_high_years", Num(c.halving_high_years())},
          {"source", c.source()},
          {"observations_used", c.observations_used()},
          {"residual_mad_log2", c.residual_mad_log2()}};
}

}  // namespace chip::cli::price_internal
