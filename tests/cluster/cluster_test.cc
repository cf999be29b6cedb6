// Multi-node tests: real etcd members and chipd processes on loopback, driven
// by the real chip binary. They check what docs/OPERATIONS.md promises of a
// cluster: one history on every node, failover without losing or repeating
// an acknowledged transaction, fencing of a paused producer, catch-up (also
// from below the etcd window), etcd member loss, and refusal of bad blocks.
// No timing thresholds: deadlines only bound hangs; failover times are
// printed (docs/PERFORMANCE.md).
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <set>

#include "cluster_harness.h"
#include "ledger/block.h"

namespace chip::ctest {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

struct Acked {
  std::string hash;
  uint64_t height = 0;
  uint32_t index = 0;
  std::string code;
};

// Signs `n` transfers from dev to a fresh key with amounts 1..n uCU-ish
// (distinct), offline, and returns their hex.
std::vector<std::string> SignTransfers(const Cluster& c, size_t via, size_t n,
                                       const std::string& to, const std::string& tag) {
  std::vector<std::string> out;
  for (size_t k = 0; k < n; ++k) {
    Run r = c.Chip(via, {"send", to, std::to_string(k + 1) + "uCU", "--from", "dev", "--memo",
                         tag + std::to_string(k), "--sign-only", "--json"});
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    out.push_back(r.Json()["tx_hex"].get<std::string>());
  }
  return out;
}

// Submits `hex` to the running nodes in turn from `start`, retrying on
// failures that leave the outcome open (unreachable, unavailable) until a
// node answers with a result; that answer is returned.
Acked SubmitUntilAnswered(const Cluster& c, const std::string& hex, size_t start,
                          seconds timeout = seconds(90)) {
  auto deadline = Clock::now() + timeout;
  for (size_t attempt = 0; Clock::now() < deadline; ++attempt) {
    size_t i = (start + attempt) % c.size();
    if (!c.running(i)) continue;
    Run r = c.Chip(i, {"submit", hex, "--json"});
    if (r.code == 0 || r.code == 3) {
      auto j = r.Json();
      REQUIRE_FALSE(j.is_discarded());
      return Acked{j["tx_hash"].get<std::string>(), j.value("height", uint64_t{0}),
                   j.value("index", uint32_t{0}), j["code"].get<std::string>()};
    }
    // 4: unreachable / unavailable / no producer: the outcome is open.
    INFO("chip submit via node " << i << " -> " << r.code << ": " << r.err);
    REQUIRE(r.code == 4);
    std::this_thread::sleep_for(milliseconds(100));
  }
  FAIL("no node answered in time");
  return {};
}

std::string NewKey(const Cluster& c, const std::string& name) {
  Run r = c.Chip(0, {"keys", "new", name, "--json"});
  REQUIRE(r.code == 0);
  return r.Json()["address"].get<std::string>();
}

uint64_t BalanceUcu(const Cluster& c, size_t i, const std::string& who) {
  Run r = c.Chip(i, {"balance", who, "--json"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  return r.Json()["balance"]["ucu"].get<uint64_t>();
}

// Every node that runs holds each acknowledged tx at the acknowledged place.
void CheckAcknowledged(const Cluster& c, const std::vector<Acked>& acked) {
  for (size_t i = 0; i < c.size(); ++i) {
    if (!c.running(i)) continue;
    for (const auto& a : acked) {
      Run r = c.Chip(i, {"tx", a.hash, "--json"});
      INFO("node " << i << " tx " << a.hash << ": " << r.out << r.err);
      REQUIRE(r.code == 0);
      auto j = r.Json();
      CHECK(j["height"].get<uint64_t>() == a.height);
      CHECK(j["index"].get<uint32_t>() == a.index);
      CHECK(j["code"].get<std::string>() == a.code);
    }
  }
}

// A base port with `count` free ports from it on (loopback).
int FreePortRange(int count) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    int base = 20'000 + (itest::FreePort() % 20'000);
    bool all = true;
    for (int k = 0; k < count && all; ++k) {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(static_cast<uint16_t>(base + k));
      all = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
      ::close(fd);
    }
    if (all) return base;
  }
  return -1;
}

}  // namespace

