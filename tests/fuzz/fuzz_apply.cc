// fuzz_apply: block application (ledger/apply.h through ledger/chain.h) of
// fuzzer-built transactions against a small chain in a real RocksDB store.
//
// The genesis has four funded keys (one holding 2^63 uCU, so that mints and
// credits reach the 2^64-1 limit), an uncapped and a capped issuer, an
// oracle, a validator, a pricing chip list and an equity fund (levies,
// epochs, the issuer and the oracle as registrars). The input is read as up to
// kOpsMax operations, each building a transaction of any kind with
// fuzzer-chosen signer, destination, amount (0, small, the signer's
// balance, near 2^63 or 2^64-1, raw), timeout, reservation (among those the
// input created, or unknown), nonce, expiry and memo; replaying an earlier
// transaction; corrupting one (signature, body, signer); signing raw body
// bytes; a multi-operation transaction of any kinds, with in-list
// reservation references; or cutting a block (Chain::Produce) with fuzzer-chosen atomic
// ranges and timestamp (including jumps past reservation expiries and to
// near 2^64-1).
//
// After every block:
//   CheckInvariants(store) is OK (supply == balances + held + the fund's
//     balance + unclaimed dividends, held sums agree, member records agree)
//   every account's held_as_payer / held_as_provider equals the sum over its
//     open reservations, and no open reservation is past the block's time
//   each transaction whose CheckTx failed has that stateless code as its
//     result; every other result is a stateful code; every failed_operations
//     entry names a failed multi-operation transaction and one of its ops
//   minted and burned changed by exactly the OK mints and burns
//   every recorded transaction is stored at its (height, index, code)
//   a follower chain from the same genesis Appends the block (re-execution
//     gives the same results, state digest and history root)
// A Produce error must be InvalidArgument (bad atomic ranges) and must leave
// the tip unchanged.
//
// Creating a RocksDB store costs about half a second here (eleven column
// families, thread pools, ASan), far more than an input's blocks, so one
// leader/follower pair of chains serves kInputsPerChain inputs in turn (an
// "epoch": later inputs build on the state, replay and settle what earlier
// ones left). The epoch ends by reopening the leader's store (same tip, same
// invariants), and fresh genesis stores replace the pair. A failure may thus
// depend on the inputs before it in its epoch: with CHIP_FUZZ_EPOCH_DIR set,
// every input of the current epoch is written there (000000, 000001, ...)
// before it runs, and running the target on those files in that order
// replays the epoch exactly (scripts/fuzz.sh keeps them next to a crash).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ledger/amount.h"
#include "ledger/invariants.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/test_util.h"

namespace chip {
namespace {

constexpr size_t kOpsMax = 64;            // operations read from one input
constexpr size_t kBlocksMax = 8;          // blocks produced from one input
constexpr size_t kPendingTxMax = 32;      // transactions waiting for a block
constexpr size_t kHistoryMax = 256;       // earlier transactions kept for replays
constexpr size_t kReservationsMax = 256;  // reservation ids kept for settles and releases
constexpr size_t kListOpsMax = 8;         // operations in one multi-operation transaction
constexpr size_t kInputsPerChain = 128;   // inputs that share one pair of chains
constexpr uint64_t kGenesisTimeMs = 1'000'000;
constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

// Process-wide: keys, genesis and the temporary directory.
struct World {
  test::TempDir dir;
  std::vector<SecretKey> signers;  // alice, bob, carol, whale, issuer, capped, oracle, validator
  SecretKey fresh = test::TestKey(5);  // never funded
  Genesis genesis;
  StoreOptions options;

