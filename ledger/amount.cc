#include "ledger/amount.h"

#include <cctype>

namespace chip {
namespace {

bool EndsWithNoCase(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  for (size_t i = 0; i < suffix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[s.size() - suffix.size() + i])) !=
        std::tolower(static_cast<unsigned char>(suffix[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Accumulates decimal digits into *v with overflow checks.
bool AccumulateDigits(std::string_view digits, uint64_t* v) {
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    uint64_t next;
    if (__builtin_mul_overflow(*v, uint64_t{10}, &next)) return false;
    if (__builtin_add_overflow(next, static_cast<uint64_t>(c - '0'), &next)) return false;
    *v = next;
  }
  return true;
}

}  // namespace

Result<uint64_t> ParseAmount(std::string_view text) {
  std::string_view s = Trim(text);
  bool micro = false;
  if (EndsWithNoCase(s, "ucu")) {
    micro = true;
    s.remove_suffix(3);
  } else if (EndsWithNoCase(s, "cu")) {
    s.remove_suffix(2);
  }
  s = Trim(s);
  if (s.empty()) return Status::InvalidArgument("empty amount");
  if (s.size() > 40) return Status::InvalidArgument("amount too long");
  if (micro) {
    uint64_t v = 0;
    if (!AccumulateDigits(s, &v)) {
      return Status::InvalidArgument("uCU amount must be a whole non-negative number below 2^64");
    }
    return v;
  }
  size_t dot = s.find('.');
  std::string_view whole = s.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  if (whole.empty() && frac.empty()) return Status::InvalidArgument("amount has no digits");
  if (frac.size() > 6) return Status::InvalidArgument("amount has more than six decimals (1 uCU)");
  uint64_t w = 0, f = 0;
  if (!AccumulateDigits(whole, &w) || !AccumulateDigits(frac, &f)) {
    return Status::InvalidArgument("amount must be a non-negative decimal number like 2.5");
  }
  for (size_t i = frac.size(); i < 6; ++i) f *= 10;
  uint64_t total;
  if (__builtin_mul_overflow(w, kUcuPerCu, &total) || __builtin_add_overflow(total, f, &total)) {
    return Status::InvalidArgument("amount exceeds the 2^64-1 uCU maximum");
  }
  return total;
}

std::string FormatCu(uint64_t amount_ucu) {
  std::string frac = std::to_string(amount_ucu % kUcuPerCu);
  return std::to_string(amount_ucu / kUcuPerCu) + "." + std::string(6 - frac.size(), '0') + frac;
}

}  // namespace chip