TEST_CASE(
    "chipd devnet: one command starts etcd and N nodes, chip works on any node, SIGINT "
    "stops everything") {
  test::TempDir dir;
  int base = FreePortRange(6), etcd_base = FreePortRange(6);
  REQUIRE(base > 0);
  REQUIRE(etcd_base > 0);
  const std::string out = dir.Sub("devnet.out");
  pid_t pid = itest::Spawn(
      CHIPD_PATH,
      {"devnet", "--nodes", "3", "--dir", dir.Sub("net"), "--wallet", dir.Sub("wallet"),
       "--base-port", std::to_string(base), "--etcd-base-port", std::to_string(etcd_base)},
      {}, out, dir.Sub("devnet.err"));
  auto deadline = Clock::now() + seconds(60);
  while (Clock::now() < deadline &&
         itest::ReadFile(out).find("chipd devnet is running") == std::string::npos) {
    std::this_thread::sleep_for(milliseconds(100));
  }
  std::string banner = itest::ReadFile(out);
  INFO(banner << itest::ReadFile(dir.Sub("devnet.err")));
  REQUIRE(banner.find("chipd devnet is running") != std::string::npos);
  std::vector<std::string> nodes;
  for (int i = 0; i < 3; ++i) {
    nodes.push_back("127.0.0.1:" + std::to_string(base + 2 * i));
    CHECK(banner.find(nodes.back()) != std::string::npos);
  }
  CHECK(banner.find("127.0.0.1:" + std::to_string(etcd_base)) != std::string::npos);
  auto chip = [&](const std::string& node, std::vector<std::string> args) {
    std::vector<std::string> full = {"--node", node, "--wallet", dir.Sub("wallet")};
    full.insert(full.end(), args.begin(), args.end());
    pid_t p = itest::Spawn(CHIP_PATH, full, {{"CHIP_PASSPHRASE", "pw"}}, dir.Sub("chip.out"),
                           dir.Sub("chip.err"));
    Run r;
    r.code = itest::WaitExit(p, seconds(60));
    r.out = itest::ReadFile(dir.Sub("chip.out"));
    r.err = itest::ReadFile(dir.Sub("chip.err"));
    return r;
  };
  REQUIRE(chip(nodes[0], {"keys", "new", "gina"}).code == 0);
  // The nodes elect a producer and take submissions on any node.
  auto until = Clock::now() + seconds(60);
  Run sent;
  while (Clock::now() < until) {
    sent = chip(nodes[2], {"send", "gina", "3", "--from", "dev"});
    if (sent.code == 0) break;
    std::this_thread::sleep_for(milliseconds(200));
  }
  INFO(sent.out << sent.err);
  REQUIRE(sent.code == 0);
  Run st = chip(nodes[1], {"status"});
  CHECK(st.code == 0);
  CHECK(st.out.find("3 nodes registered") != std::string::npos);
  ::kill(pid, SIGINT);
  CHECK(itest::WaitExit(pid, seconds(60)) == 0);
  CHECK(itest::ReadFile(out).find("chipd devnet stopped") != std::string::npos);
  // Nothing is left listening.
  for (const auto& n : nodes) CHECK(chip(n, {"status"}).code == 4);
  // Its logs say each node stopped cleanly.
  for (int i = 0; i < 3; ++i) {
    std::string log = itest::ReadFile(dir.Sub("net/node" + std::to_string(i) + "/chipd.log"));
    CHECK(log.find("chipd stopped at height") != std::string::npos);
  }
}

