// A seeded random workload of more than 10,000 transactions over 300
// accounts: transfers, reservations with metered settlement, releases,
// expiries, mints (capped and uncapped), burns, replays, forged signatures
// and atomic batches. Invariants are checked after every block; replaying
// the blocks into a fresh store must reproduce the same tip and state digest.
#include <catch2/catch.hpp>
#include <map>
#include <random>

#include "test_util.h"

using namespace chip;

namespace {

constexpr size_t kAccounts = 300;
constexpr size_t kBlocks = 220;

SecretKey KeyN(uint32_t n) {
  std::array<uint8_t, 32> seed{};
  seed[0] = 0x5a;
  seed[1] = static_cast<uint8_t>(n >> 8);
  seed[2] = static_cast<uint8_t>(n);
  return KeyFromSeed(seed);
}

struct OpenRes {
  Hash32 id;
  size_t payer;
  size_t provider;
};

}  // namespace

TEST_CASE("seeded random workload keeps invariants and replays identically", "[ledger][workload]") {
  std::mt19937_64 rng(20261127);
  auto pick = [&](uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng); };

  test::TempDir dir;
  std::vector<SecretKey> keys;
  for (uint32_t i = 0; i < kAccounts; ++i) keys.push_back(KeyN(i));
  SecretKey validator = KeyN(1000), issuer = KeyN(1001), capped = KeyN(1002);
  Genesis g;
  g.chain_name = "workload";
  g.genesis_time_ms = 1'000'000;
  g.validators.push_back(validator.Public());
  g.issuers.push_back({issuer.Public(), std::nullopt});
  g.issuers.push_back({capped.Public(), 50'000'000});
  for (size_t i = 0; i < 100; ++i) g.balances.emplace_back(keys[i].Public(), 1'000'000'000);
  auto created = Chain::Create(dir.Sub("a"), g, StoreOptions{true, false});
  REQUIRE(created.ok());
  Chain& chain = **created;
  const Hash32 chain_id = chain.chain_id();

  uint64_t nonce = 0;
  auto sign = [&](const SecretKey& k, pb::TxBody b) {
    b.set_nonce(++nonce);
    if (pick(20) == 0) b.set_valid_until_ms(1'000'000 + pick(400'000));  // some expire
    if (pick(10) == 0) b.set_memo("job " + std::to_string(nonce));
    return SignTx(k, chain_id, std::move(b));
  };
  std::vector<pb::SignedTx> history;  // for replays
  std::vector<OpenRes> open;
  std::map<int, size_t> codes;
  size_t total_txs = 0, expired_total = 0, failed_ops_total = 0, multi_ok = 0;
  uint64_t time_ms = 1'000'000;

  for (size_t height = 1; height <= kBlocks; ++height) {
    time_ms += 100 + pick(3'000);
    size_t n = 40 + pick(40);
    std::vector<pb::SignedTx> txs;
    std::vector<std::pair<size_t, size_t>> reserve_slots;  // tx index -> payer/provider
    std::vector<size_t> reserve_provider;
    for (size_t i = 0; i < n; ++i) {
      size_t a = pick(kAccounts), b = pick(kAccounts);
      uint64_t amount = 1 + pick(pick(4) == 0 ? 2'000'000'000 : 20'000'000);
      pb::TxBody body;
      uint64_t op = pick(100);
      if (op < 33) {
        body.mutable_transfer()->set_to(AsString(keys[b].Public()));
        body.mutable_transfer()->set_amount_ucu(amount);
        txs.push_back(sign(keys[a], body));
      } else if (op < 40) {
        // A multi-operation transaction: transfers, a reserve settled later in
        // the same list by reference, burns; a large amount now and then
        // makes one operation fail and the whole list roll back.
        size_t n_ops = 2 + pick(11);
        std::optional<uint32_t> reserve_at;
        for (size_t k = 0; k < n_ops; ++k) {
          auto* o = body.mutable_operations()->add_ops();
          uint64_t kind = pick(10);
          uint64_t op_amount = 1 + pick(pick(6) == 0 ? 2'000'000'000 : 5'000'000);
          size_t to = pick(kAccounts);
          if (to == a) to = (a + 1) % kAccounts;
          if (kind < 6) {
            o->mutable_transfer()->set_to(AsString(keys[to].Public()));
            o->mutable_transfer()->set_amount_ucu(op_amount);
          } else if (kind < 8 && !reserve_at) {
            o->mutable_reserve()->set_to(AsString(keys[to].Public()));
            o->mutable_reserve()->set_amount_ucu(op_amount);
            o->mutable_reserve()->set_timeout_ms(500 + pick(20'000));
            reserve_at = static_cast<uint32_t>(k);
          } else if (kind < 9 && reserve_at) {
            o->mutable_settle()->set_reserve_op(*reserve_at);
            o->mutable_settle()->set_amount_ucu(pick(2'000'000));
          } else {
            o->mutable_burn()->set_amount_ucu(op_amount / 10 + 1);
          }
        }
        txs.push_back(sign(keys[a], body));
      } else if (op < 55) {
        body.mutable_reserve()->set_to(AsString(keys[b].Public()));
        body.mutable_reserve()->set_amount_ucu(amount);
        body.mutable_reserve()->set_timeout_ms(500 + pick(20'000));
        txs.push_back(sign(keys[a], body));
        reserve_slots.emplace_back(txs.size() - 1, a);
        reserve_provider.push_back(b);
      } else if (op < 75 && !open.empty()) {
        const OpenRes& r = open[pick(open.size())];
        size_t signer = pick(10) == 0 ? a : r.provider;  // sometimes the wrong signer
        if (pick(5) == 0) {
          body.mutable_release()->set_reservation(AsString(r.id));
        } else {
          body.mutable_settle()->set_reservation(AsString(r.id));
          body.mutable_settle()->set_amount_ucu(pick(3'000'000));
          body.mutable_settle()->set_final(pick(4) == 0);
        }
        txs.push_back(sign(keys[signer], body));
      } else if (op < 82) {
        body.mutable_mint()->set_to(AsString(keys[b].Public()));
        body.mutable_mint()->set_amount_ucu(amount);
        txs.push_back(sign(pick(2) == 0 ? issuer : (pick(3) == 0 ? keys[a] : capped), body));
      } else if (op < 88) {
        body.mutable_burn()->set_amount_ucu(amount / 10 + 1);
        txs.push_back(sign(keys[a], body));
      } else if (op < 95 && !history.empty()) {
        txs.push_back(history[pick(history.size())]);  // replay
      } else {
        body.mutable_transfer()->set_to(AsString(keys[b].Public()));
        body.mutable_transfer()->set_amount_ucu(amount);
        pb::SignedTx forged = sign(keys[a], body);
        (*forged.mutable_signature())[0] = static_cast<char>(forged.signature()[0] ^ 0x55);
        txs.push_back(forged);
      }
    }
    std::vector<pb::AtomicRange> atomic;
    if (pick(3) == 0 && txs.size() > 10) {
      uint32_t first = static_cast<uint32_t>(pick(txs.size() - 5));
      atomic.push_back(test::Range(first, 2 + static_cast<uint32_t>(pick(3))));
    }
    std::vector<pb::SignedTx> block_txs = txs;
    auto block = chain.Produce(std::move(block_txs), atomic, time_ms, validator);
    REQUIRE(block.ok());
    REQUIRE(block->header().height() == height);
    for (int i = 0; i < block->results_size(); ++i) codes[block->results(i)]++;
    failed_ops_total += static_cast<size_t>(block->failed_operations_size());
    for (int i = 0; i < block->results_size(); ++i) {
      if (block->results(i) == pb::RESULT_OK && block->txs(i).body().size() > 0) {
        pb::TxBody parsed;
        if (parsed.ParseFromString(block->txs(i).body()) && IsMultiOp(parsed)) ++multi_ok;
      }
    }
    total_txs += txs.size();
    expired_total += static_cast<size_t>(block->expired_reservations_size());
    for (size_t k = 0; k < reserve_slots.size(); ++k) {
      size_t idx = reserve_slots[k].first;
      if (block->results(static_cast<int>(idx)) == pb::RESULT_OK) {
        open.push_back(
            {TxHash(chain_id, txs[idx].body()), reserve_slots[k].second, reserve_provider[k]});
      }
    }
    if (open.size() > 400) open.erase(open.begin(), open.begin() + 100);
    for (size_t i = 0; i < txs.size(); ++i) {
      if (block->results(static_cast<int>(i)) == pb::RESULT_OK) history.push_back(txs[i]);
    }
    Status inv = CheckInvariants(chain.store());
    INFO("after block " << height << ": " << inv.ToString());
    REQUIRE(inv.ok());
  }

  CHECK(total_txs >= 10'000);
  CHECK(expired_total > 0);
  for (int code : {pb::RESULT_OK, pb::RESULT_INSUFFICIENT_FUNDS, pb::RESULT_ALREADY_APPLIED,
                   pb::RESULT_BAD_SIGNATURE, pb::RESULT_NOT_PROVIDER, pb::RESULT_NOT_ISSUER,
                   pb::RESULT_CAP_EXCEEDED, pb::RESULT_EXPIRED, pb::RESULT_SELF_TRANSFER,
                   pb::RESULT_RESERVATION_CLOSED, pb::RESULT_RESERVATION_EXPIRED}) {
    INFO("code never produced: " << ResultName(static_cast<pb::ResultCode>(code)));
    CHECK(codes[code] > 0);
  }
  CHECK(codes[pb::RESULT_OK] > total_txs / 3);
  // Multi-operation transactions both applied and rolled back at an operation.
  CHECK(multi_ok > 100);
  CHECK(failed_ops_total > 100);

  // Replay every block into a fresh store through the follower path.
  auto replica = Chain::Create(dir.Sub("b"), g, StoreOptions{true, false});
  REQUIRE(replica.ok());
  for (uint64_t h = 1; h <= chain.height(); ++h) {
    auto b = chain.store()->GetBlock(h);
    REQUIRE(b.ok());
    REQUIRE(b->has_value());
    Status s = (*replica)->Append(**b);
    INFO("replaying block " << h << ": " << s.ToString());
    REQUIRE(s.ok());
  }
  CHECK((*replica)->tip_hash() == chain.tip_hash());
  CHECK((*replica)->tip().state_digest() == chain.tip().state_digest());
  // And the state itself is identical, account by account.
  std::map<PublicKey, Account> left, right;
  REQUIRE(chain.store()
              ->ForEachAccount([&](const PublicKey& k, const Account& a) { left[k] = a; })
              .ok());
  REQUIRE((*replica)
              ->store()
              ->ForEachAccount([&](const PublicKey& k, const Account& a) { right[k] = a; })
              .ok());
  CHECK(left == right);
}
