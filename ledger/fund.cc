#include "ledger/fund.h"

#include <limits>

#include "ledger/amount.h"
#include "ledger/check.h"

namespace chip {

bool FundState::operator==(const FundState& o) const {
  return EncodeFundState(*this) == EncodeFundState(o);
}

bool FundMember::operator==(const FundMember& o) const {
  return registered == o.registered && checkpoint_acc_ucu == o.checkpoint_acc_ucu &&
         banked_ucu == o.banked_ucu;
}

std::string EncodeFundState(const FundState& f) {
  std::string out;
  for (uint64_t v : {f.balance_ucu, f.unclaimed_ucu, f.members, f.acc_ucu, f.epoch,
                     f.next_boundary_ms, f.last_dividend_ucu, f.distributed_ucu}) {
    PutU64(&out, v);
  }
  return out;
}

std::optional<FundState> DecodeFundState(std::string_view v) {
  FundState f;
  for (uint64_t* field : {&f.balance_ucu, &f.unclaimed_ucu, &f.members, &f.acc_ucu, &f.epoch,
                          &f.next_boundary_ms, &f.last_dividend_ucu, &f.distributed_ucu}) {
    if (!GetU64(&v, field)) return std::nullopt;
  }
  if (!v.empty()) return std::nullopt;
  return f;
}

std::string EncodeFundMember(const FundMember& m) {
  std::string out;
  PutU8(&out, m.registered ? 1 : 0);
  PutU64(&out, m.checkpoint_acc_ucu);
  PutU64(&out, m.banked_ucu);
  return out;
}

std::optional<FundMember> DecodeFundMember(std::string_view v) {
  FundMember m;
  uint8_t registered = 0;
  if (!GetU8(&v, &registered) || registered > 1 || !GetU64(&v, &m.checkpoint_acc_ucu) ||
      !GetU64(&v, &m.banked_ucu) || !v.empty()) {
    return std::nullopt;
  }
  m.registered = registered == 1;
  return m;
}

uint64_t BasisPointsOf(uint64_t amount_ucu, uint64_t bps) {
  CHIP_CHECK(bps <= kBasisPointsMax);
  // amount = q * 10000 + r: q * bps <= amount, r * bps < 10^8, so neither
  // product overflows and the sum is the exact floor.
  const uint64_t q = amount_ucu / kBasisPointsMax;
  const uint64_t r = amount_ucu % kBasisPointsMax;
  return q * bps + (r * bps) / kBasisPointsMax;
}

uint64_t UnclaimedDividend(const FundState& fund, const FundMember& member) {
  uint64_t owed = member.banked_ucu;
  if (member.registered) {
    CHIP_CHECK(fund.acc_ucu >= member.checkpoint_acc_ucu);
    auto sum = CheckedAdd(owed, fund.acc_ucu - member.checkpoint_acc_ucu);
    CHIP_CHECK(sum.has_value());  // bounded by the fund's unclaimed total
    owed = *sum;
  }
  return owed;
}

uint64_t CrossEpochs(FundState* fund, uint64_t epoch_ms, uint64_t time_ms) {
  CHIP_CHECK(epoch_ms > 0);
  if (time_ms < fund->next_boundary_ms) return 0;
  const uint64_t crossed = (time_ms - fund->next_boundary_ms) / epoch_ms + 1;
  // The first boundary: divide the balance among the members of this moment.
  uint64_t per_member = 0;
  if (fund->members > 0) {
    per_member = fund->balance_ucu / fund->members;
    auto acc = CheckedAdd(fund->acc_ucu, per_member);
    if (per_member > 0 && acc) {
      const uint64_t paid = per_member * fund->members;  // <= balance
      fund->balance_ucu -= paid;
      auto unclaimed = CheckedAdd(fund->unclaimed_ucu, paid);
      CHIP_CHECK(unclaimed.has_value());  // balance + unclaimed <= supply
      fund->unclaimed_ucu = *unclaimed;
      fund->distributed_ucu =
          CheckedAdd(fund->distributed_ucu, paid).value_or(std::numeric_limits<uint64_t>::max());
      fund->acc_ucu = *acc;
    } else {
      per_member = 0;
    }
  }
  // Every further boundary of this block pays floor(balance / members), now
  // below 1 uCU (or nothing, with no member or an accumulator at its limit).
  // What this block paid each member is what `last dividend` reports: an idle
  // chain whose next block crosses several boundaries still shows it.
  fund->last_dividend_ucu = per_member;
  fund->epoch = CheckedAdd(fund->epoch, crossed).value_or(std::numeric_limits<uint64_t>::max());
  // The boundary after `time_ms`, saturating: past 2^64-1 ms (some 584
  // million years) every block at the last representable time crosses it
  // again, paying floor(balance / members) each time.
  __extension__ unsigned __int128 next =
      static_cast<unsigned __int128>(crossed) * epoch_ms + fund->next_boundary_ms;
  fund->next_boundary_ms = next > std::numeric_limits<uint64_t>::max()
                               ? std::numeric_limits<uint64_t>::max()
                               : static_cast<uint64_t>(next);
  return crossed;
}

}  // namespace chip
