// The report of a write run: JSON with --json, else the text table.
#include <iostream>
#include <sstream>

#include "cli/bench/run.h"
#include "cli/util.h"
#include "cli/verify.h"
#include "ledger/tx.h"

namespace chip::cli::bench_internal {

namespace pb = ::chipledger::v1;
using nlohmann::json;

int Bench::Report() {
  ClientStats all;
  for (auto& s : stats_) {
    all.latencies.insert(all.latencies.end(), s.latencies.begin(), s.latencies.end());
    for (const auto& [code, n] : s.rejected) all.rejected[code] += n;
    for (const auto& [code, n] : s.errors) all.errors[code] += n;
    all.busy_retries += s.busy_retries;
    all.jobs_completed += s.jobs_completed;
    all.jobs_abandoned += s.jobs_abandoned;
    all.jobs_open += s.jobs_open;
  }
  uint64_t acknowledged = 0;
  for (const Ack& a : acks_) acknowledged += a.height > 0 ? 1 : 0;
  const uint64_t committed = live_.committed.load();
  const uint64_t submitted = live_.submitted.load();
  const double window_s = Seconds(end_ - start_);
  const double tps = window_s > 0 ? static_cast<double>(committed) / window_s : 0;
  LatencySummary lat = Summarize(std::move(all.latencies));

  json rejected = json::object();
  uint64_t rejected_total = 0;
  for (const auto& [code, n] : all.rejected) {
    rejected[ResultName(static_cast<pb::ResultCode>(code))] = n;
    rejected_total += n;
  }
  json errors = json::object();
  uint64_t errors_total = 0;
  for (const auto& [code, n] : all.errors) {
    errors[code] = n;
    errors_total += n;
  }
  const double signing_rate =
      signing_seconds_ > 0 ? static_cast<double>(txs_) / signing_seconds_ : 0;
  const double verify_rate =
      verify_seconds_ > 0 ? static_cast<double>(verify_sample_) / verify_seconds_ : 0;
  // Operations: a list is all or nothing, so a committed transaction
  // committed all --ops of its operations and a rejected one none. Committed
  // operations count only committed transactions; the operations of rejected
  // ones are counted apart (rejected_ops), those of transactions lost to gRPC
  // errors nowhere (errors_total counts transactions).
  const uint64_t ops = o_.ops;
  const double ops_per_second = tps * static_cast<double>(ops);
  const double verify_ops_rate = verify_rate * static_cast<double>(ops);
  json j = {{"workload", o_.workload},
            {"node", t_.node},
            {"accounts", o_.accounts},
            {"clients", o_.clients},
            {"batch", o_.batch},
            {"connections", stubs_.size()},
            {"txs_planned", txs_},
            {"ops_per_tx", ops},
            {"ops_planned", txs_ * ops},
            {"duration_ms", duration_ms_ ? json(*duration_ms_) : json(nullptr)},
            {"exhausted", exhausted_},
            {"rate", o_.rate == 0 ? json(nullptr) : json(o_.rate)},
            {"setup",
             {{"keys_seconds", keys_seconds_},
              {"funding_mode", funding_mode_},
              {"funded_accounts", funded_accounts_},
              {"funding_seconds", funding_seconds_}}},
            {"signing",
             {{"txs", txs_},
              {"ops", txs_ * ops},
              {"threads", threads_},
              {"seconds", signing_seconds_},
              {"per_second", signing_rate}}},
            {"verify_ceiling",
             {{"txs", verify_sample_},
              {"threads", threads_},
              {"seconds", verify_seconds_},
              {"per_second", verify_rate},
              // The same ceiling in operations: transactions/s x --ops.
              {"ops_per_second", verify_ops_rate},
              {"committed_ratio", verify_rate > 0 ? tps / verify_rate : 0}}},
            {"submitted", submitted},
            {"acknowledged", acknowledged},
            {"committed", committed},
            {"committed_ops", committed * ops},
            {"rejected_total", rejected_total},
            {"rejected_ops", rejected_total * ops},
            {"rejected", rejected},
            {"errors_total", errors_total},
            {"errors", errors},
            {"busy_retries", all.busy_retries},
            {"window_seconds", window_s},
            {"committed_per_second", tps},
            {"committed_ops_per_second", ops_per_second},
            {"latency_ms",
             {{"p50", lat.p50_ms},
              {"p99", lat.p99_ms},
              {"p999", lat.p999_ms},
              {"max", lat.max_ms},
              {"mean", lat.mean_ms}}},
            {"height_before", height_before_},
            {"height_after", height_after_},
            {"bench_cpu_seconds", bench_cpu_seconds_},
            {"host",
             {{"cores", std::thread::hardware_concurrency()},
              {"load_average_start", load_start_},
              {"load_average_end", load_end_}}}};
  if (workload_ == Workload::kHot) {
    j["hot_accounts"] = o_.hot_accounts;
    j["hot_percent"] = o_.hot_percent;
  }
  if (workload_ == Workload::kJobs) {
    j["jobs"] = {{"planned", jobs_.size() * ops},
                 {"completed", all.jobs_completed},
                 {"abandoned", all.jobs_abandoned},
                 {"open_at_end", all.jobs_open},
                 {"steps", kJobSteps},
                 {"per_tx", ops}};
  }
  const bool node_ok = probe_.enabled() && node_start_.ok && node_end_.ok;
  const double node_cpu = node_ok ? node_end_.cpu_seconds - node_start_.cpu_seconds : 0;
  if (node_ok) {
    j["node_process"] = {
        {"source", probe_.source()},
        {"cpu_seconds", node_cpu},
        {"cpu_cores", window_s > 0 ? node_cpu / window_s : 0},
        {"cpu_us_per_committed_tx",
         committed > 0 ? node_cpu * 1e6 / static_cast<double>(committed) : 0},
        {"cpu_us_per_committed_op",
         committed > 0 ? node_cpu * 1e6 / static_cast<double>(committed * ops) : 0},
        {"peak_rss_bytes", node_rss_peak_}};
  } else {
    j["node_process"] = nullptr;
  }
  bool verified = true;
  if (o_.verify) j["verify"] = Verify(&verified);

  if (t_.json) {
    std::cout << SafeDump(j) << "\n";
  } else {
    std::ostringstream out;
    out << "workload    " << o_.workload;
    if (workload_ == Workload::kHot) {
      out << " (" << o_.hot_percent << "% among " << o_.hot_accounts << " hot accounts)";
    }
    out << ", " << WithCommas(o_.accounts) << " accounts, " << o_.clients << " clients, batch "
        << o_.batch << ", " << stubs_.size() << " connections";
    // Single-operation runs print what they printed before --ops.
    if (ops > 1) out << ", " << ops << " operations per tx";
    out << "\n";
    out << "setup       keys " << Fixed(keys_seconds_, 2) << " s, funding (" << funding_mode_
        << ") " << Fixed(funding_seconds_, 2) << " s\n";
    out << "signing     " << WithCommas(txs_) << " txs"
        << (ops > 1 ? " (" + WithCommas(txs_ * ops) + " operations)" : std::string()) << " in "
        << Fixed(signing_seconds_, 2) << " s on " << threads_
        << " threads: " << WithCommas(static_cast<uint64_t>(signing_rate))
        << " signatures/s (before the window)\n";
    if (verify_rate > 0) {
      out << "ceiling     CheckTx of " << WithCommas(verify_sample_) << " txs on " << threads_
          << " threads: " << WithCommas(static_cast<uint64_t>(verify_rate)) << " tx/s"
          << (ops > 1 ? " = " + WithCommas(static_cast<uint64_t>(verify_ops_rate)) + " ops/s"
                      : std::string())
          << "; committed / ceiling = " << Fixed(tps / verify_rate, 2) << "\n";
    }
    out << "window      " << Fixed(window_s, 2) << " s, " << WithCommas(submitted) << " submitted"
        << (o_.rate > 0 ? " at an offered " + WithCommas(o_.rate) + " tx/s" : std::string())
        << (exhausted_ ? " (ran out of pre-signed transactions: raise --txs)" : "") << "\n";
    out << "committed   " << WithCommas(committed) << "  " << WithCommas(static_cast<uint64_t>(tps))
        << " tx/s";
    if (ops > 1) {
      out << "  = " << WithCommas(committed * ops) << " operations  "
          << WithCommas(static_cast<uint64_t>(ops_per_second)) << " ops/s";
    }
    out << "\n";
    out << "latency     p50 " << Fixed(lat.p50_ms, 1) << " ms  p99 " << Fixed(lat.p99_ms, 1)
        << " ms  p999 " << Fixed(lat.p999_ms, 1) << " ms  max " << Fixed(lat.max_ms, 1)
        << " ms  (submit to commit)\n";
    out << "rejected    " << WithCommas(rejected_total);
    for (const auto& [name, n] : rejected.items()) out << "  " << name << " " << n;
    if (ops > 1 && rejected_total > 0) {
      out << "  (" << WithCommas(rejected_total * ops) << " operations, none applied)";
    }
    out << "\nerrors      " << WithCommas(errors_total);
    for (const auto& [name, n] : errors.items()) out << "  " << name << " " << n;
    if (all.busy_retries > 0) out << "  (mempool full, retried " << all.busy_retries << "x)";
    out << "\n";
    if (workload_ == Workload::kJobs) {
      out << "jobs        " << WithCommas(all.jobs_completed) << " completed, "
          << WithCommas(all.jobs_abandoned) << " abandoned after a failed step, "
          << WithCommas(all.jobs_open) << " open at the end, of " << WithCommas(jobs_.size() * ops)
          << (ops > 1 ? " (" + std::to_string(ops) + " per transaction)" : std::string()) << "\n";
    }
    out << "blocks      " << height_before_ << " -> " << height_after_ << "\n";
    if (node_ok) {
      out << "node        cpu " << Fixed(node_cpu, 2) << " s ("
          << Fixed(window_s > 0 ? node_cpu / window_s : 0, 2) << " cores, "
          << Fixed(committed > 0 ? node_cpu * 1e6 / static_cast<double>(committed) : 0, 1)
          << " us per tx"
          << (ops > 1 && committed > 0
                  ? ", " + Fixed(node_cpu * 1e6 / static_cast<double>(committed * ops), 2) +
                        " us per op"
                  : std::string())
          << "), peak rss " << (node_rss_peak_ >> 20) << " MiB  [" << probe_.source() << "]\n";
    } else {
      out << "node        cpu and memory unknown (pass --node-pid or --metrics)\n";
    }
    out << "bench       cpu " << Fixed(bench_cpu_seconds_, 2) << " s in the window\n";
    const double cores = std::thread::hardware_concurrency();
    out << "host        " << cores << " cores, load average " << Fixed(load_start_, 2) << " -> "
        << Fixed(load_end_, 2)
        // Signing just before the window loads every core itself, so only a
        // load well above the core count points at other work.
        << (load_start_ > 1.5 * cores
                ? " (busy: other work shared the cores, so these figures are low)"
                : "")
        << "\n";
    if (o_.verify) {
      const json& v = j["verify"];
      out << "verify      " << (verified ? "ok: " : "FAILED: ") << WithCommas(v["checked"])
          << " of " << WithCommas(v["acknowledged"]) << " acknowledged read back"
          << (v["sampled"].get<bool>() ? " (sample)" : "") << ", missing " << v["missing"]
          << ", mismatched " << v["mismatched"] << ", errors " << v["errors"]
          << ", ALREADY_APPLIED " << v["already_applied"];
      if (ops > 1) out << "; " << WithCommas(v["operations"]) << " operations in them";
      out << "\n";
      for (const auto& e : v["examples"]) out << "  " << e.get<std::string>() << "\n";
    }
    std::cout << out.str();
  }
  if (!verified) {
    std::cerr << "chip bench: verification failed\n";
    return kExitVerifyFailed;
  }
  return kExitOk;
}

}  // namespace chip::cli::bench_internal
