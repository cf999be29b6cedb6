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
// It reports committed transactions/s, latency percentiles, rejections by
// result code, gRPC errors, and the node's CPU time and peak RSS when it can
// read them (--node-pid, --metrics, or a loopback node found through
// /proc). --verify then reads acknowledged transactions back with GetTx.
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
constexpr uint32_t kBenchClientsMax = 256;
constexpr uint32_t kBenchBatchMax = 1'000;  // the node's default submit_batch_tx_max
constexpr uint32_t kBenchHotAccountsMax = 1'000;
constexpr uint64_t kBenchDurationMsMax = 3'600'000;
constexpr uint64_t kBenchRateMax = 10'000'000;

struct BenchOptions {
  uint32_t accounts = 1'000;
  // Transactions to sign and send; 0 = 100,000, or with --duration enough
  // for the duration at kBenchPresignRatePerSecond.
  uint64_t txs = 0;
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
