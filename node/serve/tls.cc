#include "node/serve/tls.h"

#include <fcntl.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <vector>

#include "ledger/file_util.h"
#include "ledger/pem.h"

namespace chip::node {
namespace {

// The files are checked as far as that needs no X.509 parsing
// (ledger/pem.h). gRPC gets the file text and does the rest: it refuses a
// key that is not the certificate's, or a certificate it cannot parse, when
// the server starts (node.cc says so), and peers refuse an expired
// certificate at the handshake.

// Reads a whole PEM file of at most kTlsFileBytesMax bytes. `what` names its
// role in messages ("TLS certificate").
Result<std::string> ReadPemFile(const std::string& what, const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return Status::NotFound(what + " " + path + ": " + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) return Status::InvalidArgument(what + " " + path + " is a directory");
  auto text = ReadSmallFile(path, kTlsFileBytesMax);
  if (!text.ok()) {
    if (text.status().code() == Status::Code::kNotFound) {
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      std::string why = fd < 0 ? std::strerror(errno) : "cannot read it";
      if (fd >= 0) ::close(fd);
      return Status::NotFound(what + " " + path + ": " + why);
    }
    return Status::InvalidArgument(what + " " + text.status().message());
  }
  return text;
}

// A certificate chain and its key, both PEM. Whether they belong together
// only gRPC finds out (see the top of this file).
struct KeyPair {
  std::string cert_pem;
  std::string key_pem;
};

Result<KeyPair> LoadKeyPair(const std::string& cert_file, const std::string& key_file) {
  auto cert_pem = ReadPemFile("TLS certificate", cert_file);
  if (!cert_pem.ok()) return cert_pem.status();
  CHIP_RETURN_IF_ERROR(CheckPemCertificates("TLS certificate", cert_file, *cert_pem));
  auto key_pem = ReadPemFile("TLS key", key_file);
  if (!key_pem.ok()) return key_pem.status();
  CHIP_RETURN_IF_ERROR(CheckPemPrivateKey(
      "TLS key", key_file, *key_pem,
      "the node cannot ask for a passphrase: store it unencrypted with mode 0600"));
  struct stat st;
  if (::stat(key_file.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    spdlog::warn("TLS key {} is readable by other users (mode {:o}); chmod 600 it", key_file,
                 st.st_mode & 0777);
  }
  return KeyPair{std::move(*cert_pem), std::move(*key_pem)};
}

Result<std::string> LoadCaFile(const std::string& what, const std::string& path) {
  auto pem = ReadPemFile(what, path);
  if (!pem.ok()) return pem.status();
  CHIP_RETURN_IF_ERROR(CheckPemCertificates(what, path, *pem));
  return pem;
}

}  // namespace

TlsFiles ServerTlsFiles(const NodeConfig& c) {
  TlsFiles f;
  f.ca_file = c.tls_client_ca_file;
  f.cert_file = c.tls_cert_file;
  f.key_file = c.tls_key_file;
  f.require_client_cert = c.tls_require_client_cert;
  return f;
}

TlsFiles PeerTlsFiles(const NodeConfig& c) {
  TlsFiles f;
  if (c.tls_cert_file.empty()) return f;
  f.ca_file = c.tls_client_ca_file;
  f.cert_file = c.tls_cert_file;
  f.key_file = c.tls_key_file;
  return f;
}

std::string DescribeServerTls(const TlsFiles& files) {
  if (files.cert_file.empty()) return "gRPC is plaintext (no TLS certificate)";
  std::string clients = "not asked for";
  if (!files.ca_file.empty()) {
    clients = std::string(files.require_client_cert ? "required" : "verified when presented") +
              " (CA " + files.ca_file + ")";
  }
  return "gRPC over TLS with certificate " + files.cert_file + "; client certificates " + clients;
}

Result<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsFiles& files, const std::string& listen, bool allow_plaintext_remote) {
  if (files.cert_file.empty() != files.key_file.empty()) {
    return Status::InvalidArgument(
        "a TLS server needs both a certificate and its key (tls_cert_file and tls_key_file)");
  }
  if (files.cert_file.empty()) {
    if (!files.ca_file.empty() || files.require_client_cert) {
      return Status::InvalidArgument(
          "client certificates (tls_client_ca_file, tls_require_client_cert) need TLS: set "
          "tls_cert_file and tls_key_file too");
    }
    if (!IsLoopback(listen) && !allow_plaintext_remote) {
      return Status::FailedPrecondition(
          "listen address " + listen +
          " is not loopback and no TLS certificate is configured, so traffic would be "
          "plaintext: pass --tls-cert and --tls-key (tls_cert_file, tls_key_file), or "
          "--allow-plaintext-remote (allow_plaintext_remote = true) to accept plaintext");
    }
    return grpc::InsecureServerCredentials();
  }
  if (files.require_client_cert && files.ca_file.empty()) {
    return Status::InvalidArgument(
        "tls_require_client_cert needs tls_client_ca_file: the CA that signs client "
        "certificates");
  }
  auto pair = LoadKeyPair(files.cert_file, files.key_file);
  if (!pair.ok()) return pair.status();
  grpc_ssl_client_certificate_request_type request = GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
  std::string ca_pem;
  if (!files.ca_file.empty()) {
    auto ca = LoadCaFile("TLS client CA", files.ca_file);
    if (!ca.ok()) return ca.status();
    ca_pem = std::move(*ca);
    request = files.require_client_cert ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                        : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  grpc::SslServerCredentialsOptions options(request);
  options.pem_root_certs = std::move(ca_pem);
  options.pem_key_cert_pairs.push_back({pair->key_pem, pair->cert_pem});
  auto creds = grpc::SslServerCredentials(options);
  if (!creds) return Status::Internal("gRPC refused the TLS server credentials");
  return creds;
}

Result<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const TlsFiles& files, const std::string& target) {
  if (files.cert_file.empty() != files.key_file.empty()) {
    return Status::InvalidArgument("a TLS client certificate for " + target +
                                   " needs both the certificate and its key");
  }
  if (files.ca_file.empty()) {
    if (!files.cert_file.empty()) {
      return Status::InvalidArgument("a TLS client certificate for " + target +
                                     " needs the CA file of the server too (TLS is off "
                                     "without it)");
    }
    return grpc::InsecureChannelCredentials();
  }
  grpc::SslCredentialsOptions options;
  auto ca = LoadCaFile("TLS CA", files.ca_file);
  if (!ca.ok()) return ca.status();
  options.pem_root_certs = std::move(*ca);
  if (!files.cert_file.empty()) {
    auto pair = LoadKeyPair(files.cert_file, files.key_file);
    if (!pair.ok()) return pair.status();
    options.pem_cert_chain = std::move(pair->cert_pem);
    options.pem_private_key = std::move(pair->key_pem);
  }
  auto creds = grpc::SslCredentials(options);
  if (!creds) return Status::Internal("gRPC refused the TLS channel credentials for " + target);
  return creds;
}

}  // namespace chip::node
