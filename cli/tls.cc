#include "cli/tls.h"

#include <grpc/support/log.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <vector>

#include "ledger/file_util.h"
#include "ledger/pem.h"

namespace chip::cli {

namespace {

// Set once by ConfigureChannels before any channel exists; read-only after.
struct ChannelSecurity {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  std::string server_name;
  bool tls = false;
  bool client_cert = false;  // --tls-cert and --tls-key given
};

ChannelSecurity& Security() {
  static ChannelSecurity security;
  return security;
}

void DropGrpcLog(gpr_log_func_args* /*args*/) {}

// Reads a PEM file of at most kTlsFileBytesMax bytes.
Result<std::string> ReadPem(const std::string& option, const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return Status::NotFound(option + " " + path + ": " + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) return Status::InvalidArgument(option + " " + path + " is a directory");
  auto text = ReadSmallFile(path, kTlsFileBytesMax);
  if (!text.ok()) {
    std::string message = option + " " + text.status().message();
    return text.status().code() == Status::Code::kNotFound ? Status::NotFound(message)
                                                           : Status::InvalidArgument(message);
  }
  return text;
}

// The files are checked as far as that needs no X.509 parsing
// (ledger/pem.h). Whether the key belongs to the certificate, gRPC alone
// finds out, when a channel first connects (TlsFailureHint explains it).

bool Has(const std::string& text, const char* part) { return text.find(part) != std::string::npos; }

}  // namespace

Status ConfigureChannels(const TlsOptions& tls) {
  if (std::getenv("GRPC_VERBOSITY") == nullptr) gpr_set_log_function(DropGrpcLog);
  ChannelSecurity& security = Security();
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return Status::InvalidArgument("--tls-cert and --tls-key go together: give both or neither");
  }
  if (tls.ca_file.empty()) {
    if (!tls.cert_file.empty() || !tls.server_name.empty()) {
      return Status::InvalidArgument(
          "--tls-cert, --tls-key and --tls-server-name need --tls-ca (CHIP_TLS_CA): without "
          "it chip connects in plaintext");
    }
    security = ChannelSecurity{grpc::InsecureChannelCredentials(), "", false, false};
    return Status::Ok();
  }
  grpc::SslCredentialsOptions options;
  auto ca = ReadPem("--tls-ca", tls.ca_file);
  if (!ca.ok()) return ca.status();
  CHIP_RETURN_IF_ERROR(CheckPemCertificates("--tls-ca", tls.ca_file, *ca));
  options.pem_root_certs = std::move(*ca);
  if (!tls.cert_file.empty()) {
    auto cert = ReadPem("--tls-cert", tls.cert_file);
    if (!cert.ok()) return cert.status();
    CHIP_RETURN_IF_ERROR(CheckPemCertificates("--tls-cert", tls.cert_file, *cert));
    auto key_pem = ReadPem("--tls-key", tls.key_file);
    if (!key_pem.ok()) return key_pem.status();
    CHIP_RETURN_IF_ERROR(CheckPemPrivateKey("--tls-key", tls.key_file, *key_pem,
                                            "chip needs it unencrypted (keep it mode 0600)"));
    options.pem_cert_chain = std::move(*cert);
    options.pem_private_key = std::move(*key_pem);
  }
  auto credentials = grpc::SslCredentials(options);
  if (!credentials) return Status::InvalidArgument("gRPC refused the TLS files");
  security = ChannelSecurity{std::move(credentials), tls.server_name, true, !tls.cert_file.empty()};
  return Status::Ok();
}

bool TlsEnabled() { return Security().tls; }

std::shared_ptr<grpc::Channel> NewChannel(const std::string& target, grpc::ChannelArguments args) {
  const ChannelSecurity& security = Security();
  if (!security.server_name.empty()) args.SetSslTargetNameOverride(security.server_name);
  return grpc::CreateCustomChannel(
      target, security.credentials ? security.credentials : grpc::InsecureChannelCredentials(),
      args);
}

namespace {

// gRPC cannot make a TLS connection with a client key that is not the
// certificate's (or a certificate or key it cannot parse): every address of
// the target is dropped before connecting, and the call fails with "empty
// address list: ". ConfigureChannels checks only the PEM form of the files.
bool ClientCertUnusable(const std::string& m) {
  return Security().client_cert && Has(m, "empty address list");
}

}  // namespace

bool IsTlsHandshakeFailure(const std::string& m) {
  return Has(m, "Ssl handshake failed") || Has(m, "Handshake failed") ||
         Has(m, "is not in peer certificate") || Has(m, "SSL_ERROR") || ClientCertUnusable(m);
}

// The texts matched are gRPC 1.51's (with OpenSSL 3) for each failure; a
// message they miss just gets no hint.
std::string TlsFailureHint(const std::string& m) {
  if (ClientCertUnusable(m)) {
    return std::string(!m.empty() && m.back() == ' ' ? "" : " ") +
           "(gRPC could not use --tls-cert and --tls-key: the key is not the certificate's, or "
           "one of them is invalid)";
  }
  if (Has(m, "wrong version number")) {
    return " (the node does not serve TLS: leave out --tls-ca and CHIP_TLS_CA)";
  }
  if (Has(m, "certificate verify failed")) {
    return " (the node's certificate is not signed by the CA of --tls-ca, or has expired)";
  }
  if (Has(m, "is not in peer certificate")) {
    return " (the node's certificate does not carry that name: connect by a name it carries, "
           "or pass --tls-server-name)";
  }
  // The node took the connection, then closed it: a TLS node hangs up on a
  // plaintext client, and on a TLS client without an acceptable certificate
  // when it requires one.
  if (Has(m, "Socket closed") || Has(m, "Connection reset")) {
    return TlsEnabled() ? " (if the node requires client certificates, pass --tls-cert and "
                          "--tls-key with one its CA signed)"
                        : " (if the node serves TLS, pass --tls-ca)";
  }
  return "";
}

}  // namespace chip::cli
