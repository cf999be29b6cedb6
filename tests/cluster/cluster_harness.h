// A real cluster for tests: a 3-member etcd (tests/etcd_fixture.h) and N
// chipd processes (`chipd start --etcd`) on free loopback ports, sharing one
// genesis with N validators and a funded 'dev' key in a shared wallet. Nodes
// can be killed (-9), paused (SIGSTOP), resumed and restarted; the `chip`
// binary drives them. Nothing is mocked.
#pragma once

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../etcd_fixture.h"
#include "../integration/harness.h"
#include "ledger/crypto.h"
#include "node/node.h"
#include "wallet/keystore.h"

namespace chip::ctest {

using itest::Run;

constexpr uint64_t kDevFundsUcu = 1'000'000ull * 1'000'000ull;  // 1,000,000 CU

class Cluster {
 public:
  struct Options {
    size_t nodes = 3;
    std::vector<std::string> node_flags;  // extra flags for every chipd start
    test::EtcdCluster::Options etcd;
  };

  explicit Cluster(Options o) : options_(std::move(o)), etcd_(options_.etcd) {}
  ~Cluster() {
    for (size_t i = 0; i < nodes_.size(); ++i) Kill(i);
  }

  // Starts etcd, creates the node directories and starts every node; false
  // with error() set when something did not come up.
  bool Start() {
    if (!etcd_.Start()) {
      error_ = "etcd: " + etcd_.error();
      return false;
    }
    wallet::Keystore ks(wallet());
    SecretKey dev = GenerateKey();
    auto made = ks.Import("dev", dev.Seed(), "", false, wallet::KdfCost::Minimum());
    if (!made.ok()) {
      error_ = made.status().ToString();
      return false;
    }
    Genesis g;
    g.chain_name = "chipledger-cluster-test";
    g.genesis_time_ms = 1'800'000'000'000;
    std::vector<SecretKey> keys;
    for (size_t i = 0; i < options_.nodes; ++i) {
      keys.push_back(GenerateKey());
      g.validators.push_back(keys.back().Public());
    }
    g.issuers.push_back({dev.Public(), std::nullopt});
    g.balances.emplace_back(dev.Public(), kDevFundsUcu);
    chain_id_hex_ = ToHex(ChainId(g));
    for (size_t i = 0; i < options_.nodes; ++i) {
      Node n;
      n.port = itest::FreePort();
      n.dir = dir_.Sub("node" + std::to_string(i));
      node::NodeConfig c;
      c.data_dir = n.dir;
      Status s = node::InitDataDir(c, g, keys[i]);
      if (!s.ok()) {
        error_ = s.ToString();
        return false;
      }
      nodes_.push_back(n);
    }
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (!StartNode(i)) return false;
    }
    return true;
  }

