// `chip bench`: a load generator for one node, in the manner of
// redis-benchmark or `tigerbeetle benchmark`.
//
// A run has four phases; only the last is measured:
//  1. keys: N accounts derived from --seed (no wallet files), so two runs with
//     the same seed and flags send the same workload;
//  2. funding: the --from key mints (if it is an issuer) or sends each account
//     exactly what the workload will spend, in batches of 1,000;
//  3. signing: every transaction of the run is signed on all cores before the
//     window opens (the signing rate is reported separately);
//  4. the window: C submitter threads send batches of B (SubmitBatch, not
//     atomic; B = 1 uses SubmitTx) for a count or a duration and time each
//     round trip. A transaction's submit-to-commit latency is its batch's.
//     Clients send as fast as answers come back, or at an offered --rate
//     (latency then counts from each request's due time).
//
// Workloads: uniform transfers between random accounts; hot, where most
// transfers are between a handful of accounts (the contention that collapses
// SQL ledgers); jobs, compute-job escrow: reserve, metered settles, then a
// final settle or a release, each step sent only after the previous one
// committed.
//
// --ops N (docs/PROTOCOL.md, "Multi-operation transactions"): with N > 1
// every transaction is one signed, atomic list of N operations; N = 1 sends
// the single-operation bodies sent before --ops existed, byte for byte.
//  - uniform, hot: N transfers from the signer, each to a destination drawn
//    as the workload draws a single transfer's (under hot, each operation is
//    among the hot accounts with --hot-percent probability on its own);
//  - jobs: a job chain is N jobs of one payer at one provider, run as the
//    same kJobSteps transactions a single job takes, each now a list of N:
//    the payer's N reserves (reservation k of the list is
//    OperationReservationId(tx_hash, k)), then kJobSettles transactions of N
//    metered settles signed by the provider, each settling every one of the
//    N reservations made earlier, then the provider's N closing operations
//    (a final settle, or a release for every kJobReleaseEvery-th job). This
//    is a scheduler reserving a batch of jobs at one provider and the
//    provider metering the whole batch under one signature. Reserve and
//    settle stay in separate transactions because a list signed by the payer
//    could not close the reservations (a final settle or release needs the
//    provider's signature), so a job's life still spans its steps.
// --txs and --rate count transactions, not operations; the report gives
// both (operations = transactions x N, since a list is all or nothing).
//
// It reports committed transactions/s and operations/s, latency percentiles,
// rejections by result code, gRPC errors, and the node's CPU time and peak
// RSS when it can read them (--node-pid, --metrics, or a loopback node found
// through /proc). --verify then reads acknowledged transactions back with
// GetTx.
//
// Benchmarks print figures; nothing here asserts a speed.
#pragma once

#include <cstdint>
#include <string>

namespace CLI {
class App;
}  // namespace CLI

namespace chip::cli {

// Named maxima, checked on input.
constexpr uint32_t kBenchAccountsMax = 1'000'000;
// Pre-signed transactions are held in memory (about 400 bytes each).
constexpr uint64_t kBenchTxsMax = 5'000'000;
// Operations pre-signed in one run (transactions x --ops): a transaction of
// 100 transfers is about 4 KB, so this bounds the signed window near 0.5 GB.
constexpr uint64_t kBenchOpsMax = 10'000'000;
constexpr uint32_t kBenchClientsMax = 256;
constexpr uint32_t kBenchBatchMax = 1'000;  // the node's default submit_batch_tx_max
constexpr uint32_t kBenchHotAccountsMax = 1'000;
constexpr uint64_t kBenchDurationMsMax = 3'600'000;
constexpr uint64_t kBenchRateMax = 10'000'000;

struct BenchOptions {
  uint32_t accounts = 1'000;
  // Transactions (not operations) to sign and send; 0 = 100,000 (with
  // --ops N > 1: 1,000,000 / N), or with --duration enough for the duration
  // at the presign rate of run.cc.
  uint64_t txs = 0;
  // Operations per transaction, 1..kTxOperationsMax (ledger/limits.h).
  uint32_t ops = 1;
  std::string duration;  // e.g. "10s"; empty: run until every transaction is sent
  uint32_t clients = 8;
  uint32_t batch = 100;
  std::string workload = "uniform";  // uniform | hot | jobs
  uint32_t hot_accounts = 8;
  uint32_t hot_percent = 90;  // share of hot-workload transfers among the hot accounts
  std::string from = "dev";   // funding key in the wallet
  uint64_t seed = 1;
  // gRPC channels (TCP connections) shared by the clients; 0 = one per client.
  uint32_t connections = 0;
  bool verify = false;
  int64_t node_pid = 0;     // read the node's CPU and RSS from /proc/<pid>
  std::string metrics_url;  // or from its Prometheus endpoint
  // Offered load in transactions/s, spread evenly over time; 0 = each client
  // sends its next request as soon as the previous one is answered.
  uint64_t rate = 0;
  bool quiet = false;  // no progress line
};

// Where and how to reach the node: the chip CLI's global flags.
struct BenchTarget {
  std::string node;
  std::string wallet;
  std::string passphrase_file;
  uint64_t timeout_ms = 30'000;
  bool json = false;
};

// Registers `chip bench` and its flags on `app`, writing into `options`
// (which must outlive parsing). Returns the subcommand.
CLI::App* AddBenchCommand(CLI::App* app, BenchOptions* options);

// Runs the benchmark and prints its report (JSON on stdout with
// target.json). Progress goes to stderr. Exit codes: 0, kExitUsage for bad
// flags, kExitWallet for the funding key, kExitUnreachable, kExitRejected
// when funding fails, kExitVerifyFailed when --verify finds an acknowledged
// transaction missing or any ALREADY_APPLIED answer.
int RunBench(const BenchTarget& target, const BenchOptions& options);

}  // namespace chip::cli
