#include "ledger/pricing/csv.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace chip::pricing {
namespace {

Status SyntaxError(size_t line, size_t column, const std::string& what) {
  return Status::InvalidArgument("CSV line " + std::to_string(line) + ", column " +
                                 std::to_string(column) + ": " + what);
}

}  // namespace

Result<CsvTable> CsvTable::Parse(std::string_view text) {
  if (text.size() > kCsvBytesMax) {
    return Status::InvalidArgument("CSV input of " + std::to_string(text.size()) +
                                   " bytes exceeds the maximum of " + std::to_string(kCsvBytesMax));
  }
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);

  std::vector<CsvRecord> all;
  CsvRecord record;
  std::string field;
  size_t line = 1, column = 1;  // position of text[i]
  size_t i = 0;
  bool record_open = false;  // true once the current record has any content

  auto end_record = [&]() {
    record.fields.push_back(std::move(field));
    field.clear();
    all.push_back(std::move(record));
    record = CsvRecord();
    record_open = false;
  };

  while (i < text.size()) {
    if (!record_open) {
      // Skip blank lines between records.
      if (text[i] == '\n' || (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) {
        i += text[i] == '\r' ? 2 : 1;
        ++line;
        column = 1;
        continue;
      }
      record.line = line;
      record_open = true;
      if (all.size() > kCsvRecordsMax) {
        return SyntaxError(line, column,
                           "more than " + std::to_string(kCsvRecordsMax) + " records");
      }
    }
    // At the start of a field.
    if (text[i] == '"') {
      const size_t open_line = line, open_column = column;
      ++i;
      ++column;
      while (true) {
        if (i >= text.size()) {
          return SyntaxError(open_line, open_column, "unterminated quoted field");
        }
        const char c = text[i];
        if (c == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            column += 2;
            continue;
          }
          ++i;
          ++column;
          break;
        }
        field.push_back(c);
        ++i;
        if (c == '\n') {
          ++line;
          column = 1;
        } else {
          ++column;
        }
      }
      // After a closing quote only a separator or the end of the record may follow.
      if (i < text.size() && text[i] != ',' && text[i] != '\n' &&
          !(text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) {
        return SyntaxError(line, column, "unexpected character after a closing quote");
      }
    } else {
      while (i < text.size() && text[i] != ',' && text[i] != '\n') {
        if (text[i] == '\r') {
          if (i + 1 < text.size() && text[i + 1] == '\n') break;
          return SyntaxError(line, column, "bare carriage return");
        }
        if (text[i] == '"') {
          return SyntaxError(line, column, "quote inside an unquoted field");
        }
        field.push_back(text[i]);
        ++i;
        ++column;
      }
    }
    // At a separator, a record end or the end of input.
    if (i >= text.size()) break;
    if (text[i] == ',') {
      record.fields.push_back(std::move(field));
      field.clear();
      ++i;
      ++column;
      if (i >= text.size()) break;  // "a,b," at the end: a last empty field
      continue;
    }
    i += text[i] == '\r' ? 2 : 1;
    end_record();
    ++line;
    column = 1;
  }
  if (record_open) end_record();

  if (all.empty()) return Status::InvalidArgument("CSV input is empty: a header is required");
  CsvTable table;
  table.header_ = std::move(all.front().fields);
  for (size_t r = 1; r < all.size(); ++r) {
    const CsvRecord& rec = all[r];
    if (rec.fields.size() != table.header_.size()) {
      return Status::InvalidArgument(
          "CSV line " + std::to_string(rec.line) + ", column " +
          std::to_string(std::min(rec.fields.size(), table.header_.size()) + 1) + ": found " +
          std::to_string(rec.fields.size()) + " fields, the header has " +
          std::to_string(table.header_.size()));
    }
  }
  all.erase(all.begin());
  table.records_ = std::move(all);
  return table;
}

std::optional<size_t> CsvTable::Column(std::string_view name) const {
  for (size_t c = 0; c < header_.size(); ++c) {
    if (header_[c] == name) return c;
  }
  return std::nullopt;
}

std::string CsvTable::Where(const CsvRecord& record, size_t column) const {
  std::string where =
      "line " + std::to_string(record.line) + ", column " + std::to_string(column + 1);
  if (column < header_.size()) where += " (" + header_[column] + ")";
  return where;
}

std::optional<double> ParseDouble(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  // from_chars rejects a leading '+', which some spreadsheets write; "+-1" stays invalid.
  if (!text.empty() && text.front() == '+') {
    text.remove_prefix(1);
    if (!text.empty() && (text.front() == '+' || text.front() == '-')) return std::nullopt;
  }
  if (text.empty()) return std::nullopt;
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

}  // namespace chip::pricing
