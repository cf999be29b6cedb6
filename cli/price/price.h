// `chip price ...`: the price of compute as a node serves it (its Pricing
// service), chip-hour amounts for send and reserve, signed price observations,
// and offline Theil-Sen fits and charts of any observations CSV.
//
// Everything here is read side: a price never changes a balance. The only
// transaction it builds (BuildObserveBody) is signed and sent by
// cli/commands/ like every other one. Floating point is fine here (the CLI is
// not the deterministic core); on-ledger numbers stay integers (uCU, USD
// micros). The files of cli/price/ are listed in its README.md.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "chipledger/v1/pricing.grpc.pb.h"
#include "chipledger/v1/types.pb.h"
#include "cli/client.h"
#include "cli/util.h"
#include "ledger/status.h"

namespace chip::cli {

// The most chip time one amount may name: ~114 million chip-years, far above
// any real job, and small enough that its uCU fit easily in a uint64.
constexpr double kChipHoursMax = 1e12;
// An observations CSV read by `price fit` / `price chart --csv`.
constexpr size_t kPriceCsvBytesMax = 16 << 20;
// Observations a chart asks the node for (ListObservations' page maximum).
constexpr uint32_t kChartObservationsMax = 1000;
// How long gnuplot may take to draw one chart before it is killed.
constexpr int kGnuplotTimeoutMs = 60'000;
// Reference lines (published halving times) one chart may carry.
constexpr size_t kChartReferencesMax = 4;

// "3h", "90m", "2d", "1.5h": chip time with a unit (h, m or d), in hours.
// InvalidArgument for a missing unit, a negative, non-decimal or non-finite
// number, or more than kChipHoursMax hours.
Result<double> ParseChipHours(std::string_view text);

// True when an amount is written as chip time ("10h", "90m", or anything
// ending in 'h'): such an amount needs --chip to become CU.
bool LooksLikeChipTime(std::string_view text);

// "2.10", "$2.10", "2.10USD", "2.10 usd" -> 2'100'000 USD micros, exactly (no
// binary floating point on the way). At most six decimals; zero is allowed
// (the ledger decides: ZERO_PRICE). InvalidArgument otherwise.
Result<uint64_t> ParseUsdMicros(std::string_view text);

// A chip-time amount converted into uCU by a node.
struct ChipAmount {
  std::string text;     // as typed: "10h"
  std::string chip_id;  // the node's catalog id: "b200"
  double hours = 0;
  double cu_per_chip_hour = 0;
  uint64_t ucu = 0;  // floor(hours * cu_per_chip_hour * 1e6), by the node
  std::string basis;
  nlohmann::json Json() const;
  // "10h on b200 = 22.741055 CU (2.274106 CU per chip-hour, bf16)"
  std::string Describe() const;
};

// The body of a PriceObservation transaction (types.proto, observe_price).
// `chip` is resolved to its id with the built-in catalog when it names a known
// chip and sent as typed otherwise, so that the chain, which lists the chips it
// accepts, answers UNKNOWN_CHIP. `at` is a date (YYYY-MM-DD or RFC 3339 UTC);
// empty means a minute before `now_ms`. Zero prices, long sources and future
// dates are passed on: the ledger's result codes are the authority on them.
// InvalidArgument for unparseable input.
Result<chipledger::v1::TxBody> BuildObserveBody(const std::string& chip,
                                                const std::string& usd_per_hour,
                                                const std::string& at, const std::string& source,
                                                uint64_t now_ms);

// The `chip price` commands. Each returns the process exit code (cli/util.h)
// after printing its result (JSON with --json) or its error.
class PriceCommands {
 public:
  PriceCommands(const std::string& node, uint64_t timeout_ms, bool json_output);

  // USD per CU at `at` (empty: now) with the curve behind it.
  int Show(const std::string& at, const std::string& basis);
  // Chip time ("3h") on `chip` in CU, by the node's catalog.
  int Convert(const std::string& amount, const std::string& chip, const std::string& basis);
  // "25CU" -> USD, or "$100" / "100USD" -> CU, at `at` (empty: now).
  int Quote(const std::string& amount, const std::string& at, const std::string& basis);
  // The node's catalog: CU per chip-hour and whether the chain accepts it.
  int Chips(const std::string& basis);
  // Offline Theil-Sen fit of an observations CSV; `t0` (a date) anchors P0,
  // empty means the median observation's day.
  int Fit(const std::string& csv_path, const std::string& basis, const std::string& t0);
  // A PNG of the curve, its 95% band and the observations, drawn by gnuplot:
  // the node's curve and observations, or an offline fit of `csv_path`.
  // `presets` (pricing::Presets() names) add reference lines with published
  // halving times through the same P0 at t0.
  int Chart(const std::string& out_path, const std::string& csv_path, const std::string& basis,
            const std::string& t0, const std::vector<std::string>& presets);

  // For `send` / `reserve --chip`: converts `amount` (chip time) with the
  // node's ConvertChipHours. False with *error set on failure.
  bool ConvertAmount(const std::string& amount, const std::string& chip, const std::string& basis,
                     ChipAmount* out, CliError* error);

 private:
  int Fail(const CliError& e) const;
  int Fail(int code, const std::string& message) const { return Fail(CliError{code, message}); }
  void Print(const nlohmann::json& j, const std::string& human) const;
  CliError RpcError(const grpc::Status& s) const;

  NodeClient client_;  // deadlines and the mapping of gRPC errors to exit codes
  std::unique_ptr<chipledger::v1::Pricing::Stub> pricing_;
  bool json_;
};

}  // namespace chip::cli
