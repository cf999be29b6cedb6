// The serial part of a node's transaction path, without gRPC or signature
// checks: Chain::Prepare (apply, hashes, Merkle log, header signature) and
// Chain::CommitPrepared (one synced RocksDB WriteBatch) over a real store in a
// temporary directory, with transactions signed and checked beforehand.
// Prints the CPU time per transaction of each step (thread CPU clocks, so
// other load on the machine inflates it less than wall time).
//
//   chip_apply_bench [--txs N] [--accounts N] [--block N] [--hot]
//
// A measurement tool, not a test: it asserts nothing about speed.
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ledger/chain.h"
#include "ledger/crypto.h"
#include "ledger/tx.h"
#include "test_util.h"

using namespace chip;

namespace {

double ThreadCpuUs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

double NowUs() {
  return std::chrono::duration<double, std::micro>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Options {
  size_t txs = 100'000;
  size_t accounts = 10'000;
  size_t block = 500;
  bool hot = false;
};

struct Workload {
  Genesis genesis;
  SecretKey validator = test::TestKey(200);
  std::vector<pb::SignedTx> txs;
  std::vector<CheckedTx> checked;
};

SecretKey AccountKey(size_t i) {
  std::array<uint8_t, 32> seed{};
  std::memcpy(seed.data(), &i, sizeof(i));
  seed[31] = 0xAB;
  return KeyFromSeed(seed);
}

Workload Make(const Options& o) {
  Workload w;
  w.genesis.chain_name = "apply-bench";
  w.genesis.genesis_time_ms = 1'000;
  w.genesis.validators.push_back(w.validator.Public());
  std::vector<SecretKey> keys;
  for (size_t i = 0; i < o.accounts; ++i) {
    keys.push_back(AccountKey(i));
    w.genesis.balances.emplace_back(keys.back().Public(), 1'000'000'000'000);
  }
  const Hash32 chain_id = ChainId(w.genesis);
  w.txs.resize(o.txs);
  w.checked.resize(o.txs);
  // Sign and check on every core: not measured.
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      uint64_t state = 0x9E3779B97F4A7C15ull * (t + 1);
      auto next = [&] {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
      };
      for (size_t i = t; i < o.txs; i += threads) {
        size_t from = next() % o.accounts, to = next() % o.accounts;
        if (o.hot && next() % 10 != 0) {
          from = next() % 8;
          to = next() % 8;
        }
        if (to == from) to = (from + 1) % o.accounts;
        pb::TxBody body;
        body.set_nonce(i + 1);
        body.mutable_transfer()->set_to(AsString(keys[to].Public()));
        body.mutable_transfer()->set_amount_ucu(1 + i % 1000);
        w.txs[i] = SignTx(keys[from], chain_id, body);
        w.checked[i] = CheckTx(w.txs[i], chain_id);
        if (w.checked[i].code != pb::RESULT_OK) std::abort();
      }
    });
  }
  for (auto& th : pool) th.join();
  return w;
}

struct Figures {
  double prepare_cpu_us = 0, commit_cpu_us = 0, wall_us = 0;
  size_t committed = 0;
};

std::unique_ptr<Chain> Fresh(const Workload& w, const test::TempDir& dir, const std::string& name) {
  auto chain = Chain::Create(dir.Sub(name), w.genesis);
  if (!chain.ok()) {
    std::fprintf(stderr, "create: %s\n", chain.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(*chain);
}

void Slice(const Workload& w, size_t first, size_t n, std::vector<pb::SignedTx>* txs,
           std::vector<CheckedTx>* checked) {
  txs->assign(w.txs.begin() + first, w.txs.begin() + first + n);
  checked->assign(w.checked.begin() + first, w.checked.begin() + first + n);
}

// Prepare, then commit, block after block, as the sequencer does.
Figures Sequential(const Workload& w, const Options& o, Chain* chain) {
  Figures f;
  const double start = NowUs();
  uint64_t time_ms = 2'000;
  for (size_t first = 0; first < w.txs.size(); first += o.block) {
    const size_t n = std::min(o.block, w.txs.size() - first);
    std::vector<pb::SignedTx> txs;
    std::vector<CheckedTx> checked;
    Slice(w, first, n, &txs, &checked);
    double t0 = ThreadCpuUs();
    auto p = chain->Prepare(std::move(txs), {}, time_ms++, w.validator, &checked);
    double t1 = ThreadCpuUs();
    if (!p.ok() || !chain->CommitPrepared(&*p).ok()) std::abort();
    double t2 = ThreadCpuUs();
    f.prepare_cpu_us += t1 - t0;
    f.commit_cpu_us += t2 - t1;
    f.committed += n;
  }
  f.wall_us = NowUs() - start;
  return f;
}

void Print(const char* name, const Figures& f) {
  const double n = static_cast<double>(f.committed);
  std::printf(
      "%-10s %9zu tx  %9.0f tx/s  prepare %6.2f us/tx  commit %6.2f us/tx  total %6.2f us/tx\n",
      name, f.committed, n / (f.wall_us / 1e6), f.prepare_cpu_us / n, f.commit_cpu_us / n,
      (f.prepare_cpu_us + f.commit_cpu_us) / n);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&] {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return std::strtoull(argv[++i], nullptr, 10);
    };
    if (a == "--txs") {
      o.txs = value();
    } else if (a == "--accounts") {
      o.accounts = value();
    } else if (a == "--block") {
      o.block = value();
    } else if (a == "--hot") {
      o.hot = true;
    } else {
      std::fprintf(stderr,
                   "usage: chip_apply_bench [--txs N] [--accounts N] [--block N] [--hot]\n");
      return 2;
    }
  }
  if (o.accounts < 16 || o.block == 0 || o.txs == 0) {
    std::fprintf(stderr, "need --accounts >= 16, --block >= 1, --txs >= 1\n");
    return 2;
  }
  std::printf("signing %zu transfers over %zu accounts (%s), blocks of %zu...\n", o.txs, o.accounts,
              o.hot ? "hot" : "uniform", o.block);
  std::fflush(stdout);
  Workload w = Make(o);
  test::TempDir dir;
  auto chain = Fresh(w, dir, "chain");
  Print("prepare+commit", Sequential(w, o, chain.get()));
  return 0;
}
