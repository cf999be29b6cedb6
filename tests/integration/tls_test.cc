// gRPC TLS end to end (node/serve/tls.h, cli/client.h TlsOptions): certificates
// from the real scripts/dev-ca.sh, a real chipd dev serving TLS (with and
// without required client certificates), and the real chip binary with and
// without the right options. Also the rule that plaintext stays on loopback
// unless --allow-plaintext-remote, and chipd's and chip's refusals of
// unusable TLS files.
#include <catch2/catch.hpp>

#include "harness.h"

using namespace chip;
using namespace chip::itest;
using nlohmann::json;

namespace {

constexpr int kChipdRefused = 1;            // chipd: refused or failed at runtime
constexpr int kChipUsage = 2;               // chip: bad arguments
constexpr int kChipUnreachable = 4;         // chip: node unreachable (TLS handshakes too)
const std::string kShortTimeout = "10000";  // --timeout-ms for calls expected to fail

std::vector<std::string> Cat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Runs scripts/dev-ca.sh DIR; fails the test if it fails.
void MakeDevCa(const test::TempDir& tmp, const std::string& dir) {
  pid_t pid = Spawn("/bin/bash", {std::string(CHIP_SOURCE_DIR) + "/scripts/dev-ca.sh", dir}, {},
                    tmp.Sub("dev-ca.out"), tmp.Sub("dev-ca.err"));
  int code = WaitExit(pid, std::chrono::seconds(60));
  INFO("dev-ca.sh: " << ReadFile(tmp.Sub("dev-ca.out")) << ReadFile(tmp.Sub("dev-ca.err")));
  REQUIRE(code == 0);
}

// A chipd dev node on a free port with its own development CA (DIR/ca) and
// wallet; chip runs against it with whatever TLS options a test passes.
class TlsNode {
 public:
  TlsNode() : port_(FreePort()) { MakeDevCa(dir_, dir_.Sub("ca")); }
  ~TlsNode() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      WaitExit(pid_, std::chrono::seconds(30));
    }
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string Ca(const std::string& file) const { return dir_.Sub("ca/" + file); }
  std::string log() const { return ReadFile(dir_.Sub("chipd.err")); }
  const test::TempDir& dir() const { return dir_; }
  // The server's TLS flags: the node certificate of the CA.
  std::vector<std::string> ServerTls() const {
    return {"--tls-cert", Ca("node.crt"), "--tls-key", Ca("node.key")};
  }
  // chip's options for TLS with (or without) the client certificate.
  std::vector<std::string> ClientTls(bool with_cert = false) const {
    std::vector<std::string> t = {"--tls-ca", Ca("ca.crt")};
    if (with_cert) t = Cat(t, {"--tls-cert", Ca("client.crt"), "--tls-key", Ca("client.key")});
    return t;
  }

  // Starts chipd dev listening on host:port with `flags` (metrics off unless
  // they give --metrics-listen).
  void Launch(const std::string& host, const std::vector<std::string>& flags) {
    std::vector<std::string> args = {"dev", "--data-dir", dir_.Sub("chain"), "--wallet",
                                     dir_.Sub("wallet")};
    args = Cat(args, {"--listen", host + ":" + std::to_string(port_), "--block-interval-ms", "5"});
    if (std::find(flags.begin(), flags.end(), "--metrics-listen") == flags.end()) {
      args.push_back("--no-metrics");
    }
    pid_ = Spawn(CHIPD_PATH, Cat(args, flags), {}, dir_.Sub("chipd.out"), dir_.Sub("chipd.err"));
  }
  // Waits until `chip status` with `tls` answers: false if chipd exited
  // first or 30 s passed.
  bool WaitServing(const std::vector<std::string>& tls) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      if (Chip(Cat(tls, {"status", "--timeout-ms", "2000"})).code == 0) return true;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  // Waits for chipd to exit by itself (a refused start): its exit code.
  int WaitRefused() {
    int code = WaitExit(pid_, std::chrono::seconds(30));
    pid_ = -1;
    return code;
  }

