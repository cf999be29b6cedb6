// The serial part of a node's transaction path, without gRPC or signature
// checks: Chain::Prepare (apply, hashes, Merkle log, header signature) and
// Chain::CommitPrepared (one synced RocksDB WriteBatch) over a real store in a
// temporary directory, with transactions signed and checked beforehand.
// Prints the CPU time per transaction of each step (thread CPU clocks, so
// other load on the machine inflates it less than wall time).
//
//   chip_apply_bench [--txs N] [--accounts N] [--block N] [--hot]
//
// With --fund it measures instead the block that crosses an epoch boundary of
// the equity fund (docs/FUND.md) with 10, 100,000 and 1,000,000 members
// registered (or the counts of --members A,B,...), against a block of the
// same content that crosses none, in the same chain:
//
//   chip_apply_bench --fund [--members 10,100000,1000000] [--rounds N]
//
// A measurement tool, not a test: it asserts nothing about speed.
#include <time.h>

#include <algorithm>
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
#include "ledger/fund.h"
#include "ledger/limits.h"
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

// --- the equity fund's epoch boundary ---------------------------------------

// A member's public key: any 32 bytes register (the ledger checks the length).
PublicKey FundBenchMember(uint64_t i) {
  PublicKey k{};
  std::memcpy(k.data(), &i, sizeof(i));
  k[31] = 0xF0;
  return k;
}

struct BlockTimes {
  double wall_us = 0, cpu_us = 0;
};

BlockTimes TimedBlock(test::ChainFixture* f, std::vector<pb::SignedTx> txs, uint64_t time_ms) {
  const double w0 = NowUs(), c0 = ThreadCpuUs();
  auto p = f->chain->Prepare(std::move(txs), {}, time_ms, f->validator, nullptr);
  if (!p.ok() || !f->chain->CommitPrepared(&*p).ok()) std::abort();
  return {NowUs() - w0, ThreadCpuUs() - c0};
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// `members` registered in lists of 128 (one signature each), then `rounds`
// times: a mint that fills the fund, a block of one transfer before the
// boundary (the baseline) and the same block just after it (the boundary).
void FundBoundary(uint64_t members, size_t rounds) {
  constexpr uint64_t kEpochMs = 1'000'000;
  FundRules rules;
  rules.settle_levy_bps = 100;
  rules.mint_share_bps = 100;
  rules.epoch_ms = kEpochMs;
  rules.registrars.insert(test::TestKey(201).Public());  // the fixture's issuer
  test::ChainFixture fx(StoreOptions{}, rules);
  uint64_t time_ms = 1'001;
  const double r0 = NowUs();
  constexpr size_t kTxsPerBlock = 64;
  for (uint64_t next = 0; next < members;) {
    std::vector<pb::SignedTx> txs;
    while (next < members && txs.size() < kTxsPerBlock) {
      pb::TxBody b;  // a list of 1 to 128 registrations
      const uint64_t n = std::min<uint64_t>(kTxOperationsMax, members - next);
      for (uint64_t i = 0; i < n; ++i) {
        b.mutable_operations()->add_ops()->mutable_fund_register()->set_member(
            AsString(FundBenchMember(next++)));
      }
      txs.push_back(fx.Sign(fx.issuer, b));
    }
    TimedBlock(&fx, std::move(txs), time_ms++);
  }
  const double registered_s = (NowUs() - r0) / 1e6;
  auto fund = fx.chain->store()->GetFund();
  if (!fund || fund->members != members) {
    std::fprintf(stderr, "registration failed: %llu members\n",
                 static_cast<unsigned long long>(fund ? fund->members : 0));
    std::exit(1);
  }
  std::vector<double> base_wall, base_cpu, cross_wall, cross_cpu;
  uint64_t paid = 0;
  for (size_t r = 0; r < rounds; ++r) {
    const uint64_t boundary = fx.chain->store()->GetFund()->next_boundary_ms;
    // The mint's share fills the fund: 1% of 10^12 uCU.
    TimedBlock(&fx, {fx.Mint(fx.issuer, fx.alice.Public(), 1'000'000'000'000)}, boundary - 3);
    BlockTimes base = TimedBlock(&fx, {fx.Transfer(fx.alice, fx.bob.Public(), 1)}, boundary - 2);
    BlockTimes cross = TimedBlock(&fx, {fx.Transfer(fx.alice, fx.bob.Public(), 1)}, boundary);
    base_wall.push_back(base.wall_us);
    base_cpu.push_back(base.cpu_us);
    cross_wall.push_back(cross.wall_us);
    cross_cpu.push_back(cross.cpu_us);
    paid = fx.chain->store()->GetFund()->last_dividend_ucu;
  }
  std::printf(
      "%9llu members  registered in %6.1f s  | one-transfer block, median of %zu: "
      "no boundary %7.1f us wall %7.1f us cpu | crossing a boundary %7.1f us wall %7.1f us "
      "cpu | ratio %.2f | dividend %llu uCU each\n",
      static_cast<unsigned long long>(members), registered_s, rounds, Median(base_wall),
      Median(base_cpu), Median(cross_wall), Median(cross_cpu), Median(cross_cpu) / Median(base_cpu),
      static_cast<unsigned long long>(paid));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "--fund") {
    std::vector<uint64_t> counts = {10, 100'000, 1'000'000};
    size_t rounds = 15;
    for (int i = 2; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "--members" && i + 1 < argc) {
        counts.clear();
        std::string list = argv[++i];
        for (size_t pos = 0; pos <= list.size();) {
          size_t comma = list.find(',', pos);
          if (comma == std::string::npos) comma = list.size();
          counts.push_back(std::strtoull(list.substr(pos, comma - pos).c_str(), nullptr, 10));
          pos = comma + 1;
        }
      } else if (a == "--rounds" && i + 1 < argc) {
        rounds = std::strtoull(argv[++i], nullptr, 10);
      } else {
        std::fprintf(stderr, "usage: chip_apply_bench --fund [--members A,B,...] [--rounds N]\n");
        return 2;
      }
    }
    for (uint64_t c : counts) {
      if (c == 0 || c > 100'000'000 || rounds == 0) {
        std::fprintf(stderr, "need 1..100000000 members and --rounds >= 1\n");
        return 2;
      }
    }
    std::printf("equity fund: apply + commit of the block that crosses an epoch boundary\n");
    for (uint64_t c : counts) FundBoundary(c, rounds);
    return 0;
  }
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
