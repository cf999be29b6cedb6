// node/tls.h and the TLS rules of node/config.h ValidateConfig, without a
// network: every refusal with its Status code and message, one row each,
// on certificates made by the real scripts/dev-ca.sh.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>

#include "node/config.h"
#include "node/tls.h"
#include "test_util.h"

using namespace chip;
using namespace chip::node;
using Code = Status::Code;

namespace {

// A development CA (scripts/dev-ca.sh) in a temporary directory, plus a few
// broken files next to it.
struct Certs {
  test::TempDir dir;
  Certs() {
    std::string cmd = "bash '" + std::string(CHIP_SOURCE_DIR) + "/scripts/dev-ca.sh' '" +
                      dir.Sub("ca") + "' >/dev/null";
    REQUIRE(std::system(cmd.c_str()) == 0);
    std::ofstream(dir.Sub("garbage.pem"))
        << "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
    std::ofstream(dir.Sub("empty.pem")) << "";
    std::ofstream(dir.Sub("encrypted.key"))
        << "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
    std::ofstream(dir.Sub("big.pem")) << std::string(kTlsFileBytesMax + 1, 'a');
  }
  std::string Ca(const std::string& f) const { return dir.Sub("ca/" + f); }
  std::string Sub(const std::string& f) const { return dir.Sub(f); }
};

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("MakeServerCredentials: each refusal and each accepted setting", "[node][tls]") {
  Certs c;
  struct Row {
    const char* what;
    TlsFiles files;
    std::string listen;
    bool allow_plaintext_remote;
    Code code;
    std::string message;  // part of it
  };
  const std::string cert = c.Ca("node.crt"), key = c.Ca("node.key"), ca = c.Ca("ca.crt");
  const std::vector<Row> rows = {
      // Plaintext.
      {"plaintext on 127.0.0.1", {}, "127.0.0.1:7700", false, Code::kOk, ""},
      {"plaintext on 127.1.2.3", {}, "127.1.2.3:7700", false, Code::kOk, ""},
      {"plaintext on [::1]", {}, "[::1]:7700", false, Code::kOk, ""},
      {"plaintext on localhost", {}, "localhost:7700", false, Code::kOk, ""},
      {"plaintext on 0.0.0.0",
       {},
       "0.0.0.0:7700",
       false,
       Code::kFailedPrecondition,
       "--allow-plaintext-remote"},
      {"plaintext on [::]", {}, "[::]:7700", false, Code::kFailedPrecondition, "not loopback"},
      {"plaintext on a host name",
       {},
       "node1.example:7700",
       false,
       Code::kFailedPrecondition,
       "not loopback"},
      {"plaintext off loopback, allowed", {}, "0.0.0.0:7700", true, Code::kOk, ""},
      // TLS.
      {"TLS anywhere", {"", cert, key}, "0.0.0.0:7700", false, Code::kOk, ""},
      {"TLS, client certs verified", {ca, cert, key}, "0.0.0.0:7700", false, Code::kOk, ""},
      {"TLS, client certs required", {ca, cert, key, true}, "0.0.0.0:7700", false, Code::kOk, ""},
      // Incomplete sets.
      {"cert without key",
       {"", cert, ""},
       "127.0.0.1:1",
       false,
       Code::kInvalidArgument,
       "both a certificate and its key"},
      {"key without cert",
       {"", "", key},
       "127.0.0.1:1",
       false,
       Code::kInvalidArgument,
       "both a certificate and its key"},
      {"client CA without TLS",
       {ca, "", ""},
       "127.0.0.1:1",
       false,
       Code::kInvalidArgument,
       "need TLS"},
      {"require without TLS",
       {"", "", "", true},
       "127.0.0.1:1",
       false,
       Code::kInvalidArgument,
       "need TLS"},
      {"require without client CA",
       {"", cert, key, true},
       "127.0.0.1:1",
       false,
       Code::kInvalidArgument,
       "needs tls_client_ca_file"},
      // Files.
      {"missing certificate",
       {"", c.Sub("nope.crt"), key},
       "127.0.0.1:1",
       false,
       Code::kNotFound,
       "TLS certificate " + c.Sub("nope.crt") + ": No such file or directory"},
      {"missing key",
       {"", cert, c.Sub("nope.key")},
       "127.0.0.1:1",
       false,
       Code::kNotFound,
       "TLS key " + c.Sub("nope.key")},
      {"missing client CA",
       {c.Sub("nope.crt"), cert, key},
       "127.0.0.1:1",
       false,
       Code::kNotFound,
       "TLS client CA " + c.Sub("nope.crt")},
      {"certificate is a directory",
       {"", c.Sub("ca"), key},
       "127.0.0.1:1",
       false,
       Code::kInvalidArgument,
       "is a directory"},
      {"certificate too large",
       {"", c.Sub("big.pem"), key},
       "127.0.0.1:1",
       false,
       Code::kInvalidArgument,
       "is larger than"},
      {"empty certificate file",
       {"", c.Sub("empty.pem"), key},
       "127.0.0.1:1",
       false,
       Code::kInvalidArgument,
       "no PEM certificate in it"},
      {"a key as certificate",
       {"", key, key},
       "127.0.0.1:1",
       false,
       Code::kInvalidArgument,
       "no PEM certificate in it"},
      {"malformed certificate",
       {"", c.Sub("garbage.pem"), key},
       "127.0.0.1:1",
       false,
       Code::kInvalidArgument,
       "malformed PEM certificate"},
      {"a certificate as key",
       {"", cert, cert},
       "127.0.0.1:1",
       false,
       Code::kInvalidArgument,
       "no valid PEM private key"},
      {"encrypted key",
       {"", cert, c.Sub("encrypted.key")},
       "127.0.0.1:1",
       false,
       Code::kInvalidArgument,
       "is encrypted"},
      {"key of another certificate",
       {"", cert, c.Ca("client.key")},
       "127.0.0.1:1",
       false,
       Code::kInvalidArgument,
       "does not belong to the certificate"},
      {"malformed client CA",
       {c.Sub("garbage.pem"), cert, key},
       "127.0.0.1:1",
       false,
       Code::kInvalidArgument,
       "TLS client CA " + c.Sub("garbage.pem")},
  };
  for (const auto& row : rows) {
    INFO(row.what);
    auto creds = MakeServerCredentials(row.files, row.listen, row.allow_plaintext_remote);
    INFO(creds.status().message());
    CHECK(creds.status().code() == row.code);
    if (creds.ok()) {
      CHECK(*creds != nullptr);
    } else {
      CHECK(Contains(creds.status().message(), row.message));
    }
  }
}

TEST_CASE("MakeChannelCredentials: plaintext without a CA, TLS with one", "[node][tls]") {
  Certs c;
  struct Row {
    const char* what;
    TlsFiles files;
    Code code;
    std::string message;
  };
  const std::vector<Row> rows = {
      {"plaintext", {}, Code::kOk, ""},
      {"TLS", {c.Ca("ca.crt"), "", ""}, Code::kOk, ""},
      {"TLS with a client certificate",
       {c.Ca("ca.crt"), c.Ca("client.crt"), c.Ca("client.key")},
       Code::kOk,
       ""},
      {"node certificate as client certificate",
       {c.Ca("ca.crt"), c.Ca("node.crt"), c.Ca("node.key")},
       Code::kOk,
       ""},
      {"client certificate without CA",
       {"", c.Ca("client.crt"), c.Ca("client.key")},
       Code::kInvalidArgument,
       "needs the CA file"},
      {"certificate without key",
       {c.Ca("ca.crt"), c.Ca("client.crt"), ""},
       Code::kInvalidArgument,
       "needs both"},
      {"missing CA", {c.Sub("nope.crt"), "", ""}, Code::kNotFound, "TLS CA " + c.Sub("nope.crt")},
      {"malformed CA", {c.Sub("garbage.pem"), "", ""}, Code::kInvalidArgument, "malformed PEM"},
      {"mismatched pair",
       {c.Ca("ca.crt"), c.Ca("client.crt"), c.Ca("node.key")},
       Code::kInvalidArgument,
       "does not belong"},
  };
  for (const auto& row : rows) {
    INFO(row.what);
    auto creds = MakeChannelCredentials(row.files, "peer.example:7700");
    INFO(creds.status().message());
    CHECK(creds.status().code() == row.code);
    if (creds.ok()) {
      CHECK(*creds != nullptr);
    } else {
      CHECK(Contains(creds.status().message(), row.message));
    }
  }
}

TEST_CASE("ServerTlsFiles and PeerTlsFiles read the node's configuration", "[node][tls]") {
  NodeConfig config;
  CHECK(PeerTlsFiles(config).ca_file.empty());
  config.tls_cert_file = "n.crt";
  config.tls_key_file = "n.key";
  config.tls_client_ca_file = "ca.crt";
  config.tls_require_client_cert = true;
  TlsFiles server = ServerTlsFiles(config);
  CHECK(server.cert_file == "n.crt");
  CHECK(server.key_file == "n.key");
  CHECK(server.ca_file == "ca.crt");
  CHECK(server.require_client_cert);
  TlsFiles peer = PeerTlsFiles(config);
  CHECK(peer.ca_file == "ca.crt");
  CHECK(peer.cert_file == "n.crt");
  CHECK(peer.key_file == "n.key");
  CHECK_FALSE(peer.require_client_cert);
}

TEST_CASE("ValidateConfig: plaintext stays on loopback, TLS settings come in complete sets",
          "[node][tls][config]") {
  struct Row {
    const char* what;
    void (*edit)(NodeConfig*);
    Code code;
    std::string message;
  };
  const std::vector<Row> rows = {
      {"defaults", [](NodeConfig*) {}, Code::kOk, ""},
      {"plaintext off loopback", [](NodeConfig* c) { c->listen = "0.0.0.0:7700"; },
       Code::kFailedPrecondition, "--allow-plaintext-remote"},
      {"plaintext off loopback, allowed",
       [](NodeConfig* c) {
         c->listen = "0.0.0.0:7700";
         c->allow_plaintext_remote = true;
       },
       Code::kOk, ""},
      {"plaintext off loopback, allowed by the older key",
       [](NodeConfig* c) {
         c->listen = "0.0.0.0:7700";
         c->allow_remote = true;
       },
       Code::kOk, ""},
      {"TLS off loopback",
       [](NodeConfig* c) {
         c->listen = "0.0.0.0:7700";
         c->tls_cert_file = "n.crt";
         c->tls_key_file = "n.key";
       },
       Code::kOk, ""},
      {"metrics off loopback with TLS gRPC",
       [](NodeConfig* c) {
         c->tls_cert_file = "n.crt";
         c->tls_key_file = "n.key";
         c->metrics_listen = "0.0.0.0:7701";
       },
       Code::kFailedPrecondition, "metrics are plain HTTP"},
      {"cert without key", [](NodeConfig* c) { c->tls_cert_file = "n.crt"; },
       Code::kInvalidArgument, "go together"},
      {"client CA without TLS", [](NodeConfig* c) { c->tls_client_ca_file = "ca.crt"; },
       Code::kInvalidArgument, "need TLS"},
      {"require without client CA",
       [](NodeConfig* c) {
         c->tls_cert_file = "n.crt";
         c->tls_key_file = "n.key";
         c->tls_require_client_cert = true;
       },
       Code::kInvalidArgument, "needs tls_client_ca_file"},
  };
  for (const auto& row : rows) {
    INFO(row.what);
    NodeConfig config;
    row.edit(&config);
    Status s = ValidateConfig(config);
    INFO(s.message());
    CHECK(s.code() == row.code);
    CHECK(Contains(s.message(), row.message));
  }
}

TEST_CASE("config.toml: the TLS keys round-trip through DefaultConfigToml", "[node][tls][config]") {
  test::TempDir dir;
  NodeConfig written;
  written.tls_cert_file = "/etc/chipd/node \"1\".crt";
  written.tls_key_file = "/etc/chipd/node.key";
  written.tls_client_ca_file = "/etc/chipd/ca.crt";
  written.tls_require_client_cert = true;
  written.allow_plaintext_remote = true;
  { std::ofstream(dir.Sub("config.toml")) << DefaultConfigToml(written); }
  NodeConfig read;
  REQUIRE(LoadConfigFile(dir.Sub("config.toml"), &read).ok());
  CHECK(read.tls_cert_file == written.tls_cert_file);
  CHECK(read.tls_key_file == written.tls_key_file);
  CHECK(read.tls_client_ca_file == written.tls_client_ca_file);
  CHECK(read.tls_require_client_cert);
  CHECK(read.allow_plaintext_remote);

  { std::ofstream(dir.Sub("bad.toml")) << "tls_require_client_cert = 1\n"; }
  Status s = LoadConfigFile(dir.Sub("bad.toml"), &read);
  CHECK(s.code() == Code::kInvalidArgument);
  CHECK(Contains(s.message(), "'tls_require_client_cert' must be true or false"));
}
