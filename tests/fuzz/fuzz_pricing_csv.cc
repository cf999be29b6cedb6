// fuzz_pricing_csv: the read-side pricing parsers (ledger/pricing/): the CSV
// reader, the chip catalog, price-observation files and dates.
//
// The first input byte picks the parser the rest goes to: Catalog::ParseCsv
// (0), ParseObservationsCsv with the built-in catalog under the BF16 basis
// (1) or the BF16-bandwidth basis (2). CsvTable::Parse, ParseDouble,
// ParseDateOrMonthMs and Catalog::Find always run on the rest.
// Properties: no parser crashes; every error is InvalidArgument; a parsed
// table has as many fields per record as its header, records in line order,
// and finds each header name; accepted observations have a positive finite
// price, a catalog chip and one row per record, and FitTheilSen takes them
// without crashing; ParseDateMs(FormatDateTime(t)) == t for a parsed date t.
#include <cmath>
#include <cstdint>
#include <string>

#include "ledger/pricing/catalog.h"
#include "ledger/pricing/csv.h"
#include "ledger/pricing/dates.h"
#include "ledger/pricing/fit.h"
#include "ledger/pricing/observations_csv.h"
#include "tests/fuzz/fuzz_util.h"

namespace chip::pricing {
namespace {

// FitTheilSen is O(n^2); larger inputs are only parsed.
constexpr size_t kFitRowsMax = 200;

void ExpectInvalidArgument(const Status& s) {
  FUZZ_ASSERT(s.code() == Status::Code::kInvalidArgument, s.ToString());
}

void CheckTable(std::string_view text) {
  auto table = CsvTable::Parse(text);
  if (!table.ok()) return ExpectInvalidArgument(table.status());
  size_t last_line = 0;
  for (const CsvRecord& r : table->records()) {
    FUZZ_ASSERT(r.fields.size() == table->header().size(), std::string(text));
    FUZZ_ASSERT(r.line > last_line, std::string(text));
    last_line = r.line;
  }
  for (const std::string& name : table->header()) {
    auto col = table->Column(name);
    FUZZ_ASSERT(col && table->header()[*col] == name, std::string(text));
  }
}

void CheckObservations(std::string_view text, Basis basis) {
  const Catalog& catalog = Catalog::Builtin();
  auto rows = ParseObservationsCsv(text, catalog, basis);
  if (!rows.ok()) return ExpectInvalidArgument(rows.status());
  auto table = CsvTable::Parse(text);
  FUZZ_ASSERT(table.ok() && table->records().size() == rows->size(), std::string(text));
  for (const PriceObservation& row : *rows) {
    FUZZ_ASSERT(std::isfinite(row.usd_per_hour) && row.usd_per_hour > 0, std::string(text));
    FUZZ_ASSERT(catalog.Find(row.chip_id) != nullptr, row.chip_id);
    FUZZ_ASSERT(!(row.usd_per_cu < 0), std::string(text));
  }
  if (rows->size() <= kFitRowsMax) {
    auto fit = FitTheilSen(ToObservations(*rows), 0);
    if (fit.ok()) {
      FUZZ_ASSERT(fit->n_used == rows->size(), std::string(text));
    } else {
      ExpectInvalidArgument(fit.status());
    }
  }
}

void CheckScalars(std::string_view text) {
  (void)ParseDouble(text);
  (void)Catalog::Builtin().Find(text);
  (void)ParseBasis(text);
  auto t = ParseDateOrMonthMs(text);
  if (!t.ok()) return ExpectInvalidArgument(t.status());
  const std::string formatted = FormatDateTime(*t);
  auto back = ParseDateMs(formatted);
  FUZZ_ASSERT(back.ok() && *back == *t, std::string(text) + " -> " + formatted);
  (void)FormatDate(*t);
}

}  // namespace
}  // namespace chip::pricing

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chip::pricing;
  chip::fuzz::InitOnce();
  if (size == 0) return 0;
  const std::string_view text = chip::fuzz::AsText(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      auto catalog = Catalog::ParseCsv(text);
      if (catalog.ok()) {
        for (const ChipSpec& chip : catalog->chips()) {
          FUZZ_ASSERT(catalog->Find(chip.id) == &chip, chip.id);
        }
      } else {
        ExpectInvalidArgument(catalog.status());
      }
      break;
    }
    case 1:
      CheckObservations(text, Basis::kBf16);
      break;
    case 2:
      CheckObservations(text, Basis::kBf16Bandwidth);
      break;
  }
  CheckTable(text);
  CheckScalars(text);
  return 0;
}
