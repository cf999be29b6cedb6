// End-to-end: the equity fund (docs/FUND.md) on a real chipd dev node,
// driven by the real chip binary: members registered by the dev key, a
// settlement levied, a dividend seen after an epoch boundary, claimed, kept
// by a member that is removed, a member that leaves, and the same fund after
// a restart.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "harness.h"

using namespace chip;
using namespace chip::itest;
using nlohmann::json;

namespace {

// Names are prefixed: unity builds share anonymous namespaces.
uint64_t FundCliUcu(const json& j, const char* field) { return j[field]["ucu"].get<uint64_t>(); }

// Blocks are cut only when there is something to commit: a small transfer
// makes one, and the first block past a boundary distributes. Waits (at
// most 30 s of blocks) until `done` holds of `chip fund --json`.
template <typename Done>
json FundCliWaitFor(const DevNode& node, Done done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  json fund = node.ChipJson({"fund"});
  while (!done(fund) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    REQUIRE(node.ChipJson({"send", "mallory", "1uCU", "--from", "dev"})["code"] == "OK");
    fund = node.ChipJson({"fund"});
  }
  return fund;
}

}  // namespace

TEST_CASE("the equity fund levies a settlement and pays every member the same dividend",
          "[integration][cli][fund]") {
  DevNode node;
  REQUIRE(node.Start({"--fund-epoch-ms", "2000"}));
  for (const char* k : {"alice", "bob", "carol", "mallory"}) node.ChipJson({"keys", "new", k});
  const std::string dev_addr = node.ChipJson({"keys", "show", "dev"})["address"];

  // The dev chain's fund: 1% of settlements, no share of mints, 2 s epochs
  // (the flag), the dev key as its registrar, nobody registered yet.
  json fund = node.ChipJson({"fund"});
  CHECK(fund["fund_enabled"] == true);
  CHECK(fund["settle_levy_bps"] == 100);
  CHECK(fund["mint_share_bps"] == 0);
  CHECK(fund["epoch_ms"] == 2000);
  REQUIRE(fund["registrars"].size() == 1);
  CHECK(fund["registrars"][0] == dev_addr);
  CHECK(fund["members"] == 0);
  CHECK(FundCliUcu(fund, "balance") == 0);

  // Membership: only a registrar adds; a member is registered once; a
  // non-member cannot be removed; a bad address never reaches the node.
  for (const char* m : {"alice", "bob", "carol"}) {
    CHECK(node.ChipJson({"fund", "register", m, "--from", "dev"})["code"] == "OK");
  }
  CHECK(node.ChipJson({"fund", "register", "alice"}, 3)["code"] == "ALREADY_MEMBER");
  CHECK(node.ChipJson({"fund", "register", "mallory", "--from", "alice"}, 3)["code"] ==
        "NOT_REGISTRAR");
  CHECK(node.ChipJson({"fund", "deregister", "mallory"}, 3)["code"] == "NOT_MEMBER");
  std::string typo = node.ChipJson({"keys", "show", "mallory"})["address"];
  typo[20] = typo[20] == 'a' ? 'b' : 'a';
  Run bad = node.Chip({"fund", "register", typo});
  CHECK(bad.code == 2);
  CHECK(bad.err.find("checksum") != std::string::npos);
  CHECK(node.ChipJson({"fund"})["members"] == 3);

  // A job: dev reserves 20 CU for carol, who settles 10.000001 of it. The
  // levy is floor(1% of 10,000,001 uCU) = 100,000 uCU; carol receives the
  // rest, and the result, `chip tx` and carol's history say both.
  json res = node.ChipJson({"reserve", "carol", "20", "--from", "dev", "--timeout", "1h"});
  REQUIRE(res["code"] == "OK");
  json settled = node.ChipJson(
      {"settle", res["reservation_id"].get<std::string>(), "10.000001", "--from", "carol"});
  REQUIRE(settled["code"] == "OK");
  CHECK(FundCliUcu(settled, "fund_levy") == 100'000);
  CHECK(FundCliUcu(settled, "provider_received") == 9'900'001);
  CHECK(FundCliUcu(node.ChipJson({"tx", settled["tx_hash"]}), "fund_levy") == 100'000);
  json history = node.ChipJson({"history", "carol"});
  REQUIRE_FALSE(history["items"].empty());
  CHECK(history["items"][0]["tx_hash"] == settled["tx_hash"]);
  CHECK(FundCliUcu(history["items"][0], "fund_levy") == 100'000);
  // Whether or not a boundary has passed, the levy is in the fund or paid out.
  fund = node.ChipJson({"fund"});
  CHECK(FundCliUcu(fund, "balance") + FundCliUcu(fund, "distributed") == 100'000);

  // After the boundary: 100,000 / 3 members = 33,333 each, 1 uCU stays in
  // the fund. Later empty epochs pay nothing more.
  fund = FundCliWaitFor(node, [](const json& f) { return FundCliUcu(f, "distributed") > 0; });
  REQUIRE(FundCliUcu(fund, "distributed") == 99'999);
  CHECK(FundCliUcu(fund, "balance") == 1);
  CHECK(fund["epoch"].get<uint64_t>() >= 1);

  // Every read shows the dividend as if credited: alice was never credited
  // and has 33,333 uCU; carol's balance counts it on top of her earnings
  // (her own transactions since the boundary may have credited it already).
  json alice = node.ChipJson({"balance", "alice"});
  CHECK(FundCliUcu(alice, "balance") == 33'333);
  CHECK(FundCliUcu(alice, "unclaimed_dividend") == 33'333);
  CHECK(alice["fund_member"] == true);
  CHECK(alice["exists"] == false);
  CHECK(FundCliUcu(node.ChipJson({"balance", "carol"}), "balance") == 9'900'001 + 33'333);
  json alice_fund = node.ChipJson({"fund", "status", "alice"});
  CHECK(alice_fund["member"]["registered"] == true);
  CHECK(FundCliUcu(alice_fund["member"], "unclaimed_dividend") == 33'333);

  // A claim credits it once; a second claim has nothing to claim.
  CHECK(node.ChipJson({"fund", "claim", "--from", "alice"})["code"] == "OK");
  alice = node.ChipJson({"balance", "alice"});
  CHECK(FundCliUcu(alice, "balance") == 33'333);
  CHECK(FundCliUcu(alice, "unclaimed_dividend") == 0);
  CHECK(alice["exists"] == true);
  // --from may come before the subcommand too (once).
  CHECK(node.ChipJson({"fund", "--from", "alice", "claim"}, 3)["code"] == "NOTHING_TO_CLAIM");
  CHECK(node.Chip({"fund", "--from", "alice", "claim", "--from", "bob"}).code == 2);

  // The registrar removes bob, who keeps what was owed; his next
  // transaction credits it and spends from it.
  CHECK(node.ChipJson({"fund", "deregister", "bob", "--from", "dev"})["code"] == "OK");
  json bob = node.ChipJson({"balance", "bob"});
  CHECK(bob["fund_member"] == false);
  CHECK(FundCliUcu(bob, "unclaimed_dividend") == 33'333);
  CHECK(node.ChipJson({"send", "alice", "30000uCU", "--from", "bob"})["code"] == "OK");
  bob = node.ChipJson({"balance", "bob"});
  CHECK(FundCliUcu(bob, "balance") == 3'333);
  CHECK(FundCliUcu(bob, "unclaimed_dividend") == 0);
  // alice leaves by herself.
  CHECK(node.ChipJson({"fund", "deregister", "alice", "--from", "alice"})["code"] == "OK");
  CHECK(node.ChipJson({"balance", "alice"})["fund_member"] == false);
  fund = node.ChipJson({"fund"});
  CHECK(fund["members"] == 1);

  // The human output names the dividend in CU, chip hours and dollars.
  Run text = node.Chip({"fund"});
  CHECK(text.code == 0);
  CHECK(text.out.find("last dividend") != std::string::npos);
  CHECK(text.out.find("hours of the reference chip") != std::string::npos);
  CHECK(text.out.find("after one halving") != std::string::npos);

  // A restart keeps the fund as it was (the flag does not change a chain
  // that exists).
  node.Stop();
  REQUIRE(node.Start({"--fund-epoch-ms", "5000"}));
  json again = node.ChipJson({"fund"});
  CHECK(again["epoch_ms"] == 2000);
  CHECK(again["members"] == 1);
  CHECK(again["distributed"] == fund["distributed"]);
  CHECK(FundCliUcu(node.ChipJson({"balance", "alice"}), "balance") == 33'333 + 30'000);
}
