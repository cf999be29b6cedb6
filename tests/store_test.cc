#include <catch2/catch.hpp>

#include "test_util.h"

using namespace chip;
using test::ChainFixture;

TEST_CASE("state, history and digest survive closing and reopening", "[ledger][store]") {
  ChainFixture f;
  auto t1 = f.Transfer(f.alice, f.bob.Public(), 7'000'000);
  auto r1 = f.Reserve(f.alice, f.carol.Public(), 3'000'000, 100'000);
  f.Block({t1, r1}, 2'000);
  f.Block({f.Settle(f.carol, f.HashOf(r1), 1'000'000, false), f.Burn(f.bob, 500'000)}, 3'000);
  Hash32 tip_hash = f.chain->tip_hash();
  std::string digest = f.chain->tip().state_digest();
  std::string path = f.dir.Sub("db");
  const Hash32 chain_id = f.chain_id(), r1_hash = f.HashOf(r1), t1_hash = f.HashOf(t1);
  f.chain.reset();

  auto reopened = Chain::Open(path);
  REQUIRE(reopened.ok());
  Chain& c = **reopened;
  CHECK(c.height() == 2);
  CHECK(c.tip_hash() == tip_hash);
  CHECK(c.tip().state_digest() == digest);
  CHECK(c.chain_id() == chain_id);
  CHECK(c.store()->GetAccount(f.bob.Public())->balance_ucu == 6'500'000);
  CHECK(c.store()->GetAccount(f.carol.Public())->balance_ucu == 1'000'000);
  CHECK(c.store()->GetAccount(f.alice.Public())->held_as_payer_ucu == 2'000'000);
  CHECK(c.store()->GetSupply().burned_ucu == 500'000);
  auto hist = c.store()->History(f.alice.Public(), std::nullopt, 10);
  REQUIRE(hist.ok());
  REQUIRE(hist->size() == 3);  // settle (as payer), reserve, transfer; newest first
  CHECK(hist->at(0).height == 2);
  CHECK(hist->at(1).tx_hash == r1_hash);
  CHECK(hist->at(2).tx_hash == t1_hash);
  auto page2 = c.store()->History(f.alice.Public(),
                                  std::make_pair(hist->at(1).height, hist->at(1).index), 10);
  REQUIRE(page2.ok());
  REQUIRE(page2->size() == 1);
  CHECK(page2->at(0).tx_hash == t1_hash);
  REQUIRE(CheckInvariants(c.store()).ok());

  // The reopened chain keeps producing on the same history.
  pb::TxBody body;
  body.mutable_transfer()->set_to(AsString(f.alice.Public()));
  body.mutable_transfer()->set_amount_ucu(1);
  auto b = c.Produce({SignTx(f.bob, chain_id, body)}, {}, 4'000, f.validator);
  REQUIRE(b.ok());
  CHECK(b->header().height() == 3);
  CHECK(b->header().prev_hash() == AsString(tip_hash));
}

TEST_CASE("opening refuses a missing store and creating refuses an existing one",
          "[ledger][store]") {
  ChainFixture f;
  test::TempDir empty;
  auto missing = Chain::Open(empty.Sub("nothing"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == Status::Code::kNotFound);
  auto again = Chain::Create(f.dir.Sub("db"), f.genesis);
  REQUIRE_FALSE(again.ok());
  CHECK(again.status().code() == Status::Code::kAlreadyExists);
}

TEST_CASE("a tampered block is refused and leaves the store unchanged", "[ledger][store]") {
  ChainFixture producer;
  ChainFixture follower;  // same genesis, so same chain id
  REQUIRE(producer.chain_id() == follower.chain_id());
  pb::Block good =
      producer.Block({producer.Transfer(producer.alice, producer.bob.Public(), 5)}, 2'000);

  auto refused = [&](pb::Block b, const char* needle) {
    INFO(needle);
    Status s = follower.chain->Append(b);
    REQUIRE_FALSE(s.ok());
    CHECK(s.message().find(needle) != std::string::npos);
    CHECK(follower.chain->height() == 0);
    CHECK(follower.Balance(follower.bob) == 0);
  };
  pb::Block b = good;
  b.mutable_header()->set_signature(std::string(64, '\0'));
  refused(b, "bad producer signature");
  b = good;
  (*b.mutable_txs(0)->mutable_signature())[3] = 'x';
  refused(b, "txs_hash");
  b = good;
  b.set_results(0, pb::RESULT_INSUFFICIENT_FUNDS);
  refused(b, "results_hash");
  b = good;
  b.mutable_header()->set_prev_hash(std::string(32, '\x01'));
  refused(b, "previous hash");
  b = good;
  b.mutable_header()->set_height(2);
  refused(b, "does not follow");
  b = good;
  b.mutable_header()->set_producer(AsString(producer.alice.Public()));
  refused(b, "not a validator");
  // Re-signed by the validator but with a false state digest.
  b = good;
  b.mutable_header()->set_state_digest(std::string(32, '\x02'));
  SignHeader(producer.validator, b.mutable_header());
  refused(b, "state digest");

  REQUIRE(follower.chain->Append(good).ok());
  CHECK(follower.chain->tip_hash() == producer.chain->tip_hash());
  CHECK(follower.Balance(follower.bob) == 5);
}

TEST_CASE("bad transactions in a block change nothing but their result", "[ledger][store]") {
  ChainFixture f;
  std::vector<pb::SignedTx> bad;
  pb::SignedTx t = f.Transfer(f.alice, f.bob.Public(), 1);
  pb::SignedTx truncated = t;
  truncated.set_body(t.body().substr(0, t.body().size() / 2));
  bad.push_back(truncated);
  pb::SignedTx garbage;
  garbage.set_body("garbage that is not protobuf \xff\xff");
  garbage.set_signer(std::string(32, 'k'));
  garbage.set_signature(std::string(64, 's'));
  bad.push_back(garbage);
  pb::SignedTx empty;
  bad.push_back(empty);
  pb::SignedTx short_key = t;
  short_key.set_signer("abc");
  bad.push_back(short_key);
  pb::SignedTx long_sig = t;
  long_sig.mutable_signature()->append(10, 'z');
  bad.push_back(long_sig);
  pb::SignedTx huge = t;
  huge.set_body(std::string(kTxBodyBytesMax + 1, 'b'));
  bad.push_back(huge);

  std::string digest_before = f.chain->tip().state_digest();
  pb::Block b = f.Block(bad, 2'000);
  for (int i = 0; i < b.results_size(); ++i) {
    INFO("tx " << i << " got " << ResultName(b.results(i)));
    CHECK(b.results(i) != pb::RESULT_OK);
    CHECK_FALSE(IsRecorded(b.results(i)));
  }
  CHECK(b.results(0) == pb::RESULT_MALFORMED);
  CHECK(b.results(2) == pb::RESULT_BAD_SIGNER_LENGTH);
  CHECK(b.results(3) == pb::RESULT_BAD_SIGNER_LENGTH);
  CHECK(b.results(4) == pb::RESULT_BAD_SIGNATURE_LENGTH);
  CHECK(b.results(5) == pb::RESULT_TX_TOO_LARGE);
  CHECK(f.Balance(f.alice) == 100'000'000);
  // No state changed, so the digest advances by the hash of an empty change set
  // only, and the genuine transaction still applies.
  CHECK(f.chain->tip().state_digest() ==
        AsString(
            NextStateDigest(*ToHash32(digest_before), StateTxn(f.chain->store()).ChangesHash())));
  b = f.Block({t}, 3'000);
  CHECK(b.results(0) == pb::RESULT_OK);
}
