// `chip price fit --csv FILE`: an offline Theil-Sen fit, its interval and outliers.
#include <cmath>
#include <cstdio>

#include "cli/price/format.h"
#include "cli/price/offline_fit.h"
#include "cli/price/price.h"
#include "ledger/pricing/dates.h"

namespace chip::cli {

namespace pb = ::chipledger::v1;
using nlohmann::json;
using price_internal::Fixed;
using price_internal::HalvingText;
using price_internal::IntervalText;
using price_internal::LoadOfflineFit;
using price_internal::Num;
using price_internal::OfflineFit;
using price_internal::Usd;

namespace {

// 1.4826 x MAD estimates one standard deviation of normal residuals: the
// factor pricing::FitTheilSen uses for outliers, used here to print the spread.
constexpr double kMadToSigma = 1.4826;

// log2(observed / curve): positive above the curve.
double ResidualLog2(const pricing::Curve& curve, int64_t t_ms, double usd_per_cu) {
  return std::log2(usd_per_cu) - std::log2(pricing::UsdPerCu(curve, t_ms));
}

}  // namespace

int PriceCommands::Fit(const std::string& csv_path, const std::string& basis,
                       const std::string& t0) {
  OfflineFit f;
  CliError error;
  if (!LoadOfflineFit(csv_path, basis, t0, &f, &error)) return Fail(error);
  const pricing::FitResult& fit = f.fit;
  json outliers = json::array();
  std::string outlier_lines;
  for (size_t i : fit.outliers) {
    const pricing::PriceObservation& r = f.rows[i];
    const double residual = ResidualLog2(fit.curve, r.time_ms, r.usd_per_cu);
    outliers.push_back({{"line", r.line},
                        {"date", pricing::FormatDate(r.time_ms)},
                        {"chip", r.chip_id},
                        {"usd_per_hour", r.usd_per_hour},
                        {"usd_per_cu", r.usd_per_cu},
                        {"residual_log2", residual},
                        {"source", r.source}});
    std::string src = r.source.size() > 70 ? r.source.substr(0, 69) + "~" : r.source;
    char buf[512];
    std::snprintf(buf, sizeof(buf), "  line %-4zu %s  $%.2f/h  %s/CU  %+.2f log2 (x%.2f)  %s\n",
                  r.line, pricing::FormatDate(r.time_ms).c_str(), r.usd_per_hour,
                  Usd(r.usd_per_cu).c_str(), residual, std::exp2(residual), src.c_str());
    outlier_lines += buf;
  }
  const double sigma_factor = std::exp2(kMadToSigma * fit.residual_mad_log2);
  const double last_price = pricing::UsdPerCu(fit.curve, f.last_ms);
  json j = {{"csv", f.path},
            {"basis", pricing::BasisName(f.basis)},
            {"n", fit.n_used},
            {"pairs_used", fit.pairs_used},
            {"first_ms", f.first_ms},
            {"last_ms", f.last_ms},
            {"t0_ms", fit.curve.t0_ms},
            {"t0", pricing::FormatDate(fit.curve.t0_ms)},
            {"p0_usd_per_cu", fit.curve.p0_usd_per_cu},
            {"halving_years", Num(fit.curve.halving_years)},
            {"halving_low_years", Num(fit.halving_low_years)},
            {"halving_high_years", Num(fit.halving_high_years)},
            {"slope_log2_per_year", fit.slope_log2_per_year},
            {"slope_low_log2_per_year", fit.slope_low_log2_per_year},
            {"slope_high_log2_per_year", fit.slope_high_log2_per_year},
            {"yearly_price_factor", std::exp2(fit.slope_log2_per_year)},
            {"residual_mad_log2", fit.residual_mad_log2},
            {"usd_per_cu_at_last", last_price},
            {"outliers", outliers}};
  std::string human =
      "fit of " + std::to_string(fit.n_used) + " observations in " + f.path + " (" +
      pricing::FormatDate(f.first_ms) + " to " + pricing::FormatDate(f.last_ms) + "), basis " +
      std::string(pricing::BasisName(f.basis)) + ", Theil-Sen over " +
      std::to_string(fit.pairs_used) + " pairs\n" + "P0            " +
      Usd(fit.curve.p0_usd_per_cu) + " per CU at t0 " + pricing::FormatDate(fit.curve.t0_ms) +
      (f.t0_is_median ? " (the median observation's day)" : "") + "\nhalving time  " +
      HalvingText(fit.curve.halving_years) + ", " +
      IntervalText(fit.halving_low_years, fit.halving_high_years) + "\nslope         " +
      Fixed(fit.slope_log2_per_year, 3) + " log2 per year [" +
      Fixed(fit.slope_low_log2_per_year, 3) + ", " + Fixed(fit.slope_high_log2_per_year, 3) +
      "]: the price is multiplied by " + Fixed(std::exp2(fit.slope_log2_per_year), 3) +
      " each year\nspread        residual MAD " + Fixed(fit.residual_mad_log2, 3) +
      " log2: one robust standard deviation is a factor of " + Fixed(sigma_factor, 2) +
      "\nlast          " + Usd(last_price) + " per CU on the curve at " +
      pricing::FormatDate(f.last_ms) + "\noutliers      " + std::to_string(fit.outliers.size()) +
      " beyond 3 robust standard deviations (they are used, only weigh less)\n" + outlier_lines;
  Print(j, human);
  return kExitOk;
}

}  // namespace chip::cli
