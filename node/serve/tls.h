// gRPC transport security of chipd: the server's credentials (TLS, optional
// client certificates, or plaintext on loopback) and the channel credentials
// a node uses to reach another node. docs/OPERATIONS.md, "TLS", is the
// operator's side of this; scripts/dev-ca.sh makes development certificates.
//
// Rules:
// - Plaintext is served only on loopback (127.0.0.0/8, ::1, localhost) unless
//   the caller passes allow_plaintext_remote.
// - Every file is PEM, read whole with a size limit (kTlsFileBytesMax) and
//   checked here without X.509 parsing (well-formed PEM blocks, one of the
//   kind the file's role needs), so a missing, oversized or malformed file
//   is a Status naming the file. Whether the key belongs to the certificate
//   and the certificate is in date, gRPC alone finds out: it refuses a
//   mismatched pair when the server starts (Node::Start reports it), and
//   peers refuse an expired certificate at the handshake.
// - Private keys must be unencrypted PEM: the node cannot prompt.
#pragma once

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <cstddef>
#include <memory>
#include <string>

#include "ledger/status.h"
#include "node/ops/config.h"

namespace chip::node {

// Largest PEM file read (a certificate chain or a bundle of CAs).
constexpr size_t kTlsFileBytesMax = 1 << 20;

// The PEM files of one side of a TLS connection. Empty strings mean "none".
struct TlsFiles {
  // Server: the CA(s) whose client certificates are verified (clients are
  //   asked for a certificate only when this is set).
  // Client: the CA(s) the server's certificate must chain to. Without it the
  //   channel is plaintext.
  std::string ca_file;
  // This side's certificate chain (leaf first) and its private key. Server:
  // required for TLS. Client: optional, a client certificate.
  std::string cert_file;
  std::string key_file;
  // Server only: refuse clients that present no certificate signed by
  // ca_file (GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY).
  // Without it, a certificate a client does present is still verified.
  bool require_client_cert = false;
};

// The server side of a node's configuration (tls_cert_file, tls_key_file,
// tls_client_ca_file, tls_require_client_cert).
TlsFiles ServerTlsFiles(const NodeConfig& config);
// What a node uses to reach another node of its cluster: the cluster CA
// (tls_client_ca_file, which signs the nodes' certificates too) as roots,
// and the node's own certificate and key as its client certificate. All
// empty when the node has no TLS configured (plaintext).
TlsFiles PeerTlsFiles(const NodeConfig& config);

// One line for the log: how the server's port is secured, e.g. "gRPC over
// TLS with certificate /etc/chipd/node.crt; client certificates required
// (CA /etc/chipd/ca.crt)" or "gRPC is plaintext (no TLS certificate)".
std::string DescribeServerTls(const TlsFiles& files);

// Credentials for a gRPC server listening on `listen` (host:port).
// - files.cert_file and files.key_file set: TLS with that certificate. With
//   files.ca_file, client certificates are requested and verified against
//   it, and required when files.require_client_cert.
// - Neither set: plaintext, if the host of `listen` is loopback or
//   allow_plaintext_remote; otherwise FailedPrecondition saying how to fix it.
// Errors: InvalidArgument for an inconsistent set (a certificate without its
// key, a CA or require_client_cert without a certificate, require without a
// CA), a file too large, a malformed PEM file, one without a block of the
// expected kind (CERTIFICATE; PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE
// KEY), or an encrypted key; NotFound for a file that cannot be read.
// Messages name the file. A key that does not match the certificate is not
// detected here (see the rules above).
[[nodiscard]] Result<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsFiles& files, const std::string& listen, bool allow_plaintext_remote);

// Credentials for a channel to `target` (host:port; used in messages).
// - files.ca_file set: TLS, the server's certificate verified against it
//   and its name against the target's host (override that name with
//   grpc::ChannelArguments::SetSslTargetNameOverride). With cert_file and
//   key_file, they are presented as the client certificate.
// - files.ca_file empty: plaintext, for any target. That is meant for
//   loopback and development; the caller decides whether it is acceptable.
// Errors as for MakeServerCredentials; a certificate without a CA file is
// InvalidArgument (it would be sent nowhere).
[[nodiscard]] Result<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const TlsFiles& files, const std::string& target);

}  // namespace chip::node
