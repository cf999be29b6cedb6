#include "ledger/pricing/catalog.h"

#include <cmath>
#include <cstdio>

#include "ledger/check.h"
#include "ledger/pricing/catalog_data.h"
#include "ledger/pricing/csv.h"
#include "ledger/pricing/dates.h"

namespace chip::pricing {
namespace {

// Lowercase ASCII, spaces and underscores as hyphens, runs of separators
// collapsed, no leading or trailing separator: "  H100_SXM " -> "h100-sxm".
std::string Normalize(std::string_view text) {
  std::string out;
  bool pending_hyphen = false;
  for (char c : text) {
    if (c == ' ' || c == '_' || c == '-' || c == '\t') {
      pending_hyphen = !out.empty();
      continue;
    }
    if (pending_hyphen) out.push_back('-');
    pending_hyphen = false;
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

// The words of a chip name, normalized, without punctuation around them:
// "NVIDIA GB200 (per GPU)" -> {"nvidia", "gb200", "per", "gpu"}.
std::vector<std::string> NameWords(std::string_view name) {
  std::vector<std::string> words;
  std::string word;
  for (char c : name) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '-';
    if (keep) {
      word.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

// True when `query` (normalized) is one or more consecutive words of `name`.
bool MatchesNameWords(const std::string& query, std::string_view name) {
  const std::vector<std::string> words = NameWords(name);
  for (size_t first = 0; first < words.size(); ++first) {
    std::string run;
    for (size_t last = first; last < words.size(); ++last) {
      if (last > first) run.push_back('-');
      run += words[last];
      if (run == query) return true;
      if (run.size() >= query.size()) break;
    }
  }
  return false;
}

bool IsValidId(std::string_view id) {
  if (id.empty() || id.size() > kChipIdLengthMax) return false;
  if (id.front() == '-' || id.back() == '-') return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

std::string FormatNumber(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", value);
  return buf;
}

bool IsMonth(std::string_view text) { return text.size() == 7 && ParseMonthMs(text).ok(); }

}  // namespace

std::string_view BasisName(Basis basis) {
  switch (basis) {
    case Basis::kBf16:
      return "bf16";
    case Basis::kBf16Bandwidth:
      return "bf16-bandwidth";
  }
  CHIP_CHECK(false && "unknown Basis");
  return "";
}

Result<Basis> ParseBasis(std::string_view name) {
  const std::string normalized = Normalize(name);
  if (normalized == "bf16") return Basis::kBf16;
  if (normalized == "bf16-bandwidth") return Basis::kBf16Bandwidth;
  return Status::InvalidArgument("unknown basis '" + std::string(name) +
                                 "' (expected bf16 or bf16-bandwidth)");
}

Result<double> CuPerChipHour(const ChipSpec& chip, Basis basis) {
  // The catalog parser guarantees a positive finite BF16 figure; a ChipSpec
  // built by hand might not.
  if (!(chip.bf16_tflops > 0) || !std::isfinite(chip.bf16_tflops)) {
    return Status::InvalidArgument("chip '" + chip.id + "' has no positive BF16 throughput");
  }
  const double flop_ratio = chip.bf16_tflops / kReferenceBf16Tflops;
  switch (basis) {
    case Basis::kBf16:
      return flop_ratio;
    case Basis::kBf16Bandwidth: {
      if (!chip.mem_bw_tbps || !(*chip.mem_bw_tbps > 0) || !std::isfinite(*chip.mem_bw_tbps)) {
        return Status::InvalidArgument("chip '" + chip.id +
                                       "' has no memory bandwidth, needed by basis " +
                                       std::string(BasisName(basis)));
      }
      const double bandwidth_ratio = *chip.mem_bw_tbps / kReferenceMemBwTbps;
      return std::sqrt(flop_ratio * bandwidth_ratio);
    }
  }
  return Status::InvalidArgument("unknown basis");
}

const std::vector<Catalog::Alias>& Catalog::DefaultAliases() {
  static const std::vector<Alias> kAliases = {
      {"h100", "h100-sxm"},
      {"a100", "a100-80gb"},
  };
  return kAliases;
}

Result<Catalog> Catalog::ParseCsv(std::string_view csv) {
  Result<CsvTable> parsed = CsvTable::Parse(csv);
  if (!parsed.ok()) return parsed.status();
  const CsvTable& table = *parsed;

  auto column = [&](const char* name, bool required) -> Result<std::optional<size_t>> {
    std::optional<size_t> c = table.Column(name);
    if (!c && required) {
      return Status::InvalidArgument(std::string("chip catalog: the header has no column '") +
                                     name + "'");
    }
    return c;
  };
  struct Columns {
    std::optional<size_t> id, name, vendor, release, bf16, fp8, memory, bandwidth, tdp, list_price,
        rental, rental_date, sources;
  } col;
  {
    const struct {
      const char* name;
      bool required;
      std::optional<size_t>* slot;
    } kWanted[] = {
        {"id", true, &col.id},
        {"chip", true, &col.name},
        {"vendor", false, &col.vendor},
        {"release_date", false, &col.release},
        {"bf16_dense_tflops", true, &col.bf16},
        {"fp8_dense_tflops", false, &col.fp8},
        {"memory_gb", false, &col.memory},
        {"mem_bw_tbps", false, &col.bandwidth},
        {"tdp_w", false, &col.tdp},
        {"list_price_usd", false, &col.list_price},
        {"rental_usd_per_hour", false, &col.rental},
        {"rental_price_date", false, &col.rental_date},
        {"source_urls", true, &col.sources},
    };
    for (const auto& wanted : kWanted) {
      Result<std::optional<size_t>> c = column(wanted.name, wanted.required);
      if (!c.ok()) return c.status();
      *wanted.slot = *c;
    }
  }
  if (table.records().size() > kCatalogChipsMax) {
    return Status::InvalidArgument("chip catalog: " + std::to_string(table.records().size()) +
                                   " chips exceed the maximum of " +
                                   std::to_string(kCatalogChipsMax));
  }

  Catalog catalog;
  std::vector<std::string> normalized_names;  // parallel to catalog.chips_
  bool have_reference = false;
  for (const CsvRecord& record : table.records()) {
    auto text = [&](const std::optional<size_t>& c) -> std::string {
      return c ? record.fields[*c] : std::string();
    };
    auto bad = [&](size_t c, const std::string& what) {
      return Status::InvalidArgument("chip catalog " + table.Where(record, c) + ": " + what);
    };
    // Empty means "no citable value"; anything else must be a non-negative number.
    auto optional_number = [&](const std::optional<size_t>& c,
                               std::optional<double>* out) -> Status {
      if (!c || record.fields[*c].empty()) return Status::Ok();
      std::optional<double> v = ParseDouble(record.fields[*c]);
      if (!v || *v < 0) return bad(*c, "'" + record.fields[*c] + "' is not a non-negative number");
      *out = *v;
      return Status::Ok();
    };

    ChipSpec chip;
    chip.id = text(col.id);
    chip.name = text(col.name);
    chip.vendor = text(col.vendor);
    chip.release = text(col.release);
    chip.rental_date = text(col.rental_date);
    chip.sources = text(col.sources);
    if (!IsValidId(chip.id)) {
      return bad(*col.id, "id '" + chip.id + "' must be 1 to " + std::to_string(kChipIdLengthMax) +
                              " characters of [a-z0-9-], not starting or ending with '-'");
    }
    if (Normalize(chip.name).empty()) return bad(*col.name, "empty chip name");
    if (chip.sources.empty()) return bad(*col.sources, "every chip needs its sources");
    if (!chip.release.empty() && !IsMonth(chip.release)) {
      return bad(*col.release, "release date '" + chip.release + "' is not YYYY-MM");
    }
    {
      std::optional<double> bf16 = ParseDouble(record.fields[*col.bf16]);
      if (!bf16 || !(*bf16 > 0)) {
        return bad(*col.bf16, "'" + record.fields[*col.bf16] + "' is not a positive number");
      }
      chip.bf16_tflops = *bf16;
    }
    CHIP_RETURN_IF_ERROR(optional_number(col.fp8, &chip.fp8_tflops));
    CHIP_RETURN_IF_ERROR(optional_number(col.memory, &chip.memory_gb));
    CHIP_RETURN_IF_ERROR(optional_number(col.bandwidth, &chip.mem_bw_tbps));
    CHIP_RETURN_IF_ERROR(optional_number(col.tdp, &chip.tdp_w));
    CHIP_RETURN_IF_ERROR(optional_number(col.list_price, &chip.list_price_usd));
    CHIP_RETURN_IF_ERROR(optional_number(col.rental, &chip.rental_usd_per_hour));
    // A rental price is only meaningful with its date: prices move by 2x a year.
    if (chip.rental_usd_per_hour.has_value() != !chip.rental_date.empty()) {
      return bad(col.rental_date ? *col.rental_date : *col.sources,
                 "a rental price and its date must be given together");
    }
    if (!chip.rental_date.empty() && !ParseDateOrMonthMs(chip.rental_date).ok()) {
      return bad(*col.rental_date,
                 "rental date '" + chip.rental_date + "' is not YYYY-MM or YYYY-MM-DD");
    }
    std::string normalized_name = Normalize(chip.name);
    for (size_t i = 0; i < catalog.chips_.size(); ++i) {
      if (catalog.chips_[i].id == chip.id) return bad(*col.id, "duplicate id '" + chip.id + "'");
      if (normalized_names[i] == normalized_name) {
        return bad(*col.name, "duplicate chip name '" + chip.name + "'");
      }
    }
    if (chip.id == kReferenceChipId) {
      // Exact comparison on purpose: both sides come from the same decimal text.
      if (chip.bf16_tflops != kReferenceBf16Tflops || !chip.mem_bw_tbps ||
          *chip.mem_bw_tbps != kReferenceMemBwTbps) {
        return bad(*col.bf16, std::string("the reference chip ") + kReferenceChipId +
                                  " must have the figures that define 1 CU (" +
                                  FormatNumber(kReferenceBf16Tflops) + " TFLOP/s, " +
                                  FormatNumber(kReferenceMemBwTbps) + " TB/s)");
      }
      catalog.reference_index_ = catalog.chips_.size();
      have_reference = true;
    }
    catalog.chips_.push_back(std::move(chip));
    normalized_names.push_back(std::move(normalized_name));
  }
  if (!have_reference) {
    return Status::InvalidArgument(std::string("chip catalog: the reference chip '") +
                                   kReferenceChipId + "' is missing");
  }
  return catalog;
}

const Catalog& Catalog::Builtin() {
  static const Catalog* const kBuiltin = [] {
    Result<Catalog> parsed = ParseCsv(BuiltinChipsCsv());
    if (!parsed.ok()) {
      std::fprintf(stderr, "built-in chip catalog: %s\n", parsed.status().ToString().c_str());
    }
    CHIP_CHECK(parsed.ok());
    return new Catalog(std::move(parsed).value());
  }();
  return *kBuiltin;
}

const ChipSpec* Catalog::Find(std::string_view id_or_name) const {
  const std::string query = Normalize(id_or_name);
  if (query.empty()) return nullptr;
  for (const ChipSpec& chip : chips_) {
    if (chip.id == query) return &chip;
  }
  for (const ChipSpec& chip : chips_) {
    if (Normalize(chip.name) == query) return &chip;
  }
  for (const Alias& alias : DefaultAliases()) {
    if (query != alias.alias) continue;
    for (const ChipSpec& chip : chips_) {
      if (chip.id == alias.chip_id) return &chip;
    }
  }
  const ChipSpec* found = nullptr;
  for (const ChipSpec& chip : chips_) {
    const bool id_prefix = chip.id.size() > query.size() &&
                           chip.id.compare(0, query.size(), query) == 0 &&
                           chip.id[query.size()] == '-';
    if (!id_prefix && !MatchesNameWords(query, chip.name)) continue;
    if (found != nullptr) return nullptr;  // ambiguous: refuse to guess
    found = &chip;
  }
  return found;
}

}  // namespace chip::pricing
