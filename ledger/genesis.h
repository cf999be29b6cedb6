// The genesis file: JSON, human-editable. It names the chain and lists issuer
// keys (optional supply caps), oracle keys, validator keys and initial
// balances. chain_id = SHA-256 of its canonical bytes (docs/PROTOCOL.md).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/bytes.h"
#include "ledger/fund.h"
#include "ledger/state_txn.h"
#include "ledger/status.h"

namespace chip {

constexpr size_t kGenesisBytesMax = 16 << 20;
constexpr size_t kGenesisEntriesMax = 100'000;  // per list
constexpr size_t kChainNameBytesMax = 64;

struct GenesisIssuer {
  PublicKey key{};
  std::optional<uint64_t> cap_ucu;  // nullopt = uncapped
};

// Read-side pricing parameters (docs/PRICING.md). Integers only: genesis is
// consensus data. The prior curve is usd_micros_per_cu at t0_ms, halving
// every halving_ms.
struct GenesisPricing {
  std::vector<std::string> chips;  // catalog ids accepted in price observations
  uint64_t prior_usd_micros_per_cu = 0;
  uint64_t prior_t0_ms = 0;
  uint64_t prior_halving_ms = 0;
};

constexpr size_t kChipIdBytesMax = 32;

struct Genesis {
  std::string chain_name;
  uint64_t genesis_time_ms = 0;
  std::vector<GenesisIssuer> issuers;
  std::vector<PublicKey> oracles;
  std::vector<PublicKey> validators;
  std::vector<std::pair<PublicKey, uint64_t>> balances;
  std::optional<GenesisPricing> pricing;
  // The equity fund (docs/FUND.md); absent = no fund, and nothing of it in
  // the canonical bytes, the state or the digest.
  std::optional<FundRules> fund;
};

// The rules of a chain that apply reads from genesis.
struct ChainRules {
  Hash32 chain_id{};
  std::map<PublicKey, std::optional<uint64_t>> issuer_caps;
  std::set<PublicKey> oracles;
  std::set<PublicKey> validators;
  std::set<std::string> chips;  // accepted in price observations
  std::optional<FundRules> fund;
};

// Parses and validates (unknown keys, bad addresses, duplicates, overflow of
// the initial supply, sizes). Errors are InvalidArgument naming the field.
Result<Genesis> ParseGenesis(std::string_view json_text);
// Canonical bytes: the JSON object with keys sorted, no white space,
// addresses in canonical lower case, absent optional fields omitted.
std::string CanonicalGenesis(const Genesis& g);
Hash32 ChainId(const Genesis& g);
ChainRules RulesFromGenesis(const Genesis& g);
// Stages the initial balances and supply (the state of height 0).
void StageGenesisState(const Genesis& g, StateTxn* txn);

}  // namespace chip
