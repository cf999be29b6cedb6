// Transport security of every gRPC channel chip opens (the Ledger and Pricing
// clients, chip verify, chip bench): TLS with a CA and an optional client
// certificate, or plaintext. docs/USAGE.md, "Connecting over TLS".
//
// This mirrors node/serve/tls.h MakeChannelCredentials, which chip cannot use
// (cli/ never depends on node/). Like it, it checks the PEM files itself
// (without X.509 parsing), so a missing, malformed or wrong kind of file is a
// message naming it instead of an obscure gRPC failure at the first call. A
// key that is not the certificate's only gRPC detects, when a channel first
// connects: TlsFailureHint then points at --tls-cert and --tls-key.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <memory>
#include <string>

#include "ledger/status.h"

namespace chip::cli {

// Largest TLS file chip reads.
constexpr size_t kTlsFileBytesMax = 1 << 20;

// The global options --tls-ca, --tls-cert, --tls-key, --tls-server-name
// (env CHIP_TLS_CA, CHIP_TLS_CERT, CHIP_TLS_KEY, CHIP_TLS_SERVER_NAME). PEM
// files; empty strings mean "none".
struct TlsOptions {
  std::string ca_file;    // CA the node's certificate must chain to; "" = plaintext
  std::string cert_file;  // client certificate, for nodes that ask for one
  std::string key_file;   // its private key (unencrypted)
  // The name the node's certificate must carry; "" = the host of --node.
  std::string server_name;
};

// Reads and checks the files of `tls` and makes them the credentials of
// every channel NewChannel opens afterwards. main calls it once, before any
// channel exists: one chip process talks to one node with one identity, so
// a process-wide setting spares threading credentials through every
// command. It also silences gRPC's own log lines (chip reports every
// failure itself) unless GRPC_VERBOSITY is set.
// Errors (InvalidArgument, NotFound) name the option and the file: a
// certificate or key without the other, --tls-cert or --tls-server-name
// without --tls-ca, a file that is missing, too large, malformed PEM or
// without a block of the expected kind, or an encrypted key.
[[nodiscard]] Status ConfigureChannels(const TlsOptions& tls);
// True once ConfigureChannels was given a CA file.
bool TlsEnabled();
// A channel to `target` (host:port) with the configured credentials
// (plaintext before or without ConfigureChannels) and server-name override.
std::shared_ptr<grpc::Channel> NewChannel(const std::string& target, grpc::ChannelArguments args);
// A hint to append to a connection failure's message `grpc_message`: what
// in the TLS options may be wrong, or "" when nothing points at TLS.
std::string TlsFailureHint(const std::string& grpc_message);
// True when `grpc_message` reports a failed TLS handshake (as opposed to a
// node that is down or a connection that was closed).
bool IsTlsHandshakeFailure(const std::string& grpc_message);

}  // namespace chip::cli