  // Starts (or restarts) node i and waits until it answers `chip status`.
  bool StartNode(size_t i) {
    Node& n = nodes_.at(i);
    std::vector<std::string> args = {"start",    "--data-dir",      n.dir,
                                     "--etcd",   etcd_.endpoints(), "--listen",
                                     address(i), "--no-metrics",    "--etcd-lease-ttl-s",
                                     "2",        "--log-level",     "debug"};
    args.insert(args.end(), options_.node_flags.begin(), options_.node_flags.end());
    n.pid = itest::Spawn(CHIPD_PATH, args, {}, n.dir + ".out",
                         n.dir + ".log." + std::to_string(++n.starts));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      if (Chip(i, {"status"}).code == 0) return true;
      int status = 0;
      if (::waitpid(n.pid, &status, WNOHANG) == n.pid) {
        n.pid = -1;
        error_ = "node " + std::to_string(i) + " exited: " + Log(i);
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    error_ = "node " + std::to_string(i) + " did not answer: " + Log(i);
    return false;
  }

  void Kill(size_t i, int sig = SIGKILL) {
    Node& n = nodes_.at(i);
    if (n.pid <= 0) return;
    if (sig == SIGSTOP || sig == SIGCONT) {
      ::kill(n.pid, sig);
      return;
    }
    ::kill(n.pid, SIGCONT);  // a paused process would not act on SIGTERM
    ::kill(n.pid, sig);
    itest::WaitExit(n.pid, std::chrono::seconds(30));
    n.pid = -1;
  }
  bool running(size_t i) const { return nodes_.at(i).pid > 0; }

  size_t size() const { return nodes_.size(); }
  test::EtcdCluster& etcd() { return etcd_; }
  std::string address(size_t i) const { return "127.0.0.1:" + std::to_string(nodes_.at(i).port); }
  std::string wallet() const { return dir_.Sub("wallet"); }
  const std::string& chain_id_hex() const { return chain_id_hex_; }
  const std::string& error() const { return error_; }
  std::string dir() const { return dir_.path(); }
  // Node i's data directory.
  const std::string& data_dir(size_t i) const { return nodes_.at(i).dir; }
  // Node i's log of its latest start.
  std::string Log(size_t i) const {
    const Node& n = nodes_.at(i);
    return itest::ReadFile(n.dir + ".log." + std::to_string(n.starts));
  }
  // Every log node i wrote, all starts.
  std::string AllLogs(size_t i) const {
    std::string all;
    for (int s = 1; s <= nodes_.at(i).starts; ++s) {
      all += itest::ReadFile(nodes_.at(i).dir + ".log." + std::to_string(s));
    }
    return all;
  }

  Run Chip(size_t i, std::vector<std::string> args) const {
    std::vector<std::string> full = {"--node", address(i),     "--wallet",
                                     wallet(), "--timeout-ms", "20000"};
    full.insert(full.end(), args.begin(), args.end());
    std::string tag = std::to_string(i) + "-" + std::to_string(::getpid()) + "-" +
                      std::to_string(std::hash<std::thread::id>()(std::this_thread::get_id()));
    std::string out = dir_.Sub("chip." + tag + ".out"), err = dir_.Sub("chip." + tag + ".err");
    pid_t pid = itest::Spawn(CHIP_PATH, full, {{"CHIP_PASSPHRASE", "test passphrase"}}, out, err);
    Run r;
    r.code = itest::WaitExit(pid, std::chrono::seconds(60));
    r.out = itest::ReadFile(out);
    r.err = itest::ReadFile(err);
    return r;
  }

  // `chip status --json` of node i (discarded JSON when it fails).
  nlohmann::json StatusJson(size_t i) const {
    Run r = Chip(i, {"status", "--json"});
    return nlohmann::json::parse(r.out, nullptr, false);
  }

  // The producer's index as node i reports it, or -1.
  int ProducerSeenBy(size_t i) const {
    auto st = StatusJson(i);
    if (st.is_discarded() || !st.contains("cluster")) return -1;
    std::string p = st["cluster"]["producer"].get<std::string>();
    for (size_t k = 0; k < nodes_.size(); ++k) {
      if (address(k) == p) return static_cast<int>(k);
    }
    return -1;
  }

  // Waits until every running node reports the same producer (one of them);
  // returns its index or -1 at the deadline.
  int WaitForProducer(std::chrono::seconds timeout = std::chrono::seconds(60)) const {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int agreed = -2;
      for (size_t i = 0; i < nodes_.size() && agreed != -1; ++i) {
        if (!running(i)) continue;
        int p = ProducerSeenBy(i);
        if (p < 0 || !running(static_cast<size_t>(p)) || (agreed >= 0 && p != agreed)) {
          agreed = -1;
        } else {
          agreed = p;
        }
      }
      if (agreed >= 0) return agreed;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return -1;
  }

  // Waits until every running node is at the same height with the same tip
  // hash and state digest; true when they converged before the deadline.
  bool WaitConverged(std::chrono::seconds timeout = std::chrono::seconds(60)) const {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      std::string first;
      bool same = true;
      for (size_t i = 0; i < nodes_.size() && same; ++i) {
        if (!running(i)) continue;
        auto st = StatusJson(i);
        if (st.is_discarded()) {
          same = false;
          break;
        }
        std::string v = std::to_string(st["height"].get<uint64_t>()) + "/" +
                        st["tip_hash"].get<std::string>() + "/" +
                        st["state_digest"].get<std::string>();
        if (first.empty()) first = v;
        same = v == first;
      }
      if (same && !first.empty()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

 private:
  struct Node {
    std::string dir;
    int port = 0;
    pid_t pid = -1;
    int starts = 0;
  };
  Options options_;
  test::TempDir dir_;
  test::EtcdCluster etcd_;
  std::vector<Node> nodes_;
  std::string chain_id_hex_;
  std::string error_;
};

}  // namespace chip::ctest
