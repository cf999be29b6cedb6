// gRPC plumbing for chipledger.v1.Ledger. Each handler validates its request
// (sizes, lengths, cursors) and maps ledger Status codes to gRPC codes; rule
// violations of transactions are result codes inside OK responses.
#pragma once

#include <grpcpp/impl/rpc_service_method.h>
#include <grpcpp/support/method_handler.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <set>
#include <string>

#include "chipledger/v1/ledger.grpc.pb.h"
#include "ledger/chain.h"
#include "node/ops/config.h"
#include "node/ops/metrics.h"
#include "node/order/orderer.h"
#include "node/serve/admission.h"
#include "node/serve/client_limits.h"

namespace chip::node {

struct NodeContext {
  Chain* chain = nullptr;  // genesis/rules are immutable; store reads are thread-safe
  Orderer* orderer = nullptr;
  Metrics* metrics = nullptr;
  PendingBook* pending = nullptr;  // admission (node/serve/admission.h)
  ClientLimits* limits = nullptr;  // rate and connection limits (client_limits.h)
  NodeConfig config;
  PublicKey node_key{};
  const SecretKey* node_secret = nullptr;  // signs checkpoints
  std::chrono::steady_clock::time_point started;
  std::atomic<bool> stopping{false};
  std::atomic<uint32_t> streams{0};
};

class LedgerService final : public chipledger::v1::Ledger::Service {
 public:
  explicit LedgerService(NodeContext* ctx) : ctx_(ctx) {}

  grpc::Status SubmitTx(grpc::ServerContext* context, const chipledger::v1::SubmitTxRequest* req,
                        chipledger::v1::SubmitTxResponse* resp) override;
  grpc::Status SubmitBatch(grpc::ServerContext* context,
                           const chipledger::v1::SubmitBatchRequest* req,
                           chipledger::v1::SubmitBatchResponse* resp) override;
  grpc::Status GetTx(grpc::ServerContext* context, const chipledger::v1::GetTxRequest* req,
                     chipledger::v1::GetTxResponse* resp) override;
  grpc::Status GetAccount(grpc::ServerContext* context,
                          const chipledger::v1::GetAccountRequest* req,
                          chipledger::v1::GetAccountResponse* resp) override;
  grpc::Status GetReservation(grpc::ServerContext* context,
                              const chipledger::v1::GetReservationRequest* req,
                              chipledger::v1::GetReservationResponse* resp) override;
  grpc::Status ListHistory(grpc::ServerContext* context,
                           const chipledger::v1::ListHistoryRequest* req,
                           chipledger::v1::ListHistoryResponse* resp) override;
  grpc::Status GetBlock(grpc::ServerContext* context, const chipledger::v1::GetBlockRequest* req,
                        chipledger::v1::GetBlockResponse* resp) override;
  grpc::Status ListBlocks(grpc::ServerContext* context,
                          const chipledger::v1::ListBlocksRequest* req,
                          chipledger::v1::ListBlocksResponse* resp) override;
  grpc::Status StreamBlocks(
      grpc::ServerContext* context, const chipledger::v1::StreamBlocksRequest* req,
      grpc::ServerWriter<chipledger::v1::StreamBlocksResponse>* writer) override;
  grpc::Status GetStatus(grpc::ServerContext* context, const chipledger::v1::GetStatusRequest* req,
                         chipledger::v1::GetStatusResponse* resp) override;
  grpc::Status GetCheckpoint(grpc::ServerContext* context,
                             const chipledger::v1::GetCheckpointRequest* req,
                             chipledger::v1::GetCheckpointResponse* resp) override;
  grpc::Status GetInclusionProof(grpc::ServerContext* context,
                                 const chipledger::v1::GetInclusionProofRequest* req,
                                 chipledger::v1::GetInclusionProofResponse* resp) override;
  grpc::Status GetConsistencyProof(grpc::ServerContext* context,
                                   const chipledger::v1::GetConsistencyProofRequest* req,
                                   chipledger::v1::GetConsistencyProofResponse* resp) override;
  grpc::Status GetFund(grpc::ServerContext* context, const chipledger::v1::GetFundRequest* req,
                       chipledger::v1::GetFundResponse* resp) override;

