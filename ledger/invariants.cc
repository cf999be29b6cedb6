#include "ledger/invariants.h"

#include "ledger/amount.h"

namespace chip {
namespace {

// 128-bit sums so that the check itself cannot overflow.
__extension__ typedef unsigned __int128 Sum;

std::string Str(Sum v) {
  if (v == 0) return "0";
  std::string s;
  while (v > 0) {
    s.insert(s.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  }
  return s;
}

}  // namespace

Status CheckInvariants(Store* store) {
  Sum available = 0, held_payer = 0, held_provider = 0, held_open = 0;
  CHIP_RETURN_IF_ERROR(store->ForEachAccount([&](const PublicKey&, const Account& a) {
    available += a.balance_ucu;
    held_payer += a.held_as_payer_ucu;
    held_provider += a.held_as_provider_ucu;
  }));
  std::string bad;
  CHIP_RETURN_IF_ERROR(store->ForEachReservation([&](const Hash32& id, const Reservation& r) {
    if (r.status == ReservationStatus::kOpen) {
      held_open += r.held_ucu;
      if (Sum(r.held_ucu) + r.settled_ucu != r.amount_ucu && bad.empty()) {
        bad = "reservation " + ToHex(id) + ": held + settled != amount";
      }
    } else if (r.held_ucu != 0 && bad.empty()) {
      bad = "closed reservation " + ToHex(id) + " still holds funds";
    }
  }));
  if (!bad.empty()) return Status::Corruption(bad);
  CHIP_RETURN_IF_ERROR(store->status());
  Supply s = store->GetSupply();
  CHIP_RETURN_IF_ERROR(store->status());
  if (s.burned_ucu > s.minted_ucu) return Status::Corruption("burned exceeds minted");
  Sum outstanding = Sum(s.minted_ucu) - s.burned_ucu;
  // The fund: its balance and what members are owed are CU outside every
  // account. Each member's claim is counted once, from its own record.
  Sum fund_balance = 0, fund_unclaimed = 0, owed = 0, registered = 0;
  auto fund = store->ReadFund();
  CHIP_RETURN_IF_ERROR(fund.status());
  if (*fund) {
    fund_balance = (*fund)->balance_ucu;
    fund_unclaimed = (*fund)->unclaimed_ucu;
    CHIP_RETURN_IF_ERROR(store->ForEachFundMember([&](const PublicKey& k, const FundMember& m) {
      if (m.registered) ++registered;
      if (m.registered && m.checkpoint_acc_ucu > (*fund)->acc_ucu && bad.empty()) {
        bad = "fund member " + ToHex(k) + ": checkpoint after the accumulator";
        return;
      }
      if (!m.registered && m.banked_ucu == 0 && bad.empty()) {
        bad = "fund member " + ToHex(k) + ": record kept with nothing owed";
      }
      owed += m.banked_ucu;
      if (m.registered) owed += (*fund)->acc_ucu - m.checkpoint_acc_ucu;
    }));
    if (!bad.empty()) return Status::Corruption(bad);
    if (registered != (*fund)->members) {
      return Status::Corruption("fund counts " + Str((*fund)->members) + " members, records " +
                                Str(registered));
    }
    if (owed != fund_unclaimed) {
      return Status::Corruption("fund unclaimed " + Str(fund_unclaimed) +
                                " != sum of members' dividends " + Str(owed));
    }
  }
  if (available + held_payer + fund_balance + fund_unclaimed != outstanding) {
    return Status::Corruption("supply " + Str(outstanding) + " != balances " + Str(available) +
                              " + held " + Str(held_payer) + " + fund " + Str(fund_balance) +
                              " + unclaimed dividends " + Str(fund_unclaimed));
  }
  if (held_payer != held_provider || held_payer != held_open) {
    return Status::Corruption("held amounts disagree: payer " + Str(held_payer) + ", provider " +
                              Str(held_provider) + ", open reservations " + Str(held_open));
  }
  return Status::Ok();
}

}  // namespace chip
