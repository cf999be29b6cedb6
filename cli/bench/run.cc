#include "cli/bench/run.h"

#include <iostream>

#include "cli/bench/rpc.h"
#include "ledger/address.h"
#include "ledger/amount.h"
#include "ledger/genesis.h"
#include "ledger/limits.h"
#include "ledger/tx.h"
#include "support/grpc_names.h"
#include "wallet/keystore.h"

namespace chip::cli::bench_internal {

namespace pb = ::chipledger::v1;
using nlohmann::json;

namespace {

constexpr uint64_t kDefaultTxs = 100'000;
// With --ops N > 1 and no --txs: this many operations' worth of
// transactions, so a run of long lists takes about as long as one of single
// operations instead of a hundred times longer.
constexpr uint64_t kDefaultOps = 1'000'000;
// With --duration and no --txs, enough transactions are signed for this rate
// over the whole duration (the node's target is 40,000/s)...
constexpr uint64_t kPresignRatePerSecond = 50'000;
// ...or, with --ops N, for this many operations/s if that is fewer
// transactions: above the 150,000 operations/s target with room, without
// holding a hundred times more signed operations than a run can send.
constexpr uint64_t kPresignOpsPerSecond = 400'000;
constexpr size_t kFundingBatch = kBenchBatchMax;
constexpr uint32_t kFundingThreadsMax = 4;
// Each account gets what the workload spends plus this, so rounding in a
// future workload cannot starve an account.
constexpr uint64_t kFundingMarginUcu = 1'000;
// A node refuses a request over its request_bytes_max (4 MiB by default,
// node/ops/config.h) with RESOURCE_EXHAUSTED, which the window retries as a
// full mempool and then counts as errors: long lists in large batches reach
// it (128 transfers are about 5.7 KB), so the bench warns before the window.
constexpr uint64_t kNodeRequestBytesDefault = 4u << 20;

}  // namespace

int Bench::Fail(const CliError& e) {
  std::cerr << "chip bench: " << e.message << "\n";
  if (t_.json)
    std::cout << SafeDump(json{{"error", e.message}, {"exit_code", e.exit_code}}) << "\n";
  return e.exit_code;
}

void Bench::Note(const std::string& line) const {
  if (!o_.quiet) std::cerr << line << "\n";
}

int Bench::Run() {
  if (int v = Validate(); v != kExitOk) return v;
  if (workload_ == Workload::kReads) return RunReads();
  // The funding key, from the wallet (dev keys have no passphrase).
  wallet::Keystore keystore(t_.wallet);
  auto info = keystore.Info(o_.from);
  if (!info.ok()) return Fail(kExitWallet, info.status().message());
  std::string pass;
  if (info->is_protected) {
    auto p =
        PassphraseSource{t_.passphrase_file}.Get("Passphrase for key '" + o_.from + "': ", false);
    if (!p.ok()) return Fail(kExitWallet, p.status().message());
    pass = *p;
  }
  auto key = keystore.Unlock(o_.from, pass);
  if (!key.ok()) return Fail(kExitWallet, key.status().message());
  funder_ = *key;
  RandomBytes(reinterpret_cast<uint8_t*>(&nonce_base_), sizeof(nonce_base_));

  if (int c = Connect(); c != kExitOk) return c;
  Note("chip bench: " + o_.workload + ", " + WithCommas(o_.accounts) + " accounts, " +
       WithCommas(txs_) + " transactions" +
       (o_.ops > 1 ? " of " + std::to_string(o_.ops) + " operations" : std::string()) +
       (duration_ms_ ? " (at most), " + o_.duration : std::string()) + ", " +
       std::to_string(o_.clients) + " clients, batch " + std::to_string(o_.batch) + ", node " +
       t_.node);
  DeriveKeys();
  Plan();
  Note("funding " + WithCommas(o_.accounts) + " accounts (" + funding_mode_ + " from '" + o_.from +
       "')");
  if (int f = Fund(); f != kExitOk) return f;
  Note("signing " + WithCommas(txs_) + " transactions on " + std::to_string(threads_) + " threads");
  Sign();
  if (!txs_signed_.empty()) {
    const uint64_t request_bytes =
        txs_signed_[0].ByteSizeLong() * std::min<uint64_t>(o_.batch, txs_);
    if (request_bytes > kNodeRequestBytesDefault) {
      Note("chip bench: a batch of " + std::to_string(o_.batch) + " is about " +
           WithCommas(request_bytes >> 10) + " KiB, above a default node's request_bytes_max (" +
           WithCommas(kNodeRequestBytesDefault >> 10) + " KiB): lower --batch if it is refused");
    }
  }
  if (workload_ != Workload::kReads) MeasureVerifyCeiling();
  Note("running");
  Window();

  pb::GetStatusResponse st;
  auto ctx = Context(t_.timeout_ms);
  if (Stub(0)->GetStatus(ctx.get(), pb::GetStatusRequest(), &st).ok()) height_after_ = st.height();
  return Report();
}

int Bench::Validate() {
  if (o_.workload == "uniform") {
    workload_ = Workload::kUniform;
  } else if (o_.workload == "hot") {
    workload_ = Workload::kHot;
  } else if (o_.workload == "jobs") {
    workload_ = Workload::kJobs;
  } else if (o_.workload == "reads") {
    workload_ = Workload::kReads;
  } else {
    return Fail(kExitUsage, "--workload must be uniform, hot, jobs or reads");
  }
  if (o_.accounts < 2 || o_.accounts > kBenchAccountsMax) {
    return Fail(kExitUsage, "--accounts must be 2.." + std::to_string(kBenchAccountsMax));
  }
  if (o_.clients < 1 || o_.clients > kBenchClientsMax) {
    return Fail(kExitUsage, "--clients must be 1.." + std::to_string(kBenchClientsMax));
  }
  if (o_.batch < 1 || o_.batch > kBenchBatchMax) {
    return Fail(kExitUsage, "--batch must be 1.." + std::to_string(kBenchBatchMax));
  }
  if (o_.connections > o_.clients) {
    return Fail(kExitUsage, "--connections must not exceed --clients");
  }
  if (workload_ == Workload::kHot) {
    if (o_.hot_accounts < 2 || o_.hot_accounts > std::min(o_.accounts, kBenchHotAccountsMax)) {
      return Fail(kExitUsage, "--hot-accounts must be 2..min(--accounts, " +
                                  std::to_string(kBenchHotAccountsMax) + ")");
    }
    if (o_.hot_percent > 100) return Fail(kExitUsage, "--hot-percent must be 0..100");
  }
  if (o_.ops < 1 || o_.ops > kTxOperationsMax) {
    return Fail(kExitUsage, "--ops must be 1.." + std::to_string(kTxOperationsMax) +
                                " (operations per transaction; a list holds at most " +
                                std::to_string(kTxOperationsMax) + ")");
  }
  if (workload_ == Workload::kReads && o_.ops > 1) {
    return Fail(kExitUsage,
                "--ops applies to the write workloads (uniform, hot, jobs); reads sends queries, "
                "not transactions");
  }
  if (!o_.duration.empty()) {
    auto ms = ParseDurationMs(o_.duration);
    if (!ms.ok()) return Fail(kExitUsage, "--duration: " + ms.status().message());
    if (*ms == 0 || *ms > kBenchDurationMsMax) {
      return Fail(kExitUsage, "--duration must be 1ms..1h");
    }
    duration_ms_ = *ms;
  }
  txs_ = o_.txs;
  if (txs_ == 0) {
    const uint64_t rate = std::min(kPresignRatePerSecond, kPresignOpsPerSecond / o_.ops);
    txs_ = duration_ms_ ? std::max<uint64_t>(1, *duration_ms_ * rate / 1000)
                        : std::min(kDefaultTxs, kDefaultOps / o_.ops);
    txs_ = std::min({txs_, kBenchTxsMax, kBenchOpsMax / o_.ops});
  }
  if (txs_ > kBenchTxsMax) {
    return Fail(kExitUsage, "--txs must be at most " + std::to_string(kBenchTxsMax));
  }
  if (txs_ * o_.ops > kBenchOpsMax) {
    return Fail(kExitUsage, "--txs x --ops must be at most " + WithCommas(kBenchOpsMax) +
                                " operations (all are signed in memory before the window)");
  }
  if (workload_ == Workload::kJobs) {
    txs_ = (txs_ + kJobSteps - 1) / kJobSteps * kJobSteps;  // whole jobs
  }
  if (o_.node_pid < 0) return Fail(kExitUsage, "--node-pid must be positive");
  if (o_.rate > kBenchRateMax) {
    return Fail(kExitUsage, "--rate must be at most " + std::to_string(kBenchRateMax));
  }
  return kExitOk;
}

int Bench::Connect() {
  size_t n = o_.connections == 0 ? o_.clients : o_.connections;
  for (size_t i = 0; i < n; ++i) {
    channels_.push_back(MakeChannel(t_.node));
    stubs_.push_back(pb::Ledger::NewStub(channels_.back()));
  }
  // Every connection is opened (and its first call made) before the window,
  // so connection set-up never counts as latency.
  for (size_t i = 0; i < n; ++i) {
    pb::GetStatusResponse st;
    auto ctx = Context(t_.timeout_ms);
    grpc::Status s = stubs_[i]->GetStatus(ctx.get(), pb::GetStatusRequest(), &st);
    if (!s.ok()) return Fail(NodeError(t_.node, s));
    auto id = ToHash32(st.chain_id());
    if (!id) return Fail(kExitError, "node at " + t_.node + " sent no chain id");
    chain_id_ = *id;
    height_before_ = st.height();
    if (i == 0 && workload_ != Workload::kReads) {
      // Mint when the funding key is an issuer of this chain, else transfer.
      funding_mode_ = "transfer";
      auto genesis = ParseGenesis(st.genesis_json());
      if (genesis.ok()) {
        for (const auto& issuer : genesis->issuers) {
          if (issuer.key == funder_.Public()) funding_mode_ = "mint";
        }
      }
    }
  }
  if (o_.node_pid > 0) {
    probe_ = NodeProbe::Pid(o_.node_pid, "--node-pid");
  } else if (!o_.metrics_url.empty()) {
    probe_ = NodeProbe::Metrics(o_.metrics_url);
  } else if (auto pid = FindListeningPid(t_.node)) {
    probe_ = NodeProbe::Pid(*pid, "listening on " + t_.node);
  }
  if (probe_.enabled() && !probe_.Sample().ok) {
    Note("chip bench: cannot read the node's CPU and memory from " + probe_.source());
    probe_ = NodeProbe::None();
  }
  return kExitOk;
}

void Bench::DeriveKeys() {
  auto t0 = Clock::now();
  keys_.resize(o_.accounts);
  publics_.resize(o_.accounts);
  ParallelFor(o_.accounts, threads_, [&](size_t i) {
    // seed_i = SHA-256("chipledger/bench/v1" || seed || i): reproducible
    // accounts, distinct from any wallet's random keys.
    Sha256Builder b;
    b.Update("chipledger/bench/v1");
    std::string tail;
    PutU64(&tail, o_.seed);
    PutU32(&tail, static_cast<uint32_t>(i));
    b.Update(tail);
    keys_[i] = KeyFromSeed(b.Finish());
    publics_[i] = keys_[i].Public();
  });
  keys_seconds_ = Seconds(Clock::now() - t0);
}

void Bench::Plan() {
  SplitMix64 rng(o_.seed * 0x2545f4914f6cdd1dull + 1);
  need_ucu_.assign(o_.accounts, 0);
  if (workload_ == Workload::kJobs) {
    PlanJobs(&rng);
  } else {
    PlanTransfers(&rng);
  }
}

int Bench::Fund() {
  auto t0 = Clock::now();
  const bool mint = funding_mode_ == "mint";
  std::vector<pb::SignedTx> txs(o_.accounts);
  uint64_t total_ucu = 0;
  for (uint64_t need : need_ucu_) total_ucu += need + kFundingMarginUcu;
  if (!mint) {
    pb::GetAccountRequest req;
    req.set_account(AsString(funder_.Public()));
    pb::GetAccountResponse acct;
    auto ctx = Context(t_.timeout_ms);
    grpc::Status s = Stub(0)->GetAccount(ctx.get(), req, &acct);
    if (!s.ok() && s.error_code() != grpc::StatusCode::NOT_FOUND) {
      return Fail(NodeError(t_.node, s));
    }
    if (acct.balance_ucu() < total_ucu) {
      return Fail(kExitRejected, "funding the accounts needs " + FormatCu(total_ucu) +
                                     " CU, but '" + o_.from + "' holds " +
                                     FormatCu(acct.balance_ucu()) +
                                     " CU and is not an issuer (use fewer --txs or --accounts)");
    }
  }
  // Funding nonces follow the window's, so they never collide with them.
  ParallelFor(o_.accounts, threads_, [&](size_t i) {
    pb::TxBody body;
    body.set_nonce(Nonce(txs_ + i));
    uint64_t amount = need_ucu_[i] + kFundingMarginUcu;
    if (mint) {
      body.mutable_mint()->set_to(AsString(publics_[i]));
      body.mutable_mint()->set_amount_ucu(amount);
    } else {
      body.mutable_transfer()->set_to(AsString(publics_[i]));
      body.mutable_transfer()->set_amount_ucu(amount);
    }
    txs[i] = SignTx(funder_, chain_id_, std::move(body));
  });
  const size_t batches = (txs.size() + kFundingBatch - 1) / kFundingBatch;
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::map<std::string, uint64_t> failures;  // result or gRPC code -> count
  std::string first_error;
  auto worker = [&](size_t client) {
    pb::SubmitBatchRequest req;
    pb::SubmitBatchResponse resp;
    uint64_t retries = 0;
    for (;;) {
      size_t b = next.fetch_add(1);
      if (b >= batches) return;
      req.Clear();
      for (size_t i = b * kFundingBatch; i < std::min(txs.size(), (b + 1) * kFundingBatch); ++i) {
        req.add_txs()->Swap(&txs[i]);
      }
      grpc::Status s = Exchange(Stub(client), t_.timeout_ms, false, &req, &resp,
                                Clock::now() + std::chrono::milliseconds(t_.timeout_ms), &retries);
      std::lock_guard<std::mutex> lock(mu);
      if (!s.ok()) {
        failures[GrpcCodeName(s.error_code())] += static_cast<uint64_t>(req.txs_size());
        if (first_error.empty()) first_error = s.error_message();
        continue;
      }
      for (const auto& r : resp.results()) {
        if (r.code() != pb::RESULT_OK) ++failures[ResultName(r.code())];
      }
    }
  };
  std::vector<std::thread> pool;
  size_t workers = std::min<size_t>({batches, stubs_.size(), kFundingThreadsMax});
  for (size_t c = 0; c < workers; ++c) pool.emplace_back(worker, c);
  for (auto& th : pool) th.join();
  funding_seconds_ = Seconds(Clock::now() - t0);
  if (!failures.empty()) {
    std::string what;
    for (const auto& [code, n] : failures) what += " " + std::to_string(n) + " " + code;
    if (!first_error.empty()) what += " (" + first_error + ")";
    return Fail(kExitRejected, "funding the accounts from '" + o_.from + "' (" + funding_mode_ +
                                   ") failed:" + what);
  }
  funded_accounts_ = o_.accounts;
  return kExitOk;
}

void Bench::Sign() {
  auto t0 = Clock::now();
  txs_signed_.resize(txs_);
  hashes_.resize(txs_);
  acks_.assign(txs_, Ack{});
  if (workload_ == Workload::kJobs) {
    SignJobs();
  } else {
    SignTransfers();
  }
  signing_seconds_ = Seconds(Clock::now() - t0);
}

void Bench::Seal(size_t slot, const SecretKey& key, pb::TxBody body) {
  body.set_nonce(Nonce(slot));
  txs_signed_[slot] = SignTx(key, chain_id_, std::move(body));
  hashes_[slot] = TxHash(chain_id_, txs_signed_[slot].body());
}

void Bench::MeasureVerifyCeiling() {
  constexpr size_t kVerifySampleMax = 20'000;
  verify_sample_ = std::min(txs_, kVerifySampleMax);
  std::atomic<size_t> bad{0};
  auto t0 = Clock::now();
  ParallelFor(verify_sample_, threads_, [&](size_t i) {
    if (CheckTx(txs_signed_[i], chain_id_).code != pb::RESULT_OK) bad.fetch_add(1);
  });
  verify_seconds_ = Seconds(Clock::now() - t0);
  if (bad.load() != 0) Note(std::to_string(bad.load()) + " pre-signed transactions fail CheckTx");
}

}  // namespace chip::cli::bench_internal
