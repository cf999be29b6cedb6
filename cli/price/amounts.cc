// Chip time and dollar amounts as typed, and ChipAmount's output.
#include <charconv>
#include <cmath>

#include "cli/price/args.h"
#include "cli/price/format.h"
#include "cli/price/price.h"
#include "ledger/amount.h"

namespace chip::cli {

using nlohmann::json;
using price_internal::EndsWithNoCase;
using price_internal::Fixed;
using price_internal::Trim;

Result<double> ParseChipHours(std::string_view text) {
  std::string_view s = Trim(text);
  if (s.empty()) return Status::InvalidArgument("empty chip time");
  double per_unit_hours = 0;
  switch (s.back()) {
    case 'h':
    case 'H':
      per_unit_hours = 1;
      break;
    case 'm':
    case 'M':
      per_unit_hours = 1.0 / 60;
      break;
    case 'd':
    case 'D':
      per_unit_hours = 24;
      break;
    default:
      return Status::InvalidArgument("chip time needs a unit h, m or d (e.g. 3h, 90m): '" +
                                     std::string(text) + "'");
  }
  std::string_view number = Trim(s.substr(0, s.size() - 1));
  // Plain decimals only: from_chars alone would also take "inf", "1e9" or hex.
  size_t dots = 0, digits = 0;
  for (char c : number) {
    if (c == '.') {
      ++dots;
    } else if (c >= '0' && c <= '9') {
      ++digits;
    } else {
      digits = 0;
      break;
    }
  }
  if (digits == 0 || dots > 1 || number.front() == '.' || number.back() == '.') {
    return Status::InvalidArgument("chip time must be a plain number with a unit: '" +
                                   std::string(text) + "'");
  }
  double value = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc() || end != number.data() + number.size()) {
    return Status::InvalidArgument("cannot read chip time '" + std::string(text) + "'");
  }
  const double hours = value * per_unit_hours;
  if (!std::isfinite(hours) || hours > kChipHoursMax) {
    return Status::InvalidArgument("chip time too large: '" + std::string(text) + "'");
  }
  return hours;
}

bool LooksLikeChipTime(std::string_view text) {
  std::string_view s = Trim(text);
  if (s.empty()) return false;
  return s.back() == 'h' || s.back() == 'H' || ParseChipHours(s).ok();
}

Result<uint64_t> ParseUsdMicros(std::string_view text) {
  std::string_view s = Trim(text);
  if (!s.empty() && s.front() == '$') s = Trim(s.substr(1));
  if (EndsWithNoCase(s, "usd")) s = Trim(s.substr(0, s.size() - 3));
  const std::string what = "'" + std::string(text) + "'";
  if (s.empty()) return Status::InvalidArgument("no price in " + what);
  uint64_t micros = 0;
  size_t i = 0, int_digits = 0, frac_digits = 0;
  auto push = [&micros](int digit) {
    return !__builtin_mul_overflow(micros, uint64_t{10}, &micros) &&
           !__builtin_add_overflow(micros, static_cast<uint64_t>(digit), &micros);
  };
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, ++int_digits) {
    if (!push(s[i] - '0')) return Status::InvalidArgument("price too large: " + what);
  }
  if (int_digits == 0) return Status::InvalidArgument("a price is a plain number: " + what);
  if (i < s.size() && s[i] == '.') {
    for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, ++frac_digits) {
      if (frac_digits == 6) return Status::InvalidArgument("at most six decimals: " + what);
      if (!push(s[i] - '0')) return Status::InvalidArgument("price too large: " + what);
    }
    if (frac_digits == 0) return Status::InvalidArgument("a price is a plain number: " + what);
  }
  if (i != s.size()) {
    return Status::InvalidArgument("a price is a number of USD, e.g. 2.10 or '$2.10': " + what);
  }
  for (; frac_digits < 6; ++frac_digits) {
    if (!push(0)) return Status::InvalidArgument("price too large: " + what);
  }
  return micros;
}

json ChipAmount::Json() const {
  return {{"text", text},   {"chip_id", chip_id},
          {"hours", hours}, {"cu_per_chip_hour", cu_per_chip_hour},
          {"ucu", ucu},     {"cu", static_cast<double>(ucu) / static_cast<double>(kUcuPerCu)},
          {"basis", basis}};
}

std::string ChipAmount::Describe() const {
  return text + " on " + chip_id + " = " + FormatCu(ucu) + " CU (" + Fixed(cu_per_chip_hour, 6) +
         " CU per chip-hour, " + basis + ")";
}

}  // namespace chip::cli
