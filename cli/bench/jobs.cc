// The jobs workload: compute-job escrow. Each job is a reserve, metered
// settles, then a final settle or a release, each step sent only after the
// node acknowledged the previous one. With --ops N a chain of these steps
// carries N jobs of one payer at one provider, each step one list of N
// operations (bench.h).
#include "cli/bench/rpc.h"
#include "cli/bench/run.h"
#include "ledger/tx.h"

namespace chip::cli::bench_internal {

namespace pb = ::chipledger::v1;

namespace {

constexpr uint32_t kJobReleaseEvery = 4;  // every 4th job ends with a release
constexpr uint64_t kJobUnitsMax = 200;    // a job holds (kJobSettles + 2) x 1..200 uCU
constexpr uint64_t kJobTimeoutMs = 3'600'000;

// Job `job` (counting every job of every chain, chain x --ops + its index in
// the chain) ends with a release instead of a final settle. With --ops 1 the
// job is the chain, as before --ops.
bool JobReleases(size_t job) { return job % kJobReleaseEvery == 0; }

}  // namespace

void Bench::PlanJobs(SplitMix64* rng) {
  jobs_.resize(txs_ / kJobSteps);
  for (auto& chain : jobs_) {
    auto [payer, provider] = Pair(rng, o_.accounts);
    chain = JobPlan{payer, provider, 1 + rng->Below(kJobUnitsMax)};
    // The payer's reserves hold every step's unit of each of the N jobs.
    need_ucu_[payer] += chain.unit_ucu * kJobSteps * o_.ops;
  }
}

void Bench::SignJobs() {
  const uint32_t ops = o_.ops;
  // Calls fill(m, k) for each operation k of a step: m is the body itself
  // with --ops 1 (the single-operation body, byte for byte what was sent
  // before --ops), else the k-th operation of its list. TxBody and Operation
  // share the operation fields, so one fill serves both.
  auto each_op = [ops](pb::TxBody* body, const auto& fill) {
    if (ops == 1) {
      fill(body, 0u);
      return;
    }
    for (uint32_t k = 0; k < ops; ++k) fill(body->mutable_operations()->add_ops(), k);
  };
  ParallelFor(jobs_.size(), threads_, [&](size_t j) {
    const JobPlan& job = jobs_[j];
    const size_t first = j * kJobSteps;
    pb::TxBody reserve;
    each_op(&reserve, [&](auto* m, uint32_t) {
      m->mutable_reserve()->set_to(AsString(publics_[job.provider]));
      m->mutable_reserve()->set_amount_ucu(job.unit_ucu * kJobSteps);
      m->mutable_reserve()->set_timeout_ms(kJobTimeoutMs);
    });
    Seal(first, keys_[job.payer], std::move(reserve));
    // The reservation ids are known before the reserve is sent: its hash for
    // a single operation, else the id of each Reserve of the list.
    std::vector<std::string> ids(ops);
    for (uint32_t k = 0; k < ops; ++k) {
      ids[k] = AsString(ops == 1 ? hashes_[first] : OperationReservationId(hashes_[first], k));
    }
    for (uint32_t s = 1; s <= kJobSettles; ++s) {
      pb::TxBody settle;
      each_op(&settle, [&](auto* m, uint32_t k) {
        m->mutable_settle()->set_reservation(ids[k]);
        m->mutable_settle()->set_amount_ucu(job.unit_ucu);
      });
      Seal(first + s, keys_[job.provider], std::move(settle));
    }
    pb::TxBody last;
    each_op(&last, [&](auto* m, uint32_t k) {
      if (JobReleases(j * ops + k)) {
        m->mutable_release()->set_reservation(ids[k]);
      } else {
        m->mutable_settle()->set_reservation(ids[k]);
        m->mutable_settle()->set_amount_ucu(job.unit_ucu);
        m->mutable_settle()->set_final(true);
      }
    });
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
      st->jobs_open += active.size() * o_.ops;  // left open; they expire on the node
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
      st->jobs_open += active.size() * o_.ops;
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
      // Jobs are counted one per reservation: a chain holds --ops of them.
      if (!s.ok() || ack.code != pb::RESULT_OK || ack.already_applied) {
        st->jobs_abandoned += o_.ops;  // its later steps depend on this one
        continue;
      }
      if (++a.step == kJobSteps) {
        st->jobs_completed += o_.ops;
      } else {
        still.push_back(a);
      }
    }
    active.swap(still);
  }
}

}  // namespace chip::cli::bench_internal
