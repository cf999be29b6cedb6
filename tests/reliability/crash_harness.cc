// Crash-consistency harness: drives a real chipd with concurrent signed
// transfers (every fourth a multi-operation transaction of transfers), kills it with SIGKILL at
// seeded random moments, restarts it, and after every cycle checks that
//   - every transaction acknowledged to a client is in the ledger with the
//     same result code, height, index and failing operation;
//   - no transaction is recorded twice;
// and at the end, with the node stopped, that
//   - the supply invariant holds (CheckInvariants);
//   - replaying every block into a fresh store reproduces the same tip hash,
//     history log root and state digest;
//   - `chip verify chain` re-derives the whole chain from genesis.
// Usage: chip_crash [--cycles N] [--seed S] [--clients C] [--max-run-ms MS]
//                   [--keep DIR]
// Exit 0 when everything holds; the last line reports what was checked.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>  // harness.h uses Catch macros in helpers this tool does not call
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../integration/harness.h"
#include "chipledger/v1/ledger.grpc.pb.h"
#include "ledger/address.h"
#include "ledger/chain.h"
#include "ledger/invariants.h"
#include "ledger/tx.h"

using namespace chip;
namespace pb = ::chipledger::v1;

namespace {

struct Options {
  int cycles = 20;
  uint64_t seed = 1;
  int clients = 4;
  int max_run_ms = 1500;
  int accounts = 64;
  std::string keep;
};

struct Ack {
  pb::ResultCode code;
  uint64_t height;
  uint32_t index;
  int64_t failed_op;  // TxResult.failed_operation, -1 when absent
};

int Fail(const std::string& m) {
  std::fprintf(stderr, "chip_crash: FAILED: %s\n", m.c_str());
  return 1;
}

SecretKey AccountKey(int i) {
  std::array<uint8_t, 32> seed{};
  seed[0] = 0xc7;
  seed[1] = static_cast<uint8_t>(i);
  seed[2] = static_cast<uint8_t>(i >> 8);
  return KeyFromSeed(seed);
}

// Runs chip with --json and parses stdout; an empty object on failure.
nlohmann::json ChipJson(const itest::DevNode& node, std::vector<std::string> args) {
  args.push_back("--json");
  itest::Run r = node.Chip(args);
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  if (r.code != 0 || j.is_discarded()) return nlohmann::json::object();
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  if (!InitCrypto().ok()) return 2;
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--cycles")
      o.cycles = std::atoi(v.c_str());
    else if (k == "--seed")
      o.seed = std::strtoull(v.c_str(), nullptr, 10);
    else if (k == "--clients")
      o.clients = std::atoi(v.c_str());
    else if (k == "--max-run-ms")
      o.max_run_ms = std::atoi(v.c_str());
    else if (k == "--keep")
      o.keep = v;
    else
      return Fail("unknown option " + k);
  }
  std::mt19937_64 rng(o.seed);
  itest::DevNode node;
  if (!node.Start()) return Fail("chipd dev did not start:\n" + node.log());
  auto status = ChipJson(node, {"status"});
  if (!status.contains("chain_id")) return Fail("chip status failed");
  Hash32 chain_id = *Hash32FromHex(status["chain_id"].get<std::string>());

  // Fund the accounts from the dev key (through the real CLI).
  for (int i = 0; i < o.accounts; ++i) {
    auto r = ChipJson(node, {"send", EncodeAddress(AccountKey(i).Public()), "1000"});
    if (r.value("code", "") != "OK") return Fail("funding failed");
  }

  std::map<Hash32, Ack> acked;  // every acknowledged tx
  std::mutex acked_mu;
  uint64_t nonce = 1;
  std::atomic<uint64_t> submitted{0};
  size_t kills = 0;