  Run Chip(std::vector<std::string> args, std::map<std::string, std::string> env = {}) const {
    std::vector<std::string> full = {"--node", address(), "--wallet", dir_.Sub("wallet")};
    if (env.count("CHIP_PASSPHRASE") == 0) env["CHIP_PASSPHRASE"] = "test passphrase";
    pid_t pid = Spawn(CHIP_PATH, Cat(full, args), env, dir_.Sub("chip.out"), dir_.Sub("chip.err"));
    Run r;
    r.code = WaitExit(pid, std::chrono::seconds(60));
    r.out = ReadFile(dir_.Sub("chip.out"));
    r.err = ReadFile(dir_.Sub("chip.err"));
    return r;
  }
  // chip ... --json with the expected exit code, parsed.
  json ChipJson(const std::vector<std::string>& args, int expect_code = 0) const {
    Run r = Chip(Cat(args, {"--json"}));
    INFO("chip " << args.back() << " -> " << r.code << "\nout: " << r.out << "\nerr: " << r.err);
    REQUIRE(r.code == expect_code);
    auto j = r.Json();
    REQUIRE_FALSE(j.is_discarded());
    return j;
  }

 private:
  test::TempDir dir_;
  int port_;
  pid_t pid_ = -1;
};

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("tls: chip reaches a chipd dev that serves TLS with the CA, and only with it",
          "[integration][tls]") {
  TlsNode node;
  node.Launch("127.0.0.1", node.ServerTls());
  const auto tls = node.ClientTls();
  REQUIRE(node.WaitServing(tls));
  INFO("chipd log:\n" << node.log());
  CHECK(Contains(node.log(), "gRPC over TLS with certificate"));

  // Reads and a transfer, over TLS.
  CHECK(node.ChipJson(Cat(tls, {"status"}))["height"].is_number());
  node.ChipJson({"keys", "new", "alice"});
  CHECK(node.ChipJson(Cat(tls, {"send", "alice", "2.5", "--from", "dev"}))["code"] == "OK");
  CHECK(node.ChipJson(Cat(tls, {"balance", "alice"}))["balance"]["ucu"] == 2'500'000);
  // The environment variable does what the flag does.
  CHECK(node.Chip({"status"}, {{"CHIP_TLS_CA", node.Ca("ca.crt")}}).code == 0);
  // Every other channel chip makes: Pricing, verify, bench.
  CHECK(node.Chip(Cat(tls, {"price"})).code == 0);
  CHECK(node.Chip(Cat(tls, {"verify", "log"})).code == 0);
  json bench = node.ChipJson(Cat(tls, {"bench", "--txs", "40", "--accounts", "8", "--clients", "2",
                                       "--batch", "5", "--quiet", "--verify"}));
  CHECK(bench["committed"] == 40);

  // Plaintext chip: unreachable, with a hint.
  {
    Run r = node.Chip({"status", "--timeout-ms", kShortTimeout});
    INFO(r.err);
    CHECK(r.code == kChipUnreachable);
    CHECK(Contains(r.err, "--tls-ca"));
  }
  // A CA that did not sign the node's certificate.
  {
    MakeDevCa(node.dir(), node.dir().Sub("other-ca"));
    Run r = node.Chip(
        {"--tls-ca", node.dir().Sub("other-ca/ca.crt"), "status", "--timeout-ms", kShortTimeout});
    INFO(r.err);
    CHECK(r.code == kChipUnreachable);
    CHECK(Contains(r.err, "TLS handshake"));
  }
  // A server name the certificate does not carry, then one it does.
  {
    Run r = node.Chip(Cat(
        tls, {"--tls-server-name", "elsewhere.example", "status", "--timeout-ms", kShortTimeout}));
    INFO(r.err);
    CHECK(r.code == kChipUnreachable);
    CHECK(Contains(r.err, "TLS handshake"));
    CHECK(node.Chip(Cat(tls, {"--tls-server-name", "localhost", "status"})).code == 0);
  }
}

