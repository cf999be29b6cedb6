#include "ledger/pricing/observations_csv.h"

#include "ledger/pricing/csv.h"
#include "ledger/pricing/dates.h"

namespace chip::pricing {

Result<std::vector<PriceObservation>> ParseObservationsCsv(std::string_view csv,
                                                           const Catalog& catalog, Basis basis) {
  Result<CsvTable> parsed = CsvTable::Parse(csv);
  if (!parsed.ok()) return parsed.status();
  const CsvTable& table = *parsed;
  const std::optional<size_t> date_col = table.Column("date");
  const std::optional<size_t> price_col = table.Column("usd_per_hour");
  const std::optional<size_t> chip_col = table.Column("chip");
  const std::optional<size_t> source_col = table.Column("source");
  if (!date_col || !price_col) {
    return Status::InvalidArgument(
        "price observations: line 1 (header) needs the columns 'date' and 'usd_per_hour'");
  }

  std::vector<PriceObservation> rows;
  rows.reserve(table.records().size());
  for (const CsvRecord& record : table.records()) {
    auto bad = [&](size_t column, const std::string& what) {
      return Status::InvalidArgument("price observations " + table.Where(record, column) + ": " +
                                     what);
    };
    PriceObservation row;
    row.line = record.line;

    const std::string& date = record.fields[*date_col];
    Result<int64_t> time_ms = ParseDateOrMonthMs(date);
    if (!time_ms.ok()) return bad(*date_col, time_ms.status().message());
    row.time_ms = *time_ms;

    const std::string& price = record.fields[*price_col];
    std::optional<double> usd_per_hour = ParseDouble(price);
    if (!usd_per_hour || !(*usd_per_hour > 0)) {
      return bad(*price_col, "'" + price + "' is not a positive number");
    }
    row.usd_per_hour = *usd_per_hour;

    const ChipSpec* chip = &catalog.Reference();
    if (chip_col && !record.fields[*chip_col].empty()) {
      chip = catalog.Find(record.fields[*chip_col]);
      if (chip == nullptr) {
        return bad(*chip_col, "unknown or ambiguous chip '" + record.fields[*chip_col] + "'");
      }
    }
    row.chip_id = chip->id;
    Result<double> cu_per_hour = CuPerChipHour(*chip, basis);
    if (!cu_per_hour.ok())
      return bad(chip_col.value_or(*price_col), cu_per_hour.status().message());
    row.usd_per_cu = row.usd_per_hour / *cu_per_hour;

    if (source_col) row.source = record.fields[*source_col];
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<Observation> ToObservations(const std::vector<PriceObservation>& rows) {
  std::vector<Observation> observations;
  observations.reserve(rows.size());
  for (const PriceObservation& row : rows) observations.push_back({row.time_ms, row.usd_per_cu});
  return observations;
}

}  // namespace chip::pricing
