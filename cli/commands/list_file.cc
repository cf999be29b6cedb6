#include "cli/commands/list_file.h"

#include <cctype>
#include <nlohmann/json.hpp>
#include <string_view>

#include "ledger/file_util.h"

namespace chip::cli {

using nlohmann::json;

namespace {

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "to,amount[,chip]": what a line should hold, for error messages.
std::string Shape(const ListColumns& c) {
  std::string s;
  for (size_t i = 0; i < c.names.size(); ++i) {
    if (i == c.required) s += "[";
    s += (i == 0 ? "" : ",") + c.names[i];
  }
  if (c.required < c.names.size()) s += "]";
  return s;
}

std::vector<std::string_view> SplitCommas(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t comma = line.find(',', start);
    out.push_back(TrimSpace(line.substr(start, comma - start)));
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

// A CSV header names the columns in order, at least the required ones.
bool IsHeader(const std::vector<std::string_view>& fields, const ListColumns& c) {
  if (fields.size() < c.required || fields.size() > c.names.size()) return false;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (Lower(fields[i]) != c.names[i]) return false;
  }
  return true;
}

Status CsvEntry(std::string_view line, const ListColumns& c, const std::string& where,
                ListEntry* entry) {
  std::vector<std::string_view> fields = SplitCommas(line);
  if (fields.size() > c.names.size()) {
    return Status::InvalidArgument(where + "extra column: " + std::to_string(fields.size()) +
                                   " values, expected " + Shape(c));
  }
  if (fields.size() < c.required) {
    return Status::InvalidArgument(where + "missing column '" + c.names[fields.size()] +
                                   "': expected " + Shape(c));
  }
  entry->values.assign(c.names.size(), "");
  for (size_t i = 0; i < fields.size(); ++i) entry->values[i] = std::string(fields[i]);
  return Status::Ok();
}

Status JsonEntry(std::string_view line, const ListColumns& c, const std::string& where,
                 ListEntry* entry) {
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument(where + "not valid JSON");
  if (!j.is_object()) {
    return Status::InvalidArgument(where + "expected a JSON object like {\"" + c.names[0] +
                                   "\": ...}");
  }
  entry->values.assign(c.names.size(), "");
  for (const auto& [key, value] : j.items()) {
    size_t i = 0;
    while (i < c.names.size() && c.names[i] != key) ++i;
    if (i == c.names.size()) {
      return Status::InvalidArgument(where + "unknown key \"" + key + "\" (expected " + Shape(c) +
                                     ")");
    }
    if (value.is_string()) {
      entry->values[i] = std::string(TrimSpace(value.get<std::string>()));
    } else if (value.is_number() || value.is_boolean()) {
      // nlohmann prints the shortest text that reads back as the same
      // number, so 2.5 stays "2.5" and ParseAmount sees the decimals typed.
      entry->values[i] = value.dump();
    } else if (!value.is_null()) {
      return Status::InvalidArgument(where + "\"" + key +
                                     "\" must be a string, a number or a boolean");
    }
  }
  for (size_t i = 0; i < c.required; ++i) {
    if (entry->values[i].empty()) {
      return Status::InvalidArgument(where + "missing \"" + c.names[i] + "\": expected " +
                                     Shape(c));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<ListEntry>> ReadListFile(const std::string& path, const ListColumns& columns) {
  auto text = ReadSmallFile(path, kListFileBytesMax);
  if (!text.ok()) return Status::InvalidArgument(text.status().message());
  std::vector<ListEntry> entries;
  enum class Format { kUnknown, kCsv, kJsonLines } format = Format::kUnknown;
  std::string_view rest = *text;
  size_t line_no = 0;
  while (!rest.empty()) {
    ++line_no;
    size_t nl = rest.find('\n');
    std::string_view line = TrimSpace(rest.substr(0, nl));  // also drops a CR
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (line.empty() || line.front() == '#') continue;
    const std::string where = path + ":" + std::to_string(line_no) + ": ";
    if (format == Format::kUnknown) {
      format = line.front() == '{' ? Format::kJsonLines : Format::kCsv;
      if (format == Format::kCsv && IsHeader(SplitCommas(line), columns)) continue;
    }
    if (entries.size() == kListEntriesMax) {
      return Status::InvalidArgument(where + "more than " + std::to_string(kListEntriesMax) +
                                     " entries: split the list into several files");
    }
    ListEntry entry;
    entry.line = line_no;
    Status s = format == Format::kJsonLines ? JsonEntry(line, columns, where, &entry)
                                            : CsvEntry(line, columns, where, &entry);
    if (!s.ok()) return s;
    for (size_t i = 0; i < columns.required; ++i) {
      if (entry.values[i].empty()) {
        return Status::InvalidArgument(where + "empty '" + columns.names[i] + "': expected " +
                                       Shape(columns));
      }
    }
    entries.push_back(std::move(entry));
  }
  if (entries.empty()) {
    return Status::InvalidArgument(path + ": no entries (only blank lines, comments or a header)");
  }
  return entries;
}

}  // namespace chip::cli
