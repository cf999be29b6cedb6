// `chip bench` smoke runs against a real chipd dev node. Benchmarks print
// figures; these tests only check that a run completes and that every
// transaction the node acknowledged is in its ledger (--verify). No timing
// is asserted.
#include <catch2/catch.hpp>

#include "harness.h"

using namespace chip;
using namespace chip::itest;
using nlohmann::json;

namespace {

uint64_t Height(const DevNode& node) { return node.ChipJson({"status"})["height"].get<uint64_t>(); }

// Runs chip bench --json --verify with `args` and checks what every clean run
// must show: all `txs` committed and acknowledged, nothing rejected or lost,
// and every transaction read back carrying its `ops` operations.
json CleanRun(const DevNode& node, std::vector<std::string> args, uint64_t txs, uint64_t ops = 1) {
  std::vector<std::string> full = {"bench", "--verify", "--quiet"};
  full.insert(full.end(), args.begin(), args.end());
  json j = node.ChipJson(full);
  INFO(j.dump(2));
  CHECK(j["submitted"] == txs);
  CHECK(j["acknowledged"] == txs);
  CHECK(j["committed"] == txs);
  CHECK(j["rejected_total"] == 0);
  CHECK(j["rejected"].empty());
  CHECK(j["errors_total"] == 0);
  CHECK(j["exhausted"] == false);
  CHECK(j["signing"]["txs"] == txs);
  // Operations are transactions x --ops: a list commits whole or not at all.
  CHECK(j["ops_per_tx"] == ops);
  CHECK(j["ops_planned"] == txs * ops);
  CHECK(j["signing"]["ops"] == txs * ops);
  CHECK(j["committed_ops"] == txs * ops);
  CHECK(j["rejected_ops"] == 0);
  CHECK(j["committed_ops_per_second"].get<double>() ==
        Approx(j["committed_per_second"].get<double>() * static_cast<double>(ops)));
  CHECK(j["verify_ceiling"]["ops_per_second"].get<double>() ==
        Approx(j["verify_ceiling"]["per_second"].get<double>() * static_cast<double>(ops)));
  CHECK(j["height_after"].get<uint64_t>() > j["height_before"].get<uint64_t>());
  const json& v = j["verify"];
  CHECK(v["ok"] == true);
  CHECK(v["acknowledged"] == txs);
  CHECK(v["checked"] == txs);  // small runs are read back in full
  CHECK(v["missing"] == 0);
  CHECK(v["mismatched"] == 0);
  CHECK(v["already_applied"] == 0);
  CHECK(v["operations"] == txs * ops);  // every stored body carries its whole list
  return j;
}

}  // namespace

TEST_CASE("chip bench uniform: every acknowledged transfer is in the ledger",
          "[integration][bench]") {
  DevNode node;
  REQUIRE(node.Start());
  const uint64_t before = Height(node);

  json j =
      CleanRun(node,
               {"--workload", "uniform", "--accounts", "200", "--txs", "2000", "--clients", "4",
                "--batch", "50", "--metrics", "http://" + node.metrics_address() + "/metrics"},
               2000);
  CHECK(j["setup"]["funding_mode"] == "mint");  // dev is an issuer
  CHECK(j["setup"]["funded_accounts"] == 200);
  CHECK(j["latency_ms"]["max"].get<double>() >= j["latency_ms"]["p50"].get<double>());
  // The node's figures come from its metrics endpoint.
  REQUIRE(j["node_process"].is_object());
  CHECK(j["node_process"]["peak_rss_bytes"].get<uint64_t>() > 0);
  CHECK(Height(node) > before);

  // The same seed again on the same chain: same accounts, new nonces, so
  // nothing is ALREADY_APPLIED.
  CleanRun(node,
           {"--workload", "uniform", "--accounts", "200", "--txs", "500", "--clients", "2",
            "--batch", "100", "--connections", "1"},
           500);
}

TEST_CASE("chip bench hot accounts with SubmitTx (batch 1) at an offered rate",
          "[integration][bench]") {
  DevNode node;
  REQUIRE(node.Start());
  json j = CleanRun(node,
                    {"--workload", "hot", "--accounts", "50", "--hot-accounts", "4", "--txs", "200",
                     "--clients", "4", "--batch", "1", "--rate", "2000"},
                    200);
  CHECK(j["hot_accounts"] == 4);
  CHECK(j["rate"] == 2000);
}

