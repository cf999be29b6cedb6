// The chip catalog: which accelerators exist, their dense throughput and
// memory, and where each number comes from. It converts a chip-hour of any
// chip into CU, the ledger's unit (1 CU = one hour of the reference chip, the
// H100 SXM: 989.4 dense BF16 TFLOP/s, about 3.56e18 FLOP).
//
// Read-side only: nothing in block application may call into this library,
// because it uses floating point (see README.md).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/status.h"

namespace chip::pricing {

// The numbers that define 1 CU. A catalog whose reference row disagrees is
// rejected: editing the data file must never silently redefine the currency.
constexpr const char* kReferenceChipId = "h100-sxm";
constexpr double kReferenceBf16Tflops = 989.4;
constexpr double kReferenceMemBwTbps = 3.35;

constexpr size_t kCatalogChipsMax = 1024;
constexpr size_t kChipIdLengthMax = 32;

struct ChipSpec {
  std::string id;          // stable, [a-z0-9-], at most kChipIdLengthMax characters
  std::string name;        // "NVIDIA H100 SXM5 80GB"
  std::string vendor;      // "NVIDIA"
  std::string release;     // "YYYY-MM", may be empty
  double bf16_tflops = 0;  // dense (no sparsity); see data/README.md for exceptions
  std::optional<double> fp8_tflops, memory_gb, mem_bw_tbps, tdp_w, list_price_usd,
      rental_usd_per_hour;
  std::string rental_date;  // "YYYY-MM" or "YYYY-MM-DD"; set iff rental_usd_per_hour is
  std::string sources;      // provenance, as in the data file (never empty)
};

// How a chip-hour converts into CU.
enum class Basis {
  // Dense BF16 throughput relative to the reference: the FLOP a chip-hour
  // delivers. The default, and exactly the definition of the CU.
  kBf16,
  // Geometric mean of the BF16 ratio and the memory-bandwidth ratio. Inference
  // decoding is memory-bound (each generated token streams the weights), so a
  // chip with the same FLOP but more bandwidth (H200 vs H100) does more of that
  // work per hour; the rental market prices it accordingly. The geometric mean
  // weighs both equally and leaves the reference chip at exactly 1.
  kBf16Bandwidth,
};

// "bf16" / "bf16-bandwidth": the names used by flags.
std::string_view BasisName(Basis basis);
Result<Basis> ParseBasis(std::string_view name);

// CU delivered by one hour of `chip` under `basis`. InvalidArgument when the
// chip lacks the data the basis needs (memory bandwidth for kBf16Bandwidth).
Result<double> CuPerChipHour(const ChipSpec& chip, Basis basis);

class Catalog {
 public:
  // Parses a catalog CSV with the header of data/chips.csv (columns matched by
  // name; id, chip, bf16_dense_tflops and source_urls are required, the others
  // optional). InvalidArgument naming line and column on malformed CSV, a bad
  // number, a bad or duplicate id or name, a row without sources, more than
  // kCatalogChipsMax chips, or a missing or altered reference chip.
  [[nodiscard]] static Result<Catalog> ParseCsv(std::string_view csv);

  // The catalog built from data/chips.csv, embedded at build time. Parsed once,
  // on first use (thread-safe); the shipped data is checked by the tests, so a
  // parse failure here is a bug and aborts.
  static const Catalog& Builtin();

  // Case-insensitive lookup; spaces and underscores count as hyphens. Tries,
  // in order: the id ("h100-sxm", "H100 SXM"), the full name ("NVIDIA H100
  // SXM5 80GB"), a default-variant alias (DefaultAliases()), then a short alias
  // that matches exactly one chip: an id prefix ending at a hyphen ("v100"), or
  // one or more consecutive words of the name ("B200", "MI300X", "Trillium",
  // "RTX 4090"). nullptr when nothing or more than one chip matches.
  const ChipSpec* Find(std::string_view id_or_name) const;

  // The chip that defines 1 CU (kReferenceChipId).
  const ChipSpec& Reference() const { return chips_[reference_index_]; }

  const std::vector<ChipSpec>& chips() const { return chips_; }

  struct Alias {
    const char* alias;
    const char* chip_id;
  };
  // Family names that would be ambiguous, mapped to the variant they mean by
  // default: "h100" -> h100-sxm (the reference), "a100" -> a100-80gb (the
  // variant still widely rented). An alias whose chip is not in the catalog is
  // ignored. Other family names ("gaudi", "tpu") stay ambiguous on purpose.
  static const std::vector<Alias>& DefaultAliases();

 private:
  std::vector<ChipSpec> chips_;
  size_t reference_index_ = 0;
};

}  // namespace chip::pricing
