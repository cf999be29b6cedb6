// Multi-operation transactions (docs/PROTOCOL.md, "Multi-operation
// transactions"): the exact bytes of a list, its stateless codes with the
// failing operation's index, all-or-nothing application at every position,
// operations that see the effects of earlier ones, replay, and the block's
// record of the failing operation.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "ledger/apply.h"
#include "ledger/block.h"
#include "ledger/invariants.h"
#include "ledger/limits.h"
#include "test_util.h"

using namespace chip;
using test::ChainFixture;

namespace {

void AddTransfer(pb::TxBody* b, const PublicKey& to, uint64_t amount_ucu) {
  auto* t = b->mutable_operations()->add_ops()->mutable_transfer();
  t->set_to(AsString(to));
  t->set_amount_ucu(amount_ucu);
}

// A body of `n` transfers of 1 uCU each from alice to bob and carol in turn.
pb::TxBody Transfers(ChainFixture& f, int n) {
  pb::TxBody b;
  for (int k = 0; k < n; ++k) AddTransfer(&b, (k % 2 == 0 ? f.bob : f.carol).Public(), 1);
  return b;
}

// Every state table the ledger keeps, as bytes, for byte-for-byte comparison.
std::string StateBytes(ChainFixture& f) {
  std::string out;
  auto s = f.chain->store()->ForEachAccount(
      [&](const PublicKey& k, const Account& a) { out += AsString(k) + EncodeAccount(a); });
  REQUIRE(s.ok());
  out += EncodeSupply(f.chain->store()->GetSupply());
  return out;
}

}  // namespace

