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
// must show: all `txs` committed and acknowledged, nothing rejected or lost.
json CleanRun(const DevNode& node, std::vector<std::string> args, uint64_t txs) {
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
  CHECK(j["height_after"].get<uint64_t>() > j["height_before"].get<uint64_t>());
  const json& v = j["verify"];
  CHECK(v["ok"] == true);
  CHECK(v["acknowledged"] == txs);
  CHECK(v["checked"] == txs);  // small runs are read back in full
  CHECK(v["missing"] == 0);
  CHECK(v["mismatched"] == 0);
  CHECK(v["already_applied"] == 0);
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
