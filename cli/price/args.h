// Argument and file parsing shared by the `chip price` commands.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "chipledger/v1/pricing.pb.h"
#include "ledger/pricing/catalog.h"
#include "ledger/status.h"

namespace chip::cli::price_internal {

// `s` without leading and trailing spaces and tabs.
std::string_view Trim(std::string_view s);

// True when `s` ends with `suffix` (lower case), ignoring ASCII case.
bool EndsWithNoCase(std::string_view s, std::string_view suffix);

// --basis: empty is bf16; otherwise a pricing::ParseBasis name.
Result<pricing::Basis> ParseBasisArg(const std::string& text);

// The wire form of a basis, and back to its name.
chipledger::v1::Basis ToProto(pricing::Basis basis);

std::string ProtoBasisName(chipledger::v1::Basis basis);

// A date flag: empty is 0 (the node's "now"); YYYY-MM-DD or RFC 3339 UTC.
Result<int64_t> ParseAtMs(const std::string& text);

// True when an amount is written in dollars: "$100" or "100USD".
bool IsUsdAmount(std::string_view text);

// The contents of `path`, at most `max_bytes`: *ok = false when it cannot
// be read, *too_large = true (and "") when it is larger.
std::string ReadBounded(const std::string& path, size_t max_bytes, bool* ok, bool* too_large);

}  // namespace chip::cli::price_internal
