// Per-client limits on submissions (docs/OPERATIONS.md, "Exposure"), applied
// before any signature is verified:
//  - a token bucket of transactions per second for each client: its TLS
//    client certificate's common name when it presented one, else its IP
//    address (submit_rate_per_client, submit_burst_per_client; off at 0);
//  - a bound on the transactions one connection has waiting for their
//    results (connection_pending_tx_max).
// Both answer RESOURCE_EXHAUSTED; the rate limit adds the trailing metadata
// `retry-after-ms` and says when in its message.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "ledger/status.h"
#include "node/ops/metrics.h"

namespace chip::node {

class ClientLimits {
 public:
  struct Options {
    uint32_t rate_per_s = 0;  // 0: no rate limit
    uint32_t burst = 0;       // bucket size, transactions
    uint32_t connection_pending_max = 0;
  };
  ClientLimits(Options options, Metrics* metrics) : options_(options), metrics_(metrics) {}
  ClientLimits(const ClientLimits&) = delete;
  ClientLimits& operator=(const ClientLimits&) = delete;

  // A connection's share of pending transactions; released when destroyed.
  class Ticket {
   public:
    Ticket(ClientLimits* limits, std::string connection, uint64_t txs)
        : limits_(limits), connection_(std::move(connection)), txs_(txs) {}
    ~Ticket() { limits_->Release(connection_, txs_); }
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;

   private:
    ClientLimits* limits_;
    std::string connection_;
    uint64_t txs_;
  };

  // Takes `txs` transactions from the client's bucket and adds them to its
  // connection's pending count. ResourceExhausted (with *retry_after_ms set
  // for the rate limit) when either limit refuses; nothing is taken then.
  Status Admit(grpc::ServerContext* context, uint64_t txs, std::unique_ptr<Ticket>* ticket,
               uint64_t* retry_after_ms);

  // The identity the rate limit counts for this call (for tests and logs).
  static std::string ClientOf(grpc::ServerContext* context);

 private:
  struct Bucket {
    uint64_t milli_tokens = 0;
    std::chrono::steady_clock::time_point refilled;
  };
  void Release(const std::string& connection, uint64_t txs);
  void Forget(std::chrono::steady_clock::time_point now);

  const Options options_;
  Metrics* metrics_;
  std::mutex mu_;
  std::map<std::string, Bucket> buckets_;    // by client
  std::map<std::string, uint64_t> pending_;  // by connection (gRPC peer)
};

// Clients whose buckets are remembered at most; beyond, full buckets (idle
// clients) are forgotten.
inline constexpr size_t kRateClientsMax = 100'000;

}  // namespace chip::node