TEST_CASE("tls: a chipd that requires client certificates serves only chip with one",
          "[integration][tls]") {
  TlsNode node;
  node.Launch("127.0.0.1", Cat(node.ServerTls(), {"--tls-client-ca", node.Ca("ca.crt"),
                                                  "--tls-require-client-cert"}));
  const auto with_cert = node.ClientTls(true);
  REQUIRE(node.WaitServing(with_cert));
  INFO("chipd log:\n" << node.log());
  CHECK(Contains(node.log(), "client certificates required"));

  node.ChipJson({"keys", "new", "bob"});
  CHECK(node.ChipJson(Cat(with_cert, {"send", "bob", "1", "--from", "dev"}))["code"] == "OK");

  // Without a client certificate: refused, and chip says what may be missing.
  Run r = node.Chip(Cat(node.ClientTls(false), {"status", "--timeout-ms", kShortTimeout}));
  INFO(r.err);
  CHECK(r.code == kChipUnreachable);
  CHECK(Contains(r.err, "--tls-cert"));
  // With a client certificate of another CA: refused too.
  MakeDevCa(node.dir(), node.dir().Sub("other-ca"));
  Run other =
      node.Chip({"--tls-ca", node.Ca("ca.crt"), "--tls-cert", node.dir().Sub("other-ca/client.crt"),
                 "--tls-key", node.dir().Sub("other-ca/client.key"), "status", "--timeout-ms",
                 kShortTimeout});
  INFO(other.err);
  CHECK(other.code == kChipUnreachable);
  // A key of another certificate passes chip's PEM checks; gRPC cannot use
  // the pair, and chip says which options to look at.
  Run mismatched =
      node.Chip({"--tls-ca", node.Ca("ca.crt"), "--tls-cert", node.Ca("client.crt"), "--tls-key",
                 node.Ca("node.key"), "status", "--timeout-ms", kShortTimeout});
  INFO(mismatched.err);
  CHECK(mismatched.code == kChipUnreachable);
  CHECK(Contains(mismatched.err, "TLS handshake with node at " + node.address() + " failed"));
  CHECK(Contains(mismatched.err,
                 "could not use --tls-cert and --tls-key: the key is not the "
                 "certificate's, or one of them is invalid"));
  // Plaintext: refused.
  CHECK(node.Chip({"status", "--timeout-ms", kShortTimeout}).code == kChipUnreachable);
}

TEST_CASE("tls: chipd serves plaintext off loopback only with --allow-plaintext-remote",
          "[integration][tls]") {
  SECTION("refused without it") {
    TlsNode node;
    node.Launch("0.0.0.0", {});
    CHECK(node.WaitRefused() == kChipdRefused);
    INFO(node.log());
    CHECK(Contains(node.log(), "chipd: listen address 0.0.0.0:"));
    CHECK(Contains(node.log(), "--allow-plaintext-remote"));
    CHECK(Contains(node.log(), "--tls-cert"));
  }
  SECTION("served with it") {
    TlsNode node;
    node.Launch("0.0.0.0", {"--allow-plaintext-remote"});
    REQUIRE(node.WaitServing({}));
    CHECK(Contains(node.log(), "gRPC is plaintext (no TLS certificate)"));
  }
  SECTION("served with its older name, --allow-remote") {
    TlsNode node;
    node.Launch("0.0.0.0", {"--allow-remote"});
    REQUIRE(node.WaitServing({}));
  }
  SECTION("TLS needs no flag") {
    TlsNode node;
    node.Launch("0.0.0.0", node.ServerTls());
    REQUIRE(node.WaitServing(node.ClientTls()));
  }
  SECTION("metrics are plain HTTP: off loopback they need the flag even with TLS") {
    TlsNode node;
    node.Launch("127.0.0.1", Cat(node.ServerTls(),
                                 {"--metrics-listen", "0.0.0.0:" + std::to_string(FreePort())}));
    CHECK(node.WaitRefused() == kChipdRefused);
    INFO(node.log());
    CHECK(Contains(node.log(), "metrics are plain HTTP"));
  }
}

