// The uniform and hot workloads: transfers of 1..kTransferUcuMax uCU between
// random accounts; under hot, --hot-percent of them among the first
// --hot-accounts accounts (the contention that collapses SQL ledgers).
#include "cli/bench/rpc.h"
#include "cli/bench/run.h"
#include "ledger/tx.h"

namespace chip::cli::bench_internal {

namespace pb = ::chipledger::v1;

namespace {

constexpr uint64_t kTransferUcuMax = 100;  // transfers move 1..100 uCU

}  // namespace

void Bench::PlanTransfers(SplitMix64* rng) {
  transfers_.resize(txs_);
  const uint32_t hot = o_.hot_accounts;
  for (auto& t : transfers_) {
    std::pair<uint32_t, uint32_t> p;
    if (workload_ == Workload::kHot && rng->Below(100) < o_.hot_percent) {
      p = Pair(rng, hot);
    } else {
      p = Pair(rng, o_.accounts);
    }
    t = TransferPlan{p.first, p.second, 1 + rng->Below(kTransferUcuMax)};
    need_ucu_[t.from] += t.amount_ucu;
  }
}

void Bench::SignTransfers() {
  ParallelFor(txs_, threads_, [&](size_t i) {
    const TransferPlan& p = transfers_[i];
    pb::TxBody body;
    body.mutable_transfer()->set_to(AsString(publics_[p.to]));
    body.mutable_transfer()->set_amount_ucu(p.amount_ucu);
    Seal(i, keys_[p.from], std::move(body));
  });
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
