// `chip bench`: its flags, and the entry point that runs one Bench.
#include <CLI/CLI.hpp>

#include "cli/bench/bench.h"
#include "cli/bench/run.h"
#include "ledger/limits.h"

namespace chip::cli {

CLI::App* AddBenchCommand(CLI::App* app, BenchOptions* o) {
  CLI::App* cmd = app->add_subcommand(
      "bench", "load-test a node: fund accounts, pre-sign, submit concurrently, report");
  cmd->add_option("--accounts", o->accounts, "accounts to create and fund")
      ->check(CLI::Range(2u, kBenchAccountsMax));
  cmd->add_option("--txs", o->txs,
                  "transactions (not operations) to sign and send (default 100000, with --ops N "
                  "1000000/N; with --duration, the most sent)");
  // Range checked in Validate, so that 0 and too many get the same message.
  cmd->add_option("--ops", o->ops,
                  "operations per transaction, 1.." + std::to_string(kTxOperationsMax) +
                      " (default 1): uniform/hot send N transfers from one signer, jobs N jobs "
                      "per step; not with --workload reads");
  cmd->add_option("--duration", o->duration, "run for this long, e.g. 10s");
  cmd->add_option("--clients", o->clients, "concurrent submitters")
      ->check(CLI::Range(1u, kBenchClientsMax));
  cmd->add_option("--batch", o->batch, "transactions per request (1 = SubmitTx)")
      ->check(CLI::Range(1u, kBenchBatchMax));
  cmd->add_option("--workload", o->workload,
                  "uniform | hot | jobs | reads (GetAccount, ListHistory, GetTx of the accounts "
                  "--seed names; --txs counts requests)")
      ->check(CLI::IsMember({"uniform", "hot", "jobs", "reads"}));
  cmd->add_option("--hot-accounts", o->hot_accounts, "hot workload: the handful of hot accounts");
  cmd->add_option("--hot-percent", o->hot_percent,
                  "hot workload: percent of transfers between hot accounts (default 90)")
      ->check(CLI::Range(0u, 100u));
  cmd->add_option("--from", o->from, "funding key in the wallet (default 'dev')");
  cmd->add_option("--seed", o->seed, "seed of the accounts and the workload");
  cmd->add_option("--connections", o->connections,
                  "gRPC connections shared by the clients (default one per client)");
  cmd->add_flag("--verify", o->verify,
                "read acknowledged transactions back with GetTx; fail if any is missing");
  cmd->add_option("--node-pid", o->node_pid, "read the node's CPU and RSS from /proc/PID");
  cmd->add_option("--metrics", o->metrics_url,
                  "or from its metrics, e.g. http://127.0.0.1:7701/metrics");
  cmd->add_option("--rate", o->rate,
                  "offered load in transactions/s (default: as fast as the clients go); "
                  "latency then counts from each request's due time");
  cmd->add_flag("--quiet", o->quiet, "no progress line");
  return cmd;
}

int RunBench(const BenchTarget& target, const BenchOptions& options) {
  bench_internal::Bench bench(target, options);
  return bench.Run();
}

}  // namespace chip::cli
