// A small RFC 4180 CSV reader for the shipped data files and for offline
// price observations. Quoted fields may hold commas, doubled quotes ("") and
// line breaks; records end at LF or CRLF; blank lines are skipped; a leading
// UTF-8 byte order mark is ignored. Every malformed input is an
// InvalidArgument that names the line and character column, never a crash.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/status.h"

namespace chip::pricing {

// Inputs are read whole into memory; this bounds what a file can make us hold.
constexpr size_t kCsvBytesMax = 16 * 1024 * 1024;
constexpr size_t kCsvRecordsMax = 100'000;

struct CsvRecord {
  size_t line = 0;  // 1-based line on which the record starts
  std::vector<std::string> fields;
};

// The first record is the header; every other record has as many fields as
// the header.
class CsvTable {
 public:
  [[nodiscard]] static Result<CsvTable> Parse(std::string_view text);

  const std::vector<std::string>& header() const { return header_; }
  const std::vector<CsvRecord>& records() const { return records_; }

  // Index of the header field named `name` (exact match), or nullopt.
  std::optional<size_t> Column(std::string_view name) const;

  // "line 7, column 5 (bf16_dense_tflops): <what>" for errors in a field.
  std::string Where(const CsvRecord& record, size_t column) const;

 private:
  std::vector<std::string> header_;
  std::vector<CsvRecord> records_;
};

// Strict number parsing for CSV fields: surrounding spaces allowed, nothing
// else; the result is finite. Locale-independent (std::from_chars).
std::optional<double> ParseDouble(std::string_view text);

}  // namespace chip::pricing
