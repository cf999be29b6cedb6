// `chip price` and `chip price at DATE`: USD per CU, with the curve behind it.
#include "cli/price/args.h"
#include "cli/price/format.h"
#include "cli/price/price.h"
#include "ledger/pricing/dates.h"

namespace chip::cli {

namespace pb = ::chipledger::v1;
using nlohmann::json;
using price_internal::CurveJson;
using price_internal::Fixed;
using price_internal::HalvingText;
using price_internal::IntervalText;
using price_internal::ParseAtMs;
using price_internal::ParseBasisArg;
using price_internal::ProtoBasisName;
using price_internal::ToProto;
using price_internal::Usd;

int PriceCommands::Show(const std::string& at, const std::string& basis_text) {
  Result<int64_t> at_ms = ParseAtMs(at);
  if (!at_ms.ok()) return Fail(kExitUsage, at_ms.status().message());
  Result<pricing::Basis> basis = ParseBasisArg(basis_text);
  if (!basis.ok()) return Fail(kExitUsage, basis.status().message());
  pb::GetPriceRequest req;
  req.set_at_ms(*at_ms);
  req.set_basis(ToProto(*basis));
  pb::GetPriceResponse resp;
  auto ctx = client_.Context();
  grpc::Status s = pricing_->GetPrice(ctx.get(), req, &resp);
  if (!s.ok()) return Fail(RpcError(s));
  const pb::Curve& c = resp.curve();
  json j = {{"at_ms", resp.at_ms()},
            {"at", pricing::FormatDateTime(resp.at_ms())},
            {"usd_per_cu", resp.usd_per_cu()},
            {"basis", ProtoBasisName(resp.basis())},
            {"curve", CurveJson(c)}};
  std::string source = c.source() == "fit"
                           ? "fit (Theil-Sen) of " + std::to_string(c.observations_used()) +
                                 " on-ledger observations, residual spread (MAD) " +
                                 Fixed(c.residual_mad_log2(), 3) + " log2"
                           : c.source() + (c.source() == "prior" ? " (genesis)" : "") + ", " +
                                 std::to_string(c.observations_used()) + " observations used";
  std::string human =
      "USD per CU    " + Usd(resp.usd_per_cu()) + " at " + pricing::FormatDateTime(resp.at_ms()) +
      "\nhalving time  " + HalvingText(c.halving_years()) + ", " +
      IntervalText(c.halving_low_years(), c.halving_high_years()) + "\ncurve         " +
      Usd(c.p0_usd_per_cu()) + " per CU at t0 " + pricing::FormatDateTime(c.t0_ms()) +
      "\nsource        " + source + "\nbasis         " + ProtoBasisName(resp.basis()) +
      " (1 CU = one H100 SXM hour, about 3.56e18 dense BF16 FLOP)\n";
  Print(j, human);
  return kExitOk;
}

}  // namespace chip::cli
