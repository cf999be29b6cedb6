// The measured window: C client threads submit while a monitor samples the
// node and prints the progress line.
#include <unistd.h>

#include <iostream>

#include "cli/bench/run.h"
#include "support/grpc_names.h"

namespace chip::cli::bench_internal {

namespace pb = ::chipledger::v1;

namespace {

constexpr auto kSampleInterval = std::chrono::milliseconds(100);
constexpr int kSamplesPerProgressLine = 10;  // one line a second

}  // namespace

void Bench::Window() {
  stats_.resize(o_.clients);
  if (probe_.enabled()) {
    node_start_ = probe_.Sample();
    node_rss_peak_ = node_start_.rss_bytes;
  }
  const double cpu0 = ProcessCpuSeconds();
  load_start_ = LoadAverage();
  std::thread monitor([this] { Monitor(); });
  start_ = Clock::now();
  stop_at_ =
      duration_ms_ ? start_ + std::chrono::milliseconds(*duration_ms_) : Clock::time_point::max();
  std::vector<std::thread> clients;
  for (size_t c = 0; c < o_.clients; ++c) {
    clients.emplace_back([this, c] {
      if (workload_ == Workload::kJobs) {
        JobsClient(c, &stats_[c]);
      } else if (workload_ == Workload::kReads) {
        ReadsClient(c, &stats_[c]);
      } else {
        TransfersClient(c, &stats_[c]);
      }
    });
  }
  for (auto& th : clients) th.join();
  end_ = Clock::now();
  bench_cpu_seconds_ = ProcessCpuSeconds() - cpu0;
  load_end_ = LoadAverage();
  {
    std::lock_guard<std::mutex> lock(monitor_mu_);
    window_done_ = true;
  }
  monitor_cv_.notify_all();
  monitor.join();
  if (probe_.enabled()) {
    node_end_ = probe_.Sample();
    if (node_end_.ok) node_rss_peak_ = std::max(node_rss_peak_, node_end_.rss_bytes);
  }
  const size_t handed_out = next_.load();
  const size_t supply = workload_ == Workload::kJobs ? jobs_.size() : txs_;
  exhausted_ = duration_ms_ && handed_out >= supply && end_ < stop_at_;
}

// The moment the next request is due. Without --rate: now. With it, the
// run's requests are spaced batch / rate apart and the caller waits for its
// slot; a client that falls behind sends at once but its latency still counts
// from the due time, so a slow node cannot hide its queueing by slowing the
// load down (coordinated omission).
Clock::time_point Bench::Pace() {
  if (o_.rate == 0) return Clock::now();
  const uint64_t k = tickets_.fetch_add(1);
  const double at_s = static_cast<double>(k) * o_.batch / static_cast<double>(o_.rate);
  const auto due =
      start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(at_s));
  // A slot past the end of the window is not waited for: the caller stops.
  if (!duration_ms_ || due < stop_at_) std::this_thread::sleep_until(due);
  return due;
}

void Bench::Record(const pb::SubmitBatchRequest& req, const pb::SubmitBatchResponse& resp,
                   const grpc::Status& s, const std::vector<size_t>& slots, Clock::duration latency,
                   ClientStats* st) {
  const auto n = static_cast<uint64_t>(req.txs_size());
  live_.answered.fetch_add(n, std::memory_order_relaxed);
  if (!s.ok()) {
    st->errors[GrpcCodeName(s.error_code())] += n;
    live_.errors.fetch_add(n, std::memory_order_relaxed);
    return;
  }
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(latency).count();
  st->latencies.emplace_back(static_cast<uint32_t>(std::min<int64_t>(us, UINT32_MAX)),
                             static_cast<uint32_t>(n));
  uint64_t ok = 0;
  for (size_t k = 0; k < slots.size(); ++k) {
    const pb::TxResult& r = resp.results(static_cast<int>(k));
    Ack& a = acks_[slots[k]];
    a.code = r.code();
    a.height = r.height();
    a.index = r.index();
    a.already_applied = r.already_applied();
    if (r.has_failed_operation()) a.failed_operation = r.failed_operation();
    if (r.code() == pb::RESULT_OK && !r.already_applied()) {
      ++ok;
    } else {
      ++st->rejected[r.already_applied() ? pb::RESULT_ALREADY_APPLIED : r.code()];
    }
  }
  live_.committed.fetch_add(ok, std::memory_order_relaxed);
  live_.rejected.fetch_add(n - ok, std::memory_order_relaxed);
}

// Samples the node every kSampleInterval for its peak RSS and prints the
// progress line once a second until the window closes.
void Bench::Monitor() {
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  uint64_t last_committed = 0;
  int tick = 0;
  double cpu_last = node_start_.cpu_seconds;
  std::unique_lock<std::mutex> lock(monitor_mu_);
  while (!monitor_cv_.wait_for(lock, kSampleInterval, [&] { return window_done_; })) {
    ProbeSample sample;
    if (probe_.enabled()) {
      sample = probe_.Sample();
      if (sample.ok) node_rss_peak_ = std::max(node_rss_peak_, sample.rss_bytes);
    }
    if (++tick % kSamplesPerProgressLine != 0 || o_.quiet) continue;
    uint64_t committed = live_.committed.load();
    // Transactions; with --ops N also operations/s (N per transaction).
    const std::string ops_rate =
        o_.ops > 1 ? ", " + WithCommas((committed - last_committed) * o_.ops) + " ops/s" : "";
    std::string line =
        "[" + std::to_string(tick / kSamplesPerProgressLine) + "s] sent " +
        WithCommas(live_.submitted.load()) + "  committed " + WithCommas(committed) + " (" +
        WithCommas(committed - last_committed) + "/s" + ops_rate + ")  in flight " +
        WithCommas(live_.submitted.load() - live_.answered.load()) + "  rejected " +
        WithCommas(live_.rejected.load()) + "  errors " + WithCommas(live_.errors.load());
    if (sample.ok) {
      line += "  node " + Fixed(sample.cpu_seconds - cpu_last, 2) + " cores, " +
              WithCommas(sample.rss_bytes >> 20) + " MiB";
      cpu_last = sample.cpu_seconds;
    }
    last_committed = committed;
    if (tty) {
      std::cerr << "\r\033[K" << line << std::flush;
    } else {
      std::cerr << line << "\n";
    }
  }
  if (tty && !o_.quiet && tick >= kSamplesPerProgressLine) std::cerr << "\n";
}

}  // namespace chip::cli::bench_internal