  World() {
    for (int n : {1, 2, 3, 4, 201, 202, 203, 200})
      signers.push_back(test::TestKey(static_cast<uint8_t>(n)));
    genesis.chain_name = "fuzz-chain";
    genesis.genesis_time_ms = kGenesisTimeMs;
    genesis.issuers.push_back({signers[4].Public(), std::nullopt});
    genesis.issuers.push_back({signers[5].Public(), uint64_t{50'000'000}});
    genesis.oracles.push_back(signers[6].Public());
    genesis.validators.push_back(signers[7].Public());
    genesis.balances.emplace_back(signers[0].Public(), 100'000'000);
    genesis.balances.emplace_back(signers[1].Public(), 5'000'000);
    genesis.balances.emplace_back(signers[2].Public(), 1);
    genesis.balances.emplace_back(signers[3].Public(), uint64_t{1} << 63);
    GenesisPricing pricing;
    pricing.chips = {"h100-sxm", "b200"};
    pricing.prior_usd_micros_per_cu = 2'970'000;
    pricing.prior_t0_ms = kGenesisTimeMs;
    pricing.prior_halving_ms = 77'630'000'000;
    genesis.pricing = pricing;
    // A fund with a levy and a mint share that round, short epochs (most
    // blocks cross one), and the uncapped issuer and the oracle as registrars.
    FundRules fund;
    fund.settle_levy_bps = 333;
    fund.mint_share_bps = 77;
    fund.epoch_ms = 5'000;
    fund.registrars = {signers[4].Public(), signers[6].Public()};
    genesis.fund = fund;
    options.create_if_missing = true;
    options.sync_writes = false;
    options.block_cache_bytes = 1 << 20;
  }
  const SecretKey& validator() const { return signers[7]; }
};

// The chains of the current epoch and what its inputs built so far.
struct Epoch {
  std::unique_ptr<Chain> chain;
  std::unique_ptr<Chain> follower;
  size_t inputs = 0;
  uint64_t nonce = 0;                 // last unique nonce used
  std::vector<pb::SignedTx> history;  // ring of the last kHistoryMax queued transactions
  size_t history_seen = 0;
  std::vector<Hash32> reservations;  // ring of the last kReservationsMax Reserve hashes
  size_t reservations_seen = 0;
};

World& TheWorld() {
  static World* world = new World();  // outlives every input; removed with the process
  return *world;
}

std::unique_ptr<Chain> FreshChain(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  auto chain = Chain::Create(path, TheWorld().genesis, TheWorld().options);
  FUZZ_ASSERT(chain.ok(), chain.status().ToString());
  return std::move(*chain);
}

bool IsStateless(pb::ResultCode code) {
  return code >= pb::RESULT_MALFORMED && code <= pb::RESULT_BAD_OPERATION_REF;
}

// Whole-store checks beyond CheckInvariants (all small at this scale).
void CheckStore(Store* store, uint64_t time_ms) {
  Status inv = CheckInvariants(store);
  FUZZ_ASSERT(inv.ok(), inv.ToString());
  std::map<PublicKey, std::pair<unsigned __int128, unsigned __int128>> held;  // payer, provider
  Status s = store->ForEachReservation([&](const Hash32& id, const Reservation& r) {
    if (r.status != ReservationStatus::kOpen) return;
    FUZZ_ASSERT(r.expires_at_ms > time_ms, "open reservation " + ToHex(id) + " past its expiry");
    held[r.payer].first += r.held_ucu;
    held[r.provider].second += r.held_ucu;
  });
  FUZZ_ASSERT(s.ok(), s.ToString());
  s = store->ForEachAccount([&](const PublicKey& key, const Account& a) {
    auto it = held.find(key);
    unsigned __int128 payer = it == held.end() ? 0 : it->second.first;
    unsigned __int128 provider = it == held.end() ? 0 : it->second.second;
    FUZZ_ASSERT(a.held_as_payer_ucu == payer, "held_as_payer of " + ToHex(key));
    FUZZ_ASSERT(a.held_as_provider_ucu == provider, "held_as_provider of " + ToHex(key));
  });
  FUZZ_ASSERT(s.ok(), s.ToString());
}

template <typename T>
void Remember(std::vector<T>* ring, size_t* seen, size_t max, T item) {
  if (ring->size() < max) {
    ring->push_back(std::move(item));
  } else {
    (*ring)[*seen % max] = std::move(item);
  }
  ++*seen;
}

// One input's operations against the epoch's chains.
class Run {
 public:
  Run(FuzzedDataProvider* in, Epoch* epoch)
      : in_(in),
        world_(TheWorld()),
        epoch_(*epoch),
        chain_(epoch->chain.get()),
        follower_(epoch->follower.get()),
        history_(epoch->history),
        reservations_(epoch->reservations) {
    time_ms_ = chain_->tip().timestamp_ms();
  }