  for (int cycle = 0; cycle < o.cycles; ++cycle) {
    // Clients submit batches of signed transfers until the node dies.
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    uint64_t base_nonce = nonce;
    nonce += 1'000'000;
    for (int c = 0; c < o.clients; ++c) {
      clients.emplace_back([&, c] {
        auto stub = pb::Ledger::NewStub(
            grpc::CreateChannel(node.address(), grpc::InsecureChannelCredentials()));
        std::mt19937_64 local(o.seed * 1000 + static_cast<uint64_t>(cycle * 17 + c));
        uint64_t n = base_nonce + static_cast<uint64_t>(c) * 100'000;
        while (!stop.load()) {
          pb::SubmitBatchRequest req;
          std::vector<Hash32> hashes;
          for (int k = 0; k < 20; ++k) {
            int a = static_cast<int>(local() % static_cast<uint64_t>(o.accounts));
            int b = static_cast<int>(local() % static_cast<uint64_t>(o.accounts));
            if (a == b) b = (b + 1) % o.accounts;
            pb::TxBody body;
            body.set_nonce(++n);
            if (k % 4 == 3) {
              // A multi-operation transaction of 2 to 10 transfers; now and
              // then one asks for more than any balance, so the whole list
              // fails at that operation (INSUFFICIENT_FUNDS, recorded).
              const int ops = 2 + static_cast<int>(local() % 9);
              for (int j = 0; j < ops; ++j) {
                int to = (a + 1 + j % (o.accounts - 1)) % o.accounts;
                auto* t = body.mutable_operations()->add_ops()->mutable_transfer();
                t->set_to(AsString(AccountKey(to).Public()));
                t->set_amount_ucu(local() % 50 == 0 ? ~0ull : 1 + local() % 1'000'000);
              }
            } else {
              body.mutable_transfer()->set_to(AsString(AccountKey(b).Public()));
              body.mutable_transfer()->set_amount_ucu(1 + local() % 5'000'000);
            }
            *req.add_txs() = SignTx(AccountKey(a), chain_id, body);
            hashes.push_back(TxHash(chain_id, req.txs(k).body()));
          }
          grpc::ClientContext ctx;
          ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
          pb::SubmitBatchResponse resp;
          grpc::Status s = stub->SubmitBatch(&ctx, req, &resp);
          submitted += 20;
          if (!s.ok()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            continue;  // unacknowledged: the node may or may not have it
          }
          std::lock_guard<std::mutex> lock(acked_mu);
          for (int k = 0; k < resp.results_size(); ++k) {
            const auto& r = resp.results(k);
            if (r.height() == 0) continue;  // not recorded (stateless failure)
            acked[hashes[static_cast<size_t>(k)]] =
                Ack{r.code(), r.height(), r.index(),
                    r.has_failed_operation() ? static_cast<int64_t>(r.failed_operation()) : -1};
          }
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(
        100 + static_cast<int>(rng() % static_cast<uint64_t>(o.max_run_ms))));
    node.Stop(SIGKILL);
    ++kills;
    stop = true;
    for (auto& t : clients) t.join();
    if (!node.Start())
      return Fail("restart after kill " + std::to_string(cycle) + ":\n" + node.log());

    // Every acknowledged transaction is there, unchanged.
    auto stub = pb::Ledger::NewStub(
        grpc::CreateChannel(node.address(), grpc::InsecureChannelCredentials()));
    for (const auto& [hash, ack] : acked) {
      pb::GetTxRequest req;
      req.set_tx_hash(AsString(hash));
      pb::GetTxResponse resp;
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      grpc::Status s = stub->GetTx(&ctx, req, &resp);
      if (!s.ok())
        return Fail("acknowledged tx " + ToHex(hash) + " missing after kill " +
                    std::to_string(cycle));
      const int64_t failed_op = resp.result().has_failed_operation()
                                    ? static_cast<int64_t>(resp.result().failed_operation())
                                    : -1;
      if (resp.result().code() != ack.code || resp.result().height() != ack.height ||
          resp.result().index() != ack.index || failed_op != ack.failed_op) {
        return Fail("acknowledged tx " + ToHex(hash) + " changed after kill " +
                    std::to_string(cycle));
      }
    }
    std::fprintf(stderr, "cycle %d: killed, restarted, %zu acknowledged transactions intact\n",
                 cycle, acked.size());
  }
  auto verify = node.Chip({"verify", "chain", "--json"});
  if (verify.code != 0) return Fail("chip verify chain: " + verify.err);
  if (node.Stop() != 0) return Fail("clean stop");

  // Offline checks on the stopped node's store.
  auto chain = Chain::Open(node.data_dir() + "/db");
  if (!chain.ok()) return Fail(chain.status().ToString());
  Status inv = CheckInvariants((*chain)->store());
  if (!inv.ok()) return Fail("invariants: " + inv.ToString());
  std::set<Hash32> seen;
  test::TempDir replay_dir;
  auto replica =
      Chain::Create(replay_dir.Sub("db"), (*chain)->genesis(), StoreOptions{true, false});
  if (!replica.ok()) return Fail(replica.status().ToString());
  for (uint64_t h = 1; h <= (*chain)->height(); ++h) {
    auto b = (*chain)->store()->GetBlock(h);
    if (!b.ok() || !b->has_value()) return Fail("block " + std::to_string(h) + " unreadable");
    std::vector<bool> mask = RecordedMask(**b);
    for (size_t i = 0; i < mask.size(); ++i) {
      if (!mask[i]) continue;
      Hash32 hash = TxHash(chain_id, (**b).txs(static_cast<int>(i)).body());
      if (!seen.insert(hash).second) return Fail("tx " + ToHex(hash) + " recorded twice");
    }
    Status s = (*replica)->Append(**b);
    if (!s.ok()) return Fail("replay: " + s.ToString());
  }
  if ((*replica)->tip_hash() != (*chain)->tip_hash() ||
      (*replica)->tip().state_digest() != (*chain)->tip().state_digest() ||
      (*replica)->tip().tree_root() != (*chain)->tip().tree_root()) {
    return Fail("replay differs from the node's store");
  }
  if (!o.keep.empty())
    std::filesystem::copy(node.data_dir(), o.keep, std::filesystem::copy_options::recursive);
  std::printf(
      "chip_crash: %d cycles, %zu SIGKILLs, %llu submitted, %zu acknowledged and all intact, %zu "
      "recorded once each, height %llu, invariants hold, replay matches, verify chain passes\n",
      o.cycles, kills, static_cast<unsigned long long>(submitted.load()), acked.size(), seen.size(),
      static_cast<unsigned long long>((*chain)->height()));
  return 0;
}
