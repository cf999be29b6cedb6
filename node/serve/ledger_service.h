// gRPC plumbing for chipledger.v1.Ledger. Each handler validates its request
// (sizes, lengths, cursors) and maps ledger Status codes to gRPC codes; rule
// violations of transactions are result codes inside OK responses.
#pragma once

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>

#include "chipledger/v1/ledger.grpc.pb.h"
#include "ledger/chain.h"
#include "node/ops/config.h"
#include "node/ops/metrics.h"
#include "node/order/orderer.h"

namespace chip::node {

struct NodeContext {
  Chain* chain = nullptr;  // genesis/rules are immutable; store reads are thread-safe
  Orderer* orderer = nullptr;
  Metrics* metrics = nullptr;
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

 private:
  // Queues checked transactions and waits for their block (or the client's
  // deadline / cancellation).
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

constexpr uint32_t kPageSizeDefault = 20;
constexpr uint32_t kPageSizeMax = 100;
constexpr size_t kOpenReservationsListed = 100;

}  // namespace chip::node
