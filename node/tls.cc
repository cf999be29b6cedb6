#include "node/tls.h"

#include <fcntl.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "ledger/file_util.h"

namespace chip::node {
namespace {

// The PEM files are parsed with OpenSSL (which gRPC itself uses on Debian)
// only to check them and to explain what is wrong; gRPC gets the file text.
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// OpenSSL would prompt on the terminal for the passphrase of an encrypted
// key; a node has no one to ask, so every passphrase request fails.
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return -1; }

// The oldest error OpenSSL queued, as text; clears the queue.
std::string OpensslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "not valid PEM";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

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

// Parses every certificate of a PEM file; at least one must be there.
Result<std::vector<X509Ptr>> ParseCertificates(const std::string& what, const std::string& path,
                                               const std::string& pem) {
  ERR_clear_error();
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Status::Internal("BIO_new_mem_buf failed");
  std::vector<X509Ptr> certs;
  for (;;) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr));
    if (!cert) break;
    certs.push_back(std::move(cert));
  }
  // Running out of input ends the loop with "no start line"; anything else
  // is a block that is there but broken.
  unsigned long last = ERR_peek_last_error();
  bool clean_end = last == 0 || (ERR_GET_LIB(last) == ERR_LIB_PEM &&
                                 ERR_GET_REASON(last) == PEM_R_NO_START_LINE);
  if (!clean_end) {
    return Status::InvalidArgument(what + " " + path +
                                   ": malformed PEM certificate: " + OpensslError());
  }
  ERR_clear_error();
  if (certs.empty()) {
    return Status::InvalidArgument(what + " " + path +
                                   ": no PEM certificate in it (expected a '-----BEGIN "
                                   "CERTIFICATE-----' block)");
  }
  return certs;
}

Result<PkeyPtr> ParsePrivateKey(const std::string& path, const std::string& pem) {
  if (pem.find("ENCRYPTED") != std::string::npos) {
    return Status::InvalidArgument("TLS key " + path +
                                   " is encrypted; the node cannot ask for a passphrase: "
                                   "store it unencrypted with mode 0600");
  }
  ERR_clear_error();
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Status::Internal("BIO_new_mem_buf failed");
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  if (!key) {
    // OpenSSL's reason helps only when there is a key block to explain.
    std::string why = OpensslError();
    return Status::InvalidArgument(
        "TLS key " + path +
        ": no valid PEM private key in it (expected a '-----BEGIN PRIVATE KEY-----' block)" +
        (pem.find("PRIVATE KEY-----") != std::string::npos ? ": " + why : std::string()));
  }
  return key;
}

std::string AsnTime(const ASN1_TIME* t) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || ASN1_TIME_print(bio.get(), t) != 1) return "?";
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : "?";
}

// A certificate chain and its key, both PEM, checked to belong together.
struct KeyPair {
  std::string cert_pem;
  std::string key_pem;
};

Result<KeyPair> LoadKeyPair(const std::string& cert_file, const std::string& key_file) {
  auto cert_pem = ReadPemFile("TLS certificate", cert_file);
  if (!cert_pem.ok()) return cert_pem.status();
  auto certs = ParseCertificates("TLS certificate", cert_file, *cert_pem);
  if (!certs.ok()) return certs.status();
  auto key_pem = ReadPemFile("TLS key", key_file);
  if (!key_pem.ok()) return key_pem.status();
  auto key = ParsePrivateKey(key_file, *key_pem);
  if (!key.ok()) return key.status();
  X509* leaf = (*certs)[0].get();
  if (X509_check_private_key(leaf, key->get()) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument("TLS key " + key_file + " does not belong to the certificate " +
                                   cert_file +
                                   " (the first certificate of the file must be the key's)");
  }
  if (X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0) {
    return Status::FailedPrecondition("TLS certificate " + cert_file + " expired on " +
                                      AsnTime(X509_get0_notAfter(leaf)));
  }
  if (X509_cmp_current_time(X509_get0_notBefore(leaf)) > 0) {
    spdlog::warn("TLS certificate {} is valid only from {}: peers will refuse it until then",
                 cert_file, AsnTime(X509_get0_notBefore(leaf)));
  }
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
  auto certs = ParseCertificates(what, path, *pem);
  if (!certs.ok()) return certs.status();
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
