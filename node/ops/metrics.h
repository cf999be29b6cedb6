// Node metrics in the Prometheus text exposition format, served over HTTP by
// civetweb on a separate local port. Counters are lock-free atomics so the hot
// path pays one relaxed increment.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "chipledger/v1/types.pb.h"
#include "ledger/status.h"

struct mg_context;
struct mg_connection;

namespace chip::node {

// Submit-to-commit latency histogram with fixed bucket bounds (seconds).
class LatencyHistogram {
 public:
  static constexpr std::array<double, 14> kBoundsSeconds = {
      0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30};
  void Observe(uint64_t micros);
  void Render(const std::string& name, std::string* out) const;

 private:
  std::array<std::atomic<uint64_t>, kBoundsSeconds.size() + 1> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_micros_{0};
};

class Metrics {
 public:
  Metrics();
  std::atomic<uint64_t> blocks_committed{0};
  std::atomic<uint64_t> txs_committed{0};  // recorded in a block (any code)
  std::atomic<uint64_t> mempool_depth{0};
  std::atomic<uint64_t> mempool_rejections{0};  // RESOURCE_EXHAUSTED answers
  std::atomic<uint64_t> block_failures{0};      // blocks that failed to commit
  // Transactions refused at admission, not recorded (ledger/admission.h).
  std::atomic<uint64_t> admission_refusals{0};
  // Submissions refused because their signer had signer_pending_tx_max pending.
  std::atomic<uint64_t> signer_pending_rejections{0};
  std::atomic<uint64_t> pending_signers{0};  // signers with admitted, uncommitted txs
  // Submissions refused by the per-client rate limit or the per-connection
  // pending bound (node/serve/client_limits.h).
  std::atomic<uint64_t> rate_limited{0};
  std::atomic<uint64_t> connection_pending_rejections{0};
  std::atomic<uint64_t> rpc_errors{0};
  LatencyHistogram submit_latency;

  void CountResult(chipledger::v1::ResultCode code);
  // Extra gauges filled at scrape time (height, RocksDB, process figures).
  void SetGaugeSource(std::function<void(std::string*)> fn) { gauges_ = std::move(fn); }
  std::string Render() const;

 private:
  static constexpr int kCodesMax = 64;
  std::array<std::atomic<uint64_t>, kCodesMax> results_{};
  std::function<void(std::string*)> gauges_;
};

// Serves GET /metrics; Start fails with Unavailable if the port is taken.
class MetricsServer {
 public:
  explicit MetricsServer(const Metrics* metrics) : metrics_(metrics) {}
  ~MetricsServer();
  Status Start(const std::string& host_port);
  void Stop();

 private:
  static int Handle(::mg_connection* conn, void* self);
  const Metrics* metrics_;
  mg_context* ctx_ = nullptr;
};

// Appends process figures (RSS, CPU seconds, open fds, threads) from /proc.
void RenderProcessMetrics(std::string* out);

}  // namespace chip::node
