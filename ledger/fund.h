// The compute equity fund (docs/FUND.md): levies on settlements and a share
// of minted CU flow into a fund with no private key, and at each epoch
// boundary its balance is divided equally among the registered members.
//
// Distribution is O(1) however many members there are: the fund keeps a
// running per-member accumulator (acc_ucu, the sum of every epoch's
// per-member dividend) and each member the accumulator's value when it last
// claimed or registered (checkpoint_acc_ucu). A member's unclaimed dividend
// is banked_ucu + (acc_ucu - checkpoint_acc_ucu) while registered; banked_ucu
// keeps what was owed when it left. Everything is integer: per-member =
// floor(balance / members), the remainder stays in the fund.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "ledger/bytes.h"

namespace chip {

constexpr uint64_t kBasisPointsMax = 10'000;  // 100%

// Genesis `fund` section, as the rules apply it.
struct FundRules {
  uint64_t settle_levy_bps = 0;  // share of every settlement paid to the fund
  uint64_t mint_share_bps = 0;   // share of every mint paid to the fund
  uint64_t epoch_ms = 0;         // distribution period, > 0
  std::set<PublicKey> registrars;
};

// The fund's record (one per chain with a fund).
struct FundState {
  uint64_t balance_ucu = 0;        // levied, not yet distributed
  uint64_t unclaimed_ucu = 0;      // distributed, not yet credited to members
  uint64_t members = 0;            // registered now
  uint64_t acc_ucu = 0;            // sum of per-member dividends of all epochs
  uint64_t epoch = 0;              // boundaries crossed so far
  uint64_t next_boundary_ms = 0;   // block time at which the next epoch ends
  uint64_t last_dividend_ucu = 0;  // paid per member by the last block that crossed a boundary
  uint64_t distributed_ucu = 0;    // paid out over all epochs
  bool operator==(const FundState& o) const;
};

// One member's record. Kept while registered or while something is owed.
struct FundMember {
  bool registered = false;
  uint64_t checkpoint_acc_ucu = 0;  // acc_ucu when it last registered or was credited
  uint64_t banked_ucu = 0;          // owed from before it deregistered
  bool operator==(const FundMember& o) const;
};

std::string EncodeFundState(const FundState& f);
std::optional<FundState> DecodeFundState(std::string_view v);
std::string EncodeFundMember(const FundMember& m);
std::optional<FundMember> DecodeFundMember(std::string_view v);

// floor(amount * bps / 10000), exact for every uint64 amount (no overflow):
// the levy of a settlement or the fund's share of a mint.
uint64_t BasisPointsOf(uint64_t amount_ucu, uint64_t bps);

// What the member is owed now: banked plus, while registered, the dividends
// of the epochs crossed since its checkpoint.
uint64_t UnclaimedDividend(const FundState& fund, const FundMember& member);

// Crosses every epoch boundary at or before `time_ms`, in order. Nothing is
// levied between boundaries crossed by one block, so after the first of them
// every further epoch pays floor(remainder / members) = 0: k boundaries cost
// O(1). An epoch whose per-member dividend would overflow the accumulator
// (more than 2^64-1 uCU paid per member over the chain's life) pays nothing.
// Returns the number of boundaries crossed.
uint64_t CrossEpochs(FundState* fund, uint64_t epoch_ms, uint64_t time_ms);

}  // namespace chip
