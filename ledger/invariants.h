// Whole-store invariant check (a full scan: tests, `chipd check`, never the
// hot path). Returns Corruption naming the first invariant that fails:
//   minted - burned == sum(balance + held_as_payer)
//   sum(held_as_payer) == sum(held_as_provider) == sum(held of open reservations)
//   every open reservation: held + settled == amount; closed ones hold nothing
#pragma once

#include "ledger/store.h"

namespace chip {

Status CheckInvariants(Store* store);

}  // namespace chip
