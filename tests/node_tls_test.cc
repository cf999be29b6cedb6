// node/serve/tls.h and the TLS rules of node/ops/config.h ValidateConfig: every
// refusal with its Status code and message, one row each, on certificates
// made by the real scripts/dev-ca.sh. Plus the one check left to gRPC (a key
// that is not the certificate's), on a loopback server. And the round trip
// of config.toml (DefaultConfigToml, then LoadConfigFile) for every kind of
// string value.
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "node/ops/config.h"
#include "node/serve/tls.h"
#include "test_util.h"

using namespace chip;
using namespace chip::node;
using Code = Status::Code;

namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// `text` without its line number `drop` (from 1).
std::string DropLine(const std::string& text, int drop) {
  std::istringstream in(text);
  std::string out, line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (n != drop) out += line + "\n";
  }
  return out;
}

// A development CA (scripts/dev-ca.sh) in a temporary directory, plus broken
// and unusual variants of its files next to it.
struct Certs {
  test::TempDir dir;
  Certs() {
    std::string cmd = "bash '" + std::string(CHIP_SOURCE_DIR) + "/scripts/dev-ca.sh' '" +
                      dir.Sub("ca") + "' >/dev/null";
    REQUIRE(std::system(cmd.c_str()) == 0);
    const std::string cert = Slurp(Ca("node.crt")), key = Slurp(Ca("node.key"));
    REQUIRE(cert.rfind("-----BEGIN CERTIFICATE-----\n", 0) == 0);
    REQUIRE(key.rfind("-----BEGIN PRIVATE KEY-----\n", 0) == 0);
    // Valid base64, but "not a certificate" inside.
    std::ofstream(dir.Sub("garbage.pem"))
        << "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
    std::ofstream(dir.Sub("empty.pem")) << "";
    std::ofstream(dir.Sub("encrypted.key"))
        << "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
    std::ofstream(dir.Sub("proc-type.key"))
        << "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
           "DEK-Info: AES-128-CBC,00000000000000000000000000000000\n\nAAAA\n"
           "-----END EC PRIVATE KEY-----\n";
    std::ofstream(dir.Sub("big.pem")) << std::string(kTlsFileBytesMax + 1, 'a');
    // Cut short: the END line lost, or a base64 line of the middle lost.
    std::ofstream(dir.Sub("no-end.crt")) << cert.substr(0, cert.find("-----END"));
    std::ofstream(dir.Sub("short.crt")) << DropLine(cert, 3);
    std::ofstream(dir.Sub("short.key")) << DropLine(key, 2);
    std::ofstream(dir.Sub("not-base64.crt"))
        << "-----BEGIN CERTIFICATE-----\nnot*base64!\n-----END CERTIFICATE-----\n";
    std::ofstream(dir.Sub("wrong-end.crt"))
        << cert.substr(0, cert.find("-----END")) << "-----END PRIVATE KEY-----\n";
    // Accepted as gRPC accepts them: text around the blocks (as openssl x509
    // -text writes it), a chain of several certificates, CRLF line ends, and
    // a key after other blocks.
    std::ofstream(dir.Sub("annotated.crt")) << "Certificate:\n    Data: ...\n"
                                            << cert << "trailer\n";
    std::ofstream(dir.Sub("chain.crt")) << cert << Slurp(Ca("ca.crt"));
    std::string crlf;
    for (char ch : cert) crlf += ch == '\n' ? std::string("\r\n") : std::string(1, ch);
    std::ofstream(dir.Sub("crlf.crt")) << crlf;
    std::ofstream(dir.Sub("bundle.key")) << cert << key;
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
      {"text around the certificate",
       {"", c.Sub("annotated.crt"), key},
       "127.0.0.1:1",
       false,
       Code::kOk,
       ""},
      {"a certificate chain", {"", c.Sub("chain.crt"), key}, "127.0.0.1:1", false, Code::kOk, ""},
      {"CRLF line ends", {"", c.Sub("crlf.crt"), key}, "127.0.0.1:1", false, Code::kOk, ""},
      {"a key after a certificate",
       {"", cert, c.Sub("bundle.key")},
       "127.0.0.1:1",
       false,
       Code::kOk,
       ""},
      {"a CA bundle as client CA",
       {c.Sub("chain.crt"), cert, key},
       "127.0.0.1:1",
       false,
       Code::kOk,
       ""},
      // Not checked here, so accepted: a key of another certificate (gRPC
      // refuses it at the start; next test case).
      {"key of another certificate",
       {"", cert, c.Ca("client.key")},
       "127.0.0.1:1",
       false,
       Code::kOk,
       ""},
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
       "no PEM certificate in it (expected a '-----BEGIN CERTIFICATE-----' block; it has no PEM "
       "block at all)"},
      {"a key as certificate",
       {"", key, key},
       "127.0.0.1:1",
       false,
       Code::kInvalidArgument,
       "no PEM certificate in it (expected a '-----BEGIN CERTIFICATE-----' block; it has PRIVATE "
       "KEY)"},
      {"not a certificate inside",
       {"", c.Sub("garbage.pem"), key},
       "127.0.0.1:1",
       false,
       Code::kInvalidArgument,
       "TLS certificate " + c.Sub("garbage.pem") +
           ": malformed PEM CERTIFICATE block at line 1: its data is not one DER structure"},
      {"certificate without END line",
       {"", c.Sub("no-end.crt"), key},
       "127.0.0.1:1",
       false,
       Code::kInvalidArgument,
       "malformed PEM CERTIFICATE block at line 1: it has no '-----END CERTIFICATE-----' line"},
      {"certificate missing a line",
       {"", c.Sub("short.crt"), key},
       "127.0.0.1:1",
       false,
       Code::kInvalidArgument,
       "malformed PEM CERTIFICATE block at line 1: its data is not one DER structure"},
      {"certificate not base64",
       {"", c.Sub("not-base64.crt"), key},
       "127.0.0.1:1",
       false,
       Code::kInvalidArgument,
       "malformed PEM CERTIFICATE block at line 1: its body is not base64"},
      {"certificate with another END line",
       {"", c.Sub("wrong-end.crt"), key},
       "127.0.0.1:1",
       false,
       Code::kInvalidArgument,
       "it ends with '-----END PRIVATE KEY-----'"},
      {"a certificate as key",
       {"", cert, cert},
       "127.0.0.1:1",
       false,
       Code::kInvalidArgument,
       "TLS key " + cert +
           ": no PEM private key in it (expected a '-----BEGIN PRIVATE KEY-----' block, or EC "
           "PRIVATE KEY or RSA PRIVATE KEY; it has CERTIFICATE)"},
      {"key missing a line",
       {"", cert, c.Sub("short.key")},
       "127.0.0.1:1",
       false,
       Code::kInvalidArgument,
       "TLS key " + c.Sub("short.key") +
           ": malformed PEM PRIVATE KEY block at line 1: its data is not one DER structure"},
      {"encrypted key (PKCS #8)",
       {"", cert, c.Sub("encrypted.key")},
       "127.0.0.1:1",
       false,
       Code::kInvalidArgument,
       "TLS key " + c.Sub("encrypted.key") + " is encrypted"},
      {"encrypted key (Proc-Type header)",
       {"", cert, c.Sub("proc-type.key")},
       "127.0.0.1:1",
       false,
       Code::kInvalidArgument,
       "TLS key " + c.Sub("proc-type.key") + " is encrypted"},
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
      {"malformed CA",
       {c.Sub("garbage.pem"), "", ""},
       Code::kInvalidArgument,
       "TLS CA " + c.Sub("garbage.pem") + ": malformed PEM CERTIFICATE block"},
      {"a key as CA", {c.Ca("ca.key"), "", ""}, Code::kInvalidArgument, "no PEM certificate"},
      {"encrypted client key",
       {c.Ca("ca.crt"), c.Ca("client.crt"), c.Sub("encrypted.key")},
       Code::kInvalidArgument,
       "is encrypted"},
      // Not checked here, so accepted: the handshake fails instead
      // (integration tls_test, "chip with a key of another certificate").
      {"mismatched pair", {c.Ca("ca.crt"), c.Ca("client.crt"), c.Ca("node.key")}, Code::kOk, ""},
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

// The PEM checks cannot tell that a key belongs to another certificate;
// gRPC can, and refuses to start the server. Node::Start turns that refusal
// into "cannot listen on ...: port in use, or the TLS certificate ... and key
// ... do not match" (integration tls_test checks that message), so this pins
// the gRPC behaviour it relies on.
TEST_CASE("gRPC refuses to start a server whose key is not the certificate's", "[node][tls]") {
  Certs c;
  auto starts = [](const TlsFiles& files) {
    auto creds = MakeServerCredentials(files, "127.0.0.1:0", false);
    INFO(creds.status().message());
    REQUIRE(creds.ok());
    grpc::CallbackGenericService service;  // gRPC starts no server without one
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", *creds, &port);
    builder.RegisterCallbackGenericService(&service);
    std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
    bool started = server != nullptr && port != 0;
    if (server) server->Shutdown();
    return started;
  };
  CHECK(starts({"", c.Ca("node.crt"), c.Ca("node.key")}));
  CHECK_FALSE(starts({"", c.Ca("node.crt"), c.Ca("client.key")}));
  CHECK_FALSE(starts({"", c.Ca("client.crt"), c.Ca("node.key")}));
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
  auto toml = DefaultConfigToml(written);
  REQUIRE(toml.ok());
  { std::ofstream(dir.Sub("config.toml")) << *toml; }
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

// Regression (issue #13): `chipd init` wrote non-ASCII string values as raw
// UTF-8, and LoadConfigFile, which reads only ASCII files (toml++ 3.3.0
// misbehaves on other bytes), refused the config.toml that init had written.
// Now every UTF-8 value is escaped; bytes that are not UTF-8 are refused when
// the file is written, naming the key.
TEST_CASE("config.toml: any UTF-8 string value round-trips, other bytes are refused",
          "[node][config]") {
  struct Row {
    const char* what;
    std::string value;
    bool written;  // false: DefaultConfigToml refuses it
  };
  const Row rows[] = {
      {"ASCII", "/var/log/chipd.log", true},
      {"Latin-1 letters in UTF-8", "/tmp/d\xc3\xa4t\xc3\xa4", true},
      {"CJK (3-byte UTF-8)", "/tmp/\xe7\x9b\xae\xe5\xbd\x95", true},
      {"beyond the BMP (4-byte UTF-8)", "/tmp/\xf0\x9f\x98\x80.log", true},
      {"largest scalar U+10FFFF", "\xf4\x8f\xbf\xbf", true},
      {"quotes and backslashes", "C:\\logs\\\"x\"\\", true},
      {"control characters, DEL, NUL", std::string("a\x01\t\n\r\x1f\x7f\0b", 9), true},
      {"empty", "", true},
      {"Latin-1 byte (not UTF-8)", "/tmp/d\xe4t\xe4", false},
      {"stray continuation byte", "a\x80", false},
      {"truncated sequence", "a\xe7\x9b", false},
      {"overlong encoding of '/'", "\xc0\xaf", false},
      {"UTF-16 surrogate U+D800", "\xed\xa0\x80", false},
      {"above U+10FFFF", "\xf4\x90\x80\x80", false},
  };
  test::TempDir dir;
  for (const Row& row : rows) {
    INFO(row.what);
    NodeConfig written;
    written.log_file = row.value;
    written.tls_cert_file = row.value;
    auto toml = DefaultConfigToml(written);
    if (!row.written) {
      REQUIRE_FALSE(toml.ok());
      CHECK(toml.status().code() == Code::kInvalidArgument);
      CHECK(Contains(toml.status().message(), "tls_cert_file is not valid UTF-8"));
      continue;
    }
    REQUIRE(toml.ok());
    for (char ch : *toml) REQUIRE(static_cast<unsigned char>(ch) < 0x80);
    { std::ofstream(dir.Sub("config.toml"), std::ios::binary) << *toml; }
    NodeConfig read;
    Status s = LoadConfigFile(dir.Sub("config.toml"), &read);
    INFO(*toml);
    REQUIRE(s.ok());
    CHECK(read.log_file == row.value);
    CHECK(read.tls_cert_file == row.value);
  }
  // A hand-written file with raw UTF-8 is refused, with the way out named.
  { std::ofstream(dir.Sub("raw.toml")) << "log_file = \"/tmp/d\xc3\xa4t\xc3\xa4\"\n"; }
  NodeConfig read;
  Status s = LoadConfigFile(dir.Sub("raw.toml"), &read);
  CHECK(s.code() == Code::kInvalidArgument);
  CHECK(Contains(s.message(), "non-ASCII byte at offset 18"));
  CHECK(Contains(s.message(), "\\uXXXX"));
  // And a value too long for the reader is refused when written, not read.
  NodeConfig huge;
  huge.etcd_endpoints = std::string(70'000, 'a');
  auto toml = DefaultConfigToml(huge);
  CHECK(toml.status().code() == Code::kInvalidArgument);
  CHECK(Contains(toml.status().message(), "that chipd reads"));
}
