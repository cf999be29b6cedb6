// The reads workload: GetAccount, ListHistory and GetTx of the accounts
// --seed names, with latencies per kind of read.
#include <iostream>
#include <sstream>

#include "cli/bench/rpc.h"
#include "cli/bench/run.h"
#include "cli/util.h"
#include "support/grpc_names.h"

namespace chip::cli::bench_internal {

namespace pb = ::chipledger::v1;
using nlohmann::json;

int Bench::RunReads() {
  if (int c = Connect(); c != kExitOk) return c;
  Note("chip bench: reads, " + WithCommas(o_.accounts) + " accounts of seed " +
       std::to_string(o_.seed) + ", " + WithCommas(txs_) + " requests" +
       (duration_ms_ ? " (at most), " + o_.duration : std::string()) + ", " +
       std::to_string(o_.clients) + " clients, node " + t_.node);
  DeriveKeys();
  Note("running");
  Window();
  return ReportReads();
}

// Reads workload: each client sends GetAccount, ListHistory (a page of
// kReadHistoryPage) and GetTx (of a transaction from its last history page)
// in turn, for random accounts among those --seed names: pass the seed and
// --accounts of an earlier write run to read what it wrote.
void Bench::ReadsClient(size_t client, ClientStats* st) {
  SplitMix64 rng(o_.seed * 0x9e3779b97f4a7c15ull + client + 1);
  std::string last_tx;  // a transaction hash from this client's last history page
  for (uint64_t k = 0;; ++k) {
    if (duration_ms_ && Clock::now() >= stop_at_) return;
    if (next_.fetch_add(1) >= txs_) return;
    const std::string account = AsString(publics_[rng.Below(o_.accounts)]);
    ReadKind kind = static_cast<ReadKind>(k % kReadKinds);
    if (kind == kReadTx && last_tx.empty()) kind = kReadAccount;
    auto ctx = Context(t_.timeout_ms);
    live_.submitted.fetch_add(1, std::memory_order_relaxed);
    const auto t0 = Clock::now();
    grpc::Status s;
    if (kind == kReadAccount) {
      pb::GetAccountRequest req;
      req.set_account(account);
      pb::GetAccountResponse resp;
      s = Stub(client)->GetAccount(ctx.get(), req, &resp);
    } else if (kind == kReadHistory) {
      pb::ListHistoryRequest req;
      req.set_account(account);
      req.set_page_size(kReadHistoryPage);
      pb::ListHistoryResponse resp;
      s = Stub(client)->ListHistory(ctx.get(), req, &resp);
      if (s.ok() && resp.items_size() > 0) {
        last_tx = resp.items(static_cast<int>(rng.Below(resp.items_size()))).tx_hash();
      }
    } else {
      pb::GetTxRequest req;
      req.set_tx_hash(last_tx);
      pb::GetTxResponse resp;
      s = Stub(client)->GetTx(ctx.get(), req, &resp);
    }
    const auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
    live_.answered.fetch_add(1, std::memory_order_relaxed);
    if (s.ok() || s.error_code() == grpc::StatusCode::NOT_FOUND) {
      if (!s.ok()) ++st->not_found;
      st->read_latencies[kind].emplace_back(
          static_cast<uint32_t>(std::min<int64_t>(us, UINT32_MAX)), 1);
      live_.committed.fetch_add(1, std::memory_order_relaxed);
    } else {
      ++st->errors[GrpcCodeName(s.error_code())];
      live_.errors.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

int Bench::ReportReads() {
  ClientStats all;
  for (auto& s : stats_) {
    for (size_t k = 0; k < kReadKinds; ++k) {
      all.read_latencies[k].insert(all.read_latencies[k].end(), s.read_latencies[k].begin(),
                                   s.read_latencies[k].end());
    }
    for (const auto& [code, n] : s.errors) all.errors[code] += n;
    all.not_found += s.not_found;
  }
  const double window_s = Seconds(end_ - start_);
  uint64_t answered = 0, errors_total = 0;
  json kinds = json::object();
  std::ostringstream text;
  for (size_t k = 0; k < kReadKinds; ++k) {
    const uint64_t n = all.read_latencies[k].size();
    answered += n;
    LatencySummary lat = Summarize(std::move(all.read_latencies[k]));
    kinds[kReadNames[k]] = {{"requests", n},        {"p50_ms", lat.p50_ms},
                            {"p99_ms", lat.p99_ms}, {"p999_ms", lat.p999_ms},
                            {"max_ms", lat.max_ms}, {"mean_ms", lat.mean_ms}};
    text << kReadNames[k] << std::string(13 - std::string(kReadNames[k]).size(), ' ')
         << WithCommas(n) << " requests  p50 " << Fixed(lat.p50_ms, 2) << " ms  p99 "
         << Fixed(lat.p99_ms, 2) << " ms  p999 " << Fixed(lat.p999_ms, 2) << " ms  max "
         << Fixed(lat.max_ms, 1) << " ms\n";
  }
  json errors = json::object();
  for (const auto& [code, n] : all.errors) {
    errors[code] = n;
    errors_total += n;
  }
  const double per_s = window_s > 0 ? static_cast<double>(answered) / window_s : 0;
  json j = {{"workload", "reads"},
            {"node", t_.node},
            {"accounts", o_.accounts},
            {"seed", o_.seed},
            {"clients", o_.clients},
            {"history_page", kReadHistoryPage},
            {"height", height_before_},
            {"window_seconds", window_s},
            {"requests_per_second", per_s},
            {"not_found", all.not_found},
            {"errors_total", errors_total},
            {"errors", errors},
            {"reads", kinds},
            {"bench_cpu_seconds", bench_cpu_seconds_},
            {"host",
             {{"cores", std::thread::hardware_concurrency()},
              {"load_average_start", load_start_},
              {"load_average_end", load_end_}}}};
  if (probe_.enabled() && node_end_.ok && node_start_.ok) {
    const double node_cpu = node_end_.cpu_seconds - node_start_.cpu_seconds;
    j["node_process"] = {
        {"source", probe_.source()},
        {"cpu_seconds", node_cpu},
        {"cpu_us_per_request", answered > 0 ? node_cpu * 1e6 / static_cast<double>(answered) : 0},
        {"rss_bytes", node_end_.rss_bytes}};
  }
  if (t_.json) {
    std::cout << SafeDump(j) << "\n";
  } else {
    std::cout << "reads       " << WithCommas(answered) << " in " << Fixed(window_s, 2)
              << " s = " << WithCommas(static_cast<uint64_t>(per_s)) << "/s at height "
              << WithCommas(height_before_) << " (" << WithCommas(all.not_found) << " not found, "
              << WithCommas(errors_total) << " errors)\n"
              << text.str();
  }
  return errors_total == 0 ? kExitOk : kExitError;
}

}  // namespace chip::cli::bench_internal
