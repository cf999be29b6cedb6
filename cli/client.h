// The chip CLI's connection to a node: a gRPC stub with a per-call deadline
// over a channel secured as cli/tls.h configured, and the mapping from gRPC
// failures to CLI exit codes.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "chipledger/v1/ledger.grpc.pb.h"
#include "cli/util.h"

namespace chip::cli {

class NodeClient {
 public:
  NodeClient(std::string target, uint64_t timeout_ms);
  chipledger::v1::Ledger::Stub* stub() { return stub_.get(); }
  // A fresh context carrying the deadline.
  std::unique_ptr<grpc::ClientContext> Context() const;
  const std::string& target() const { return target_; }
  // The error to report for a failed call. A failed TLS handshake is
  // kExitUnreachable, with a hint at the TLS option that may be wrong.
  CliError Error(const grpc::Status& s) const;

 private:
  std::string target_;
  uint64_t timeout_ms_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<chipledger::v1::Ledger::Stub> stub_;
};

}  // namespace chip::cli
