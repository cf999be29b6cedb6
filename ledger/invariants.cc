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
  if (available + held_payer != outstanding) {
    return Status::Corruption("supply " + Str(outstanding) + " != balances " + Str(available) +
                              " + held " + Str(held_payer));
  }
  if (held_payer != held_provider || held_payer != held_open) {
    return Status::Corruption("held amounts disagree: payer " + Str(held_payer) + ", provider " +
                              Str(held_provider) + ", open reservations " + Str(held_open));
  }
  return Status::Ok();
}

}  // namespace chip
