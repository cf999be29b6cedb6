#include "cli/bench/rpc.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "cli/tls.h"
#include "support/grpc_names.h"

namespace chip::cli::bench_internal {

namespace pb = ::chipledger::v1;

namespace {

// While the node's mempool is full (RESOURCE_EXHAUSTED) a batch is retried
// with a doubling pause up to this bound, at most this many times.
constexpr uint32_t kBusyRetriesMax = 1'000;
constexpr uint64_t kBusyBackoffMsMax = 50;

}  // namespace

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  // A channel of its own subchannel pool opens its own TCP connection, so
  // --connections really means connections (gRPC otherwise shares one
  // connection between channels with equal arguments).
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return NewChannel(target, args);  // with chip's TLS options (cli/tls.h)
}

std::unique_ptr<grpc::ClientContext> Context(uint64_t timeout_ms) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
  return ctx;
}

CliError NodeError(const std::string& target, const grpc::Status& s) {
  int code = s.error_code() == grpc::StatusCode::UNAVAILABLE ||
                     s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED
                 ? kExitUnreachable
                 : kExitError;
  return {code, "node at " + target + ": " + GrpcCodeName(s.error_code()) + ": " +
                    s.error_message() + TlsFailureHint(s.error_message())};
}

grpc::Status Exchange(pb::Ledger::Stub* stub, uint64_t timeout_ms, bool single,
                      pb::SubmitBatchRequest* req, pb::SubmitBatchResponse* resp,
                      Clock::time_point give_up, uint64_t* busy_retries) {
  for (uint32_t attempt = 0;; ++attempt) {
    auto ctx = Context(timeout_ms);
    grpc::Status s;
    resp->Clear();
    if (single) {
      pb::SubmitTxRequest one;
      one.mutable_tx()->Swap(req->mutable_txs(0));
      pb::SubmitTxResponse r;
      s = stub->SubmitTx(ctx.get(), one, &r);
      one.mutable_tx()->Swap(req->mutable_txs(0));  // kept for a retry
      if (s.ok()) *resp->add_results() = r.result();
    } else {
      s = stub->SubmitBatch(ctx.get(), *req, resp);
    }
    if (s.ok() && resp->results_size() != req->txs_size()) {
      return grpc::Status(grpc::StatusCode::INTERNAL,
                          "node answered " + std::to_string(resp->results_size()) +
                              " results for " + std::to_string(req->txs_size()) + " transactions");
    }
    if (s.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED || attempt + 1 >= kBusyRetriesMax ||
        Clock::now() >= give_up) {
      return s;
    }
    ++*busy_retries;
    uint64_t pause_ms = std::min<uint64_t>(kBusyBackoffMsMax, uint64_t{1} << std::min(attempt, 6u));
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
  }
}

}  // namespace chip::cli::bench_internal
