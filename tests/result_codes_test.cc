// One row per result code: the transaction that provokes it and what must
// (not) change. The last test checks that the table reaches every code.
#include <catch2/catch.hpp>
#include <functional>
#include <set>

#include "ledger/limits.h"
#include "test_util.h"

using namespace chip;
using test::ChainFixture;

namespace {

// State shared by every row: reservations open, closed and expired.
// The chain has a fund (no levy, so amounts are as without one) whose
// registrar is the issuer and whose one member is carol; `fundless` rows run
// on a chain without a fund.
FundRules SetupFund() {
  FundRules r;
  r.epoch_ms = 1'000'000;
  r.registrars.insert(test::TestKey(201).Public());
  return r;
}

struct Setup {
  ChainFixture f;
  Hash32 open_id{}, closed_id{}, expired_id{};
  pb::SignedTx applied_tx;

  explicit Setup(bool with_fund = true)
      : f(StoreOptions{}, with_fund ? std::optional<FundRules>(SetupFund()) : std::nullopt) {
    pb::SignedTx open = f.Reserve(f.alice, f.bob.Public(), 10'000'000, 1'000'000);
    pb::SignedTx soon = f.Reserve(f.alice, f.bob.Public(), 5'000'000, 1);
    pb::SignedTx closed = f.Reserve(f.alice, f.bob.Public(), 3'000'000, 1'000'000);
    open_id = f.HashOf(open);
    expired_id = f.HashOf(soon);
    closed_id = f.HashOf(closed);
    applied_tx = open;
    auto b1 = f.Block({open, soon, closed}, 2'000);
    for (auto code : b1.results()) REQUIRE(code == pb::RESULT_OK);
    auto b2 = f.Block({f.Release(f.bob, closed_id)}, 3'000);  // also expires `soon`
    REQUIRE(b2.results(0) == pb::RESULT_OK);
    REQUIRE(b2.expired_reservations_size() == 1);
    if (with_fund) {
      auto b3 = f.Block({f.FundRegister(f.issuer, f.carol.Public())}, 3'500);
      REQUIRE(b3.results(0) == pb::RESULT_OK);
    }
  }
};

struct Row {
  pb::ResultCode expected;
  std::function<std::vector<pb::SignedTx>(Setup&)> make;
  bool atomic = false;
  size_t check_index = 0;  // which transaction's result is checked
  bool fundless = false;   // on a chain whose genesis has no fund
};

pb::TxBody TransferBody(const PublicKey& to, uint64_t amount) {
  pb::TxBody b;
  b.mutable_transfer()->set_to(AsString(to));
  b.mutable_transfer()->set_amount_ucu(amount);
  b.set_nonce(77);
  return b;
}

// A transaction built by hand, signed over `chain_id` with `key`.
pb::SignedTx RawTx(const std::string& body, const SecretKey& key, const Hash32& chain_id) {
  pb::SignedTx tx;
  tx.set_body(body);
  tx.set_signer(AsString(key.Public()));
  Signature sig = Sign(key, TxSigningMessage(chain_id, body));
  tx.set_signature(std::string(reinterpret_cast<const char*>(sig.data()), sig.size()));
  return tx;
}

std::string Serialized(pb::TxBody b, const SecretKey& key) {
  b.set_account(AsString(key.Public()));
  return b.SerializeAsString();
}

std::vector<Row> Rows() {
  using V = std::vector<pb::SignedTx>;
  return {
      {pb::RESULT_OK, [](Setup& s) { return V{s.f.Transfer(s.f.alice, s.f.bob.Public(), 1)}; }},
      {pb::RESULT_MALFORMED,
       [](Setup& s) { return V{RawTx("\xff\xff\xff", s.f.alice, s.f.chain_id())}; }},
      {pb::RESULT_MALFORMED,  // parses, but carries no kind
       [](Setup& s) {
         return V{RawTx(Serialized(pb::TxBody(), s.f.alice), s.f.alice, s.f.chain_id())};
       }},
      {pb::RESULT_UNKNOWN_FIELD,
       [](Setup& s) {
         std::string body = Serialized(TransferBody(s.f.bob.Public(), 1), s.f.alice);
         body += std::string("\xf8\x06\x01", 3);  // field 111, varint 1
         return V{RawTx(body, s.f.alice, s.f.chain_id())};
       }},
      {pb::RESULT_UNKNOWN_FIELD,  // unknown field inside the Transfer sub-message
       [](Setup& s) {
         pb::TxBody b = TransferBody(s.f.bob.Public(), 1);
         b.mutable_transfer()
             ->GetReflection()
             ->MutableUnknownFields(b.mutable_transfer())
             ->AddVarint(50, 1);
         return V{RawTx(Serialized(b, s.f.alice), s.f.alice, s.f.chain_id())};
       }},
      {pb::RESULT_TX_TOO_LARGE,
       [](Setup& s) {
         pb::TxBody b = TransferBody(s.f.bob.Public(), 1);
         b.set_memo(std::string(1500, 'm'));
         return V{RawTx(Serialized(b, s.f.alice), s.f.alice, s.f.chain_id())};
       }},
      {pb::RESULT_BAD_SIGNER_LENGTH,
       [](Setup& s) {
         auto tx = s.f.Transfer(s.f.alice, s.f.bob.Public(), 1);
         tx.mutable_signer()->pop_back();
         return V{tx};
       }},
      {pb::RESULT_BAD_SIGNATURE_LENGTH,
       [](Setup& s) {
         auto tx = s.f.Transfer(s.f.alice, s.f.bob.Public(), 1);
         tx.mutable_signature()->append("x");
         return V{tx};
       }},
      {pb::RESULT_BAD_SIGNATURE,  // a valid signature, but for another chain
       [](Setup& s) {
         Hash32 other = s.f.chain_id();
         other[0] ^= 1;
         return V{SignTx(s.f.alice, other, TransferBody(s.f.bob.Public(), 1))};
       }},
      {pb::RESULT_BAD_SIGNATURE,
       [](Setup& s) {
         auto tx = s.f.Transfer(s.f.alice, s.f.bob.Public(), 1);
         (*tx.mutable_signature())[5] ^= 0x10;
         return V{tx};
       }},
      {pb::RESULT_SIGNER_MISMATCH,
       [](Setup& s) {
         pb::TxBody b = TransferBody(s.f.carol.Public(), 1);
         b.set_account(AsString(s.f.bob.Public()));
         return V{RawTx(b.SerializeAsString(), s.f.alice, s.f.chain_id())};
       }},
      {pb::RESULT_BAD_ADDRESS,
       [](Setup& s) {
         pb::TxBody b = TransferBody(s.f.bob.Public(), 1);
         b.mutable_transfer()->mutable_to()->pop_back();
         return V{s.f.Sign(s.f.alice, b)};
       }},
      {pb::RESULT_MEMO_TOO_LONG,
       [](Setup& s) {
         pb::TxBody b = TransferBody(s.f.bob.Public(), 1);
         b.set_memo(std::string(257, 'm'));
         return V{s.f.Sign(s.f.alice, b)};
       }},
      {pb::RESULT_ZERO_AMOUNT,
       [](Setup& s) { return V{s.f.Transfer(s.f.alice, s.f.bob.Public(), 0)}; }},
      {pb::RESULT_ZERO_AMOUNT,
       [](Setup& s) { return V{s.f.Settle(s.f.bob, s.open_id, 0, false)}; }},
      {pb::RESULT_SELF_TRANSFER,
       [](Setup& s) { return V{s.f.Transfer(s.f.alice, s.f.alice.Public(), 1)}; }},
      {pb::RESULT_SELF_TRANSFER,
       [](Setup& s) { return V{s.f.Reserve(s.f.alice, s.f.alice.Public(), 1, 10)}; }},
      {pb::RESULT_BAD_TIMEOUT,
       [](Setup& s) { return V{s.f.Reserve(s.f.alice, s.f.bob.Public(), 1, 0)}; }},
      {pb::RESULT_BAD_TIMEOUT,
       [](Setup& s) {
         return V{s.f.Reserve(s.f.alice, s.f.bob.Public(), 1, kReserveTimeoutMsMax + 1)};
       }},
      {pb::RESULT_EXPIRED,
       [](Setup& s) {
         pb::TxBody b = TransferBody(s.f.bob.Public(), 1);
         b.set_valid_until_ms(3'999);  // the row's block is at 4,000
         return V{s.f.Sign(s.f.alice, b)};
       }},
      {pb::RESULT_INSUFFICIENT_FUNDS,
       [](Setup& s) { return V{s.f.Transfer(s.f.carol, s.f.alice.Public(), 1)}; }},
      {pb::RESULT_INSUFFICIENT_FUNDS,
       [](Setup& s) { return V{s.f.Reserve(s.f.alice, s.f.bob.Public(), 1'000'000'000, 10)}; }},
      {pb::RESULT_INSUFFICIENT_FUNDS, [](Setup& s) { return V{s.f.Burn(s.f.bob, 1)}; }},
      {pb::RESULT_OVERFLOW,
       [](Setup& s) { return V{s.f.Mint(s.f.issuer, s.f.bob.Public(), UINT64_MAX)}; }},
      {pb::RESULT_NOT_ISSUER, [](Setup& s) { return V{s.f.Mint(s.f.alice, s.f.bob.Public(), 1)}; }},
      {pb::RESULT_CAP_EXCEEDED,
       [](Setup& s) { return V{s.f.Mint(s.f.capped_issuer, s.f.bob.Public(), 10'000'001)}; }},
      {pb::RESULT_UNKNOWN_RESERVATION,
       [](Setup& s) { return V{s.f.Settle(s.f.bob, Sha256("nothing"), 1, false)}; }},
      {pb::RESULT_NOT_PROVIDER,
       [](Setup& s) { return V{s.f.Settle(s.f.alice, s.open_id, 1, false)}; }},
      {pb::RESULT_NOT_PROVIDER, [](Setup& s) { return V{s.f.Release(s.f.alice, s.open_id)}; }},
      {pb::RESULT_RESERVATION_CLOSED,
       [](Setup& s) { return V{s.f.Settle(s.f.bob, s.closed_id, 1, false)}; }},
      {pb::RESULT_RESERVATION_CLOSED,
       [](Setup& s) { return V{s.f.Release(s.f.bob, s.closed_id)}; }},
      {pb::RESULT_RESERVATION_EXPIRED,
       [](Setup& s) { return V{s.f.Settle(s.f.bob, s.expired_id, 1, false)}; }},
      {pb::RESULT_SETTLE_EXCEEDS_HELD,
       [](Setup& s) { return V{s.f.Settle(s.f.bob, s.open_id, 10'000'001, false)}; }},
      {pb::RESULT_ATOMIC_BATCH_FAILED,
       [](Setup& s) {
         return V{s.f.Transfer(s.f.alice, s.f.bob.Public(), 1),
                  s.f.Transfer(s.f.carol, s.f.alice.Public(), 5)};
       },
       /*atomic=*/true, /*check_index=*/0},
      {pb::RESULT_ALREADY_APPLIED, [](Setup& s) { return V{s.applied_tx}; }},
      {pb::RESULT_EMPTY_OPERATIONS,
       [](Setup& s) {
         pb::TxBody b;
         b.mutable_operations();
         return V{s.f.Sign(s.f.alice, b)};
       }},
      {pb::RESULT_TOO_MANY_OPERATIONS,
       [](Setup& s) {
         pb::TxBody b;
         for (size_t k = 0; k <= kTxOperationsMax; ++k) {
           auto* t = b.mutable_operations()->add_ops()->mutable_transfer();
           t->set_to(AsString(s.f.bob.Public()));
           t->set_amount_ucu(1);
         }
         return V{s.f.Sign(s.f.alice, b)};
       }},
      {pb::RESULT_OPERATIONS_WITH_KIND,
       [](Setup& s) {
         pb::TxBody b = TransferBody(s.f.bob.Public(), 1);
         b.mutable_operations()->add_ops()->mutable_burn()->set_amount_ucu(1);
         return V{s.f.Sign(s.f.alice, b)};
       }},
      {pb::RESULT_BAD_OPERATION_REF,
       [](Setup& s) {
         pb::TxBody b;
         auto* settle = b.mutable_operations()->add_ops()->mutable_settle();
         settle->set_reserve_op(0);  // names itself, not an earlier Reserve
         settle->set_amount_ucu(1);
         return V{s.f.Sign(s.f.alice, b)};
       }},
      {pb::RESULT_ZERO_PRICE,
       [](Setup& s) { return V{s.f.Observe(s.f.oracle, "h100-sxm", 0, 3'000)}; }},
      {pb::RESULT_SOURCE_TOO_LONG,
       [](Setup& s) {
         return V{s.f.Observe(s.f.oracle, "h100-sxm", 1, 3'000, std::string(65, 's'))};
       }},
      {pb::RESULT_NOT_ORACLE,
       [](Setup& s) { return V{s.f.Observe(s.f.alice, "h100-sxm", 2'000'000, 3'000)}; }},
      {pb::RESULT_UNKNOWN_CHIP,
       [](Setup& s) { return V{s.f.Observe(s.f.oracle, "h101", 2'000'000, 3'000)}; }},
      {pb::RESULT_FUTURE_OBSERVATION,
       [](Setup& s) { return V{s.f.Observe(s.f.oracle, "b200", 2'000'000, 4'001)}; }},
      {pb::RESULT_NO_FUND, [](Setup& s) { return V{s.f.FundClaim(s.f.carol)}; }, false, 0, true},
      {pb::RESULT_NOT_REGISTRAR,
       [](Setup& s) { return V{s.f.FundRegister(s.f.alice, s.f.bob.Public())}; }},
      {pb::RESULT_NOT_REGISTRAR,  // only the member itself or a registrar may deregister
       [](Setup& s) { return V{s.f.FundDeregister(s.f.alice, s.f.carol.Public())}; }},
      {pb::RESULT_ALREADY_MEMBER,
       [](Setup& s) { return V{s.f.FundRegister(s.f.issuer, s.f.carol.Public())}; }},
      {pb::RESULT_NOT_MEMBER,
       [](Setup& s) { return V{s.f.FundDeregister(s.f.issuer, s.f.bob.Public())}; }},
      {pb::RESULT_NOTHING_TO_CLAIM, [](Setup& s) { return V{s.f.FundClaim(s.f.carol)}; }},
      {pb::RESULT_BAD_ADDRESS,
       [](Setup& s) {
         pb::TxBody b;
         b.mutable_fund_register()->set_member(std::string(31, 'm'));
         return V{s.f.Sign(s.f.issuer, b)};
       }},
  };
}

struct Snapshot {
  uint64_t alice, bob, carol;
  Supply supply;
};

Snapshot Take(ChainFixture& f) {
  return {f.Balance(f.alice), f.Balance(f.bob), f.Balance(f.carol), f.chain->store()->GetSupply()};
}

}  // namespace

TEST_CASE("every result code has a transaction that provokes it", "[ledger][codes]") {
  std::set<int> reached;
  int row_number = 0;
  for (const Row& row : Rows()) {
    ++row_number;
    Setup s(!row.fundless);
    auto txs = row.make(s);
    INFO("row " << row_number << " expects " << ResultName(row.expected));
    Snapshot before = Take(s.f);
    std::vector<pb::AtomicRange> atomic;
    if (row.atomic) atomic.push_back(test::Range(0, static_cast<uint32_t>(txs.size())));
    pb::SignedTx checked_tx = txs[row.check_index];
    pb::Block block = s.f.Block(txs, 4'000, atomic);
    pb::ResultCode got = block.results(static_cast<int>(row.check_index));
    CHECK(ResultName(got) == std::string(ResultName(row.expected)));
    reached.insert(got);
    REQUIRE(CheckInvariants(s.f.chain->store()).ok());

    Snapshot after = Take(s.f);
    auto stored = s.f.chain->store()->GetTx(s.f.HashOf(checked_tx));
    REQUIRE(stored.ok());
    if (got == pb::RESULT_OK) {
      CHECK(after.alice == before.alice - 1);
      CHECK(after.bob == before.bob + 1);
      REQUIRE(stored->has_value());
      CHECK((*stored)->location.height == block.header().height());
    } else {
      // A rejection moves no funds.
      CHECK(after.alice == before.alice);
      CHECK(after.bob == before.bob);
      CHECK(after.carol == before.carol);
      CHECK(after.supply.minted_ucu == before.supply.minted_ucu);
      CHECK(after.supply.burned_ucu == before.supply.burned_ucu);
      if (got == pb::RESULT_ALREADY_APPLIED) {
        // The original record stays, at its original position.
        REQUIRE(stored->has_value());
        CHECK((*stored)->location.height == 1);
        CHECK((*stored)->location.code == pb::RESULT_OK);
      } else if (RecordedMask(block)[row.check_index]) {
        REQUIRE(stored->has_value());
        CHECK((*stored)->location.code == got);
      } else if (got != pb::RESULT_TX_TOO_LARGE && got != pb::RESULT_MALFORMED) {
        // Stateless failures leave no record, so a forged copy cannot block
        // the genuine transaction later.
        CHECK_FALSE(stored->has_value());
      }
    }
  }
  // Every code but UNSPECIFIED is reached by some row.
  const auto* desc = pb::ResultCode_descriptor();
  for (int i = 0; i < desc->value_count(); ++i) {
    int v = desc->value(i)->number();
    if (v == pb::RESULT_UNSPECIFIED) continue;
    INFO("unreached code " << desc->value(i)->name());
    CHECK(reached.count(v) == 1);
  }
}

TEST_CASE("metered settlement, final settle and release move the right amounts",
          "[ledger][reserve]") {
  ChainFixture f;
  auto r1 = f.Reserve(f.alice, f.bob.Public(), 10'000'000, 60'000);
  Hash32 id = f.HashOf(r1);
  f.Block({r1}, 2'000);
  CHECK(f.Balance(f.alice) == 90'000'000);
  auto acct = f.chain->store()->GetAccount(f.alice.Public());
  CHECK(acct->held_as_payer_ucu == 10'000'000);
  CHECK(f.chain->store()->GetAccount(f.bob.Public())->held_as_provider_ucu == 10'000'000);

  auto b = f.Block({f.Settle(f.bob, id, 2'000'000, false), f.Settle(f.bob, id, 3'000'000, false)},
                   3'000);
  CHECK(b.results(0) == pb::RESULT_OK);
  CHECK(b.results(1) == pb::RESULT_OK);
  CHECK(f.Balance(f.bob) == 5'000'000);
  auto r = f.chain->store()->GetReservation(id);
  CHECK(r->held_ucu == 5'000'000);
  CHECK(r->settled_ucu == 5'000'000);
  CHECK(r->status == ReservationStatus::kOpen);

  b = f.Block({f.Settle(f.bob, id, 1'000'000, true)}, 4'000);
  CHECK(b.results(0) == pb::RESULT_OK);
  CHECK(f.Balance(f.bob) == 6'000'000);
  CHECK(f.Balance(f.alice) == 94'000'000);
  r = f.chain->store()->GetReservation(id);
  CHECK(r->status == ReservationStatus::kSettled);
  CHECK(r->held_ucu == 0);
  CHECK(f.chain->store()->GetAccount(f.alice.Public())->held_as_payer_ucu == 0);
  CHECK(f.chain->store()->OpenReservations(f.alice.Public(), 10)->empty());

  // Expiry releases automatically, in expiry order, and blocks settling.
  auto r2 = f.Reserve(f.alice, f.bob.Public(), 4'000'000, 500);
  auto r3 = f.Reserve(f.alice, f.bob.Public(), 1'000'000, 100);
  f.Block({r2, r3}, 5'000);
  CHECK(f.Balance(f.alice) == 89'000'000);
  b = f.Block({f.Settle(f.bob, f.HashOf(r2), 1, false)}, 5'500);
  CHECK(b.results(0) == pb::RESULT_RESERVATION_EXPIRED);
  REQUIRE(b.expired_reservations_size() == 2);
  CHECK(b.expired_reservations(0) == AsString(f.HashOf(r3)));  // expires first
  CHECK(b.expired_reservations(1) == AsString(f.HashOf(r2)));
  CHECK(f.Balance(f.alice) == 94'000'000);
  REQUIRE(CheckInvariants(f.chain->store()).ok());
}

TEST_CASE("an atomic batch applies all or nothing", "[ledger][atomic]") {
  ChainFixture f;
  auto ok1 = f.Transfer(f.alice, f.bob.Public(), 1'000'000);
  auto ok2 = f.Transfer(f.bob, f.carol.Public(), 500'000);  // funded by ok1 within the batch
  auto b = f.Block({ok1, ok2}, 2'000, {test::Range(0, 2)});
  CHECK(b.results(0) == pb::RESULT_OK);
  CHECK(b.results(1) == pb::RESULT_OK);
  CHECK(f.Balance(f.carol) == 500'000);

  auto a = f.Transfer(f.alice, f.bob.Public(), 1'000'000);
  auto bad = f.Transfer(f.carol, f.bob.Public(), 9'000'000);
  auto after = f.Transfer(f.alice, f.carol.Public(), 1);
  auto lone = f.Transfer(f.alice, f.carol.Public(), 2);
  b = f.Block({a, bad, after, lone}, 3'000, {test::Range(0, 3)});
  CHECK(b.results(0) == pb::RESULT_ATOMIC_BATCH_FAILED);
  CHECK(b.results(1) == pb::RESULT_INSUFFICIENT_FUNDS);
  CHECK(b.results(2) == pb::RESULT_ATOMIC_BATCH_FAILED);
  CHECK(b.results(3) == pb::RESULT_OK);  // outside the range
  // No member of the failed range is recorded: `bad` failed against state
  // that was rolled back, so it stays submittable too.
  CHECK_FALSE(f.chain->store()->GetTx(f.HashOf(bad))->has_value());
  CHECK(RecordedMask(b) == std::vector<bool>{false, false, false, true});
  CHECK(f.Balance(f.alice) == 99'000'000 - 2);
  // Members that failed only because of the batch stay submittable.
  CHECK_FALSE(f.chain->store()->GetTx(f.HashOf(a))->has_value());
  b = f.Block({a}, 4'000);
  CHECK(b.results(0) == pb::RESULT_OK);
}

TEST_CASE("price observations from oracles are recorded and move no funds", "[ledger][pricing]") {
  ChainFixture f;
  Supply before = f.chain->store()->GetSupply();
  auto b = f.Block({f.Observe(f.oracle, "h100-sxm", 2'970'000, 1'500, "index"),
                    f.Observe(f.oracle, "b200", 6'500'000, 1'900)},
                   2'000);
  REQUIRE(b.results(0) == pb::RESULT_OK);
  REQUIRE(b.results(1) == pb::RESULT_OK);
  auto obs = f.chain->store()->Observations(10);
  REQUIRE(obs.ok());
  REQUIRE(obs->size() == 2);
  CHECK(obs->at(0).observation.chip == "b200");  // newest first
  CHECK(obs->at(1).observation.usd_micros_per_chip_hour == 2'970'000);
  CHECK(obs->at(1).observation.source == "index");
  CHECK(obs->at(1).observation.oracle == f.oracle.Public());
  CHECK(obs->at(1).height == 1);
  CHECK(f.chain->store()->GetSupply().minted_ucu == before.minted_ucu);
  CHECK(f.Balance(f.alice) == 100'000'000);
  REQUIRE(CheckInvariants(f.chain->store()).ok());
}