TEST_CASE("three nodes: submissions to every node commit, all reach one tip and state digest") {
  Cluster c({});
  REQUIRE(c.Start());
  int producer = c.WaitForProducer();
  REQUIRE(producer >= 0);
  std::string alice = NewKey(c, "alice");
  std::vector<Acked> acked;
  uint64_t sent = 0;
  for (size_t round = 0; round < 3; ++round) {
    for (size_t i = 0; i < c.size(); ++i) {
      uint64_t amount = 1 + round * 10 + i;
      Run r =
          c.Chip(i, {"send", "alice", std::to_string(amount) + "uCU", "--from", "dev", "--json"});
      INFO("node " << i << ": " << r.out << r.err);
      REQUIRE(r.code == 0);
      auto j = r.Json();
      acked.push_back({j["tx_hash"].get<std::string>(), j["height"].get<uint64_t>(),
                       j["index"].get<uint32_t>(), j["code"].get<std::string>()});
      sent += amount;
      // A follower answers only once it applied the block itself: a read on
      // the node that answered sees the transfer at once.
      CHECK(BalanceUcu(c, i, alice) == sent);
    }
  }
  REQUIRE(c.WaitConverged());
  CheckAcknowledged(c, acked);
  for (size_t i = 0; i < c.size(); ++i) CHECK(BalanceUcu(c, i, alice) == sent);
  // chip status shows the producer, every node and their agreement.
  auto st = c.StatusJson(1);
  REQUIRE(st.contains("cluster"));
  CHECK(st["cluster"]["members"].size() == 3);
  CHECK(st["cluster"]["agree"].get<bool>());
  CHECK(st["cluster"]["producer"].get<std::string>() == c.address(static_cast<size_t>(producer)));
  for (const auto& m : st["cluster"]["members"]) CHECK(m["reachable"].get<bool>());
  Run human = c.Chip(2, {"status"});
  CHECK(human.code == 0);
  CHECK(human.out.find("agree         yes") != std::string::npos);
  // Every node can verify the chain it holds.
  for (size_t i = 0; i < c.size(); ++i) {
    Run v = c.Chip(i, {"verify", "chain"});
    INFO(v.out << v.err);
    CHECK(v.code == 0);
  }
}

TEST_CASE(
    "kill -9 the producer under load: another takes over, nothing acknowledged is lost "
    "or applied twice, retries get the original results") {
  Cluster c({});
  REQUIRE(c.Start());
  int producer = c.WaitForProducer();
  REQUIRE(producer >= 0);
  std::string bob = NewKey(c, "bob");
  const size_t kTxs = 40;
  auto txs = SignTransfers(c, 0, kTxs, bob, "failover-");
  std::vector<Acked> acked(kTxs);
  std::atomic<size_t> done{0};
  std::thread load([&] {
    for (size_t k = 0; k < kTxs; ++k) {
      acked[k] = SubmitUntilAnswered(c, txs[k], k);
      done.store(k + 1);
    }
  });
  while (done.load() < kTxs / 3) std::this_thread::sleep_for(milliseconds(20));
  auto killed_at = Clock::now();
  c.Kill(static_cast<size_t>(producer));
  size_t done_at_kill = done.load();
  while (done.load() == done_at_kill && done.load() < kTxs) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  auto resumed = std::chrono::duration_cast<milliseconds>(Clock::now() - killed_at).count();
  load.join();
  int next = c.WaitForProducer();
  REQUIRE(next >= 0);
  CHECK(next != producer);
  WARN("failover: first commit " << resumed << " ms after kill -9 of the producer (lease TTL 2 s)");
  REQUIRE(c.WaitConverged());
  uint64_t expect = 0;
  for (size_t k = 0; k < kTxs; ++k) {
    CHECK(acked[k].code == "OK");
    expect += k + 1;
  }
  CheckAcknowledged(c, acked);
  // Each transfer applied exactly once.
  for (size_t i = 0; i < c.size(); ++i) {
    if (c.running(i)) CHECK(BalanceUcu(c, i, bob) == expect);
  }
  // A client retrying a transaction acknowledged before the kill gets the
  // original outcome from any survivor.
  for (size_t i = 0; i < c.size(); ++i) {
    if (!c.running(i)) continue;
    Run r = c.Chip(i, {"submit", txs[0], "--json"});
    REQUIRE(r.code == 0);
    auto j = r.Json();
    CHECK(j["already_applied"].get<bool>());
    CHECK(j["height"].get<uint64_t>() == acked[0].height);
    CHECK(j["index"].get<uint32_t>() == acked[0].index);
  }
  // The old producer restarts as a follower and catches up.
  REQUIRE(c.StartNode(static_cast<size_t>(producer)));
  REQUIRE(c.WaitConverged());
  CheckAcknowledged(c, acked);
}

