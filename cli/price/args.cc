#include "cli/price/args.h"

#include <fstream>

#include "ledger/pricing/dates.h"

namespace chip::cli::price_internal {

namespace pb = ::chipledger::v1;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EndsWithNoCase(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  for (size_t i = 0; i < suffix.size(); ++i) {
    char c = s[s.size() - suffix.size() + i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != suffix[i]) return false;
  }
  return true;
}

Result<pricing::Basis> ParseBasisArg(const std::string& text) {
  if (text.empty()) return pricing::Basis::kBf16;
  return pricing::ParseBasis(text);
}

pb::Basis ToProto(pricing::Basis basis) {
  return basis == pricing::Basis::kBf16Bandwidth ? pb::BASIS_BF16_BANDWIDTH : pb::BASIS_BF16;
}

std::string ProtoBasisName(pb::Basis basis) {
  return basis == pb::BASIS_BF16_BANDWIDTH ? "bf16-bandwidth" : "bf16";
}

Result<int64_t> ParseAtMs(const std::string& text) {
  if (text.empty()) return int64_t{0};
  Result<int64_t> ms = pricing::ParseDateMs(text);
  if (!ms.ok()) return ms.status();
  if (*ms <= 0) return Status::InvalidArgument("dates before 1970 are not supported: " + text);
  return ms;
}

bool IsUsdAmount(std::string_view text) {
  text = Trim(text);
  return (!text.empty() && text.front() == '$') || EndsWithNoCase(text, "usd");
}

std::string ReadBounded(const std::string& path, size_t max_bytes, bool* ok, bool* too_large) {
  *ok = false;
  *too_large = false;
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::string text;
  char buf[1 << 16];
  while (in) {
    in.read(buf, sizeof(buf));
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > max_bytes) {
      *too_large = true;
      return "";
    }
  }
  *ok = !in.bad();
  return text;
}

}  // namespace chip::cli::price_internal
