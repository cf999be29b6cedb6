// Chain::Prepare over a parent that is not committed yet (the sequencer's
// pipeline): the blocks must be byte-identical to those produced one after
// the other, including expiries, idempotency and issuer/supply reads that go
// through the pending parent.
#include <catch2/catch.hpp>

#include "test_util.h"

using namespace chip;
using test::ChainFixture;

namespace {

struct Step {
  std::vector<pb::SignedTx> txs;
  uint64_t time_ms;
};

// Three blocks whose reads cross block boundaries: r1 expires in block 2 (so
// block 3 must not see its committed expiry entry), r3 is created in block 2
// and expires in block 3 (an expiry only the pending block holds), bob spends
// what block 1 gave him, t1 is retried, and issuer and supply totals move.
std::vector<Step> Steps(ChainFixture& f) {
  auto t1 = f.Transfer(f.alice, f.bob.Public(), 7'000'000);
  auto r1 = f.Reserve(f.alice, f.carol.Public(), 3'000'000, 1'000);
  auto r2 = f.Reserve(f.alice, f.carol.Public(), 2'000'000, 100'000);
  std::vector<Step> steps;
  steps.push_back({{t1, r1, r2, f.Mint(f.capped_issuer, f.bob.Public(), 4'000'000)}, 2'000});
  auto r3 = f.Reserve(f.bob, f.carol.Public(), 1'000'000, 500);
  steps.push_back({{f.Transfer(f.bob, f.carol.Public(), 9'000'000), t1, r3,
                    f.Settle(f.carol, f.HashOf(r2), 500'000, false), f.Burn(f.alice, 1'000'000),
                    f.Mint(f.capped_issuer, f.carol.Public(), 5'000'000)},
                   3'500});
  steps.push_back({{f.Transfer(f.carol, f.alice.Public(), 1'000'000),
                    f.Mint(f.capped_issuer, f.alice.Public(), 2'000'000),
                    f.Settle(f.carol, f.HashOf(r2), 500'000, true), t1},
                   5'000});
  return steps;
}

std::string Bytes(const pb::Block& b) {
  std::string out;
  REQUIRE(b.SerializeToString(&out));
  return out;
}

}  // namespace

TEST_CASE("a block prepared over an uncommitted parent equals the sequential one",
          "[ledger][pipeline]") {
  ChainFixture seq, pipe;
  std::vector<Step> a = Steps(seq), b = Steps(pipe);

  std::vector<pb::Block> sequential;
  for (auto& s : a) sequential.push_back(seq.Block(s.txs, s.time_ms));

  Chain& c = *pipe.chain;
  auto p1 = c.Prepare(b[0].txs, {}, b[0].time_ms, pipe.validator);
  REQUIRE(p1.ok());
  auto p2 = c.Prepare(b[1].txs, {}, b[1].time_ms, pipe.validator, nullptr, &*p1);
  REQUIRE(p2.ok());
  REQUIRE(c.CommitPrepared(&*p1).ok());
  auto p3 = c.Prepare(b[2].txs, {}, b[2].time_ms, pipe.validator, nullptr, &*p2);
  REQUIRE(p3.ok());
  REQUIRE(c.CommitPrepared(&*p2).ok());
  REQUIRE(c.CommitPrepared(&*p3).ok());

  CHECK(Bytes(p1->block) == Bytes(sequential[0]));
  CHECK(Bytes(p2->block) == Bytes(sequential[1]));
  CHECK(Bytes(p3->block) == Bytes(sequential[2]));
  // The cases the test is built to reach did happen.
  CHECK(sequential[1].expired_reservations_size() == 1);  // r1
  CHECK(sequential[2].expired_reservations_size() == 1);  // r3, created in block 2
  CHECK(sequential[1].results(1) == pb::RESULT_ALREADY_APPLIED);
  CHECK(c.tip().state_digest() == seq.chain->tip().state_digest());
  CHECK(c.tip().tree_root() == seq.chain->tip().tree_root());
  CHECK(pipe.Balance(pipe.carol) == seq.Balance(seq.carol));
  REQUIRE(CheckInvariants(c.store()).ok());
}

TEST_CASE("a block prepared over a parent that never commits cannot commit", "[ledger][pipeline]") {
  ChainFixture f;
  std::vector<Step> s = Steps(f);
  Chain& c = *f.chain;
  const std::string digest = c.tip().state_digest();
  auto p1 = c.Prepare(s[0].txs, {}, s[0].time_ms, f.validator);
  REQUIRE(p1.ok());
  auto p2 = c.Prepare(s[1].txs, {}, s[1].time_ms, f.validator, nullptr, &*p1);
  REQUIRE(p2.ok());
  Status st = c.CommitPrepared(&*p2);
  CHECK(st.code() == Status::Code::kFailedPrecondition);
  CHECK(c.height() == 0);
  CHECK(c.tip().state_digest() == digest);
  CHECK(f.Balance(f.bob) == 0);
  // The chain goes on from its real tip.
  auto again = c.Prepare(s[0].txs, {}, s[0].time_ms, f.validator);
  REQUIRE(again.ok());
  REQUIRE(c.CommitPrepared(&*again).ok());
  CHECK(c.height() == 1);
  CHECK(f.Balance(f.bob) == 11'000'000);
}
