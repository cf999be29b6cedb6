// The connections of `chip bench` and its one submitting call, Exchange.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>

#include "chipledger/v1/ledger.grpc.pb.h"
#include "cli/bench/common.h"
#include "cli/util.h"

namespace chip::cli::bench_internal {

// A channel with its own TCP connection, with chip's TLS options.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target);

// A fresh context with a deadline `timeout_ms` from now.
std::unique_ptr<grpc::ClientContext> Context(uint64_t timeout_ms);

// The error to report for a failed call to the node at `target`: exit code
// kExitUnreachable for UNAVAILABLE and DEADLINE_EXCEEDED, else kExitError.
CliError NodeError(const std::string& target, const grpc::Status& s);

// Sends one request (SubmitTx when `single`, else a non-atomic SubmitBatch),
// retrying while the node's mempool is full until `give_up`. On OK, resp
// holds one result per transaction of req.
grpc::Status Exchange(chipledger::v1::Ledger::Stub* stub, uint64_t timeout_ms, bool single,
                      chipledger::v1::SubmitBatchRequest* req,
                      chipledger::v1::SubmitBatchResponse* resp, Clock::time_point give_up,
                      uint64_t* busy_retries);

}  // namespace chip::cli::bench_internal
