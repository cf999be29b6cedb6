// The list file of `chip send --many` and `chip settle --many`: one entry a
// line, as CSV or as JSON lines, each entry remembered with its line number
// so that every later error can name it.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "ledger/status.h"

namespace chip::cli {

// The largest list file read, as for a `chip batch` file: far above any
// list of kListEntriesMax entries, small enough to read whole.
constexpr size_t kListFileBytesMax = 4 << 20;
// The most entries one list may hold: 79 transactions of 128 operations,
// about 0.6 MiB of signed transactions, which one SubmitBatch request
// carries well within the node's request size (4 MiB), its batch limit
// (1,000 transactions) and one block's operations (131,072).
constexpr size_t kListEntriesMax = 10'000;

// The columns of a list: their names in CSV order (also the JSON keys), the
// first `required` of which every entry must have.
struct ListColumns {
  std::vector<std::string> names;
  size_t required = 0;
};

struct ListEntry {
  size_t line = 0;  // 1-based line of the file
  // One value per column, in the order of ListColumns::names; "" for an
  // optional column the entry leaves out. A JSON number is its shortest
  // decimal text (2.5 -> "2.5"), a JSON boolean "true" or "false".
  std::vector<std::string> values;
};

// Reads `path` as a list of `columns`. The format is chosen by the first
// character of the first line that is neither blank nor a comment (`#`):
// `{` means JSON lines (one object a line), anything else CSV (values
// separated by commas, surrounding spaces ignored, no quoting: names,
// addresses, amounts and ids never hold a comma). A CSV file may start with
// a header line of the column names. Every failure is InvalidArgument whose
// message starts with "path:line: " when a line is at fault: a file that
// cannot be read or is over kListFileBytesMax, no entry, more than
// kListEntriesMax entries, a missing or extra column, an empty required
// value, bad JSON, an unknown JSON key or a value of the wrong JSON type.
Result<std::vector<ListEntry>> ReadListFile(const std::string& path, const ListColumns& columns);

}  // namespace chip::cli
