// The jobs workload: compute-job escrow. Each job is a reserve, metered
// settles, then a final settle or a release, each step sent only after the
// node acknowledged the previous one.
#include "cli/bench/rpc.h"
#include "cli/bench/run.h"
#include "ledger/tx.h"

namespace chip::cli::bench_internal {

namespace pb = ::chipledger::v1;

namespace {

constexpr uint32_t kJobReleaseEvery = 4;  // every 4th job ends with a release
constexpr uint64_t kJobUnitsMax = 200;    // a job holds (kJobSettles + 2) x 1..200 uCU
constexpr uint64_t kJobTimeoutMs = 3'600'000;

}  // namespace

void Bench::PlanJobs(SplitMix64* rng) {
  jobs_.resize(txs_ / kJobSteps);
  for (size_t j = 0; j < jobs_.size(); ++j) {
    auto [payer, provider] = Pair(rng, o_.accounts);
    jobs_[j] = JobPlan{payer, provider, 1 + rng->Below(kJobUnitsMax), j % kJobReleaseEvery == 0};
    need_ucu_[payer] += jobs_[j].unit_ucu * kJobSteps;
  }
}

void Bench::SignJobs() {
  ParallelFor(jobs_.size(), threads_, [&](size_t j) {
    const JobPlan& job = jobs_[j];
    const size_t first = j * kJobSteps;
    pb::TxBody reserve;
    reserve.mutable_reserve()->set_to(AsString(publics_[job.provider]));
    reserve.mutable_reserve()->set_amount_ucu(job.unit_ucu * kJobSteps);
    reserve.mutable_reserve()->set_timeout_ms(kJobTimeoutMs);
    Seal(first, keys_[job.payer], std::move(reserve));
    // The reservation id is the reserve's hash, known before it is sent.
    const std::string id = AsString(hashes_[first]);
    for (uint32_t k = 1; k <= kJobSettles; ++k) {
      pb::TxBody settle;
      settle.mutable_settle()->set_reservation(id);
      settle.mutable_settle()->set_amount_ucu(job.unit_ucu);
      Seal(first + k, keys_[job.provider], std::move(settle));
    }
    pb::TxBody last;
    if (job.release) {
      last.mutable_release()->set_reservation(id);
    } else {
      last.mutable_settle()->set_reservation(id);
      last.mutable_settle()->set_amount_ucu(job.unit_ucu);
      last.mutable_settle()->set_final(true);
    }
    Seal(first + kJobSteps - 1, keys_[job.provider], std::move(last));
  });
}

// Jobs workload: each client keeps up to B jobs in flight and sends one step
// of each per batch; a job's next step goes out only after the node answered
// OK for the previous one. Finished jobs are replaced from the shared supply,
// so a batch mixes reserves, metered settles and final steps.
void Bench::JobsClient(size_t client, ClientStats* st) {
  struct Active {
    size_t job;
    uint32_t step;
  };
  std::vector<Active> active;
  pb::SubmitBatchRequest req;
  pb::SubmitBatchResponse resp;
  std::vector<size_t> slots;
  const bool single = o_.batch == 1;
  for (;;) {
    const bool over = duration_ms_ && Clock::now() >= stop_at_;
    if (over) {
      st->jobs_open += active.size();  // left open; they expire on the node
      return;
    }
    while (active.size() < o_.batch) {
      size_t j = next_.fetch_add(1);
      if (j >= jobs_.size()) break;
      active.push_back(Active{j, 0});
    }
    if (active.empty()) return;
    req.mutable_txs()->Clear();
    slots.clear();
    for (const Active& a : active) {
      size_t slot = a.job * kJobSteps + a.step;
      req.add_txs()->Swap(&txs_signed_[slot]);
      slots.push_back(slot);
    }
    auto t0 = Pace();
    if (duration_ms_ && t0 >= stop_at_) {
      st->jobs_open += active.size();
      return;
    }
    live_.submitted.fetch_add(slots.size(), std::memory_order_relaxed);
    grpc::Status s =
        Exchange(Stub(client), t_.timeout_ms, single, &req, &resp,
                 duration_ms_ ? stop_at_ : Clock::time_point::max(), &st->busy_retries);
    Record(req, resp, s, slots, Clock::now() - t0, st);
    std::vector<Active> still;
    for (size_t k = 0; k < active.size(); ++k) {
      Active a = active[k];
      const Ack& ack = acks_[slots[k]];
      if (!s.ok() || ack.code != pb::RESULT_OK || ack.already_applied) {
        ++st->jobs_abandoned;  // its later steps depend on this one
        continue;
      }
      if (++a.step == kJobSteps) {
        ++st->jobs_completed;
      } else {
        still.push_back(a);
      }
    }
    active.swap(still);
  }
}

}  // namespace chip::cli::bench_internal
