#include "node/serve/admission.h"

#include "ledger/address.h"
#include "ledger/amount.h"
#include "ledger/check.h"

namespace chip::node {

Result<AdmissionResult> PendingBook::Admit(const CheckedTx& tx, Chain* chain, bool state_checks,
                                           std::vector<std::unique_ptr<Ticket>>* tickets) {
  // The committed state, read before the pending figures: a block that
  // commits in between can only make the check stricter for a moment (its
  // transactions' debits are still pending until their submitters return),
  // never let through what could not pass.
  Store* store = chain->store();
  AdmissionState state;
  auto account = store->ReadAccount(tx.signer);
  if (!account.ok()) return account.status();
  state.signer_account = *account;
  for (const Hash32& id : AdmissionReservationIds(tx)) {
    auto r = store->ReadReservation(id);
    if (!r.ok()) return r.status();
    state.reservations[id] = *r;
  }
  const uint64_t debit = DebitOf(tx.body).value_or(UINT64_MAX);

  // Only a balance that falls short of the debits can need the signer's
  // unclaimed dividend, so the fund and member records are read (outside the
  // lock) on that path alone, and the check is made once more.
  for (bool dividend_read = !chain->rules().fund;; dividend_read = true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = pending_.find(tx.signer);
      const Pending now = it == pending_.end() ? Pending{} : it->second;
      if (now.txs >= signer_pending_tx_max_) {
        metrics_->signer_pending_rejections.fetch_add(1, std::memory_order_relaxed);
        return Status::ResourceExhausted(
            "signer " + EncodeAddress(tx.signer) + " has " + std::to_string(now.txs) +
            " transactions pending (signer_pending_tx_max); retry when some have committed");
      }
      AdmissionResult result = AdmitTx(tx, chain->rules(), state, now.debit_ucu);
      if (!state_checks && AdmissionCodeReadsState(result.code)) result = AdmissionResult{};
      if (result.code != pb::RESULT_INSUFFICIENT_FUNDS || dividend_read) {
        if (result.code != pb::RESULT_OK) {
          metrics_->admission_refusals.fetch_add(1, std::memory_order_relaxed);
          return result;
        }
        Pending& p = pending_[tx.signer];
        if (p.txs == 0) metrics_->pending_signers.fetch_add(1, std::memory_order_relaxed);
        p.txs += 1;
        p.debit_ucu = CheckedAdd(p.debit_ucu, debit).value_or(UINT64_MAX);
        tickets->push_back(std::make_unique<Ticket>(this, tx.signer, debit));
        return result;
      }
    }
    auto fund = store->ReadFund();
    if (!fund.ok()) return fund.status();
    state.fund = *fund;
    auto member = store->ReadFundMember(tx.signer);
    if (!member.ok()) return member.status();
    state.signer_member = *member;
  }
}

void PendingBook::Release(const PublicKey& signer, uint64_t debit_ucu) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pending_.find(signer);
  CHIP_CHECK(it != pending_.end() && it->second.txs > 0);
  it->second.txs -= 1;
  // Saturated sums cannot be subtracted back exactly; the last ticket
  // clears the entry either way.
  it->second.debit_ucu = it->second.debit_ucu >= debit_ucu ? it->second.debit_ucu - debit_ucu : 0;
  if (it->second.txs == 0) {
    pending_.erase(it);
    metrics_->pending_signers.fetch_sub(1, std::memory_order_relaxed);
  }
}

}  // namespace chip::node
