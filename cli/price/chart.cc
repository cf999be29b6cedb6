// `chip price chart --out FILE.png`: what to draw, from a node (its curve
// and observations) or an offline fit of --csv; cli/price/gnuplot.h draws it.
#include <sys/stat.h>

#include "cli/price/args.h"
#include "cli/price/format.h"
#include "cli/price/gnuplot.h"
#include "cli/price/offline_fit.h"
#include "cli/price/price.h"
#include "ledger/pricing/dates.h"

namespace chip::cli {

namespace pb = ::chipledger::v1;
using nlohmann::json;
using price_internal::Bound;
using price_internal::ChartInput;
using price_internal::LoadOfflineFit;
using price_internal::Num;
using price_internal::OfflineFit;
using price_internal::ParseBasisArg;
using price_internal::ProtoBasisName;
using price_internal::RenderChart;
using price_internal::ToProto;
using price_internal::Usd;

int PriceCommands::Chart(const std::string& out_path, const std::string& csv_path,
                         const std::string& basis_text, const std::string& t0,
                         const std::vector<std::string>& presets) {
  if (out_path.empty()) return Fail(kExitUsage, "--out FILE.png is required");
  ChartInput in;
  if (presets.size() > kChartReferencesMax) {
    return Fail(kExitUsage, "at most " + std::to_string(kChartReferencesMax) + " --preset lines");
  }
  for (const std::string& name : presets) {
    const pricing::Preset* preset = pricing::FindPreset(name);
    if (preset == nullptr) {
      std::string names;
      for (const pricing::Preset& p : pricing::Presets()) names += std::string(" ") + p.name;
      return Fail(kExitUsage, "unknown preset '" + name + "'; presets:" + names);
    }
    in.references.push_back(preset);
  }
  json j = {{"out", out_path}};
  if (!csv_path.empty()) {
    OfflineFit f;
    CliError error;
    if (!LoadOfflineFit(csv_path, basis_text, t0, &f, &error)) return Fail(error);
    in.curve = f.fit.curve;
    in.halving_low_years = f.fit.halving_low_years;
    in.halving_high_years = f.fit.halving_high_years;
    for (const auto& r : f.rows) in.points.push_back({r.time_ms, r.usd_per_cu});
    for (size_t i : f.fit.outliers) in.flagged.push_back({f.rows[i].time_ms, f.rows[i].usd_per_cu});
    std::string name = csv_path.substr(csv_path.find_last_of('/') + 1);
    in.title = "Price of compute: Theil-Sen fit of " + name +
               " (n = " + std::to_string(f.fit.n_used) + ", basis " +
               std::string(pricing::BasisName(f.basis)) +
               ")\nP0 = " + Usd(f.fit.curve.p0_usd_per_cu) +
               " per CU at t0 = " + pricing::FormatDate(f.fit.curve.t0_ms) +
               ", H = " + Bound(f.fit.curve.halving_years) + " years, 95% interval [" +
               Bound(f.fit.halving_low_years) + ", " + Bound(f.fit.halving_high_years) + "]";
    j["source"] = "csv";
    j["csv"] = csv_path;
    j["basis"] = pricing::BasisName(f.basis);
  } else {
    if (!t0.empty()) return Fail(kExitUsage, "--t0 applies to --csv fits only");
    Result<pricing::Basis> basis = ParseBasisArg(basis_text);
    if (!basis.ok()) return Fail(kExitUsage, basis.status().message());
    pb::GetPriceRequest preq;
    preq.set_basis(ToProto(*basis));
    pb::GetPriceResponse price;
    auto ctx = client_.Context();
    grpc::Status s = pricing_->GetPrice(ctx.get(), preq, &price);
    if (!s.ok()) return Fail(RpcError(s));
    pb::ListObservationsRequest oreq;
    oreq.set_page_size(kChartObservationsMax);
    oreq.set_basis(ToProto(*basis));
    pb::ListObservationsResponse obs;
    auto octx = client_.Context();
    s = pricing_->ListObservations(octx.get(), oreq, &obs);
    if (!s.ok()) return Fail(RpcError(s));
    const pb::Curve& c = price.curve();
    in.curve = {c.p0_usd_per_cu(), c.t0_ms(), c.halving_years()};
    in.halving_low_years = c.halving_low_years();
    in.halving_high_years = c.halving_high_years();
    in.now_ms = price.at_ms();
    for (const pb::ObservationInfo& o : obs.observations()) {
      if (!(o.usd_per_cu() > 0)) continue;  // a chip the basis cannot convert
      in.points.push_back({o.observed_at_ms(), o.usd_per_cu()});
      if (o.far_off_curve()) in.flagged.push_back({o.observed_at_ms(), o.usd_per_cu()});
    }
    in.title = "Price of compute served by " + client_.target() + ": curve from " + c.source() +
               " (" + std::to_string(c.observations_used()) + " observations, basis " +
               ProtoBasisName(price.basis()) + ")\nP0 = " + Usd(c.p0_usd_per_cu()) +
               " per CU at t0 = " + pricing::FormatDate(c.t0_ms()) +
               ", H = " + Bound(c.halving_years()) + " years, 95% interval [" +
               Bound(c.halving_low_years()) + ", " + Bound(c.halving_high_years()) + "]";
    if (obs.total() > static_cast<uint64_t>(obs.observations_size())) {
      in.title += " (newest " + std::to_string(obs.observations_size()) + " of " +
                  std::to_string(obs.total()) + " observations shown)";
    }
    j["source"] = "node";
    j["basis"] = ProtoBasisName(price.basis());
  }
  CliError error;
  if (!RenderChart(in, out_path, &error)) return Fail(error);
  struct stat st;
  const uint64_t bytes = ::stat(out_path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  j["bytes"] = bytes;
  j["observations"] = in.points.size();
  j["flagged"] = in.flagged.size();
  j["curve"] = {{"p0_usd_per_cu", in.curve.p0_usd_per_cu},
                {"t0_ms", in.curve.t0_ms},
                {"halving_years", Num(in.curve.halving_years)},
                {"halving_low_years", Num(in.halving_low_years)},
                {"halving_high_years", Num(in.halving_high_years)}};
  Print(j, "wrote " + out_path + " (" + std::to_string(bytes) + " bytes, " +
               std::to_string(in.points.size()) + " observations, " +
               std::to_string(in.flagged.size()) + " flagged)\n");
  return kExitOk;
}

}  // namespace chip::cli
