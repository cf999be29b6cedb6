#include "cli/client.h"

#include <chrono>

#include "cli/tls.h"

namespace chip::cli {

NodeClient::NodeClient(std::string target, uint64_t timeout_ms)
    : target_(std::move(target)), timeout_ms_(timeout_ms) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  channel_ = NewChannel(target_, args);  // TLS or plaintext, as chip's options say
  stub_ = chipledger::v1::Ledger::NewStub(channel_);
}

std::unique_ptr<grpc::ClientContext> NodeClient::Context() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms_));
  return ctx;
}

CliError NodeClient::Error(const grpc::Status& s) const {
  switch (s.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      if (IsTlsHandshakeFailure(s.error_message())) {
        return {kExitUnreachable, "TLS handshake with node at " + target_ + " failed: " +
                                      s.error_message() + TlsFailureHint(s.error_message())};
      }
      // gRPC's own connection failures versus a node that answered that it
      // cannot serve the request right now (shutting down, storage failure).
      if (s.error_message().find("failed to connect") != std::string::npos ||
          s.error_message().find("Connection refused") != std::string::npos ||
          s.error_message().find("Socket closed") != std::string::npos) {
        return {kExitUnreachable, "cannot reach node at " + target_ + ": " + s.error_message() +
                                      TlsFailureHint(s.error_message())};
      }
      return {kExitUnreachable, "node at " + target_ + " is unavailable: " + s.error_message()};
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return {kExitError, "node refused the request for now: " + s.error_message()};
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return {kExitUnreachable, "node at " + target_ + " did not answer within " +
                                    std::to_string(timeout_ms_) +
                                    " ms (a submitted transaction may still commit: resubmitting "
                                    "it is safe)"};
    case grpc::StatusCode::INVALID_ARGUMENT:
      return {kExitUsage, "node refused the request: " + s.error_message()};
    case grpc::StatusCode::NOT_FOUND:
      return {kExitError, s.error_message()};
    default:
      return {kExitError, "node error (" + std::to_string(static_cast<int>(s.error_code())) +
                              "): " + s.error_message()};
  }
}

}  // namespace chip::cli
