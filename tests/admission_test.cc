// ledger/admission.h: the checks a node makes before it orders a transaction.
// Each refusal here must be one the block would also make (the property test
// below checks that against ExecuteBlock), and nothing that could pass is
// refused.
#include "ledger/admission.h"

#include <catch2/catch.hpp>
#include <random>

#include "test_util.h"

using namespace chip;
using namespace chip::test;

namespace {

CheckedTx Checked(ChainFixture& f, const pb::SignedTx& tx) {
  CheckedTx c = CheckTx(tx, f.chain_id());
  REQUIRE(c.code == pb::RESULT_OK);
  return c;
}

AdmissionState StateOf(ChainFixture& f, const CheckedTx& tx) {
  AdmissionState s;
  s.signer_account = f.chain->store()->GetAccount(tx.signer);
  for (const Hash32& id : AdmissionReservationIds(tx)) {
    s.reservations[id] = f.chain->store()->GetReservation(id);
  }
  return s;
}

pb::ResultCode Admit(ChainFixture& f, const pb::SignedTx& tx, uint64_t pending = 0) {
  CheckedTx c = Checked(f, tx);
  return AdmitTx(c, f.chain->rules(), StateOf(f, c), pending).code;
}

}  // namespace

TEST_CASE("admission refuses what the signer cannot make pass, with the block's code",
          "[admission]") {
  ChainFixture f;
  // alice holds 100 CU; bob nothing.
  CHECK(Admit(f, f.Transfer(f.alice, f.bob.Public(), 100'000'000)) == pb::RESULT_OK);
  CHECK(Admit(f, f.Transfer(f.alice, f.bob.Public(), 100'000'001)) ==
        pb::RESULT_INSUFFICIENT_FUNDS);
  CHECK(Admit(f, f.Transfer(f.bob, f.alice.Public(), 1)) == pb::RESULT_INSUFFICIENT_FUNDS);
  // What is pending from the same signer counts.
  CHECK(Admit(f, f.Transfer(f.alice, f.bob.Public(), 60'000'000), 40'000'000) == pb::RESULT_OK);
  CHECK(Admit(f, f.Transfer(f.alice, f.bob.Public(), 60'000'001), 40'000'000) ==
        pb::RESULT_INSUFFICIENT_FUNDS);
  CHECK(Admit(f, f.Transfer(f.alice, f.bob.Public(), 1), UINT64_MAX) ==
        pb::RESULT_INSUFFICIENT_FUNDS);

  pb::TxBody mint;
  mint.mutable_mint()->set_to(Raw(f.bob.Public()));
  mint.mutable_mint()->set_amount_ucu(5);
  CHECK(Admit(f, f.Sign(f.issuer, mint)) == pb::RESULT_OK);
  CHECK(Admit(f, f.Sign(f.bob, mint)) == pb::RESULT_NOT_ISSUER);

  pb::TxBody observe;
  observe.mutable_observe_price()->set_chip("h100-sxm");
  observe.mutable_observe_price()->set_usd_micros_per_chip_hour(2'000'000);
  observe.mutable_observe_price()->set_observed_at_ms(1'000);
  CHECK(Admit(f, f.Sign(f.oracle, observe)) == pb::RESULT_OK);
  CHECK(Admit(f, f.Sign(f.alice, observe)) == pb::RESULT_NOT_ORACLE);

  pb::TxBody claim;
  claim.mutable_fund_claim();
  CHECK(Admit(f, f.Sign(f.alice, claim)) == pb::RESULT_NO_FUND);

  // Reservations: unknown, not the provider's, closed.
  Hash32 unknown{};
  unknown.fill(7);
  CHECK(Admit(f, f.Settle(f.bob, unknown, 1, false)) == pb::RESULT_UNKNOWN_RESERVATION);
  CHECK(Admit(f, f.Release(f.bob, unknown)) == pb::RESULT_UNKNOWN_RESERVATION);
  pb::SignedTx reserve = f.Reserve(f.alice, f.bob.Public(), 10'000'000, 60'000);
  Hash32 id = Checked(f, reserve).hash;
  auto block = f.chain->Produce({reserve}, {}, 2'000, f.validator);
  REQUIRE(block.ok());
  REQUIRE(block->results(0) == pb::RESULT_OK);
  CHECK(Admit(f, f.Settle(f.bob, id, 1, false)) == pb::RESULT_OK);
  CHECK(Admit(f, f.Settle(f.carol, id, 1, false)) == pb::RESULT_NOT_PROVIDER);
  CHECK(Admit(f, f.Settle(f.alice, id, 1, true)) == pb::RESULT_NOT_PROVIDER);
  pb::SignedTx release = f.Release(f.bob, id);
  REQUIRE(f.chain->Produce({release}, {}, 3'000, f.validator).ok());
  CHECK(Admit(f, f.Settle(f.bob, id, 1, false)) == pb::RESULT_RESERVATION_CLOSED);

  CHECK_FALSE(AdmissionCodeReadsState(pb::RESULT_NOT_ISSUER));
  CHECK_FALSE(AdmissionCodeReadsState(pb::RESULT_NOT_ORACLE));
  CHECK_FALSE(AdmissionCodeReadsState(pb::RESULT_NO_FUND));
  CHECK(AdmissionCodeReadsState(pb::RESULT_INSUFFICIENT_FUNDS));
  CHECK(AdmissionCodeReadsState(pb::RESULT_UNKNOWN_RESERVATION));
}

TEST_CASE("admission of an operation list names the operation that would fail",
          "[admission][multi_op]") {
  ChainFixture f;
  auto list = [&](const SecretKey& signer, std::vector<uint64_t> amounts, bool with_mint) {
    pb::TxBody b;
    for (uint64_t a : amounts) {
      auto* t = b.mutable_operations()->add_ops()->mutable_transfer();
      t->set_to(Raw(f.bob.Public()));
      t->set_amount_ucu(a);
    }
    if (with_mint) {
      auto* m = b.mutable_operations()->add_ops()->mutable_mint();
      m->set_to(Raw(signer.Public()));
      m->set_amount_ucu(1);
    }
    return f.Sign(signer, b);
  };
  CheckedTx over = Checked(f, list(f.alice, {50'000'000, 40'000'000, 20'000'000}, false));
  AdmissionResult r = AdmitTx(over, f.chain->rules(), StateOf(f, over), 0);
  CHECK(r.code == pb::RESULT_INSUFFICIENT_FUNDS);
  REQUIRE(r.failed_op);
  CHECK(*r.failed_op == 2);
  // The same list in a block fails at the same operation.
  auto block = f.chain->Produce({list(f.alice, {50'000'000, 40'000'000, 20'000'000}, false)}, {},
                                2'000, f.validator);
  REQUIRE(block.ok());
  CHECK(block->results(0) == pb::RESULT_INSUFFICIENT_FUNDS);
  REQUIRE(block->failed_operations_size() == 1);
  CHECK(block->failed_operations(0).op() == 2);
  // A mint to oneself by a non-issuer: refused at its own index.
  CheckedTx mint = Checked(f, list(f.carol, {1}, true));
  AdmissionResult m = AdmitTx(mint, f.chain->rules(), StateOf(f, mint), 0);
  CHECK(m.code == pb::RESULT_NOT_ISSUER);
  REQUIRE(m.failed_op);
  CHECK(*m.failed_op == 1);
  // An issuer's list that mints to itself may fund its own transfers.
  CheckedTx funded = Checked(f, list(f.issuer, {1}, true));
  CHECK(AdmitTx(funded, f.chain->rules(), StateOf(f, funded), 0).code == pb::RESULT_OK);
}

TEST_CASE("admission counts a member's unclaimed dividend as available", "[admission][fund]") {
  FundRules rules;
  rules.settle_levy_bps = 100;
  rules.epoch_ms = 1'000;
  ChainFixture f({}, rules);
  CheckedTx c = Checked(f, f.Transfer(f.bob, f.alice.Public(), 7));
  AdmissionState s = StateOf(f, c);
  FundState fund;
  fund.acc_ucu = 10;
  s.fund = fund;
  CHECK(AdmitTx(c, f.chain->rules(), s, 0).code == pb::RESULT_INSUFFICIENT_FUNDS);
  FundMember member;
  member.registered = true;
  s.signer_member = member;  // owed 10
  CHECK(AdmitTx(c, f.chain->rules(), s, 0).code == pb::RESULT_OK);
  CHECK(AdmitTx(c, f.chain->rules(), s, 4).code == pb::RESULT_INSUFFICIENT_FUNDS);
}

// Property: whatever admission refuses, the block refuses with the same code
// when it is ordered next (alone, nothing pending), over a seeded random mix
// of kinds, signers (funded, unfunded, issuer, provider) and amounts.
TEST_CASE("admission never refuses a transaction the next block would apply", "[admission]") {
  ChainFixture f;
  std::mt19937_64 rng(20261204);
  const SecretKey* keys[] = {&f.alice, &f.bob, &f.carol, &f.issuer};
  std::vector<Hash32> reservations;
  Hash32 unknown{};
  unknown.fill(9);
  uint64_t time_ms = 2'000;
  int refused = 0, agreed = 0;
  for (int i = 0; i < 300; ++i) {
    const SecretKey& signer = *keys[rng() % 4];
    const SecretKey& other = *keys[rng() % 4];
    const uint64_t amount = 1 + rng() % 60'000'000;
    pb::SignedTx tx;
    switch (rng() % 6) {
      case 0:
      case 1:
        if (&signer == &other) continue;  // SELF_TRANSFER is stateless
        tx = f.Transfer(signer, other.Public(), amount);
        break;
      case 2: {
        pb::TxBody b;
        b.mutable_mint()->set_to(Raw(other.Public()));
        b.mutable_mint()->set_amount_ucu(amount);
        tx = f.Sign(signer, b);
        break;
      }
      case 3:
        if (&signer == &other) continue;
        tx = f.Reserve(signer, other.Public(), amount, 3'600'000);
        break;
      case 4: {
        const Hash32& id = reservations.empty() || rng() % 4 == 0
                               ? unknown
                               : reservations[rng() % reservations.size()];
        tx = f.Settle(signer, id, 1 + rng() % 1'000, rng() % 2 == 0);
        break;
      }
      default: {
        pb::TxBody b;
        b.mutable_burn()->set_amount_ucu(amount);
        tx = f.Sign(signer, b);
      }
    }
    CheckedTx c = Checked(f, tx);
    pb::ResultCode admitted = AdmitTx(c, f.chain->rules(), StateOf(f, c), 0).code;
    auto block = f.chain->Produce({tx}, {}, time_ms += 1'000, f.validator);
    REQUIRE(block.ok());
    const pb::ResultCode applied = block->results(0);
    INFO("tx " << i << ": admission " << ResultName(admitted) << ", block " << ResultName(applied));
    if (admitted != pb::RESULT_OK) {
      ++refused;
      CHECK(applied == admitted);
    } else if (applied == pb::RESULT_OK) {
      ++agreed;
    }
    if (c.body.has_reserve() && applied == pb::RESULT_OK) reservations.push_back(c.hash);
  }
  CHECK(refused > 30);
  CHECK(agreed > 30);
}
