#include "ledger/pricing/dates.h"

#include <cstdio>

namespace chip::pricing {
namespace {

// Floor division: C++ '/' truncates toward zero, which would put times before
// 1970 into the wrong day.
int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

bool IsLeapYear(int64_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int DaysInMonth(int64_t year, int month) {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && IsLeapYear(year)) return 29;
  return kDays[month - 1];
}

// Reads exactly `width` ASCII digits at text[*pos]; advances *pos.
bool ReadDigits(std::string_view text, size_t* pos, size_t width, int64_t* value) {
  if (text.size() < *pos + width) return false;
  int64_t v = 0;
  for (size_t i = 0; i < width; ++i) {
    char c = text[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += width;
  *value = v;
  return true;
}

bool ReadChar(std::string_view text, size_t* pos, char want) {
  if (*pos >= text.size() || text[*pos] != want) return false;
  ++*pos;
  return true;
}

Status BadDate(std::string_view text, const char* why) {
  return Status::InvalidArgument("bad date '" + std::string(text) + "': " + why);
}

// Parses "YYYY-MM" and, if want_day, "-DD"; validates the calendar.
Status ReadCivil(std::string_view text, size_t* pos, bool want_day, int64_t* days) {
  int64_t year = 0, month = 0, day = 15;
  if (!ReadDigits(text, pos, 4, &year) || !ReadChar(text, pos, '-') ||
      !ReadDigits(text, pos, 2, &month)) {
    return BadDate(text, want_day ? "expected YYYY-MM-DD" : "expected YYYY-MM");
  }
  if (month < 1 || month > 12) return BadDate(text, "month out of range");
  if (want_day) {
    if (!ReadChar(text, pos, '-') || !ReadDigits(text, pos, 2, &day)) {
      return BadDate(text, "expected YYYY-MM-DD");
    }
    if (day < 1 || day > DaysInMonth(year, static_cast<int>(month))) {
      return BadDate(text, "day out of range for the month");
    }
  }
  *days = DaysFromCivil(year, static_cast<int>(month), static_cast<int>(day));
  return Status::Ok();
}

}  // namespace

// Howard Hinnant's days_from_civil: eras of 400 years make the leap-year rule
// periodic, and starting the year in March puts Feb 29 at the end.
int64_t DaysFromCivil(int64_t year, int month, int day) {
  year -= month <= 2 ? 1 : 0;
  const int64_t era = FloorDiv(year, 400);
  const int64_t yoe = year - era * 400;                       // [0, 399]
  const int64_t mp = (month + 9) % 12;                        // March = 0
  const int64_t doy = (153 * mp + 2) / 5 + day - 1;           // [0, 365]
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;  // [0, 146096]
  return era * 146097 + doe - 719468;
}

void CivilFromDays(int64_t days, int64_t* year, int* month, int* day) {
  days += 719468;
  const int64_t era = FloorDiv(days, 146097);
  const int64_t doe = days - era * 146097;                                    // [0, 146096]
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // [0, 365]
  const int64_t mp = (5 * doy + 2) / 153;                                     // [0, 11]
  *day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *year = yoe + era * 400 + (*month <= 2 ? 1 : 0);
}

Result<int64_t> ParseDateMs(std::string_view text) {
  size_t pos = 0;
  int64_t days = 0;
  CHIP_RETURN_IF_ERROR(ReadCivil(text, &pos, /*want_day=*/true, &days));
  int64_t ms = days * kMsPerDay;
  if (pos == text.size()) return ms;

  if (text[pos] != 'T' && text[pos] != 't') return BadDate(text, "unexpected text after the date");
  ++pos;
  int64_t hour = 0, minute = 0, second = 0;
  if (!ReadDigits(text, &pos, 2, &hour) || !ReadChar(text, &pos, ':') ||
      !ReadDigits(text, &pos, 2, &minute) || !ReadChar(text, &pos, ':') ||
      !ReadDigits(text, &pos, 2, &second)) {
    return BadDate(text, "expected THH:MM:SS");
  }
  // Leap seconds (second 60) are rejected: ms since epoch cannot represent them.
  if (hour > 23 || minute > 59 || second > 59) return BadDate(text, "time out of range");
  int64_t fraction_ms = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t digits = 0;
    int64_t scale = 100;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 3) fraction_ms += (text[pos] - '0') * scale;
      scale /= 10;
      ++digits;
      ++pos;
    }
    if (digits == 0 || digits > 9) return BadDate(text, "bad fractional seconds");
  }
  const std::string_view zone = text.substr(pos);
  if (zone != "Z" && zone != "z" && zone != "+00:00" && zone != "-00:00") {
    return BadDate(text, "expected a UTC offset (Z or +00:00)");
  }
  return ms + ((hour * 60 + minute) * 60 + second) * 1000 + fraction_ms;
}

Result<int64_t> ParseMonthMs(std::string_view text) {
  size_t pos = 0;
  int64_t days = 0;
  CHIP_RETURN_IF_ERROR(ReadCivil(text, &pos, /*want_day=*/false, &days));
  if (pos != text.size()) return BadDate(text, "unexpected text after the month");
  return days * kMsPerDay;
}

Result<int64_t> ParseDateOrMonthMs(std::string_view text) {
  // "YYYY-MM" is exactly 7 characters; anything longer must be a full date so
  // that its own, more precise, error message is reported.
  if (text.size() == 7) return ParseMonthMs(text);
  return ParseDateMs(text);
}

std::string FormatDate(int64_t time_ms) {
  int64_t year = 0;
  int month = 0, day = 0;
  CivilFromDays(FloorDiv(time_ms, kMsPerDay), &year, &month, &day);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld-%02d-%02d", static_cast<long long>(year), month, day);
  return buf;
}

std::string FormatDateTime(int64_t time_ms) {
  const int64_t ms_of_day = time_ms - FloorDiv(time_ms, kMsPerDay) * kMsPerDay;
  const int64_t second_of_day = ms_of_day / 1000;
  const int64_t ms = ms_of_day % 1000;
  char buf[48];
  if (ms == 0) {
    std::snprintf(buf, sizeof buf, "T%02lld:%02lld:%02lldZ",
                  static_cast<long long>(second_of_day / 3600),
                  static_cast<long long>(second_of_day / 60 % 60),
                  static_cast<long long>(second_of_day % 60));
  } else {
    std::snprintf(buf, sizeof buf, "T%02lld:%02lld:%02lld.%03lldZ",
                  static_cast<long long>(second_of_day / 3600),
                  static_cast<long long>(second_of_day / 60 % 60),
                  static_cast<long long>(second_of_day % 60), static_cast<long long>(ms));
  }
  return FormatDate(time_ms) + buf;
}

}  // namespace chip::pricing
