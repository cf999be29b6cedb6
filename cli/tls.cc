#include "cli/tls.h"

#include <grpc/support/log.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "ledger/file_util.h"

namespace chip::cli {

namespace {

// Set once by ConfigureChannels before any channel exists; read-only after.
struct ChannelSecurity {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  std::string server_name;
  bool tls = false;
};

ChannelSecurity& Security() {
  static ChannelSecurity security;
  return security;
}

void DropGrpcLog(gpr_log_func_args* /*args*/) {}

// OpenSSL would prompt on the terminal for an encrypted key's passphrase;
// chip refuses encrypted keys instead (ReadPem says so first).
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return -1; }

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

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

// The first certificate of a PEM file (a CA bundle or a chain, leaf first).
Result<std::unique_ptr<X509, X509Free>> FirstCertificate(const std::string& option,
                                                         const std::string& path,
                                                         const std::string& pem) {
  ERR_clear_error();
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Status::Internal("BIO_new_mem_buf failed");
  std::unique_ptr<X509, X509Free> cert(
      PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr));
  ERR_clear_error();
  if (!cert) {
    return Status::InvalidArgument(option + " " + path +
                                   ": no valid PEM CERTIFICATE in it (expected a '-----BEGIN "
                                   "CERTIFICATE-----' block)");
  }
  return cert;
}

Result<std::unique_ptr<EVP_PKEY, PkeyFree>> PrivateKey(const std::string& path,
                                                       const std::string& pem) {
  if (pem.find("ENCRYPTED") != std::string::npos) {
    return Status::InvalidArgument("--tls-key " + path +
                                   " is encrypted; chip needs it unencrypted (keep it mode 0600)");
  }
  ERR_clear_error();
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Status::Internal("BIO_new_mem_buf failed");
  std::unique_ptr<EVP_PKEY, PkeyFree> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  ERR_clear_error();
  if (!key) {
    return Status::InvalidArgument("--tls-key " + path +
                                   ": no valid PEM PRIVATE KEY in it (expected a '-----BEGIN "
                                   "PRIVATE KEY-----' block)");
  }
  return key;
}

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
    security = ChannelSecurity{grpc::InsecureChannelCredentials(), "", false};
    return Status::Ok();
  }
  grpc::SslCredentialsOptions options;
  auto ca = ReadPem("--tls-ca", tls.ca_file);
  if (!ca.ok()) return ca.status();
  auto ca_cert = FirstCertificate("--tls-ca", tls.ca_file, *ca);
  if (!ca_cert.ok()) return ca_cert.status();
  options.pem_root_certs = std::move(*ca);
  if (!tls.cert_file.empty()) {
    auto cert = ReadPem("--tls-cert", tls.cert_file);
    if (!cert.ok()) return cert.status();
    auto leaf = FirstCertificate("--tls-cert", tls.cert_file, *cert);
    if (!leaf.ok()) return leaf.status();
    auto key_pem = ReadPem("--tls-key", tls.key_file);
    if (!key_pem.ok()) return key_pem.status();
    auto key = PrivateKey(tls.key_file, *key_pem);
    if (!key.ok()) return key.status();
    if (X509_check_private_key(leaf->get(), key->get()) != 1) {
      ERR_clear_error();
      return Status::InvalidArgument("--tls-key " + tls.key_file +
                                     " does not belong to the certificate " + tls.cert_file);
    }
    options.pem_cert_chain = std::move(*cert);
    options.pem_private_key = std::move(*key_pem);
  }
  auto credentials = grpc::SslCredentials(options);
  if (!credentials) return Status::InvalidArgument("gRPC refused the TLS files");
  security = ChannelSecurity{std::move(credentials), tls.server_name, true};
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

bool IsTlsHandshakeFailure(const std::string& m) {
  return Has(m, "Ssl handshake failed") || Has(m, "Handshake failed") ||
         Has(m, "is not in peer certificate") || Has(m, "SSL_ERROR");
}

// The texts matched are gRPC 1.51's (with OpenSSL 3) for each failure; a
// message they miss just gets no hint.
std::string TlsFailureHint(const std::string& m) {
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
