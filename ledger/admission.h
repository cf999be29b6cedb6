// Admission: the checks a node makes before it orders a transaction, so that
// a transaction its signer cannot make pass is refused without being
// recorded (docs/PROTOCOL.md, "Admission"). They read the committed state and
// what the node knows of the signer's own pending transactions; they never
// decide the result of an ordered block, which ExecuteBlock alone decides
// (a transaction admitted here may still fail there, with its code recorded).
//
// Every check is one a transaction could not pass when ordered next:
//  - mint by a key that is not an issuer: NOT_ISSUER; a price observation by
//    a key that is not an oracle: NOT_ORACLE; a fund operation on a chain
//    without a fund: NO_FUND; a fund registration (or deregistration of
//    another key) by a key that is not a registrar: NOT_REGISTRAR;
//  - a settle or release naming a reservation that is not committed:
//    UNKNOWN_RESERVATION; one the signer may not act on: NOT_PROVIDER; one
//    that is closed or expired: RESERVATION_CLOSED / RESERVATION_EXPIRED
//    (an in-list reference, reserve_op, is not checked here);
//  - transfers, reserves and burns that together take more than the signer's
//    balance (plus its unclaimed dividend) once its pending transactions'
//    debits are counted: INSUFFICIENT_FUNDS. A transaction with an operation
//    that may credit the signer (a settle, release, mint or fund claim in
//    the same list) is not checked for funds.
// Pure: no I/O, clocks or randomness; the caller reads the state.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "ledger/genesis.h"
#include "ledger/state.h"
#include "ledger/tx.h"

namespace chip {

// The committed state an admission check reads.
struct AdmissionState {
  std::optional<Account> signer_account;
  std::optional<FundState> fund;
  std::optional<FundMember> signer_member;
  // Every reservation AdmissionReservationIds named, present or not.
  std::map<Hash32, std::optional<Reservation>> reservations;
};

// The reservations a check of `tx` reads: those its settles and releases
// name by id.
std::vector<Hash32> AdmissionReservationIds(const CheckedTx& tx);

// What the transaction's transfers, reserves and burns take from the
// signer's balance together; nullopt when the sum overflows 2^64-1.
std::optional<uint64_t> DebitOf(const pb::TxBody& body);

struct AdmissionResult {
  pb::ResultCode code = pb::RESULT_OK;
  std::optional<uint32_t> failed_op;  // for a list: the operation refused
};

// True for the codes AdmitTx decides from the ledger state (balances,
// reservations), false for those the genesis rules alone decide (roles,
// NO_FUND): a node whose state may lag (a cluster follower) only uses the
// latter.
bool AdmissionCodeReadsState(pb::ResultCode code);

// `tx` passed CheckTx. `pending_debit_ucu`: what the signer's transactions
// that this node admitted and that have not committed yet take (DebitOf).
AdmissionResult AdmitTx(const CheckedTx& tx, const ChainRules& rules, const AdmissionState& state,
                        uint64_t pending_debit_ucu);

}  // namespace chip
