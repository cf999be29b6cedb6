// `chip price chips`: the node's chip catalog.
#include <cstdio>

#include "cli/price/args.h"
#include "cli/price/price.h"

namespace chip::cli {

namespace pb = ::chipledger::v1;
using nlohmann::json;
using price_internal::ParseBasisArg;
using price_internal::ToProto;

int PriceCommands::Chips(const std::string& basis_text) {
  Result<pricing::Basis> basis = ParseBasisArg(basis_text);
  if (!basis.ok()) return Fail(kExitUsage, basis.status().message());
  pb::ListChipsRequest req;
  req.set_basis(ToProto(*basis));
  pb::ListChipsResponse resp;
  auto ctx = client_.Context();
  grpc::Status s = pricing_->ListChips(ctx.get(), req, &resp);
  if (!s.ok()) return Fail(RpcError(s));
  json arr = json::array();
  char line[256];
  std::snprintf(line, sizeof(line), "%-16s %-36s %8s %8s  %s\n", "id", "name", "TFLOP/s", "CU/h",
                "on chain");
  std::string human = line;
  for (const pb::ChipInfo& c : resp.chips()) {
    arr.push_back({{"id", c.id()},
                   {"name", c.name()},
                   {"vendor", c.vendor()},
                   {"release", c.release()},
                   {"bf16_tflops", c.bf16_tflops()},
                   {"mem_bw_tbps", c.mem_bw_tbps()},
                   {"memory_gb", c.memory_gb()},
                   {"cu_per_chip_hour", c.cu_per_chip_hour()},
                   {"accepted_on_chain", c.accepted_on_chain()},
                   {"sources", c.sources()}});
    std::string name = c.name().size() > 36 ? c.name().substr(0, 35) + "~" : c.name();
    std::snprintf(line, sizeof(line), "%-16s %-36s %8.1f %8.4f  %s\n", c.id().c_str(), name.c_str(),
                  c.bf16_tflops(), c.cu_per_chip_hour(), c.accepted_on_chain() ? "yes" : "no");
    human += line;
  }
  human += "CU/h: CU per chip-hour under basis " + std::string(pricing::BasisName(*basis)) +
           " (1 CU = one H100 SXM hour)\n";
  Print(arr, human);
  return kExitOk;
}

}  // namespace chip::cli
