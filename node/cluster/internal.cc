#include "node/cluster/internal.h"

#include <cinttypes>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "ledger/address.h"

namespace chip::node {

std::string Pad20(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%020" PRIu64, v);
  return buf;
}

std::optional<uint64_t> ParseHeight(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

std::optional<MemberRecord> ParseMember(const std::string& value) {
  if (value.size() > kMemberValueBytesMax) return std::nullopt;
  auto j = nlohmann::json::parse(value, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("node") || !j["node"].is_string() ||
      !j.contains("grpc") || !j["grpc"].is_string()) {
    return std::nullopt;
  }
  auto key = DecodeAddress(j["node"].get<std::string>());
  if (!key.ok()) return std::nullopt;
  return MemberRecord{*key, j["grpc"].get<std::string>()};
}

}  // namespace chip::node
