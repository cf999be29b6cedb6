#include "ledger/admission.h"

#include "ledger/amount.h"
#include "ledger/fund.h"

namespace chip {

namespace {

// Calls fn(op, index) for each operation of the body: the list's, or the
// body itself as operation 0 (TxBody and Operation share the kind fields).
template <typename Fn>
void ForEachOperation(const pb::TxBody& body, Fn&& fn) {
  if (IsMultiOp(body)) {
    for (int i = 0; i < body.operations().ops_size(); ++i) {
      fn(body.operations().ops(i), static_cast<uint32_t>(i), true);
    }
  } else {
    fn(body, 0u, false);
  }
}

template <typename Op>
std::optional<uint64_t> OpDebit(const Op& op) {
  if (op.has_transfer()) return op.transfer().amount_ucu();
  if (op.has_reserve()) return op.reserve().amount_ucu();
  if (op.has_burn()) return op.burn().amount_ucu();
  return 0;
}

template <typename Op>
bool MayCreditSigner(const Op& op, const PublicKey& signer) {
  if (op.has_settle() || op.has_release() || op.has_fund_claim()) return true;
  if (op.has_mint()) return op.mint().to() == AsView(signer);
  return false;
}

// Rule checks of one operation that need no balance.
template <typename Op>
pb::ResultCode CheckRoles(const Op& op, bool in_list, const CheckedTx& tx, const ChainRules& rules,
                          const AdmissionState& state) {
  const PublicKey& signer = tx.signer;
  if (op.has_mint()) {
    return rules.issuer_caps.count(signer) ? pb::RESULT_OK : pb::RESULT_NOT_ISSUER;
  }
  if (op.has_observe_price()) {
    return rules.oracles.count(signer) ? pb::RESULT_OK : pb::RESULT_NOT_ORACLE;
  }
  if (op.has_fund_register() || op.has_fund_deregister() || op.has_fund_claim()) {
    if (!rules.fund) return pb::RESULT_NO_FUND;
    const bool registrar = rules.fund->registrars.count(signer) != 0;
    if (op.has_fund_register() && !registrar) return pb::RESULT_NOT_REGISTRAR;
    if (op.has_fund_deregister() && !registrar && op.fund_deregister().member() != AsView(signer)) {
      return pb::RESULT_NOT_REGISTRAR;
    }
    return pb::RESULT_OK;
  }
  if (op.has_settle() || op.has_release()) {
    const bool by_ref =
        op.has_settle() ? op.settle().has_reserve_op() : op.release().has_reserve_op();
    if (by_ref) return pb::RESULT_OK;  // made by an earlier Reserve of the same list
    auto id = op.has_settle() ? ToHash32(op.settle().reservation())
                              : ToHash32(op.release().reservation());
    if (!id) return pb::RESULT_BAD_ADDRESS;  // CheckTx refuses it first
    auto it = state.reservations.find(*id);
    if (it == state.reservations.end() || !it->second) return pb::RESULT_UNKNOWN_RESERVATION;
    const Reservation& r = *it->second;
    const bool payer_may_act = op.has_settle() && in_list && !op.settle().final();
    if (r.provider != signer && !(payer_may_act && r.payer == signer)) {
      return pb::RESULT_NOT_PROVIDER;
    }
    if (r.status == ReservationStatus::kExpired) return pb::RESULT_RESERVATION_EXPIRED;
    if (r.status != ReservationStatus::kOpen) return pb::RESULT_RESERVATION_CLOSED;
  }
  return pb::RESULT_OK;
}

}  // namespace

std::vector<Hash32> AdmissionReservationIds(const CheckedTx& tx) {
  std::vector<Hash32> ids;
  ForEachOperation(tx.body, [&](const auto& op, uint32_t, bool) {
    std::optional<Hash32> id;
    if (op.has_settle() && !op.settle().has_reserve_op()) id = ToHash32(op.settle().reservation());
    if (op.has_release() && !op.release().has_reserve_op()) {
      id = ToHash32(op.release().reservation());
    }
    if (id) ids.push_back(*id);
  });
  return ids;
}

std::optional<uint64_t> DebitOf(const pb::TxBody& body) {
  std::optional<uint64_t> total = 0;
  ForEachOperation(body, [&](const auto& op, uint32_t, bool) {
    auto d = OpDebit(op);
    if (total && d) total = CheckedAdd(*total, *d);
  });
  return total;
}

bool AdmissionCodeReadsState(pb::ResultCode code) {
  switch (code) {
    case pb::RESULT_NOT_ISSUER:
    case pb::RESULT_NOT_ORACLE:
    case pb::RESULT_NO_FUND:
    case pb::RESULT_NOT_REGISTRAR:
    case pb::RESULT_OK:
      return false;
    default:
      return true;
  }
}

AdmissionResult AdmitTx(const CheckedTx& tx, const ChainRules& rules, const AdmissionState& state,
                        uint64_t pending_debit_ucu) {
  AdmissionResult out;
  bool may_credit = false;
  ForEachOperation(tx.body, [&](const auto& op, uint32_t index, bool in_list) {
    if (MayCreditSigner(op, tx.signer)) may_credit = true;
    if (out.code != pb::RESULT_OK) return;
    pb::ResultCode code = CheckRoles(op, in_list, tx, rules, state);
    if (code != pb::RESULT_OK) {
      out.code = code;
      if (in_list) out.failed_op = index;
    }
  });
  if (out.code != pb::RESULT_OK || may_credit) return out;
  uint64_t available = state.signer_account ? state.signer_account->balance_ucu : 0;
  if (state.fund && state.signer_member) {
    auto with_dividend =
        CheckedAdd(available, UnclaimedDividend(*state.fund, *state.signer_member));
    available = with_dividend.value_or(UINT64_MAX);
  }
  // The operations' debits in order, after what is pending: the first that
  // goes past the balance is the one apply would fail at (nothing in the
  // list credits the signer).
  std::optional<uint64_t> needed = pending_debit_ucu;
  ForEachOperation(tx.body, [&](const auto& op, uint32_t index, bool in_list) {
    if (out.code != pb::RESULT_OK) return;
    auto d = OpDebit(op);
    if (!d || *d == 0) return;
    needed = needed ? CheckedAdd(*needed, *d) : std::nullopt;
    if (!needed || *needed > available) {
      out.code = pb::RESULT_INSUFFICIENT_FUNDS;
      if (in_list) out.failed_op = index;
    }
  });
  return out;
}

}  // namespace chip