TEST_CASE("a multi-operation body has the documented bytes and hash", "[ledger][multiop]") {
  // Key 1 (RFC 8032 test 1) pays key 2 (RFC 8032 test 2) 1 CU and 2 CU in one
  // transaction, nonce 1, on the example chain of docs/PROTOCOL.md.
  auto key1 = KeyFromSeed(
      *ToHash32(*FromHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")));
  auto key2 = KeyFromSeed(
      *ToHash32(*FromHex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")));
  Hash32 chain_id =
      *ToHash32(*FromHex("8371573d9fe128f534120d91add79d9cd26ebd8e12b17a8c24cecd2434d3623f"));
  pb::TxBody b;
  b.set_nonce(1);
  AddTransfer(&b, key2.Public(), 1'000'000);
  AddTransfer(&b, key2.Public(), 2'000'000);
  pb::SignedTx tx = SignTx(key1, chain_id, b);
  CHECK(ToHex(tx.body()) ==
        "0a20d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a1001a20154"
        "0a2852260a203d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c10c0843d"
        "0a2852260a203d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c1080897a");
  CHECK(ToHex(AsView(TxHash(chain_id, tx.body()))) ==
        "d00f8d9a5b48ccf6ac683e10049952f93cf6a9ab4b1d41e6a1a28c5e26b02bd0");
  CHECK(ToHex(tx.signature()) ==
        "3c1518326875a97ebfca0f19a98f30dcac732881038141234cd0433d2f5ab5d1"
        "dc507ab50595c60b8a2f015b40325fb86e366f62e250e499a973d05620f9010a");
  // The id of a reservation a Reserve at index 3 of that transaction would make.
  CHECK(ToHex(AsView(OperationReservationId(TxHash(chain_id, tx.body()), 3))) ==
        "b5cfe1135435e2c79b293412d0f013368d69d54c5881d90f22ea1a7fb90e4b8b");
  CheckedTx c = CheckTx(tx, chain_id);
  CHECK(c.code == pb::RESULT_OK);
  CHECK(OperationCount(c.body) == 2);
}

TEST_CASE("multi-operation stateless codes name the failing operation", "[ledger][multiop]") {
  ChainFixture f;
  struct Case {
    const char* what;
    pb::TxBody body;
    pb::ResultCode code;
    std::optional<uint32_t> op;
  };
  std::vector<Case> cases;
  {
    pb::TxBody b;
    b.mutable_operations();  // present, but empty
    cases.push_back({"empty list", b, pb::RESULT_EMPTY_OPERATIONS, std::nullopt});
  }
  {
    pb::TxBody b = Transfers(f, 2);
    b.mutable_transfer()->set_to(AsString(f.bob.Public()));
    b.mutable_transfer()->set_amount_ucu(1);
    cases.push_back({"list and single operation", b, pb::RESULT_OPERATIONS_WITH_KIND, {}});
  }
  cases.push_back({"too many", Transfers(f, static_cast<int>(kTxOperationsMax) + 1),
                   pb::RESULT_TOO_MANY_OPERATIONS, std::nullopt});
  cases.push_back({"at the limit", Transfers(f, static_cast<int>(kTxOperationsMax)), pb::RESULT_OK,
                   std::nullopt});
  {
    pb::TxBody b = Transfers(f, 3);
    b.mutable_operations()->mutable_ops(2)->mutable_transfer()->set_amount_ucu(0);
    cases.push_back({"zero amount in op 2", b, pb::RESULT_ZERO_AMOUNT, 2u});
  }
  {
    pb::TxBody b = Transfers(f, 3);
    b.mutable_operations()->mutable_ops(1)->mutable_transfer()->set_to(AsString(f.alice.Public()));
    cases.push_back({"self transfer in op 1", b, pb::RESULT_SELF_TRANSFER, 1u});
  }
  {
    pb::TxBody b = Transfers(f, 3);
    b.mutable_operations()->add_ops();  // no kind
    cases.push_back({"operation without a kind", b, pb::RESULT_MALFORMED, 3u});
  }
  {
    pb::TxBody b = Transfers(f, 3);
    auto* op = b.mutable_operations()->mutable_ops(1);
    op->GetReflection()->MutableUnknownFields(op)->AddVarint(99, 1);
    cases.push_back({"unknown field in op 1", b, pb::RESULT_UNKNOWN_FIELD, 1u});
  }
  {
    pb::TxBody b = Transfers(f, 2);
    b.mutable_operations()->mutable_ops(0)->mutable_reserve()->set_to(AsString(f.bob.Public()));
    b.mutable_operations()->mutable_ops(0)->mutable_reserve()->set_amount_ucu(5);
    cases.push_back({"reserve without timeout in op 0", b, pb::RESULT_BAD_TIMEOUT, 0u});
  }
  for (auto& c : cases) {
    INFO(c.what);
    pb::SignedTx tx = f.Sign(f.alice, c.body);
    CheckedTx checked = CheckTx(tx, f.chain_id());
    CHECK(ResultName(checked.code) == std::string(ResultName(c.code)));
    CHECK(checked.failed_op == c.op);
    if (c.code == pb::RESULT_OK) continue;
    // In a block: the same code, the operation in failed_operations, nothing
    // recorded and no funds moved.
    uint64_t alice = f.Balance(f.alice);
    pb::Block block = f.Block({tx}, 2'000);
    CHECK(block.results(0) == c.code);
    REQUIRE(block.failed_operations_size() == (c.op ? 1 : 0));
    if (c.op) CHECK(block.failed_operations(0).op() == *c.op);
    CHECK(f.Balance(f.alice) == alice);
    auto stored = f.chain->store()->GetTx(f.HashOf(tx));
    REQUIRE(stored.ok());
    CHECK_FALSE(stored->has_value());
  }
}

TEST_CASE("a body too large for one operation is accepted only as a list", "[ledger][multiop]") {
  ChainFixture f;
  pb::TxBody single;
  single.mutable_transfer()->set_to(AsString(f.bob.Public()));
  single.mutable_transfer()->set_amount_ucu(1);
  single.set_memo(std::string(200, 'm'));
  pb::TxBody padded = single;
  padded.set_memo(std::string(250, 'm'));
  // 128 transfers are far over 1,024 bytes but within the list limit.
  pb::TxBody list = Transfers(f, 128);
  pb::SignedTx list_tx = f.Sign(f.alice, list);
  REQUIRE(list_tx.body().size() > kTxBodyBytesMax);
  CHECK(CheckTx(list_tx, f.chain_id()).code == pb::RESULT_OK);
  // A list over 16 KiB is too large.
  pb::TxBody huge = Transfers(f, 100);
  huge.set_memo(std::string(200, 'm'));
  for (int k = 0; k < 100; ++k) {
    auto* o = huge.mutable_operations()->add_ops()->mutable_observe_price();
    o->set_chip(std::string(150, 'c'));
    o->set_usd_micros_per_chip_hour(1);
  }
  pb::SignedTx huge_tx = f.Sign(f.oracle, huge);
  REQUIRE(huge_tx.body().size() > kMultiOpTxBodyBytesMax);
  CHECK(CheckTx(huge_tx, f.chain_id()).code == pb::RESULT_TX_TOO_LARGE);
}

TEST_CASE("a failing operation at any position leaves state byte-identical", "[ledger][multiop]") {
  for (int fail_at = 0; fail_at < 5; ++fail_at) {
    INFO("failing operation " << fail_at);
    ChainFixture f;
    std::string before = StateBytes(f);
    pb::TxBody b;
    for (int k = 0; k < 5; ++k) {
      // alice holds 100 CU; the failing operation asks for more than that.
      AddTransfer(&b, f.bob.Public(), k == fail_at ? 1'000'000'000 : 1'000'000);
    }
    pb::SignedTx tx = f.Sign(f.alice, b);
    pb::Block block = f.Block({tx}, 2'000);
    CHECK(block.results(0) == pb::RESULT_INSUFFICIENT_FUNDS);
    REQUIRE(block.failed_operations_size() == 1);
    CHECK(block.failed_operations(0).tx() == 0);
    CHECK(block.failed_operations(0).op() == static_cast<uint32_t>(fail_at));
    CHECK(StateBytes(f) == before);
    // A stateful failure is recorded, as for a single operation: replaying
    // the transaction is ALREADY_APPLIED.
    auto stored = f.chain->store()->GetTx(f.HashOf(tx));
    REQUIRE(stored.ok());
    REQUIRE(stored->has_value());
    CHECK((*stored)->location.code == pb::RESULT_INSUFFICIENT_FUNDS);
    CHECK(f.Block({tx}, 3'000).results(0) == pb::RESULT_ALREADY_APPLIED);
    REQUIRE(CheckInvariants(f.chain->store()).ok());
  }
}

TEST_CASE("operations see earlier ones: reserve then settle, mint then transfer",
          "[ledger][multiop]") {
  ChainFixture f;
  // Issuer mints to itself, then pays bob from what it just minted.
  pb::TxBody mint;
  auto* m = mint.mutable_operations()->add_ops()->mutable_mint();
  m->set_to(AsString(f.issuer.Public()));
  m->set_amount_ucu(7'000'000);
  AddTransfer(&mint, f.bob.Public(), 5'000'000);
  pb::Block b1 = f.Block({f.Sign(f.issuer, mint)}, 2'000);
  CHECK(b1.results(0) == pb::RESULT_OK);
  CHECK(f.Balance(f.bob) == 5'000'000);
  CHECK(f.Balance(f.issuer) == 2'000'000);

  // Alice reserves twice for bob in one transaction; the reservation ids are
  // derived from the tx_hash and the operation index.
  pb::TxBody reserve;
  for (int k = 0; k < 2; ++k) {
    auto* r = reserve.mutable_operations()->add_ops()->mutable_reserve();
    r->set_to(AsString(f.bob.Public()));
    r->set_amount_ucu(3'000'000);
    r->set_timeout_ms(60'000);
  }
  pb::SignedTx rtx = f.Sign(f.alice, reserve);
  Hash32 id0 = OperationReservationId(f.HashOf(rtx), 0);
  Hash32 id1 = OperationReservationId(f.HashOf(rtx), 1);
  CHECK(f.Block({rtx}, 3'000).results(0) == pb::RESULT_OK);
  auto r0 = f.chain->store()->GetReservation(id0);
  REQUIRE(r0.has_value());
  CHECK(r0->held_ucu == 3'000'000);
  CHECK(f.chain->store()->GetReservation(id1).has_value());
  CHECK_FALSE(f.chain->store()->GetReservation(f.HashOf(rtx)).has_value());

  // Bob settles both in one transaction: part of the first, all of the second.
  pb::TxBody settle;
  auto* s0 = settle.mutable_operations()->add_ops()->mutable_settle();
  s0->set_reservation(AsString(id0));
  s0->set_amount_ucu(1'000'000);
  s0->set_final(true);
  auto* s1 = settle.mutable_operations()->add_ops()->mutable_settle();
  s1->set_reservation(AsString(id1));
  s1->set_amount_ucu(3'000'000);
  pb::SignedTx stx = f.Sign(f.bob, settle);
  CHECK(f.Block({stx}, 4'000).results(0) == pb::RESULT_OK);
  CHECK(f.Balance(f.bob) == 5'000'000 + 4'000'000);
  CHECK(f.Balance(f.alice) == 100'000'000 - 4'000'000);

  // In one list, a reserve and a settle of that very reservation, named by
  // the reserve's index (its id depends on this body's hash, so it cannot be
  // written into the body). The payer signs the whole list, so this settle
  // is a payment the payer approves: allowed inside a list, not final.
  ChainFixture g;
  pb::TxBody both;
  auto* r = both.mutable_operations()->add_ops()->mutable_reserve();
  r->set_to(AsString(g.bob.Public()));
  r->set_amount_ucu(2'000'000);
  r->set_timeout_ms(60'000);
  auto* s = both.mutable_operations()->add_ops()->mutable_settle();
  s->set_reserve_op(0);
  s->set_amount_ucu(500'000);
  pb::SignedTx both_tx = g.Sign(g.alice, both);
  CHECK(g.Block({both_tx}, 2'000).results(0) == pb::RESULT_OK);
  CHECK(g.Balance(g.bob) == 500'000);
  auto held = g.chain->store()->GetReservation(OperationReservationId(g.HashOf(both_tx), 0));
  REQUIRE(held.has_value());
  CHECK(held->held_ucu == 1'500'000);
  CHECK(held->status == ReservationStatus::kOpen);

  // The payer may not close it (final) nor release it, in a list or not.
  pb::TxBody close = both;
  close.mutable_operations()->mutable_ops(1)->mutable_settle()->set_final(true);
  pb::Block closed = g.Block({g.Sign(g.alice, close)}, 3'000);
  CHECK(closed.results(0) == pb::RESULT_NOT_PROVIDER);
  REQUIRE(closed.failed_operations_size() == 1);
  CHECK(closed.failed_operations(0).op() == 1);
  CHECK(g.Balance(g.alice) == 100'000'000 - 2'000'000);

  // References that do not name an earlier Reserve of the list.
  for (uint32_t ref : {1u, 5u}) {
    pb::TxBody bad = both;
    bad.mutable_operations()->mutable_ops(1)->mutable_settle()->set_reserve_op(ref);
    CheckedTx c = CheckTx(g.Sign(g.alice, bad), g.chain_id());
    CHECK(c.code == pb::RESULT_BAD_OPERATION_REF);
    CHECK(c.failed_op == 1u);
  }
  pb::TxBody single;
  single.mutable_settle()->set_reserve_op(0);
  single.mutable_settle()->set_amount_ucu(1);
  CHECK(CheckTx(g.Sign(g.bob, single), g.chain_id()).code == pb::RESULT_BAD_OPERATION_REF);
}

TEST_CASE("history lists a multi-operation transaction once per account", "[ledger][multiop]") {
  ChainFixture f;
  pb::TxBody b = Transfers(f, 4);  // bob gets ops 0 and 2, carol ops 1 and 3
  pb::SignedTx tx = f.Sign(f.alice, b);
  CHECK(f.Block({tx}, 2'000).results(0) == pb::RESULT_OK);
  for (const SecretKey* k : {&f.alice, &f.bob, &f.carol}) {
    auto h = f.chain->store()->History(k->Public(), std::nullopt, 10);
    REQUIRE(h.ok());
    CHECK(h->size() == 1);
  }
  pb::TxBody body;
  REQUIRE(body.ParseFromString(tx.body()));
  CHECK(OperationsTouching(body, f.HashOf(tx), f.alice.Public(), f.chain->store()) ==
        std::vector<uint32_t>{0, 1, 2, 3});
  CHECK(OperationsTouching(body, f.HashOf(tx), f.bob.Public(), f.chain->store()) ==
        std::vector<uint32_t>{0, 2});
  CHECK(OperationsTouching(body, f.HashOf(tx), f.carol.Public(), f.chain->store()) ==
        std::vector<uint32_t>{1, 3});
}

TEST_CASE("price observations of one list are recorded apart", "[ledger][multiop]") {
  ChainFixture f;
  pb::TxBody b;
  for (int k = 0; k < 3; ++k) {
    auto* o = b.mutable_operations()->add_ops()->mutable_observe_price();
    o->set_chip("h100-sxm");
    o->set_usd_micros_per_chip_hour(2'000'000 + static_cast<uint64_t>(k));
    o->set_observed_at_ms(1'000);
    o->set_source("test");
  }
  CHECK(f.Block({f.Sign(f.oracle, b)}, 2'000).results(0) == pb::RESULT_OK);
  auto obs = f.chain->store()->Observations(10);
  REQUIRE(obs.ok());
  REQUIRE(obs->size() == 3);
  CHECK((*obs)[0].op == 2u);  // newest first
  CHECK((*obs)[2].op == 0u);
  CHECK((*obs)[0].observation.usd_micros_per_chip_hour == 2'000'002);
}