  void Go() {
    for (size_t op = 0; op < kOpsMax && in_->remaining_bytes() > 0 && blocks_ < kBlocksMax; ++op) {
      switch (in_->ConsumeIntegralInRange<int>(0, 14)) {
        case 0:
          Transfer();
          break;
        case 1:
          Reserve();
          break;
        case 2:
          Settle();
          break;
        case 3:
          Release();
          break;
        case 4:
          Mint();
          break;
        case 5:
          Burn();
          break;
        case 6:
          Observe();
          break;
        case 7:
          Replay();
          break;
        case 8:
          Corrupt();
          break;
        case 9:
          RawBody();
          break;
        case 10:
        case 11:
          CutBlock();
          break;
        case 12:
          MarkAtomic();
          break;
        case 13:
          List();
          break;
        case 14:
          FundOp();
          break;
      }
      if (pending_.size() >= kPendingTxMax) CutBlock();
    }
    if (!pending_.empty() && blocks_ < kBlocksMax) CutBlock();
  }

 private:
  const SecretKey& Signer() {
    return world_.signers[in_->ConsumeIntegralInRange<size_t>(0, world_.signers.size() - 1)];
  }

  // A destination: one of the keys, the unfunded key, or arbitrary bytes.
  std::string Dest() {
    size_t i = in_->ConsumeIntegralInRange<size_t>(0, world_.signers.size() + 1);
    if (i < world_.signers.size()) return AsString(world_.signers[i].Public());
    if (i == world_.signers.size()) return AsString(world_.fresh.Public());
    std::string raw = in_->ConsumeBytesAsString(32);
    raw.resize(32, '\x5a');
    return raw;
  }

  uint64_t Small() { return in_->ConsumeIntegralInRange<uint64_t>(0, 3); }

  uint64_t Amount(const PublicKey& signer) {
    switch (in_->ConsumeIntegralInRange<int>(0, 7)) {
      case 0:
        return in_->ConsumeIntegralInRange<uint64_t>(0, 10'000'000);
      case 1:
        return in_->ConsumeIntegralInRange<uint64_t>(0, 200) * kUcuPerCu;
      case 2:
        return kMax - Small();
      case 3:
        return (uint64_t{1} << 63) + Small() - 1;
      case 4: {
        // The signer's committed balance, give or take one: exact drains.
        auto a = chain_->store()->GetAccount(signer);
        uint64_t b = a ? a->balance_ucu : 0;
        return b + Small() - 1;  // wraps to 2^64-1 for an empty account
      }
      case 5:
        return in_->ConsumeIntegral<uint64_t>();
      case 6:
        return 1;
      default:
        return 0;
    }
  }

