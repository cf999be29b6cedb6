// The uniform and hot workloads: transfers of 1..kTransferUcuMax uCU between
// random accounts; under hot, --hot-percent of them among the first
// --hot-accounts accounts (the contention that collapses SQL ledgers). With
// --ops N each transaction is N transfers from one signer (bench.h).
#include "cli/bench/rpc.h"
#include "cli/bench/run.h"
#include "ledger/tx.h"

namespace chip::cli::bench_internal {

namespace pb = ::chipledger::v1;

namespace {

constexpr uint64_t kTransferUcuMax = 100;  // transfers move 1..100 uCU

}  // namespace

void Bench::PlanTransfers(SplitMix64* rng) {
  const size_t ops = o_.ops;
  transfers_.resize(txs_ * ops);
  const uint32_t hot = o_.hot_accounts;
  // Transfer k of a transaction is transfers_[tx * ops + k]. The first is
  // drawn exactly as a single-operation transfer always was (so --ops 1 plans
  // the same workload); the others keep its signer and draw a destination.
  for (size_t i = 0; i < transfers_.size(); i += ops) {
    const bool hot_first = workload_ == Workload::kHot && rng->Below(100) < o_.hot_percent;
    auto p = Pair(rng, hot_first ? hot : o_.accounts);
    const uint32_t from = p.first;
    transfers_[i] = TransferPlan{from, p.second, 1 + rng->Below(kTransferUcuMax)};
    for (size_t k = 1; k < ops; ++k) {
      const bool hot_op = workload_ == Workload::kHot && rng->Below(100) < o_.hot_percent;
      const uint32_t n = hot_op ? hot : o_.accounts;
      // Any account of [0, n) but the signer: a signer outside the hot set
      // may pay any hot account.
      uint32_t to = from < n ? static_cast<uint32_t>((from + 1 + rng->Below(n - 1)) % n)
                             : static_cast<uint32_t>(rng->Below(n));
      transfers_[i + k] = TransferPlan{from, to, 1 + rng->Below(kTransferUcuMax)};
    }
    for (size_t k = 0; k < ops; ++k) need_ucu_[from] += transfers_[i + k].amount_ucu;
  }
}

void Bench::SignTransfers() {
  const size_t ops = o_.ops;
  ParallelFor(txs_, threads_, [&](size_t i) {
    const TransferPlan* p = &transfers_[i * ops];
    pb::TxBody body;
    if (ops == 1) {
      // The single-operation body, as before --ops: not a list of one.
      body.mutable_transfer()->set_to(AsString(publics_[p->to]));
      body.mutable_transfer()->set_amount_ucu(p->amount_ucu);
    } else {
      auto* list = body.mutable_operations();
      for (size_t k = 0; k < ops; ++k) {
        auto* t = list->add_ops()->mutable_transfer();
        t->set_to(AsString(publics_[p[k].to]));
        t->set_amount_ucu(p[k].amount_ucu);
      }
    }
    Seal(i, keys_[p->from], std::move(body));
  });
  // The plan is not needed once signed, and with long lists it is large.
  std::vector<TransferPlan>().swap(transfers_);
}

// Uniform and hot workloads: each client takes the next B pre-signed
// transactions until they run out or the duration passes.
void Bench::TransfersClient(size_t client, ClientStats* st) {
  pb::SubmitBatchRequest req;
  pb::SubmitBatchResponse resp;
  std::vector<size_t> slots;
  const bool single = o_.batch == 1;
  for (;;) {
    if (duration_ms_ && Clock::now() >= stop_at_) return;
    size_t first = next_.fetch_add(o_.batch);
    if (first >= txs_) return;
    size_t n = std::min<size_t>(o_.batch, txs_ - first);
    // Clear keeps the emptied messages for reuse; Swap moves without copying.
    req.mutable_txs()->Clear();
    slots.clear();
    for (size_t i = first; i < first + n; ++i) {
      req.add_txs()->Swap(&txs_signed_[i]);
      slots.push_back(i);
    }
    auto t0 = Pace();
    if (duration_ms_ && t0 >= stop_at_) return;
    live_.submitted.fetch_add(n, std::memory_order_relaxed);
    grpc::Status s =
        Exchange(Stub(client), t_.timeout_ms, single, &req, &resp,
                 duration_ms_ ? stop_at_ : Clock::time_point::max(), &st->busy_retries);
    Record(req, resp, s, slots, Clock::now() - t0, st);
  }
}

}  // namespace chip::cli::bench_internal
