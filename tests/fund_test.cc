// The compute equity fund (docs/FUND.md): genesis section, levies, epoch
// distribution with its rounding, claims, membership, restarts, and a seeded
// random workload replayed byte for byte.
#include "ledger/fund.h"

#include <rocksdb/db.h>

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <random>

#include "ledger/genesis.h"
#include "test_util.h"

using namespace chip;
using test::ChainFixture;

namespace {

constexpr uint64_t kEpochMs = 10'000;  // boundaries at 11'000, 21'000, ... (genesis 1'000)

// Levy 2.5% of settlements, 1% of mints; the issuer is the registrar.
FundRules TestFund() {
  FundRules r;
  r.settle_levy_bps = 250;
  r.mint_share_bps = 100;
  r.epoch_ms = kEpochMs;
  r.registrars.insert(test::TestKey(201).Public());
  return r;
}

FundState Fund(ChainFixture& f) {
  auto fund = f.chain->store()->GetFund();
  REQUIRE(fund.has_value());
  return *fund;
}

uint64_t Owed(ChainFixture& f, const SecretKey& k) {
  auto m = f.chain->store()->GetFundMember(k.Public());
  return m ? UnclaimedDividend(Fund(f), *m) : 0;
}

void RequireOk(const pb::Block& b) {
  for (int i = 0; i < b.results_size(); ++i) {
    INFO("tx " << i << ": " << ResultName(b.results(i)));
    REQUIRE(b.results(i) == pb::RESULT_OK);
  }
}

}  // namespace

TEST_CASE("genesis fund section: parsed, canonical, validated", "[ledger][fund]") {
  const std::string reg = EncodeAddress(test::TestKey(9).Public());
  const std::string base = R"({"chain_name":"f","genesis_time_ms":5,)";
  auto g = ParseGenesis(base + R"("fund":{"settle_levy_bps":500,"mint_share_bps":0,)" +
                        R"("epoch_ms":60000,"registrars":[")" + reg + R"("]}})");
  REQUIRE(g.ok());
  REQUIRE(g->fund.has_value());
  CHECK(g->fund->settle_levy_bps == 500);
  CHECK(g->fund->epoch_ms == 60'000);
  CHECK(g->fund->registrars.count(test::TestKey(9).Public()) == 1);
  const std::string canon = CanonicalGenesis(*g);
  CHECK(canon.find(R"("fund":{"epoch_ms":60000,"mint_share_bps":0,"registrars":[")") !=
        std::string::npos);
  auto again = ParseGenesis(canon);
  REQUIRE(again.ok());
  CHECK(CanonicalGenesis(*again) == canon);

  // Without a fund section nothing of it appears: old chains keep their ids.
  auto plain = ParseGenesis(base + R"("issuers":[]})");
  REQUIRE(plain.ok());
  CHECK_FALSE(plain->fund.has_value());
  CHECK(CanonicalGenesis(*plain).find("fund") == std::string::npos);

  struct Bad {
    std::string fund;
    std::string message;
  };
  const std::string regs = R"("registrars":[")" + reg + R"("])";
  for (const Bad& bad : std::vector<Bad>{
           {R"({"settle_levy_bps":10001,"mint_share_bps":0,"epoch_ms":1,)" + regs + "}",
            "0 to 10000"},
           {R"({"settle_levy_bps":1,"mint_share_bps":0,"epoch_ms":0,)" + regs + "}",
            "epoch_ms: must be positive"},
           {R"({"settle_levy_bps":1,"mint_share_bps":0,"epoch_ms":1,"registrars":[]})",
            "at least one registrar"},
           {R"({"settle_levy_bps":1,"epoch_ms":1,)" + regs + "}", "mint_share_bps: required"},
           {R"({"settle_levy_bps":1,"mint_share_bps":0,"epoch_ms":1,"tax":1,)" + regs + "}",
            "unknown field 'tax'"},
           {R"({"settle_levy_bps":-1,"mint_share_bps":0,"epoch_ms":1,)" + regs + "}",
            "non-negative integer"},
           {R"({"settle_levy_bps":1,"mint_share_bps":0,"epoch_ms":18446744073709551615,)" + regs +
                "}",
            "exceeds 2^64-1"},
           {R"([1])", "fund: expected an object"},
       }) {
    auto r = ParseGenesis(base + R"("fund":)" + bad.fund + "}");
    INFO(bad.fund);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find(bad.message) != std::string::npos);
  }
}

