// The node's side of admission (ledger/admission.h, docs/PROTOCOL.md
// "Admission"): reads the committed state a check needs and keeps, per
// signer, what the transactions this node admitted and that have not
// completed take from its balance, so that one key cannot queue more than it
// can pay for. A submission holds a Ticket from admission until its result is
// known (committed, or failed); the Ticket's end releases its share.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "ledger/admission.h"
#include "ledger/chain.h"
#include "node/ops/metrics.h"

namespace chip::node {

class PendingBook {
 public:
  PendingBook(uint32_t signer_pending_tx_max, Metrics* metrics)
      : signer_pending_tx_max_(signer_pending_tx_max), metrics_(metrics) {}
  PendingBook(const PendingBook&) = delete;
  PendingBook& operator=(const PendingBook&) = delete;

  // A share of a signer's pending transactions; releases it when destroyed.
  class Ticket {
   public:
    Ticket(PendingBook* book, const PublicKey& signer, uint64_t debit_ucu)
        : book_(book), signer_(signer), debit_ucu_(debit_ucu) {}
    ~Ticket() { book_->Release(signer_, debit_ucu_); }
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;

   private:
    PendingBook* book_;
    PublicKey signer_;
    uint64_t debit_ucu_;
  };

  // Checks `tx` (which passed CheckTx) against the committed state of `chain`
  // and the signer's pending transactions. On RESULT_OK, appends its Ticket
  // to `tickets`. With `state_checks` false (a node whose state may lag
  // the producer's) only the genesis-rule checks refuse. ResourceExhausted
  // when the signer already has signer_pending_tx_max pending; a Status
  // error when the store cannot be read.
  Result<AdmissionResult> Admit(const CheckedTx& tx, Chain* chain, bool state_checks,
                                std::vector<std::unique_ptr<Ticket>>* tickets);

 private:
  struct Pending {
    uint64_t debit_ucu = 0;
    uint64_t txs = 0;
  };
  void Release(const PublicKey& signer, uint64_t debit_ucu);

  const uint32_t signer_pending_tx_max_;
  Metrics* metrics_;
  std::mutex mu_;
  std::map<PublicKey, Pending> pending_;
};

}  // namespace chip::node
