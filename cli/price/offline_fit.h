// An offline Theil-Sen fit of an observations CSV (`price fit`, and
// `price chart --csv`): no node involved.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/util.h"
#include "ledger/pricing/catalog.h"
#include "ledger/pricing/fit.h"
#include "ledger/pricing/observations_csv.h"

namespace chip::cli::price_internal {

struct OfflineFit {
  std::string path;
  pricing::Basis basis = pricing::Basis::kBf16;
  std::vector<pricing::PriceObservation> rows;
  pricing::FitResult fit;
  bool t0_is_median = true;
  int64_t first_ms = 0, last_ms = 0;
};

// Reads (at most kPriceCsvBytesMax) and fits the CSV at `path` under basis
// `basis_text` (empty: bf16), with P0 at `t0_text` (a date; empty: the
// median observation's day). False with *error set (kExitUsage for bad
// input, kExitError for a CSV that cannot be fitted).
bool LoadOfflineFit(const std::string& path, const std::string& basis_text,
                    const std::string& t0_text, OfflineFit* out, CliError* error);

}  // namespace chip::cli::price_internal
