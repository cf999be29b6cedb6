#include "cli/price/offline_fit.h"

#include <algorithm>

#include "cli/price/args.h"
#include "cli/price/price.h"
#include "ledger/pricing/dates.h"

namespace chip::cli::price_internal {

bool LoadOfflineFit(const std::string& path, const std::string& basis_text,
                    const std::string& t0_text, OfflineFit* out, CliError* error) {
  Result<pricing::Basis> basis = ParseBasisArg(basis_text);
  if (!basis.ok()) {
    *error = {kExitUsage, basis.status().message()};
    return false;
  }
  bool ok = false, too_large = false;
  std::string csv = ReadBounded(path, kPriceCsvBytesMax, &ok, &too_large);
  if (too_large) {
    *error = {kExitUsage, path + " is larger than " + std::to_string(kPriceCsvBytesMax) + " bytes"};
    return false;
  }
  if (!ok) {
    *error = {kExitUsage, "cannot read " + path};
    return false;
  }
  auto rows = pricing::ParseObservationsCsv(csv, pricing::Catalog::Builtin(), *basis);
  if (!rows.ok()) {
    *error = {kExitUsage, path + ": " + rows.status().message()};
    return false;
  }
  if (rows->empty()) {
    *error = {kExitError, path + " has no observations to fit"};
    return false;
  }
  std::vector<int64_t> times;
  for (const auto& r : *rows) times.push_back(r.time_ms);
  std::sort(times.begin(), times.end());
  int64_t t0_ms = 0;
  if (t0_text.empty()) {
    // The median day: the intercept of a line fit is best determined near the
    // middle of the data, so P0 there carries the least extrapolation.
    const int64_t median = times[times.size() / 2];
    t0_ms = median - ((median % pricing::kMsPerDay) + pricing::kMsPerDay) % pricing::kMsPerDay;
  } else {
    Result<int64_t> t0 = pricing::ParseDateMs(t0_text);
    if (!t0.ok()) {
      *error = {kExitUsage, "--t0: " + t0.status().message()};
      return false;
    }
    t0_ms = *t0;
    out->t0_is_median = false;
  }
  auto fit = pricing::FitTheilSen(pricing::ToObservations(*rows), t0_ms);
  if (!fit.ok()) {
    *error = {kExitError, path + ": cannot fit: " + fit.status().message()};
    return false;
  }
  out->path = path;
  out->basis = *basis;
  out->rows = std::move(*rows);
  out->fit = std::move(*fit);
  out->first_ms = times.front();
  out->last_ms = times.back();
  return true;
}

}  // namespace chip::cli::price_internal
