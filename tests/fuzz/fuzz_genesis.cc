// fuzz_genesis: the genesis parser (ledger/genesis.h).
//
// Properties: ParseGenesis never crashes on any bytes. When it accepts the
// input, the canonical form parses again to a genesis with the same chain id
// and the same canonical bytes (so chain ids are stable across re-encoding);
// the rules list every issuer, oracle and validator once (duplicates were
// refused); and the staged genesis state holds each balance with a supply
// equal to their sum.
#include <cstdint>
#include <string>

#include "ledger/amount.h"
#include "ledger/genesis.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

// Committed state of an empty store: StageGenesisState writes over it.
class EmptyState final : public chip::StateReader {
 public:
  std::optional<chip::Account> GetAccount(const chip::PublicKey&) override { return {}; }
  std::optional<chip::Reservation> GetReservation(const chip::Hash32&) override { return {}; }
  std::optional<chip::TxLocation> GetTxLocation(const chip::Hash32&) override { return {}; }
  uint64_t GetIssuerMinted(const chip::PublicKey&) override { return 0; }
  chip::Supply GetSupply() override { return {}; }
  std::optional<chip::FundState> GetFund() override { return std::nullopt; }
  std::optional<chip::FundMember> GetFundMember(const chip::PublicKey&) override {
    return std::nullopt;
  }
  std::vector<std::pair<uint64_t, chip::Hash32>> ExpiredUpTo(uint64_t, size_t) override {
    return {};
  }
  chip::Status status() const override { return chip::Status::Ok(); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chip;
  fuzz::InitOnce();
  auto g = ParseGenesis(fuzz::AsText(data, size));
  if (!g.ok()) {
    FUZZ_ASSERT(g.status().code() == Status::Code::kInvalidArgument, g.status().ToString());
    return 0;
  }
  const std::string canon = CanonicalGenesis(*g);
  auto again = ParseGenesis(canon);
  FUZZ_ASSERT(again.ok(), canon + ": " + again.status().ToString());
  FUZZ_ASSERT(ChainId(*again) == ChainId(*g), canon);
  FUZZ_ASSERT(CanonicalGenesis(*again) == canon, canon);
  FUZZ_ASSERT(ChainId(*g) == Sha256(canon), canon);

  ChainRules rules = RulesFromGenesis(*g);
  FUZZ_ASSERT(rules.chain_id == ChainId(*g), canon);
  FUZZ_ASSERT(rules.issuer_caps.size() == g->issuers.size(), canon);
  FUZZ_ASSERT(rules.oracles.size() == g->oracles.size(), canon);
  FUZZ_ASSERT(rules.validators.size() == g->validators.size(), canon);
  FUZZ_ASSERT(rules.chips.size() == (g->pricing ? g->pricing->chips.size() : 0), canon);

  EmptyState empty;
  StateTxn txn(&empty);
  StageGenesisState(*g, &txn);
  uint64_t total = 0;
  for (const auto& [key, amount] : g->balances) {
    FUZZ_ASSERT(amount > 0, canon);
    auto a = txn.GetAccount(key);
    FUZZ_ASSERT(a.has_value() && a->balance_ucu == amount, canon);
    auto sum = CheckedAdd(total, amount);  // ParseGenesis refused a total above 2^64-1
    FUZZ_ASSERT(sum.has_value(), canon);
    total = *sum;
  }
  FUZZ_ASSERT(txn.GetSupply().minted_ucu == total, canon);
  FUZZ_ASSERT(txn.GetSupply().burned_ucu == 0, canon);
  return 0;
}
