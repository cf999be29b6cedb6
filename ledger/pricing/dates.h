// Calendar dates for the pricing math: UTC only, proleptic Gregorian, no
// locale and no libc time functions (mktime/timegm depend on the process
// time zone and differ between platforms). Times are int64 milliseconds since
// 1970-01-01T00:00:00Z.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ledger/status.h"

namespace chip::pricing {

constexpr int64_t kMsPerDay = 86'400'000;
// A Julian year of 365.25 days: the unit of every halving time here.
constexpr double kMsPerYear = 365.25 * 86'400'000.0;

// Days since 1970-01-01 of a proleptic Gregorian date (month 1..12, day 1..31).
// The caller validates the date; negative results are dates before 1970.
int64_t DaysFromCivil(int64_t year, int month, int day);

// The inverse of DaysFromCivil.
void CivilFromDays(int64_t days, int64_t* year, int* month, int* day);

// Parses "YYYY-MM-DD" (midnight UTC) or an RFC 3339 UTC timestamp
// "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+00:00|-00:00)" (fraction truncated to
// ms). Years 0000..9999. Impossible dates (2026-02-30, month 13), leap
// seconds, other offsets and any trailing text are InvalidArgument.
Result<int64_t> ParseDateMs(std::string_view text);

// Parses "YYYY-MM", a month-precision date as the published price sources
// give it, as midnight UTC on the 15th: the middle of the month keeps the
// error within about half a month either way.
Result<int64_t> ParseMonthMs(std::string_view text);

// ParseDateMs, falling back to ParseMonthMs for "YYYY-MM".
Result<int64_t> ParseDateOrMonthMs(std::string_view text);

// "YYYY-MM-DD" of the UTC day containing time_ms.
std::string FormatDate(int64_t time_ms);

// "YYYY-MM-DDTHH:MM:SSZ", or "YYYY-MM-DDTHH:MM:SS.mmmZ" when time_ms is not a
// whole second. ParseDateMs(FormatDateTime(t)) == t.
std::string FormatDateTime(int64_t time_ms);

}  // namespace chip::pricing
