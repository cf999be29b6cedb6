// End-to-end `chip price ...` and chip-hour amounts against a real chipd dev
// node (whose 'dev' key is a genesis oracle), and the offline fit and chart.
// Expected CU ratios are written from data/chips.csv's dense BF16 TFLOP/s by
// hand, not taken from the catalog code, so a wrong conversion fails here.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdlib>

#include "harness.h"
#include "ledger/pricing/dates.h"

using namespace chip;
using namespace chip::itest;
using nlohmann::json;

namespace {

constexpr double kH100Tflops = 989.4;  // the reference chip: 1 CU per hour

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The curve formula, computed independently of the node.
double CurvePrice(const json& curve, int64_t at_ms) {
  const double years =
      static_cast<double>(at_ms - curve["t0_ms"].get<int64_t>()) / pricing::kMsPerYear;
  return curve["p0_usd_per_cu"].get<double>() *
         std::exp2(-years / curve["halving_years"].get<double>());
}

bool GnuplotInstalled() {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = dirs.substr(start, end - start) + "/gnuplot";
    if (::access(candidate.c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

// A PNG file starts with these eight bytes (PNG specification, 5.2).
bool IsPng(const std::string& path) {
  std::string bytes = ReadFile(path);
  return bytes.size() > 8 && bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0;
}

std::string DataCsv() { return std::string(CHIP_SOURCE_DIR) + "/data/h100_rental_prices.csv"; }

}  // namespace

TEST_CASE("chip price shows the genesis prior, now and at a date", "[integration][price]") {
  DevNode node;
  REQUIRE(node.Start());

  Run human = node.Chip({"price"});
  INFO(human.out << human.err);
  REQUIRE(human.code == 0);
  CHECK(human.out.find("USD per CU") != std::string::npos);
  CHECK(human.out.find("halving time") != std::string::npos);
  CHECK(human.out.find("prior") != std::string::npos);
  CHECK(human.out.find("bf16") != std::string::npos);

  json now = node.ChipJson({"price"});
  REQUIRE(now["curve"].is_object());
  CHECK(now["curve"]["source"] == "prior");
  CHECK(now["curve"]["observations_used"] == 0);
  CHECK(now["basis"] == "bf16");
  REQUIRE(now["usd_per_cu"].is_number());
  REQUIRE(now["curve"]["halving_years"].is_number());
  const double h = now["curve"]["halving_years"];
  CHECK(h > 0);
  CHECK(now["curve"]["halving_low_years"].get<double>() <= h);
  CHECK(h <= now["curve"]["halving_high_years"].get<double>());
  CHECK(now["usd_per_cu"].get<double>() ==
        Approx(CurvePrice(now["curve"], now["at_ms"].get<int64_t>())).epsilon(1e-9));
  CHECK(std::llabs(now["at_ms"].get<int64_t>() - NowMs()) < 60'000);

  // A date a year later costs 2^(-1/H) as much; RFC 3339 and plain dates agree.
  json a = node.ChipJson({"price", "at", "2027-01-01"});
  json b = node.ChipJson({"price", "at", "2028-01-01T00:00:00Z"});
  CHECK(a["at_ms"] == 1798761600000);
  CHECK(b["at_ms"] == 1830297600000);
  CHECK(b["usd_per_cu"].get<double>() / a["usd_per_cu"].get<double>() ==
        Approx(std::exp2(-365.0 / 365.25 / h)).epsilon(1e-9));
  CHECK(node.Chip({"price", "at", "2027-13-01"}).code == 2);
  CHECK(node.Chip({"price", "--basis", "fp4"}).code == 2);
}

TEST_CASE("chip price convert, chips and quote follow the catalog", "[integration][price]") {
  DevNode node;
  REQUIRE(node.Start());

  struct Want {
    const char* chip;
    const char* amount;
    double hours;
    const char* id;
    double cu_per_hour;
  };
  const Want table[] = {
      {"B200", "3h", 3, "b200", 2250 / kH100Tflops},
      {"H100", "90m", 1.5, "h100-sxm", 1.0},
      {"A100", "2d", 48, "a100-80gb", 312 / kH100Tflops},
      {"h100 sxm", "1h", 1, "h100-sxm", 1.0},
  };
  for (const Want& w : table) {
    json j = node.ChipJson({"price", "convert", w.amount, "--chip", w.chip});
    INFO(w.chip << " " << w.amount << ": " << j.dump());
    CHECK(j["chip_id"] == w.id);
    CHECK(j["hours"].get<double>() == Approx(w.hours));
    CHECK(j["cu_per_chip_hour"].get<double>() == Approx(w.cu_per_hour).epsilon(1e-12));
    const auto want_ucu = static_cast<uint64_t>(std::floor(w.hours * w.cu_per_hour * 1e6));
    CHECK(j["ucu"].get<uint64_t>() + 1 >= want_ucu);
    CHECK(j["ucu"].get<uint64_t>() <= want_ucu);
    CHECK(j["cu"].is_number());
    CHECK(j["basis"] == "bf16");
  }
  // The memory-bound basis: geometric mean of the FLOP and bandwidth ratios.
  json h200 =
      node.ChipJson({"price", "convert", "1h", "--chip", "H200", "--basis", "bf16-bandwidth"});
  CHECK(h200["basis"] == "bf16-bandwidth");
  CHECK(h200["cu_per_chip_hour"].get<double>() ==
        Approx(std::sqrt((989.5 / kH100Tflops) * (4.8 / 3.35))).epsilon(1e-12));
  Run human = node.Chip({"price", "convert", "3h", "--chip", "B200"});
  CHECK(human.code == 0);
  CHECK(human.out.find("6.822316 CU") != std::string::npos);
  CHECK(node.Chip({"price", "convert", "3", "--chip", "B200"}).code == 2);    // no unit
  CHECK(node.Chip({"price", "convert", "3h", "--chip", "Z9000"}).code == 2);  // unknown
  CHECK(node.Chip({"price", "convert", "3h"}).code == 2);                     // no --chip
  // Not UTF-8: refused here with a message, in JSON too (it used to reach
  // the node as an unparseable request).
  Run bytes = node.Chip({"price", "convert", "3h", "--chip", "\xff\xfe", "--json"});
  CHECK(bytes.code == 2);
  CHECK(bytes.err.find("printable ASCII") != std::string::npos);
  CHECK_FALSE(nlohmann::json::parse(bytes.out, nullptr, false).is_discarded());

  json chips = node.ChipJson({"price", "chips"});
  REQUIRE(chips.is_array());
  CHECK(chips.size() >= 20);
  bool saw_b200 = false;
  for (const json& c : chips) {
    if (c["id"] != "b200") continue;
    saw_b200 = true;
    CHECK(c["accepted_on_chain"] == true);
    CHECK(c["cu_per_chip_hour"].get<double>() == Approx(2250 / kH100Tflops).epsilon(1e-12));
  }
  CHECK(saw_b200);
  Run table_out = node.Chip({"price", "chips"});
  CHECK(table_out.code == 0);
  CHECK(table_out.out.find("NVIDIA B200") != std::string::npos);

  // CU -> USD -> CU comes back to the same uCU (USD is sent with 6 decimals).
  json to_usd = node.ChipJson({"price", "quote", "25CU"});
  CHECK(to_usd["direction"] == "cu_to_usd");
  CHECK(to_usd["ucu"] == 25'000'000);
  const double usd = to_usd["usd"];
  CHECK(usd == Approx(25 * to_usd["usd_per_cu"].get<double>()).epsilon(1e-12));
  char usd_text[64];
  std::snprintf(usd_text, sizeof(usd_text), "$%.6f", usd);
  json back = node.ChipJson({"price", "quote", usd_text});
  CHECK(back["direction"] == "usd_to_cu");
  const auto ucu_back = back["ucu"].get<int64_t>();
  CHECK(std::llabs(ucu_back - 25'000'000) <= 2);
  json hundred = node.ChipJson({"price", "quote", "100USD"});
  CHECK(hundred["cu"].get<double>() ==
        Approx(100 / hundred["usd_per_cu"].get<double>()).epsilon(1e-6));
  // Compute gets cheaper: the same CU costs less a year later.
  json early = node.ChipJson({"price", "quote", "25CU", "--at", "2027-01-01"});
  json late = node.ChipJson({"price", "quote", "25CU", "--at", "2028-01-01"});
  CHECK(late["usd"].get<double>() < early["usd"].get<double>());
  CHECK(node.Chip({"price", "quote", "25 apples"}).code == 2);
  // An unquoted '$100' arrives as "00" after the shell expands $1.
  Run zero = node.Chip({"price", "quote", "00"});
  CHECK(zero.code == 2);
  CHECK(zero.err.find("'$100'") != std::string::npos);
}

TEST_CASE("chip price observe: only oracles, and every result code", "[integration][price]") {
  DevNode node;
  REQUIRE(node.Start());
  node.ChipJson({"keys", "new", "alice"});

  struct Row {
    std::vector<std::string> args;
    int exit_code;
    const char* code;  // nullptr: refused before signing
  };
  const std::string long_source(65, 's');
  const std::vector<Row> table = {
      {{"h100-sxm", "2.10"}, 0, "OK"},
      {{"B200", "$6.45", "--source", "lambda-on-demand", "--at", "2026-08-01"}, 0, "OK"},
      {{"h100-sxm", "2.10", "--from", "alice"}, 3, "NOT_ORACLE"},
      {{"tpu-v99", "2.10"}, 3, "UNKNOWN_CHIP"},
      {{"h100-sxm", "0"}, 3, "ZERO_PRICE"},
      {{"h100-sxm", "2.10", "--at", "2099-01-01"}, 3, "FUTURE_OBSERVATION"},
      {{"h100-sxm", "2.10", "--source", long_source}, 3, "SOURCE_TOO_LONG"},
      {{"h100-sxm", "two dollars"}, 2, nullptr},
      {{"h100-sxm", "2.1234567"}, 2, nullptr},
      {{"h100-sxm", "2.10", "--at", "yesterday"}, 2, nullptr},
  };
  for (const Row& row : table) {
    std::vector<std::string> args = {"price", "observe"};
    args.insert(args.end(), row.args.begin(), row.args.end());
    json j = node.ChipJson(args, row.exit_code);
    INFO(j.dump());
    if (row.code != nullptr) {
      CHECK(j["code"] == row.code);
    } else {
      CHECK(j.contains("error"));
    }
  }

  // What was signed: the alias resolved to the catalog id, the price in USD
  // micros, the date as given.
  json b200 = node.ChipJson(
      {"price", "observe", "b200", "6.45", "--at", "2026-07-01T12:00:00Z", "--source", "runpod"});
  CHECK(b200["code"] == "OK");
  CHECK(b200["observation"]["chip"] == "b200");
  CHECK(b200["observation"]["usd_micros_per_chip_hour"] == 6'450'000);
  CHECK(b200["observation"]["observed_at_ms"] == 1782907200000);
  CHECK(b200["observation"]["source"] == "runpod");
  Run human = node.Chip({"price", "observe", "h100", "2.2", "--source", "test"});
  CHECK(human.code == 0);
  CHECK(human.out.find("observed h100-sxm at $2.200000") != std::string::npos);
}

TEST_CASE("the node fits a planted halving time from on-ledger observations",
          "[integration][price]") {
  DevNode node;
  REQUIRE(node.Start());
  REQUIRE(node.ChipJson({"price"})["curve"]["source"] == "prior");

  // Twelve H100 prices over three years ending a month ago, halving every
  // 1.8 years (the prior says otherwise), with a +-3% wobble so the fit has
  // something to reject and its interval a width.
  constexpr double kPlantedHalvingYears = 1.8;
  constexpr int kObservations = 12;
  const int64_t end_ms = (NowMs() - 30 * pricing::kMsPerDay) / 1000 * 1000;
  const double span_ms = 3 * pricing::kMsPerYear;
  for (int i = 0; i < kObservations; ++i) {
    const int64_t t_ms =
        end_ms - static_cast<int64_t>(span_ms * (kObservations - 1 - i) / (kObservations - 1));
    const double years_before_end = static_cast<double>(end_ms - t_ms) / pricing::kMsPerYear;
    const double wobble = i % 3 == 0 ? 1.03 : i % 3 == 1 ? 0.97 : 1.0;
    const double usd = 2.0 * std::exp2(years_before_end / kPlantedHalvingYears) * wobble;
    char price[32];
    std::snprintf(price, sizeof(price), "%.6f", usd);
    json j = node.ChipJson({"price", "observe", "h100-sxm", price, "--at",
                            pricing::FormatDateTime(t_ms), "--source", "planted"});
    REQUIRE(j["code"] == "OK");
  }

  json fit = node.ChipJson({"price"});
  INFO(fit.dump());
  CHECK(fit["curve"]["source"] == "fit");
  CHECK(fit["curve"]["observations_used"] == kObservations);
  REQUIRE(fit["curve"]["halving_years"].is_number());
  const double h = fit["curve"]["halving_years"];
  WARN("planted H " << kPlantedHalvingYears << ", node fit H " << h << " ["
                    << fit["curve"]["halving_low_years"] << ", "
                    << fit["curve"]["halving_high_years"] << "]");
  CHECK(std::fabs(h - kPlantedHalvingYears) < 0.1);
  CHECK(fit["curve"]["halving_low_years"].get<double>() <= kPlantedHalvingYears);
  CHECK(kPlantedHalvingYears <= fit["curve"]["halving_high_years"].get<double>());
  // The price a month after the last observation sits near the planted curve.
  CHECK(fit["usd_per_cu"].get<double>() ==
        Approx(2.0 * std::exp2(-30.0 / 365.25 / kPlantedHalvingYears)).epsilon(0.05));
  Run human = node.Chip({"price"});
  CHECK(human.out.find("fit (Theil-Sen) of 12") != std::string::npos);

  // The chart from the node: its curve and the 12 observations.
  if (GnuplotInstalled()) {
    const std::string png = node.dir().Sub("node-chart.png");
    json chart = node.ChipJson({"price", "chart", "--out", png});
    CHECK(chart["source"] == "node");
    CHECK(chart["observations"] == kObservations);
    CHECK(IsPng(png));
  } else {
    WARN("gnuplot not installed: node chart not drawn");
  }
}

TEST_CASE("chip price fit reads the shipped H100 rental series", "[integration][price]") {
  DevNode offline;  // never started: the fit needs no node
  json fit = offline.ChipJson({"price", "fit", "--csv", DataCsv()});
  INFO(fit.dump());
  CHECK(fit["n"] == 49);
  CHECK(fit["basis"] == "bf16");
  REQUIRE(fit["halving_years"].is_number());
  const double h = fit["halving_years"];
  CHECK(std::isfinite(h));
  CHECK(h > 0);
  WARN("H100 rental series: H " << h << " [" << fit["halving_low_years"] << ", "
                                << fit["halving_high_years"] << "], P0 " << fit["p0_usd_per_cu"]
                                << " at " << fit["t0"] << ", MAD " << fit["residual_mad_log2"]);
  REQUIRE(fit["halving_low_years"].is_number());
  CHECK(fit["halving_low_years"].get<double>() < h);
  // The hyperscaler list prices of 2025-03-17 (lines 34-36 of the file) are
  // 3-4x the market and must be reported as outliers with their lines.
  REQUIRE(fit["outliers"].is_array());
  bool saw_aws = false;
  for (const json& o : fit["outliers"]) {
    CHECK(o["line"].get<int>() >= 2);
    CHECK(o["residual_log2"].is_number());
    if (o["line"] == 34) {
      saw_aws = true;
      CHECK(o["usd_per_hour"].get<double>() == Approx(12.29));
    }
  }
  CHECK(saw_aws);

  Run human = offline.Chip({"price", "fit", "--csv", DataCsv()});
  CHECK(human.code == 0);
  CHECK(human.out.find("fit of 49 observations") != std::string::npos);
  CHECK(human.out.find("line 34") != std::string::npos);

  // Bad input is a usage error naming the file.
  CHECK(offline.Chip({"price", "fit", "--csv", offline.dir().Sub("missing.csv")}).code == 2);
  const std::string bad = offline.dir().Sub("bad.csv");
  {
    std::ofstream out(bad);
    out << "date,usd_per_hour\n2024-01-01,2.0\n2024-02-30,2.0\n";
  }
  Run bad_run = offline.Chip({"price", "fit", "--csv", bad});
  CHECK(bad_run.code == 2);
  CHECK(bad_run.err.find("line 3") != std::string::npos);
}

TEST_CASE("chip price chart draws a PNG with gnuplot, or says gnuplot is missing",
          "[integration][price]") {
  DevNode offline;
  const std::string png = offline.dir().Sub("chart.png");
  if (GnuplotInstalled()) {
    json chart = offline.ChipJson({"price", "chart", "--csv", DataCsv(), "--out", png});
    CHECK(chart["source"] == "csv");
    CHECK(chart["observations"] == 49);
    CHECK(IsPng(png));
    struct stat st;
    REQUIRE(::stat(png.c_str(), &st) == 0);
    CHECK(chart["bytes"] == static_cast<uint64_t>(st.st_size));
    CHECK(st.st_size > 10'000);  // a drawn chart, not an empty canvas
    // Reference lines of published halving times.
    const std::string ref = offline.dir().Sub("ref.png");
    json with_ref = offline.ChipJson({"price", "chart", "--csv", DataCsv(), "--out", ref,
                                      "--preset", "epoch-all-gpus", "--preset", "moore"});
    CHECK(IsPng(ref));
    CHECK(with_ref["bytes"].get<uint64_t>() > chart["bytes"].get<uint64_t>());
  } else {
    WARN("gnuplot not installed: only the missing-gnuplot path is tested");
  }
  // Without gnuplot on PATH: a clear message and exit 1, no file.
  const std::string none = offline.dir().Sub("none.png");
  Run missing = offline.Chip({"price", "chart", "--csv", DataCsv(), "--out", none},
                             {{"PATH", offline.dir().Sub("no-such-dir")}});
  CHECK(missing.code == 1);
  CHECK(missing.err.find("gnuplot not found") != std::string::npos);
  CHECK(::access(none.c_str(), F_OK) != 0);
  CHECK(offline.Chip({"price", "chart", "--csv", DataCsv()}).code == 2);  // no --out
  CHECK(offline.Chip({"price", "chart", "--csv", DataCsv(), "--out", none, "--preset", "nope"})
            .code == 2);
}

TEST_CASE("send and reserve take chip time with --chip", "[integration][price]") {
  DevNode node;
  REQUIRE(node.Start());
  node.ChipJson({"keys", "new", "bob"});

  // 2 hours on a B200 = 2 * 2250 / 989.4 CU, floored to whole uCU.
  const auto want = static_cast<uint64_t>(std::floor(2 * 2250 / kH100Tflops * 1e6));
  CHECK(want == 4'548'211);
  json sent = node.ChipJson({"send", "bob", "2h", "--chip", "B200"});
  CHECK(sent["code"] == "OK");
  CHECK(sent["conversion"]["chip_id"] == "b200");
  CHECK(sent["conversion"]["ucu"] == want);
  CHECK(node.ChipJson({"balance", "bob"})["balance"]["ucu"] == want);

  Run human = node.Chip({"send", "bob", "90m", "--chip", "h100"});
  CHECK(human.code == 0);
  CHECK(human.out.find("90m on h100-sxm = 1.500000 CU") != std::string::npos);
  CHECK(node.ChipJson({"balance", "bob"})["balance"]["ucu"] == want + 1'500'000);

  // Chip time without a chip is a usage error that says what to add.
  Run no_chip = node.Chip({"send", "bob", "10h"});
  CHECK(no_chip.code == 2);
  CHECK(no_chip.err.find("--chip") != std::string::npos);
  CHECK(node.Chip({"send", "bob", "10CU", "--chip", "B200"}).code == 2);
  CHECK(node.Chip({"send", "bob", "1", "--basis", "bf16"}).code == 2);

  // Reserve holds the converted amount.
  json res = node.ChipJson({"reserve", "bob", "1h", "--chip", "A100", "--timeout", "1h"});
  CHECK(res["code"] == "OK");
  const auto held = static_cast<uint64_t>(std::floor(312 / kH100Tflops * 1e6));
  CHECK(res["conversion"]["ucu"] == held);
  CHECK(node.ChipJson({"balance", "dev"})["held_as_payer"]["ucu"] == held);
}