 private:
  // Queues checked transactions and waits for their block (or the client's
  // deadline / cancellation).
  // Whether admission makes its state-dependent checks for this request:
  // on the node that orders it (forwarded to this producer, or ordered here).
  bool StateChecks(grpc::ServerContext* context) const;
  // The per-client rate limit and per-connection bound (client_limits.h),
  // before any signature is verified; RESOURCE_EXHAUSTED, with trailing
  // metadata retry-after-ms for the rate limit, when they refuse.
  grpc::Status Limit(grpc::ServerContext* context, uint64_t txs,
                     std::unique_ptr<ClientLimits::Ticket>* ticket);
  grpc::Status SubmitAndWait(grpc::ServerContext* context,
                             std::vector<chipledger::v1::SignedTx> txs,
                             std::vector<CheckedTx> checked, bool atomic,
                             std::vector<chipledger::v1::TxResult>* results);
  NodeContext* ctx_;
};

// Runs a handler body, turning a stray exception from a library into
// INTERNAL plus a log line (our own code does not throw), and counts failed
// calls. Shared by every gRPC service of the node.
template <typename Fn>
grpc::Status Guard(const char* method, Metrics* metrics, Fn&& fn) {
  grpc::Status s;
  try {
    s = fn();
  } catch (const std::exception& e) {
    spdlog::error("{}: unexpected exception: {}", method, e.what());
    s = grpc::Status(grpc::StatusCode::INTERNAL, std::string("internal error in ") + method);
  } catch (...) {
    spdlog::error("{}: unexpected exception", method);
    s = grpc::Status(grpc::StatusCode::INTERNAL, std::string("internal error in ") + method);
  }
  if (!s.ok()) metrics->rpc_errors.fetch_add(1, std::memory_order_relaxed);
  return s;
}

// Maps an operating Status to the gRPC status a client sees.
grpc::Status ToGrpc(const Status& s);

// INVALID_ARGUMENT with `message`: the answer of both services to a request
// field they refuse.
grpc::Status InvalidArgument(const std::string& message);

// The methods of one of the node's gRPC services as the server registers
// them, in place of the generated Service's own table. The generated
// handlers answer a request whose bytes do not parse as the method's request
// message INTERNAL with an empty message, before any handler code runs, and
// nothing is logged. Here each method is the generated handler behind one
// that turns that refusal into INVALID_ARGUMENT "failed to parse the request
// as <type> (<n> bytes)", logs it at debug level and counts it in
// rpc_errors. Parsing itself is gRPC's, unchanged: its protobuf reader over
// the received slices, into a message in the call's arena (no extra copy).
// Built once before the server starts; gRPC then only reads it. It uses the
// grpc::internal handler classes that generated code uses (gRPC 1.51,
// Debian 12); the integration test "a request that does not parse is
// INVALID_ARGUMENT ..." checks every method again after a gRPC upgrade.
class ParsedRequestService final : public grpc::Service {
 public:
  // `service_full_name`: the proto service, e.g. "chipledger.v1.Ledger"; its
  // descriptor must be in the generated pool.
  ParsedRequestService(const std::string& service_full_name, Metrics* metrics);

  // Serves the unary method named `method` in the proto with (impl->*fn).
  template <class Impl, class Req, class Resp>
  void AddUnary(const char* method, Impl* impl,
                grpc::Status (Impl::*fn)(grpc::ServerContext*, const Req*, Resp*)) {
    Add(method, grpc::internal::RpcMethod::NORMAL_RPC, Req::descriptor(), Resp::descriptor(),
        new grpc::internal::RpcMethodHandler<Impl, Req, Resp, grpc::protobuf::MessageLite,
                                             grpc::protobuf::MessageLite>(
            [fn](Impl* s, grpc::ServerContext* c, const Req* req, Resp* resp) {
              return (s->*fn)(c, req, resp);
            },
            impl));
  }
  // Serves the server-streaming method named `method` with (impl->*fn).
  template <class Impl, class Req, class Resp>
  void AddServerStreaming(const char* method, Impl* impl,
                          grpc::Status (Impl::*fn)(grpc::ServerContext*, const Req*,
                                                   grpc::ServerWriter<Resp>*)) {
    Add(method, grpc::internal::RpcMethod::SERVER_STREAMING, Req::descriptor(), Resp::descriptor(),
        new grpc::internal::ServerStreamingHandler<Impl, Req, Resp>(
            [fn](Impl* s, grpc::ServerContext* c, const Req* req, grpc::ServerWriter<Resp>* w) {
              return (s->*fn)(c, req, w);
            },
            impl));
  }
  // Asserts (always on) that every method of the proto service was added: a
  // method added to the proto but not here would otherwise go unserved.
  void CheckComplete() const;

 private:
  // Asserts that `method` exists with these types and kind and was not added
  // before; takes `handler`.
  void Add(const char* method, grpc::internal::RpcMethod::RpcType type,
           const google::protobuf::Descriptor* request,
           const google::protobuf::Descriptor* response, grpc::internal::MethodHandler* handler);

  const google::protobuf::ServiceDescriptor* descriptor_;
  Metrics* metrics_;
  std::set<std::string> added_;
  std::deque<std::string> paths_;  // "/service/method": gRPC keeps a pointer to each
};

// The Ledger service's methods, served by `ledger`.
std::unique_ptr<ParsedRequestService> LedgerMethods(LedgerService* ledger, Metrics* metrics);

constexpr uint32_t kPageSizeDefault = 20;
constexpr uint32_t kPageSizeMax = 100;
constexpr size_t kOpenReservationsListed = 100;

}  // namespace chip::node