TEST_CASE("SIGSTOP the producer past its lease, SIGCONT: it cannot append, steps down, follows") {
  Cluster c({});
  REQUIRE(c.Start());
  int paused = c.WaitForProducer();
  REQUIRE(paused >= 0);
  const size_t p = static_cast<size_t>(paused);
  std::string carol = NewKey(c, "carol");
  auto txs = SignTransfers(c, 0, 6, carol, "fence-");
  c.Kill(p, SIGSTOP);
  // A submission reaches the paused producer's socket; it is handled only
  // after SIGCONT, by a node whose lease has expired meanwhile.
  std::atomic<int> paused_code{-1};
  std::string paused_out;
  std::thread to_paused([&] {
    Run r = c.Chip(p, {"submit", txs[0], "--json"});
    paused_out = r.out + r.err;
    paused_code.store(r.code);
  });
  // The others elect a new producer and keep committing.
  size_t other = (p + 1) % c.size();
  auto deadline = Clock::now() + seconds(60);
  int next = -1;
  while (Clock::now() < deadline) {
    next = c.ProducerSeenBy(other);
    if (next >= 0 && next != paused) break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  REQUIRE(next >= 0);
  REQUIRE(next != paused);
  std::vector<Acked> acked;
  for (size_t k = 1; k < 4; ++k) acked.push_back(SubmitUntilAnswered(c, txs[k], other));
  c.Kill(p, SIGCONT);
  to_paused.join();
  // Whatever the resumed node answered, it ordered nothing on its own: its
  // answer is a clean refusal (4, resubmit) or the one true result.
  INFO(paused_out);
  CHECK((paused_code.load() == 0 || paused_code.load() == 4));
  acked.push_back(SubmitUntilAnswered(c, txs[0], other));
  for (size_t k = 4; k < 6; ++k) acked.push_back(SubmitUntilAnswered(c, txs[k], p));
  REQUIRE(c.WaitConverged());
  CHECK(c.WaitForProducer() == next);
  CheckAcknowledged(c, acked);
  std::string log = c.Log(p);
  CHECK(log.find("no longer the block producer") != std::string::npos);
  uint64_t expect = 0;
  for (size_t k = 0; k < 6; ++k) expect += k + 1;
  for (size_t i = 0; i < c.size(); ++i) CHECK(BalanceUcu(c, i, carol) == expect);
}

TEST_CASE(
    "a restarted follower catches up, from a peer when it is below the etcd window, the "
    "producer trims, compacts and defragments etcd, and a follower restored from its backup "
    "catches up too") {
  Cluster::Options o;
  o.node_flags = {"--etcd-window-blocks", "8", "--etcd-defrag-interval-s", "1"};
  Cluster c(o);
  REQUIRE(c.Start());
  int producer = c.WaitForProducer();
  REQUIRE(producer >= 0);
  size_t follower = (static_cast<size_t>(producer) + 1) % c.size();
  std::string dave = NewKey(c, "dave");
  c.Kill(follower);
  size_t via = (follower + 1) % c.size();
  // Each send is its own block: 30 blocks, far past a window of 8.
  for (size_t k = 0; k < 30; ++k) {
    Run r = c.Chip(via, {"send", "dave", "1uCU", "--from", "dev", "--memo", std::to_string(k)});
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
  }
  // etcd holds only the window now.
  auto etcd = c.etcd().Client();
  auto blocks =
      etcd->Range(node::EtcdRange::Prefix("/chipledger/" + c.chain_id_hex() + "/blocks/"));
  REQUIRE(blocks.ok());
  CHECK(blocks->kvs.size() <= 10);
  REQUIRE(c.StartNode(follower));
  REQUIRE(c.WaitConverged());
  auto st = c.StatusJson(follower);
  CHECK(st["cluster"]["peer_catchup_blocks_total"].get<uint64_t>() > 0);
  CHECK(BalanceUcu(c, follower, dave) == 30);
  // A follower restarted within the window catches up from etcd alone.
  c.Kill(follower);
  for (size_t k = 0; k < 3; ++k) {
    REQUIRE(c.Chip(via, {"send", "dave", "1uCU", "--from", "dev"}).code == 0);
  }
  REQUIRE(c.StartNode(follower));
  REQUIRE(c.WaitConverged());
  CHECK(BalanceUcu(c, follower, dave) == 33);
  CHECK(c.StatusJson(follower)["cluster"]["peer_catchup_blocks_total"].get<uint64_t>() == 0);
  CHECK(c.Log(static_cast<size_t>(producer)).find("defragmented etcd member") != std::string::npos);

  // An online backup of the follower, restored in place of its data after
  // the cluster went on past the etcd window: it catches up from a peer.
  const std::string backup = c.dir() + "/follower-backup";
  auto chipd = [&](const std::vector<std::string>& args) {
    pid_t pid =
        itest::Spawn(CHIPD_PATH, args, {}, c.dir() + "/chipd-cmd.out", c.dir() + "/chipd-cmd.err");
    int code = itest::WaitExit(pid, std::chrono::seconds(120));
    INFO(itest::ReadFile(c.dir() + "/chipd-cmd.out")
         << itest::ReadFile(c.dir() + "/chipd-cmd.err"));
    return code;
  };
  REQUIRE(chipd({"backup", "--data-dir", c.data_dir(follower), "--to", backup}) == 0);
  c.Kill(follower);
  for (size_t k = 0; k < 12; ++k) {
    REQUIRE(c.Chip(via, {"send", "dave", "1uCU", "--from", "dev"}).code == 0);
  }
  std::filesystem::remove_all(c.data_dir(follower));
  REQUIRE(chipd({"restore", "--from", backup, "--data-dir", c.data_dir(follower)}) == 0);
  REQUIRE(c.StartNode(follower));
  REQUIRE(c.WaitConverged());
  CHECK(BalanceUcu(c, follower, dave) == 45);
  CHECK(c.StatusJson(follower)["cluster"]["peer_catchup_blocks_total"].get<uint64_t>() > 0);
}

TEST_CASE(
    "etcd member loss: one of three keeps committing, two fail writes cleanly, reads "
    "work, and all resumes when they return") {
  Cluster c({});
  REQUIRE(c.Start());
  REQUIRE(c.WaitForProducer() >= 0);
  std::string erin = NewKey(c, "erin");
  c.etcd().Kill(0);
  for (size_t i = 0; i < c.size(); ++i) {
    Run r = c.Chip(i, {"send", "erin", "1uCU", "--from", "dev"});
    INFO("one member down, via node " << i << ": " << r.out << r.err);
    // The first call after a member dies may still be routed to it.
    if (r.code != 0) r = c.Chip(i, {"send", "erin", "1uCU", "--from", "dev"});
    CHECK(r.code == 0);
  }
  c.etcd().Kill(1);
  // Without a quorum: writes fail with UNAVAILABLE (exit 4) once the node
  // notices, reads are served from each node's store.
  auto deadline = Clock::now() + seconds(60);
  int code = 0;
  while (Clock::now() < deadline) {
    code = c.Chip(1, {"send", "erin", "1uCU", "--from", "dev"}).code;
    if (code == 4) break;
  }
  CHECK(code == 4);
  for (size_t i = 0; i < c.size(); ++i) {
    CHECK(BalanceUcu(c, i, erin) >= 3);
    auto st = c.StatusJson(i);
    REQUIRE_FALSE(st.is_discarded());
  }
  REQUIRE(c.etcd().Restart(0));
  REQUIRE(c.etcd().Restart(1));
  deadline = Clock::now() + seconds(90);
  code = -1;
  while (Clock::now() < deadline && code != 0) {
    code = c.Chip(2, {"send", "erin", "1uCU", "--from", "dev"}).code;
    if (code != 0) std::this_thread::sleep_for(milliseconds(200));
  }
  CHECK(code == 0);
  REQUIRE(c.WaitConverged());
}

TEST_CASE(
    "etcd over TLS with client certificates: the cluster commits, a node without a "
    "certificate cannot reach etcd") {
  test::TempDir certs;
  std::string cmd = "bash " CHIP_SOURCE_DIR "/scripts/dev-ca.sh " + certs.path() + " >/dev/null";
  REQUIRE(std::system(cmd.c_str()) == 0);
  Cluster::Options o;
  o.etcd.cert_file = certs.Sub("node.crt");
  o.etcd.key_file = certs.Sub("node.key");
  o.etcd.ca_file = certs.Sub("ca.crt");
  o.node_flags = {"--etcd-tls-ca",       certs.Sub("ca.crt"), "--etcd-tls-cert",
                  certs.Sub("node.crt"), "--etcd-tls-key",    certs.Sub("node.key")};
  Cluster c(o);
  REQUIRE(c.Start());
  REQUIRE(c.WaitForProducer() >= 0);
  NewKey(c, "ivan");
  for (size_t i = 0; i < c.size(); ++i) {
    Run r = c.Chip(i, {"send", "ivan", "2uCU", "--from", "dev"});
    INFO(r.out << r.err);
    CHECK(r.code == 0);
  }
  REQUIRE(c.WaitConverged());
  // etcd refuses a client without a certificate: such a node has no
  // producer to forward to, and says why.
  node::EtcdClientOptions plain;
  plain.endpoints = c.etcd().endpoints();
  plain.tls_ca_pem = itest::ReadFile(certs.Sub("ca.crt"));
  plain.call_timeout_ms = 1'000;
  auto client = node::EtcdClient::Create(plain);
  REQUIRE(client.ok());
  auto denied = (*client)->Range("/chipledger/");
  CHECK_FALSE(denied.ok());
}

TEST_CASE("a bad block written into etcd is refused by every node the same way and replaced") {
  Cluster c({});
  REQUIRE(c.Start());
  int producer = c.WaitForProducer();
  REQUIRE(producer >= 0);
  std::string frank = NewKey(c, "frank");
  REQUIRE(c.Chip(0, {"send", "frank", "5uCU", "--from", "dev"}).code == 0);
  REQUIRE(c.WaitConverged());
  const std::string prefix = "/chipledger/" + c.chain_id_hex() + "/";
  auto etcd = c.etcd().Client();
  auto Pad = [](uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof(buf), "%020llu", static_cast<unsigned long long>(v));
    return std::string(buf);
  };
  auto tip = etcd->Range(prefix + "tip");
  REQUIRE(tip.ok());
  REQUIRE(tip->kvs.size() == 1);
  uint64_t h = std::stoull(tip->kvs[0].value);
  auto last = etcd->Range(prefix + "blocks/" + Pad(h));
  REQUIRE(last.ok());
  REQUIRE(last->kvs.size() == 1);
  pb::Block prev;
  REQUIRE(prev.ParseFromString(last->kvs[0].value));

  auto inject = [&](uint64_t height, const std::string& bytes) {
    // As a rogue writer would: the block and the tip in one txn.
    node::EtcdTxn txn;
    txn.compares.push_back(node::EtcdCompare::ValueIs(prefix + "tip", Pad(height - 1)));
    txn.then_ops.push_back(node::EtcdOp::Put(prefix + "blocks/" + Pad(height), bytes));
    txn.then_ops.push_back(node::EtcdOp::Put(prefix + "tip", Pad(height)));
    auto r = etcd->Txn(txn);
    REQUIRE(r.ok());
    REQUIRE(r->succeeded);
  };
  auto refused_everywhere = [&](uint64_t total) {
    auto deadline = Clock::now() + seconds(30);
    while (Clock::now() < deadline) {
      bool all = true;
      for (size_t i = 0; i < c.size() && all; ++i) {
        auto st = c.StatusJson(i);
        all = !st.is_discarded() && st["cluster"]["refused_blocks_total"].get<uint64_t>() >= total;
      }
      if (all) return true;
      std::this_thread::sleep_for(milliseconds(100));
    }
    return false;
  };

  // 1. A well-formed successor with a forged signature.
  pb::Block forged = prev;
  forged.mutable_header()->set_height(h + 1);
  forged.mutable_header()->set_prev_hash(AsString(BlockHash(prev.header())));
  inject(h + 1, forged.SerializeAsString());
  REQUIRE(refused_everywhere(1));
  for (size_t i = 0; i < c.size(); ++i) {
    CHECK(c.StatusJson(i)["height"].get<uint64_t>() == h);
    CHECK(c.Log(i).find("REFUSED block " + std::to_string(h + 1)) != std::string::npos);
  }
  // The cluster continues past it: the producer replaces it.
  Run r = c.Chip(1, {"send", "frank", "7uCU", "--from", "dev", "--json"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK(r.Json()["height"].get<uint64_t>() == h + 1);
  REQUIRE(c.WaitConverged());

  // 2. A validly signed block that does not link to its predecessor: block
  // h+1 again, claiming height h+2 (its prev_hash names block h).
  auto replaced = etcd->Range(prefix + "blocks/" + Pad(h + 1));
  REQUIRE(replaced.ok());
  REQUIRE(replaced->kvs.size() == 1);
  pb::Block unlinked;
  REQUIRE(unlinked.ParseFromString(replaced->kvs[0].value));
  unlinked.mutable_header()->set_height(h + 2);
  inject(h + 2, unlinked.SerializeAsString());
  REQUIRE(refused_everywhere(2));
  r = c.Chip(2, {"send", "frank", "9uCU", "--from", "dev", "--json"});
  REQUIRE(r.code == 0);
  CHECK(r.Json()["height"].get<uint64_t>() == h + 2);
  REQUIRE(c.WaitConverged());
  for (size_t i = 0; i < c.size(); ++i) {
    CHECK(BalanceUcu(c, i, frank) == 21);
    Run v = c.Chip(i, {"verify", "chain"});
    CHECK(v.code == 0);
  }
}

}  // namespace chip::ctest

namespace chip::ctest {

// The cluster crash campaign (docs/RELIABILITY.md): under load, kill -9 the
// producer, a follower or one etcd member, chosen by a seeded generator;
// restart it; after every cycle all nodes converge on one tip and state
// digest and every acknowledged transaction is where it was acknowledged,
// applied once. CHIP_CLUSTER_CYCLES and CHIP_CLUSTER_SEED set a longer run.
TEST_CASE(
    "cluster crash campaign: random kills of producer, follower and etcd member lose "
    "nothing") {
  const char* cycles_env = std::getenv("CHIP_CLUSTER_CYCLES");
  const char* seed_env = std::getenv("CHIP_CLUSTER_SEED");
  const size_t cycles = cycles_env ? std::strtoul(cycles_env, nullptr, 10) : 3;
  const uint64_t seed = seed_env ? std::strtoull(seed_env, nullptr, 10) : 11;
  std::mt19937_64 rng(seed);
  Cluster c({});
  REQUIRE(c.Start());
  REQUIRE(c.WaitForProducer() >= 0);
  std::string hana = NewKey(c, "hana");
  const size_t kPerCycle = 12;
  auto txs = SignTransfers(c, 0, kPerCycle * cycles, hana, "campaign-");
  std::vector<Acked> acked;
  uint64_t expect = 0;
  for (size_t cycle = 0; cycle < cycles; ++cycle) {
    int producer = c.WaitForProducer();
    REQUIRE(producer >= 0);
    std::atomic<size_t> done{0};
    std::vector<Acked> round(kPerCycle);
    std::thread load([&] {
      for (size_t k = 0; k < kPerCycle; ++k) {
        round[k] = SubmitUntilAnswered(c, txs[cycle * kPerCycle + k], k);
        done.store(k + 1);
      }
    });
    while (done.load() < kPerCycle / 3) std::this_thread::sleep_for(milliseconds(10));
    int what = static_cast<int>(rng() % 3);
    size_t victim = 0;
    std::string name;
    if (what == 0) {
      victim = static_cast<size_t>(producer);
      name = "producer node " + std::to_string(victim);
      c.Kill(victim);
    } else if (what == 1) {
      victim = (static_cast<size_t>(producer) + 1 + rng() % 2) % c.size();
      name = "follower node " + std::to_string(victim);
      c.Kill(victim);
    } else {
      victim = rng() % c.etcd().size();
      name = "etcd member " + std::to_string(victim);
      c.etcd().Kill(victim);
    }
    std::this_thread::sleep_for(milliseconds(200 + rng() % 800));
    if (what == 2) {
      REQUIRE(c.etcd().Restart(victim));
    } else {
      REQUIRE(c.StartNode(victim));
    }
    load.join();
    for (size_t k = 0; k < kPerCycle; ++k) {
      CHECK(round[k].code == "OK");
      expect += cycle * kPerCycle + k + 1;
      acked.push_back(round[k]);
    }
    INFO("cycle " << cycle << " (seed " << seed << "): killed " << name);
    REQUIRE(c.WaitConverged());
    CheckAcknowledged(c, acked);
    for (size_t i = 0; i < c.size(); ++i) CHECK(BalanceUcu(c, i, hana) == expect);
    WARN("cycle " << cycle << ": killed " << name << "; " << acked.size()
                  << " acknowledged, all present once on every node");
  }
  for (size_t i = 0; i < c.size(); ++i) {
    Run v = c.Chip(i, {"verify", "chain"});
    CHECK(v.code == 0);
  }
}

}  // namespace chip::ctest