TEST_CASE("chip bench jobs: reserve, metered settles, final settle or release in order",
          "[integration][bench]") {
  DevNode node;
  REQUIRE(node.Start());
  json j = CleanRun(
      node,
      {"--workload", "jobs", "--accounts", "40", "--txs", "500", "--clients", "3", "--batch", "20"},
      500);
  CHECK(j["jobs"]["planned"] == 100);
  CHECK(j["jobs"]["completed"] == 100);
  CHECK(j["jobs"]["abandoned"] == 0);
  CHECK(j["jobs"]["open_at_end"] == 0);
}

TEST_CASE("chip bench refuses bad flags and a missing funding key", "[integration][bench]") {
  DevNode node;
  REQUIRE(node.Start());
  CHECK(node.Chip({"bench", "--workload", "sideways"}).code == 2);
  CHECK(node.Chip({"bench", "--batch", "1001"}).code == 2);
  CHECK(node.Chip({"bench", "--clients", "2", "--connections", "3"}).code == 2);
  CHECK(node.Chip({"bench", "--rate", "10000001"}).code == 2);
  Run missing = node.Chip({"bench", "--from", "nobody", "--txs", "10"});
  CHECK(missing.code == 5);
  CHECK(missing.err.find("nobody") != std::string::npos);
}

TEST_CASE("chip bench --ops 10: lists of transfers and of job steps, every operation read back",
          "[integration][bench]") {
  DevNode node;
  REQUIRE(node.Start());
  // Uniform: each transaction is 10 transfers from one signer. The accounts
  // are funded for every operation, so nothing is INSUFFICIENT_FUNDS.
  json u = CleanRun(node,
                    {"--workload", "uniform", "--ops", "10", "--accounts", "100", "--txs", "300",
                     "--clients", "3", "--batch", "20"},
                    300, 10);
  CHECK(u["committed_ops"] == 3000);

  // Hot: lists whose transfers crowd onto 4 accounts.
  CleanRun(node,
           {"--workload", "hot", "--ops", "10", "--accounts", "50", "--hot-accounts", "4", "--txs",
            "100", "--clients", "2", "--batch", "10"},
           100, 10);

  // Jobs: 20 chains of 5 transactions, each a list of 10 (10 reserves, then
  // 3 x 10 settles of those reservations, then 10 final settles or releases).
  json jobs = CleanRun(node,
                       {"--workload", "jobs", "--ops", "10", "--accounts", "30", "--txs", "100",
                        "--clients", "2", "--batch", "10"},
                       100, 10);
  CHECK(jobs["jobs"]["per_tx"] == 10);
  CHECK(jobs["jobs"]["planned"] == 200);
  CHECK(jobs["jobs"]["completed"] == 200);
  CHECK(jobs["jobs"]["abandoned"] == 0);
  CHECK(jobs["jobs"]["open_at_end"] == 0);

  // The text report shows operations next to transactions.
  Run text = node.Chip({"bench", "--quiet", "--ops", "10", "--accounts", "20", "--txs", "20"});
  CHECK(text.code == 0);
  CHECK(text.out.find("ops/s") != std::string::npos);
  CHECK(text.out.find("10 operations per tx") != std::string::npos);
}

TEST_CASE("chip bench refuses --ops outside 1..128 and --ops with reads", "[integration][bench]") {
  DevNode node;
  REQUIRE(node.Start());
  Run zero = node.Chip({"bench", "--ops", "0", "--txs", "10"});
  CHECK(zero.code == 2);
  CHECK(zero.err.find("--ops must be 1..128") != std::string::npos);
  Run over = node.Chip({"bench", "--ops", "129", "--txs", "10"});
  CHECK(over.code == 2);
  CHECK(over.err.find("--ops must be 1..128") != std::string::npos);
  Run reads = node.Chip({"bench", "--workload", "reads", "--ops", "2", "--txs", "10"});
  CHECK(reads.code == 2);
  CHECK(reads.err.find("reads") != std::string::npos);
  // More operations than the bench holds in memory.
  CHECK(node.Chip({"bench", "--ops", "128", "--txs", "100000"}).code == 2);
  // The largest list is accepted.
  json j = node.ChipJson({"bench", "--quiet", "--ops", "128", "--accounts", "10", "--txs", "4",
                          "--clients", "1", "--batch", "4", "--verify"});
  CHECK(j["committed_ops"] == 512);
  CHECK(j["verify"]["operations"] == 512);
}