  uint64_t Timeout() {
    switch (in_->ConsumeIntegralInRange<int>(0, 5)) {
      case 0:
        return 0;
      case 1:
        return in_->ConsumeIntegralInRange<uint64_t>(1, 10'000);
      case 2:
        return kReserveTimeoutMsMax;
      case 3:
        return kReserveTimeoutMsMax + 1;
      case 4:
        return in_->ConsumeIntegral<uint64_t>();
      default:
        return 1;
    }
  }

  // A reservation id: one this input created (most of the time) or unknown.
  std::string ReservationId() {
    if (!reservations_.empty() && in_->ConsumeIntegralInRange<int>(0, 7) != 0) {
      return AsString(
          reservations_[in_->ConsumeIntegralInRange<size_t>(0, reservations_.size() - 1)]);
    }
    std::string raw = in_->ConsumeBytesAsString(32);
    raw.resize(32, '\0');
    return raw;
  }

  // Common body fields, signing, and queuing.
  void Submit(const SecretKey& key, pb::TxBody body) {
    uint8_t flags = in_->ConsumeIntegral<uint8_t>();
    // Mostly unique nonces; sometimes a small one, so that equal bodies repeat.
    body.set_nonce((flags & 0x07) == 0 ? Small() : ++epoch_.nonce);
    if ((flags & 0x18) == 0x08) body.set_valid_until_ms(time_ms_ > 0 ? time_ms_ - 1 : 0);
    if ((flags & 0x18) == 0x10) body.set_valid_until_ms(time_ms_ + Small() * 1000 + 1);
    if ((flags & 0x60) == 0x60)
      body.set_memo(std::string(in_->ConsumeIntegralInRange<size_t>(0, 300), 'm'));
    Queue(SignTx(key, chain_->chain_id(), std::move(body)));
  }

  void Queue(pb::SignedTx tx) {
    Remember(&history_, &epoch_.history_seen, kHistoryMax, tx);
    pending_.push_back(std::move(tx));
  }

  void Transfer() {
    const SecretKey& key = Signer();
    pb::TxBody b;
    b.mutable_transfer()->set_to(Dest());
    b.mutable_transfer()->set_amount_ucu(Amount(key.Public()));
    Submit(key, std::move(b));
  }

  void Reserve() {
    const SecretKey& key = Signer();
    pb::TxBody b;
    b.mutable_reserve()->set_to(Dest());
    b.mutable_reserve()->set_amount_ucu(Amount(key.Public()));
    b.mutable_reserve()->set_timeout_ms(Timeout());
    Submit(key, std::move(b));
    // Its id is its hash, whatever its result will be.
    const pb::SignedTx& tx = pending_.back();
    Remember(&reservations_, &epoch_.reservations_seen, kReservationsMax,
             TxHash(chain_->chain_id(), tx.body()));
  }

  void Settle() {
    const SecretKey& key = Signer();
    pb::TxBody b;
    std::string id = ReservationId();
    uint64_t amount = Amount(key.Public());
    if (in_->ConsumeBool()) {
      // Around what the reservation still holds.
      if (auto r = chain_->store()->GetReservation(*ToHash32(id)))
        amount = r->held_ucu + Small() - 1;
    }
    b.mutable_settle()->set_reservation(id);
    b.mutable_settle()->set_amount_ucu(amount);
    b.mutable_settle()->set_final(in_->ConsumeBool());
    Submit(key, std::move(b));
  }

  void Release() {
    const SecretKey& key = Signer();
    pb::TxBody b;
    b.mutable_release()->set_reservation(ReservationId());
    Submit(key, std::move(b));
  }

  void Mint() {
    const SecretKey& key = Signer();
    pb::TxBody b;
    b.mutable_mint()->set_to(Dest());
    b.mutable_mint()->set_amount_ucu(Amount(key.Public()));
    Submit(key, std::move(b));
  }

  void Burn() {
    const SecretKey& key = Signer();
    pb::TxBody b;
    b.mutable_burn()->set_amount_ucu(Amount(key.Public()));
    Submit(key, std::move(b));
  }

  void Observe() {
    const SecretKey& key = Signer();
    pb::TxBody b;
    auto* o = b.mutable_observe_price();
    static const char* const kChips[] = {"h100-sxm", "b200", "a100-80gb", ""};
    o->set_chip(kChips[in_->ConsumeIntegralInRange<int>(0, 3)]);
    o->set_usd_micros_per_chip_hour(in_->ConsumeBool() ? 2'000'000
                                                       : in_->ConsumeIntegral<uint64_t>());
    o->set_observed_at_ms(time_ms_ + Small() - 1);
    o->set_source(std::string(in_->ConsumeIntegralInRange<size_t>(0, 70), 's'));
    Submit(key, std::move(b));
  }

  // A multi-operation transaction of 0 to kListOpsMax operations of any
  // kind (built as the single kinds are), with settles and releases that
  // name an earlier Reserve of the list by index, now and then a bad index,
  // and sometimes a single operation as well (OPERATIONS_WITH_KIND).
  void List() {
    const SecretKey& key = Signer();
    pb::TxBody b;
    b.mutable_operations();
    const size_t n = in_->ConsumeIntegralInRange<size_t>(0, kListOpsMax);
    std::vector<uint32_t> reserves;
    for (size_t k = 0; k < n; ++k) {
      pb::Operation* op = b.mutable_operations()->add_ops();
      switch (in_->ConsumeIntegralInRange<int>(0, 8)) {
        case 0:
          op->mutable_transfer()->set_to(Dest());
          op->mutable_transfer()->set_amount_ucu(Amount(key.Public()));
          break;
        case 1:
          op->mutable_reserve()->set_to(Dest());
          op->mutable_reserve()->set_amount_ucu(Amount(key.Public()));
          op->mutable_reserve()->set_timeout_ms(Timeout());
          reserves.push_back(static_cast<uint32_t>(k));
          break;
        case 2:
        case 3: {
          pb::Settle* st = k % 2 == 0 ? op->mutable_settle() : nullptr;
          pb::Release* rel = st == nullptr ? op->mutable_release() : nullptr;
          if (!reserves.empty() && in_->ConsumeBool()) {
            uint32_t ref = reserves[in_->ConsumeIntegralInRange<size_t>(0, reserves.size() - 1)];
            if (in_->ConsumeIntegralInRange<int>(0, 7) == 0) ref = static_cast<uint32_t>(k);
            if (st) st->set_reserve_op(ref);
            if (rel) rel->set_reserve_op(ref);
          } else {
            if (st) st->set_reservation(ReservationId());
            if (rel) rel->set_reservation(ReservationId());
          }
          if (st) {
            st->set_amount_ucu(Small());
            st->set_final(in_->ConsumeBool());
          }
          break;
        }
        case 4:
          op->mutable_mint()->set_to(Dest());
          op->mutable_mint()->set_amount_ucu(Amount(key.Public()));
          break;
        case 5:
          op->mutable_burn()->set_amount_ucu(Amount(key.Public()));
          break;
        case 6: {
          auto* o = op->mutable_observe_price();
          o->set_chip(in_->ConsumeBool() ? "h100-sxm" : "b200");
          o->set_usd_micros_per_chip_hour(1 + Small());
          o->set_observed_at_ms(time_ms_ + Small() - 1);
          break;
        }
        case 7:
          FundOperation(op);
          break;
        default:
          break;  // an operation with no kind: MALFORMED
      }
    }
    if (in_->ConsumeIntegralInRange<int>(0, 15) == 0) b.mutable_burn()->set_amount_ucu(1);
    Submit(key, std::move(b));
    const pb::SignedTx& tx = pending_.back();
    const Hash32 hash = TxHash(chain_->chain_id(), tx.body());
    for (uint32_t k : reserves) {
      Remember(&reservations_, &epoch_.reservations_seen, kReservationsMax,
               OperationReservationId(hash, k));
    }
  }

  // A fund registration or deregistration of a fuzzer-chosen member (now and
  // then a short one: BAD_ADDRESS), or a claim.
  template <typename Op>
  void FundOperation(Op* op) {
    auto member = [&] {
      std::string m = Dest();
      if (in_->ConsumeIntegralInRange<int>(0, 15) == 0) m.resize(31);
      return m;
    };
    switch (in_->ConsumeIntegralInRange<int>(0, 2)) {
      case 0:
        op->mutable_fund_register()->set_member(member());
        break;
      case 1:
        op->mutable_fund_deregister()->set_member(member());
        break;
      default:
        op->mutable_fund_claim();
        break;
    }
  }

  void FundOp() {
    const SecretKey& key = Signer();
    pb::TxBody b;
    FundOperation(&b);
    Submit(key, std::move(b));
  }

  void Replay() {
    if (history_.empty()) return;
    Queue(history_[in_->ConsumeIntegralInRange<size_t>(0, history_.size() - 1)]);
  }

  void Corrupt() {
    if (history_.empty()) return;
    pb::SignedTx tx = history_[in_->ConsumeIntegralInRange<size_t>(0, history_.size() - 1)];
    std::string* field;
    switch (in_->ConsumeIntegralInRange<int>(0, 3)) {
      case 0:
        field = tx.mutable_signature();
        break;
      case 1:
        field = tx.mutable_body();
        break;
      case 2:
        field = tx.mutable_signer();
        break;
      default:
        // Another key's valid-looking signer: SIGNER_MISMATCH or BAD_SIGNATURE.
        tx.set_signer(AsString(Signer().Public()));
        Queue(std::move(tx));
        return;
    }
    if (field->empty() || in_->ConsumeIntegralInRange<int>(0, 7) == 0) {
      field->push_back('\x01');  // wrong length
    } else {
      size_t bit = in_->ConsumeIntegralInRange<size_t>(0, field->size() * 8 - 1);
      (*field)[bit / 8] = static_cast<char>((*field)[bit / 8] ^ (1 << (bit % 8)));
    }
    Queue(std::move(tx));
  }

  // Arbitrary body bytes, validly signed; SignTx sets the account when they parse.
  void RawBody() {
    const SecretKey& key = Signer();
    std::string bytes = in_->ConsumeBytesAsString(in_->ConsumeIntegralInRange<size_t>(0, 80));
    pb::TxBody body;
    if (in_->ConsumeBool() && body.ParseFromString(bytes)) {
      Queue(SignTx(key, chain_->chain_id(), std::move(body)));
      return;
    }
    pb::SignedTx tx;
    tx.set_body(bytes);
    tx.set_signer(AsString(key.Public()));
    Signature sig = Sign(key, TxSigningMessage(chain_->chain_id(), bytes));
    tx.set_signature(std::string(reinterpret_cast<const char*>(sig.data()), sig.size()));
    Queue(std::move(tx));
  }

  // Starts an atomic range at the next pending transaction.
  void MarkAtomic() {
    pb::AtomicRange r;
    r.set_first(static_cast<uint32_t>(pending_.size()));
    r.set_count(in_->ConsumeIntegralInRange<uint32_t>(0, 4));  // 0 or too long: InvalidArgument
    if (!atomic_.empty() && in_->ConsumeIntegralInRange<int>(0, 15) == 0) {
      r.set_first(atomic_.back().first());  // overlapping: InvalidArgument
    }
    atomic_.push_back(r);
  }

  // The next block's time. A jump to near 2^64-1 is rare: the rest of the
  // epoch then runs at the end of time (reserves overflow their expiry).
  uint64_t NextTime() {
    const int pick = in_->ConsumeIntegralInRange<int>(0, 63);
    if (pick == 0) return kMax - in_->ConsumeIntegralInRange<uint64_t>(0, 10'000);
    if (pick <= 4) return time_ms_;
    if (pick <= 36) return time_ms_ + in_->ConsumeIntegralInRange<uint64_t>(1, 10'000);
    if (pick <= 44) return time_ms_ + kReserveTimeoutMsMax + Small();  // every reservation expires
    if (pick <= 48) return time_ms_ > 5000 ? time_ms_ - 5000 : 0;  // Produce raises it to the tip's
    if (pick <= 56) return time_ms_ + in_->ConsumeIntegralInRange<uint64_t>(0, uint64_t{1} << 40);
    return time_ms_ + 1000;
  }

  void CutBlock() {
    std::vector<pb::SignedTx> txs = std::move(pending_);
    std::vector<pb::AtomicRange> atomic = std::move(atomic_);
    pending_.clear();
    atomic_.clear();
    const uint64_t want_time = NextTime();
    const pb::BlockHeader before = chain_->tip();
    const Supply supply_before = chain_->store()->GetSupply();
    std::vector<CheckedTx> checked;
    for (const auto& tx : txs) checked.push_back(CheckTx(tx, chain_->chain_id()));

    auto block = chain_->Produce(txs, atomic, want_time, world_.validator());
    if (!block.ok()) {
      FUZZ_ASSERT(block.status().code() == Status::Code::kInvalidArgument,
                  block.status().ToString());
      FUZZ_ASSERT(chain_->tip().SerializeAsString() == before.SerializeAsString(),
                  "a failed Produce moved the tip");
      return;
    }
    ++blocks_;
    const uint64_t height = block->header().height();
    time_ms_ = block->header().timestamp_ms();
    FUZZ_ASSERT(height == before.height() + 1, "height");
    FUZZ_ASSERT(time_ms_ == std::max(want_time, before.timestamp_ms()), "timestamp");
    FUZZ_ASSERT(block->results_size() == static_cast<int>(txs.size()), "result count");

    uint64_t minted = 0, burned = 0;
    const std::vector<bool> recorded = RecordedMask(*block);
    for (size_t i = 0; i < txs.size(); ++i) {
      const pb::ResultCode code = block->results(static_cast<int>(i));
      const std::string at =
          "tx " + std::to_string(i) + " " + ResultName(checked[i].code) + " -> " + ResultName(code);
      FUZZ_ASSERT(std::string(ResultName(code)) != "UNKNOWN_RESULT", at);
      if (checked[i].code != pb::RESULT_OK) {
        FUZZ_ASSERT(code == checked[i].code, at);
        continue;
      }
      FUZZ_ASSERT(!IsStateless(code) && code != pb::RESULT_UNSPECIFIED, at);
      if (code == pb::RESULT_OK) {
        const pb::TxBody& b = checked[i].body;
        if (b.has_mint()) minted += b.mint().amount_ucu();  // the supply did not overflow
        if (b.has_burn()) burned += b.burn().amount_ucu();
        for (const auto& op : b.operations().ops()) {  // an OK list applied every operation
          if (op.has_mint()) minted += op.mint().amount_ucu();
          if (op.has_burn()) burned += op.burn().amount_ucu();
        }
      }
      if (recorded[i]) {
        auto loc = chain_->store()->GetTxLocation(checked[i].hash);
        FUZZ_ASSERT(loc && loc->height == height && loc->index == i && loc->code == code, at);
      }
    }
    for (const auto& f : block->failed_operations()) {
      FUZZ_ASSERT(f.tx() < txs.size(), "failed operation of no transaction");
      const CheckedTx& c = checked[f.tx()];
      FUZZ_ASSERT(block->results(static_cast<int>(f.tx())) != pb::RESULT_OK && IsMultiOp(c.body) &&
                      f.op() < static_cast<uint32_t>(c.body.operations().ops_size()),
                  "failed operation entry");
    }
    const Supply supply = chain_->store()->GetSupply();
    FUZZ_ASSERT(supply.minted_ucu - supply_before.minted_ucu == minted, "minted delta");
    FUZZ_ASSERT(supply.burned_ucu - supply_before.burned_ucu == burned, "burned delta");

    CheckStore(chain_->store(), time_ms_);

    Status appended = follower_->Append(*block);
    FUZZ_ASSERT(appended.ok(), appended.ToString());
    FUZZ_ASSERT(follower_->tip_hash() == chain_->tip_hash(), "follower tip differs");
  }

  FuzzedDataProvider* in_;
  World& world_;
  Epoch& epoch_;
  Chain* chain_;
  Chain* follower_;
  std::vector<pb::SignedTx>& history_;
  std::vector<Hash32>& reservations_;
  uint64_t time_ms_ = 0;
  size_t blocks_ = 0;
  std::vector<pb::SignedTx> pending_;
  std::vector<pb::AtomicRange> atomic_;
};

// Closes the epoch's chains after checking that the leader's store reopens to
// the same tip and still holds the invariants.
void EndEpoch(Epoch* epoch) {
  World& world = TheWorld();
  const std::string tip = epoch->chain->tip().SerializeAsString();
  epoch->chain.reset();
  epoch->follower.reset();
  auto reopened = Chain::Open(world.dir.Sub("leader"), world.options);
  FUZZ_ASSERT(reopened.ok(), reopened.status().ToString());
  FUZZ_ASSERT((*reopened)->tip().SerializeAsString() == tip, "reopened tip differs");
  CheckStore((*reopened)->store(), (*reopened)->tip().timestamp_ms());
}

void StartEpoch(Epoch* epoch) {
  *epoch = Epoch();
  epoch->chain = FreshChain(TheWorld().dir.Sub("leader"));
  epoch->follower = FreshChain(TheWorld().dir.Sub("follower"));
}

// With CHIP_FUZZ_EPOCH_DIR set, keeps the inputs of the current epoch there.
class EpochLog {
 public:
  EpochLog() {
    const char* dir = std::getenv("CHIP_FUZZ_EPOCH_DIR");
    if (dir != nullptr && *dir != '\0') dir_ = dir;
  }
  void Start() {
    if (dir_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    std::filesystem::create_directories(dir_, ec);
    FUZZ_ASSERT(!ec, "cannot create " + dir_);
  }
  void Add(size_t n, const uint8_t* data, size_t size) {
    if (dir_.empty()) return;
    char name[16];
    std::snprintf(name, sizeof(name), "%06zu", n);
    FILE* f = std::fopen((dir_ + "/" + name).c_str(), "wb");
    FUZZ_ASSERT(f != nullptr, "cannot write to " + dir_);
    FUZZ_ASSERT(size == 0 || std::fwrite(data, 1, size, f) == size, "short write to " + dir_);
    std::fclose(f);
  }

 private:
  std::string dir_;
};

}  // namespace
}  // namespace chip

// An epoch's state (stores, memtables, the rings above) outlives each input by
// design, so every input looks like a leak to libFuzzer, which then re-runs it
// under malloc tracing and scans the whole heap: most of the run time. Leaks
// are left to the other targets and the unit tests: this target runs with
// LSan off and needs -detect_leaks=0 (scripts/fuzz.sh passes it).
// Shallow allocation stacks: RocksDB allocates a lot, and unwinding every
// allocation 30 frames deep was a fifth of the run time.
extern "C" const char* __asan_default_options() { return "detect_leaks=0:malloc_context_size=8"; }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chip;
  fuzz::InitOnce();
  static Epoch* epoch = new Epoch();
  static EpochLog* log = new EpochLog();
  if (epoch->chain == nullptr || epoch->inputs == kInputsPerChain) {
    if (epoch->chain != nullptr) EndEpoch(epoch);
    StartEpoch(epoch);
    log->Start();
  }
  log->Add(epoch->inputs++, data, size);
  FuzzedDataProvider in(data, size);
  Run(&in, epoch).Go();
  return 0;
}