TEST_CASE("tls: chipd refuses to start with unusable TLS files, naming the problem",
          "[integration][tls]") {
  TlsNode node;
  const std::string garbage = node.dir().Sub("garbage.pem");
  {
    std::ofstream out(garbage);
    out << "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
  }
  const std::string missing = node.dir().Sub("missing.crt");
  struct Row {
    std::vector<std::string> flags;
    std::string message;
  };
  const std::vector<Row> rows = {
      {{"--tls-cert", missing, "--tls-key", node.Ca("node.key")},
       "TLS certificate " + missing + ": No such file or directory"},
      {{"--tls-cert", node.Ca("node.crt")}, "tls_cert_file and tls_key_file"},
      // The PEM checks pass a key of another certificate; gRPC then refuses
      // to listen, and chipd says which files to look at.
      {{"--tls-cert", node.Ca("node.crt"), "--tls-key", node.Ca("client.key")},
       ": port in use, or the TLS certificate " + node.Ca("node.crt") + " and key " +
           node.Ca("client.key") + " do not match or are invalid"},
      {{"--tls-cert", garbage, "--tls-key", node.Ca("node.key")},
       "TLS certificate " + garbage + ": malformed PEM CERTIFICATE block at line 1"},
      {{"--tls-cert", node.Ca("node.key"), "--tls-key", node.Ca("node.key")},
       "no PEM certificate in it"},
      {{"--tls-cert", node.Ca("node.crt"), "--tls-key", node.Ca("node.crt")},
       "no PEM private key in it"},
      {Cat(node.ServerTls(), {"--tls-require-client-cert"}), "needs tls_client_ca_file"},
      {Cat(node.ServerTls(), {"--tls-client-ca", garbage}), "TLS client CA " + garbage},
      {{"--tls-client-ca", node.Ca("ca.crt")}, "need TLS"},
  };
  for (const auto& row : rows) {
    // A fresh node each time: chipd dev writes its flags into a new chain's config.
    TlsNode n;
    n.Launch("127.0.0.1", row.flags);
    int code = n.WaitRefused();
    std::string log = n.log();
    std::string flags;
    for (const auto& f : row.flags) flags += " " + f;
    INFO("flags:" << flags << "\nexpected: " << row.message << "\nlog: " << log);
    CHECK(code == kChipdRefused);
    CHECK(Contains(log, row.message));
  }
}

TEST_CASE("tls: chip refuses unusable TLS options with exit code 2 before connecting",
          "[integration][tls]") {
  TlsNode node;  // only its CA and wallet; nothing listens
  const std::string garbage = node.dir().Sub("garbage.pem");
  const std::string encrypted = node.dir().Sub("encrypted.key");
  {
    std::ofstream(garbage)
        << "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
    std::ofstream(encrypted)
        << "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
  }
  struct Row {
    std::vector<std::string> options;
    std::string message;
  };
  const std::vector<Row> rows = {
      {{"--tls-ca", node.dir().Sub("nope.crt")}, "--tls-ca " + node.dir().Sub("nope.crt")},
      {{"--tls-ca", node.Ca("ca.key")},
       "--tls-ca " + node.Ca("ca.key") + ": no PEM certificate in it"},
      {{"--tls-ca", garbage},
       "--tls-ca " + garbage + ": malformed PEM CERTIFICATE block at line 1"},
      {{"--tls-cert", node.Ca("client.crt"), "--tls-key", node.Ca("client.key")}, "need --tls-ca"},
      {{"--tls-ca", node.Ca("ca.crt"), "--tls-cert", node.Ca("client.crt")}, "go together"},
      {{"--tls-ca", node.Ca("ca.crt"), "--tls-cert", node.Ca("client.crt"), "--tls-key",
        node.Ca("client.crt")},
       "--tls-key " + node.Ca("client.crt") + ": no PEM private key in it"},
      {{"--tls-ca", node.Ca("ca.crt"), "--tls-cert", node.Ca("client.crt"), "--tls-key", encrypted},
       "--tls-key " + encrypted + " is encrypted"},
  };
  for (const auto& row : rows) {
    Run r = node.Chip(Cat(row.options, {"status"}));
    INFO(row.message << "\nerr: " << r.err);
    CHECK(r.code == kChipUsage);
    CHECK(Contains(r.err, row.message));
  }
}
