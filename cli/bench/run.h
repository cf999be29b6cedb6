// One `chip bench` run (bench.h describes the phases and what is
// measured). The Bench class is defined across the files of this folder:
// run.cc (the phases before the window), window.cc (the window itself),
// transfers.cc and jobs.cc (the write workloads), reads.cc (the reads
// workload), readback.cc (--verify) and report.cc.
//
// Invariants of a run:
//  - every transaction has a distinct nonce (run base + its index), so no
//    two transactions of a run, nor of two runs, share a hash;
//  - each account is funded with exactly what the planned workload spends
//    (plus a small margin) before the window, so INSUFFICIENT_FUNDS in the
//    window means the node applied something wrongly, not a planning gap;
//  - a compute job's step is sent only after the node acknowledged the
//    previous step as OK;
//  - nothing is signed, derived or allocated per transaction inside the
//    window except moving pre-signed messages into requests.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "chipledger/v1/ledger.grpc.pb.h"
#include "cli/bench/bench.h"
#include "cli/bench/common.h"
#include "cli/bench/plan.h"
#include "cli/bench/probe.h"
#include "cli/bench/stats.h"
#include "cli/util.h"
#include "ledger/bytes.h"
#include "ledger/crypto.h"

namespace chip::cli::bench_internal {

class Bench {
 public:
  Bench(const BenchTarget& target, const BenchOptions& options)
      : t_(target), o_(options), threads_(SigningThreads()) {}

  int Run();

 private:
  // Prints the error ("chip bench: ..." on stderr; with --json also on
  // stdout) and returns its exit code.
  int Fail(const CliError& e);
  int Fail(int code, const std::string& message) { return Fail(CliError{code, message}); }
  // A progress line on stderr, unless --quiet.
  void Note(const std::string& line) const;
  chipledger::v1::Ledger::Stub* Stub(size_t client) { return stubs_[client % stubs_.size()].get(); }
  uint64_t Nonce(uint64_t i) const { return nonce_base_ + i; }

  int Validate();
  int Connect();
  void DeriveKeys();
  // Plan: what every transaction of the window will be (transfers.cc,
  // jobs.cc), and what each account spends.
  void Plan();
  void PlanTransfers(SplitMix64* rng);
  void PlanJobs(SplitMix64* rng);
  int Fund();
  // Sign: every transaction of the window, on all cores, before it opens.
  void Sign();
  void SignTransfers();
  void SignJobs();
  // Signs `body` with the nonce of `slot` into txs_signed_ and hashes_.
  void Seal(size_t slot, const SecretKey& key, chipledger::v1::TxBody body);
  // CheckTx (parse, hash, Ed25519) of a sample of the signed transactions on
  // every core: the most a node on this machine could verify per second
  // right now, the ceiling the committed rate is compared with.
  void MeasureVerifyCeiling();
  void Window();
  void TransfersClient(size_t client, ClientStats* st);
  void JobsClient(size_t client, ClientStats* st);
  void ReadsClient(size_t client, ClientStats* st);
  int RunReads();
  int ReportReads();
  void Record(const chipledger::v1::SubmitBatchRequest& req,
              const chipledger::v1::SubmitBatchResponse& resp, const grpc::Status& s,
              const std::vector<size_t>& slots, Clock::duration latency, ClientStats* st);
  Clock::time_point Pace();
  void Monitor();
  nlohmann::json Verify(bool* ok);
  int Report();

  const BenchTarget t_;
  const BenchOptions o_;
  const unsigned threads_;
  Workload workload_ = Workload::kUniform;
  uint64_t txs_ = 0;  // transactions of the window
  std::optional<uint64_t> duration_ms_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<chipledger::v1::Ledger::Stub>> stubs_;
  Hash32 chain_id_{};
  uint64_t height_before_ = 0, height_after_ = 0;
  SecretKey funder_;
  std::string funding_mode_;
  uint64_t nonce_base_ = 0;
  std::vector<SecretKey> keys_;
  std::vector<PublicKey> publics_;
  std::vector<TransferPlan> transfers_;
  std::vector<JobPlan> jobs_;
  std::vector<uint64_t> need_ucu_;  // what each account spends in the window

  // Signed transactions of the window, their hashes and the node's answers,
  // indexed alike (a job's steps are kJobSteps consecutive slots).
  std::vector<chipledger::v1::SignedTx> txs_signed_;
  std::vector<Hash32> hashes_;
  std::vector<Ack> acks_;

  double keys_seconds_ = 0, funding_seconds_ = 0, signing_seconds_ = 0;
  size_t verify_sample_ = 0;
  double verify_seconds_ = 0;
  uint64_t funded_accounts_ = 0;

  // The window.
  Live live_;
  std::atomic<size_t> next_{0};       // next transaction (or job) to hand out
  std::atomic<uint64_t> tickets_{0};  // batches sent so far, for --rate
  Clock::time_point start_, stop_at_, end_;
  bool exhausted_ = false;
  std::vector<ClientStats> stats_;
  NodeProbe probe_ = NodeProbe::None();
  ProbeSample node_start_, node_end_;
  uint64_t node_rss_peak_ = 0;
  double bench_cpu_seconds_ = 0;
  double load_start_ = 0, load_end_ = 0;
  std::mutex monitor_mu_;
  std::condition_variable monitor_cv_;
  bool window_done_ = false;
};

}  // namespace chip::cli::bench_internal
