// Price observations for offline fitting, read from a CSV such as
// data/h100_rental_prices.csv:
//   date          required; YYYY-MM-DD, RFC 3339 UTC, or YYYY-MM (the 15th)
//   usd_per_hour  required; USD per chip-hour, positive
//   chip          optional; catalog id, name or alias (default h100-sxm)
//   source        optional; provenance, kept as text
// Other columns are ignored. Each price is converted to USD per CU with the
// catalog and a Basis.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/pricing/catalog.h"
#include "ledger/pricing/fit.h"
#include "ledger/status.h"

namespace chip::pricing {

struct PriceObservation {
  size_t line = 0;  // 1-based line in the CSV, for messages
  int64_t time_ms = 0;
  std::string chip_id;
  double usd_per_hour = 0;
  double usd_per_cu = 0;  // usd_per_hour / CuPerChipHour(chip, basis)
  std::string source;
};

// InvalidArgument naming the line (and column) for malformed CSV, a missing
// required column, a bad date or price, an unknown or ambiguous chip, or a chip
// the basis cannot convert. An empty table (header only) is valid.
Result<std::vector<PriceObservation>> ParseObservationsCsv(std::string_view csv,
                                                           const Catalog& catalog, Basis basis);

// The (time, USD per CU) pairs FitTheilSen takes, in the same order.
std::vector<Observation> ToObservations(const std::vector<PriceObservation>& rows);

}  // namespace chip::pricing