TEST_CASE("BasisPointsOf is the exact floor for every amount", "[ledger][fund]") {
  CHECK(BasisPointsOf(1'000'001, 250) == 25'000);  // 25'000.025
  CHECK(BasisPointsOf(999, 100) == 9);             // 9.99
  CHECK(BasisPointsOf(39, 250) == 0);              // 0.975: small amounts pay nothing
  CHECK(BasisPointsOf(40, 250) == 1);
  CHECK(BasisPointsOf(12345, 10'000) == 12345);
  CHECK(BasisPointsOf(12345, 0) == 0);
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  // floor((2^64-1) * 9999 / 10000), computed with 128 bits.
  __extension__ unsigned __int128 wide = static_cast<unsigned __int128>(max) * 9999 / 10000;
  CHECK(BasisPointsOf(max, 9999) == static_cast<uint64_t>(wide));
  CHECK(BasisPointsOf(max, 10'000) == max);
}

TEST_CASE("settlements and mints pay the fund its levy, rounded down", "[ledger][fund]") {
  ChainFixture f(StoreOptions{}, TestFund());
  auto r = f.Reserve(f.alice, f.bob.Public(), 10'000'000, 600'000);
  RequireOk(f.Block({r}, 2'000));
  // 1'000'001 x 2.5% = 25'000.025: the fund gets 25'000, the provider the rest.
  RequireOk(f.Block({f.Settle(f.bob, f.HashOf(r), 1'000'001, false)}, 3'000));
  CHECK(f.Balance(f.bob) == 975'001);
  CHECK(Fund(f).balance_ucu == 25'000);
  auto res = f.chain->store()->GetReservation(f.HashOf(r));
  CHECK(res->settled_ucu == 1'000'001);  // the payer pays the full amount
  CHECK(res->held_ucu == 8'999'999);
  // A final settle levies what it pays; the refund of the rest is not levied.
  RequireOk(f.Block({f.Settle(f.bob, f.HashOf(r), 100, true)}, 4'000));
  CHECK(f.Balance(f.bob) == 975'001 + 98);  // levy of 100 x 2.5% = 2.5 -> 2
  CHECK(Fund(f).balance_ucu == 25'002);
  CHECK(f.Balance(f.alice) == 100'000'000 - 1'000'101);
  // Mint 999 x 1% = 9.99: the fund gets 9, carol 990; the supply grows by 999.
  const Supply before = f.chain->store()->GetSupply();
  RequireOk(f.Block({f.Mint(f.issuer, f.carol.Public(), 999)}, 5'000));
  CHECK(f.Balance(f.carol) == 990);
  CHECK(Fund(f).balance_ucu == 25'011);
  CHECK(f.chain->store()->GetSupply().minted_ucu == before.minted_ucu + 999);
  REQUIRE(CheckInvariants(f.chain->store()).ok());

  // Without a fund, the same settle pays the provider everything.
  ChainFixture plain;
  auto r2 = plain.Reserve(plain.alice, plain.bob.Public(), 10'000'000, 600'000);
  plain.Block({r2}, 2'000);
  plain.Block({plain.Settle(plain.bob, plain.HashOf(r2), 1'000'001, false)}, 3'000);
  CHECK(plain.Balance(plain.bob) == 1'000'001);
  CHECK_FALSE(plain.chain->store()->GetFund().has_value());
}

TEST_CASE("an epoch divides the fund equally; the remainder stays; latecomers wait",
          "[ledger][fund]") {
  ChainFixture f(StoreOptions{}, TestFund());
  RequireOk(
      f.Block({f.FundRegister(f.issuer, f.alice.Public()), f.FundRegister(f.issuer, f.bob.Public()),
               f.FundRegister(f.issuer, f.carol.Public())},
              2'000));
  CHECK(Fund(f).members == 3);
  // 10'000 minted with 1% to the fund: 100 uCU in the fund.
  RequireOk(f.Block({f.Mint(f.issuer, f.alice.Public(), 10'000)}, 3'000));  // share 100
  CHECK(Fund(f).balance_ucu == 100);
  CHECK(Fund(f).next_boundary_ms == 11'000);
  // The block at 11'000 crosses the first boundary before its transactions:
  // dave, registered in that block, gets nothing from it.
  SecretKey dave = test::TestKey(4);
  RequireOk(f.Block({f.FundRegister(f.issuer, dave.Public())}, 11'000));
  FundState s = Fund(f);
  CHECK(s.epoch == 1);
  CHECK(s.last_dividend_ucu == 33);  // floor(100 / 3)
  CHECK(s.balance_ucu == 1);         // the remainder stays in the fund
  CHECK(s.unclaimed_ucu == 99);
  CHECK(s.members == 4);
  CHECK(s.next_boundary_ms == 21'000);
  CHECK(Owed(f, f.alice) == 33);
  CHECK(Owed(f, f.carol) == 33);
  CHECK(Owed(f, dave) == 0);
  REQUIRE(CheckInvariants(f.chain->store()).ok());

  // Claiming credits the dividend once.
  const uint64_t carol_before = f.Balance(f.carol);
  auto claim = f.Block({f.FundClaim(f.carol)}, 12'000);
  RequireOk(claim);
  CHECK(f.Balance(f.carol) == carol_before + 33);
  CHECK(Owed(f, f.carol) == 0);
  CHECK(f.Block({f.FundClaim(f.carol)}, 12'500).results(0) == pb::RESULT_NOTHING_TO_CLAIM);
  CHECK(f.Balance(f.carol) == carol_before + 33);

  // Any transaction a member signs credits its dividend first, so bob (no
  // balance of his own) can spend his 33 uCU.
  REQUIRE(f.Balance(f.bob) == 0);
  RequireOk(f.Block({f.Transfer(f.bob, f.carol.Public(), 30)}, 13'000));
  CHECK(f.Balance(f.bob) == 3);
  CHECK(Owed(f, f.bob) == 0);
  // A transaction that fails leaves the dividend unclaimed (nothing changes).
  const uint64_t alice_owed = Owed(f, f.alice);
  CHECK(f.Block({f.Transfer(f.alice, f.bob.Public(), 1'000'000'000'000)}, 13'500).results(0) ==
        pb::RESULT_INSUFFICIENT_FUNDS);
  CHECK(Owed(f, f.alice) == alice_owed);
  REQUIRE(CheckInvariants(f.chain->store()).ok());
}

TEST_CASE("two boundaries crossed by one block are two epochs, in order", "[ledger][fund]") {
  ChainFixture f(StoreOptions{}, TestFund());
  RequireOk(f.Block(
      {f.FundRegister(f.issuer, f.alice.Public()), f.FundRegister(f.issuer, f.bob.Public())},
      2'000));
  RequireOk(f.Block({f.Mint(f.issuer, f.carol.Public(), 1'000'100)}, 3'000));  // share 10'001
  // 25'000 crosses 11'000 and 21'000: the first pays floor(10'001 / 2) =
  // 5'000 each, the second floor(1 / 2) = 0.
  f.Block({}, 25'000);
  FundState s = Fund(f);
  CHECK(s.epoch == 2);
  CHECK(s.acc_ucu == 5'000);
  CHECK(s.last_dividend_ucu == 5'000);  // what this block paid each member
  CHECK(s.balance_ucu == 1);
  CHECK(s.next_boundary_ms == 31'000);
  CHECK(s.distributed_ucu == 10'000);
  // A long silence: a million boundaries in one block cost the same as one.
  f.Block({}, 25'000 + 1'000'000 * kEpochMs);
  CHECK(Fund(f).epoch == 1'000'002);
  CHECK(Fund(f).next_boundary_ms == 31'000 + 1'000'000 * kEpochMs);
  CHECK(Fund(f).last_dividend_ucu == 0);  // floor(1 / 2)
  CHECK(Owed(f, f.alice) == 5'000);
  REQUIRE(CheckInvariants(f.chain->store()).ok());
}

TEST_CASE("membership: one share each, leaving keeps what is owed", "[ledger][fund]") {
  ChainFixture f(StoreOptions{}, TestFund());
  RequireOk(f.Block(
      {f.FundRegister(f.issuer, f.alice.Public()), f.FundRegister(f.issuer, f.bob.Public())},
      2'000));
  RequireOk(f.Block({f.Mint(f.issuer, f.carol.Public(), 20'000)}, 3'000));  // 200 to the fund
  f.Block({}, 11'000);                                                      // 100 each
  // Bob is deregistered by the registrar; carol cannot deregister alice.
  auto b = f.Block(
      {f.FundDeregister(f.issuer, f.bob.Public()), f.FundDeregister(f.carol, f.alice.Public())},
      12'000);
  CHECK(b.results(0) == pb::RESULT_OK);
  CHECK(b.results(1) == pb::RESULT_NOT_REGISTRAR);
  CHECK(Fund(f).members == 1);
  CHECK(Owed(f, f.bob) == 100);  // banked
  RequireOk(f.Block({f.Mint(f.issuer, f.carol.Public(), 20'000)}, 13'000));
  f.Block({}, 21'000);  // 200 to alice alone
  CHECK(Owed(f, f.bob) == 100);
  CHECK(Owed(f, f.alice) == 300);
  // Bob claims what was owed before he left; his record then goes.
  RequireOk(f.Block({f.FundClaim(f.bob)}, 22'000));
  CHECK(f.Balance(f.bob) == 100);
  CHECK_FALSE(f.chain->store()->GetFundMember(f.bob.Public()).has_value());
  CHECK(f.Block({f.FundClaim(f.bob)}, 22'500).results(0) == pb::RESULT_NOTHING_TO_CLAIM);
  // Alice leaves by herself: her dividend is credited by that transaction.
  const uint64_t alice_before = f.Balance(f.alice);
  RequireOk(f.Block({f.FundDeregister(f.alice, f.alice.Public())}, 23'000));
  CHECK(f.Balance(f.alice) == alice_before + 300);
  CHECK(Fund(f).members == 0);
  CHECK(f.Block({f.FundDeregister(f.alice, f.alice.Public())}, 23'500).results(0) ==
        pb::RESULT_NOT_MEMBER);
  // With no member, a boundary pays nothing and the balance waits.
  RequireOk(f.Block({f.Mint(f.issuer, f.carol.Public(), 20'000)}, 24'000));
  f.Block({}, 31'000);
  CHECK(Fund(f).balance_ucu == 200);
  CHECK(Fund(f).last_dividend_ucu == 0);
  // Re-registered, bob gets only epochs after his return.
  RequireOk(f.Block({f.FundRegister(f.issuer, f.bob.Public())}, 32'000));
  f.Block({}, 41'000);
  CHECK(Owed(f, f.bob) == 200);
  REQUIRE(CheckInvariants(f.chain->store()).ok());

  // In an operation list: register two, the second twice -> ALREADY_MEMBER
  // at operation 2, and nothing of the list happens.
  pb::TxBody list;
  list.mutable_operations()->add_ops()->mutable_fund_register()->set_member(
      AsString(test::TestKey(5).Public()));
  list.mutable_operations()->add_ops()->mutable_fund_register()->set_member(
      AsString(test::TestKey(6).Public()));
  list.mutable_operations()->add_ops()->mutable_fund_register()->set_member(
      AsString(test::TestKey(6).Public()));
  auto lb = f.Block({f.Sign(f.issuer, list)}, 42'000);
  CHECK(lb.results(0) == pb::RESULT_ALREADY_MEMBER);
  REQUIRE(lb.failed_operations_size() == 1);
  CHECK(lb.failed_operations(0).op() == 2);
  CHECK(Fund(f).members == 1);
}

TEST_CASE("a restart in the middle of an epoch changes nothing", "[ledger][fund]") {
  ChainFixture straight(StoreOptions{}, TestFund());
  auto run = [](ChainFixture& f, const std::function<void()>& midway) {
    RequireOk(f.Block(
        {f.FundRegister(f.issuer, f.alice.Public()), f.FundRegister(f.issuer, f.bob.Public())},
        2'000));
    auto r = f.Reserve(f.alice, f.carol.Public(), 5'000'000, 600'000);
    RequireOk(f.Block({r, f.Mint(f.issuer, f.bob.Public(), 777'777)}, 3'000));
    RequireOk(f.Block({f.Settle(f.carol, f.HashOf(r), 3'333'333, false)}, 5'000));
    midway();
    f.Block({}, 11'000);
    RequireOk(f.Block({f.FundClaim(f.bob)}, 12'000));
  };
  run(straight, [] {});
  ChainFixture restarted(StoreOptions{}, TestFund());
  run(restarted, [&] {
    const std::string path = restarted.dir.Sub("db");
    restarted.chain.reset();
    auto reopened = Chain::Open(path);
    REQUIRE(reopened.ok());
    restarted.chain = std::move(*reopened);
    CHECK(restarted.chain->rules().fund.has_value());
  });
  CHECK(restarted.chain->tip().state_digest() == straight.chain->tip().state_digest());
  CHECK(restarted.chain->tip_hash() == straight.chain->tip_hash());
  CHECK(Fund(restarted) == Fund(straight));
  // 83'333 + 7'777 = 91'110 levied: 45'555 each.
  CHECK(Fund(restarted).last_dividend_ucu == 45'555);
  REQUIRE(CheckInvariants(restarted.chain->store()).ok());
}

TEST_CASE("seeded random fund workload: invariants every block, byte-identical replay",
          "[ledger][fund][workload]") {
  ChainFixture f(StoreOptions{true, false}, TestFund());
  std::mt19937_64 rng(20261204);
  std::vector<SecretKey> keys;
  for (uint8_t i = 10; i < 30; ++i) keys.push_back(test::TestKey(i));
  keys.push_back(f.alice);
  RequireOk(f.Block({f.Transfer(f.alice, keys[0].Public(), 40'000'000)}, 1'500));
  std::vector<Hash32> reservations;
  std::map<int, int> codes;
  uint64_t time_ms = 2'000;
  uint64_t epochs_seen = 0;
  for (int block = 0; block < 150; ++block) {
    std::vector<pb::SignedTx> txs;
    const int n = static_cast<int>(rng() % 12);
    for (int t = 0; t < n; ++t) {
      const SecretKey& a = keys[rng() % keys.size()];
      const SecretKey& b = keys[rng() % keys.size()];
      switch (rng() % 9) {
        case 0:
          txs.push_back(f.FundRegister(rng() % 5 == 0 ? a : f.issuer, b.Public()));
          break;
        case 1:
          txs.push_back(f.FundDeregister(rng() % 2 == 0 ? a : f.issuer, a.Public()));
          break;
        case 2:
          txs.push_back(f.FundClaim(a));
          break;
        case 3:
          txs.push_back(f.Mint(f.issuer, a.Public(), 1 + rng() % 3'000'000));
          break;
        case 4: {
          auto r = f.Reserve(a, b.Public(), 1 + rng() % 2'000'000, 1 + rng() % 40'000);
          reservations.push_back(f.HashOf(r));
          txs.push_back(r);
          break;
        }
        case 5:
        case 6:
          if (!reservations.empty()) {
            const Hash32& id = reservations[rng() % reservations.size()];
            auto res = f.chain->store()->GetReservation(id);
            const SecretKey* provider = &b;
            for (const auto& k : keys) {
              if (res && res->provider == k.Public()) provider = &k;
            }
            txs.push_back(f.Settle(*provider, id, 1 + rng() % 1'000'000, rng() % 3 == 0));
          }
          break;
        case 7:
          txs.push_back(f.Transfer(a, b.Public(), 1 + rng() % 500'000));
          break;
        default: {
          pb::TxBody list;  // a claim and a transfer under one signature
          list.mutable_operations()->add_ops()->mutable_fund_claim();
          auto* xfer = list.mutable_operations()->add_ops()->mutable_transfer();
          xfer->set_to(AsString(b.Public()));
          xfer->set_amount_ucu(1 + rng() % 1'000);
          txs.push_back(f.Sign(a, list));
          break;
        }
      }
    }
    // Mostly short steps, sometimes several epochs at once.
    time_ms += rng() % 10 == 0 ? 3 * kEpochMs + rng() % kEpochMs : rng() % 4'000;
    auto produced = f.Block(txs, time_ms);
    for (auto c : produced.results()) ++codes[c];
    Status inv = CheckInvariants(f.chain->store());
    INFO("block " << produced.header().height() << ": " << inv.ToString());
    REQUIRE(inv.ok());
    epochs_seen = Fund(f).epoch;
  }
  const FundState end = Fund(f);
  CHECK(epochs_seen > 20);
  CHECK(end.distributed_ucu > 0);
  for (int code : {pb::RESULT_OK, pb::RESULT_NOT_REGISTRAR, pb::RESULT_ALREADY_MEMBER,
                   pb::RESULT_NOT_MEMBER, pb::RESULT_NOTHING_TO_CLAIM}) {
    INFO("code never produced: " << ResultName(static_cast<pb::ResultCode>(code)));
    CHECK(codes[code] > 0);
  }

  auto replica = Chain::Create(f.dir.Sub("replica"), f.genesis, StoreOptions{true, false});
  REQUIRE(replica.ok());
  for (uint64_t h = 1; h <= f.chain->height(); ++h) {
    auto b = f.chain->store()->GetBlock(h);
    REQUIRE(b.ok());
    REQUIRE(b->has_value());
    Status s = (*replica)->Append(**b);
    INFO("replaying block " << h << ": " << s.ToString());
    REQUIRE(s.ok());
  }
  CHECK((*replica)->tip_hash() == f.chain->tip_hash());
  CHECK((*replica)->tip().state_digest() == f.chain->tip().state_digest());
  CHECK(*(*replica)->store()->GetFund() == end);
  std::map<PublicKey, FundMember> left, right;
  REQUIRE(f.chain->store()
              ->ForEachFundMember([&](const PublicKey& k, const FundMember& m) { left[k] = m; })
              .ok());
  REQUIRE((*replica)
              ->store()
              ->ForEachFundMember([&](const PublicKey& k, const FundMember& m) { right[k] = m; })
              .ok());
  CHECK(left == right);
  CHECK(!left.empty());
}

// A store made before the fund existed has no fund_members column family: it
// gains it, empty, and its chain opens and keeps producing. A store missing
// any other table is from an incompatible build and is refused by name.
TEST_CASE("a store without the fund members table gains it; one missing another is refused",
          "[ledger][fund][store]") {
  ChainFixture f;  // no fund
  RequireOk(f.Block({f.Transfer(f.alice, f.bob.Public(), 1'000)}, 2'000));
  const std::string path = f.dir.Sub("db");
  const Hash32 tip = f.chain->tip_hash();
  f.chain.reset();
  auto drop = [&](const std::string& family) {
    rocksdb::DB* raw = nullptr;
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    std::vector<std::string> names;
    REQUIRE(rocksdb::DB::ListColumnFamilies(rocksdb::Options(), path, &names).ok());
    for (const auto& n : names) descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    REQUIRE(rocksdb::DB::Open(rocksdb::Options(), path, descriptors, &handles, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == family) REQUIRE(db->DropColumnFamily(handles[i]).ok());
    }
    for (auto* h : handles) REQUIRE(db->DestroyColumnFamilyHandle(h).ok());
  };
  drop("fund_members");
  {
    auto reopened = Chain::Open(path);
    REQUIRE(reopened.ok());
    CHECK((*reopened)->tip_hash() == tip);
    f.chain = std::move(*reopened);
    RequireOk(f.Block({f.Transfer(f.alice, f.bob.Public(), 1'000)}, 3'000));
    CHECK(f.Balance(f.bob) == 2'000);
    f.chain.reset();
  }
  drop("observations");
  auto refused = Chain::Open(path);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == Status::Code::kFailedPrecondition);
  CHECK(refused.status().message().find("column family observations not found") !=
        std::string::npos);
}
