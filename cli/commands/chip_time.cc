#include "cli/commands/chip_time.h"

#include <CLI/CLI.hpp>

#include "cli/price/price.h"

namespace chip::cli {

void AddChipTimeFlags(CLI::App* cmd, ChipTimeFlags* flags) {
  cmd->add_option("--chip", flags->chip,
                  "the amount is chip time on this chip (10h, 90m, 2d), converted to CU by the "
                  "node's catalog");
  cmd->add_option("--basis", flags->basis, "with --chip: bf16 (default) or bf16-bandwidth");
}

int ResolveChipTime(Session* s, const ChipTimeFlags& flags, std::string* amount,
                    std::string* amount_text, nlohmann::json* extra) {
  *amount_text = *amount;
  if (!flags.chip.empty()) {
    const Globals& g = s->globals();
    PriceCommands prices(g.node, g.timeout_ms, g.json);
    ChipAmount converted;
    CliError error;
    if (!prices.ConvertAmount(*amount, flags.chip, flags.basis, &converted, &error)) {
      return s->Fail(error);
    }
    *amount = std::to_string(converted.ucu) + "uCU";
    *amount_text = converted.Describe();
    (*extra)["conversion"] = converted.Json();
    return kExitOk;
  }
  if (!flags.basis.empty()) {
    return s->Fail(kExitUsage, "--basis applies to chip time amounts: add --chip");
  }
  if (LooksLikeChipTime(*amount)) {
    return s->Fail(kExitUsage, "'" + *amount +
                                   "' is chip time: add --chip CHIP (e.g. --chip B200) to "
                                   "convert it to CU, or give CU (2.5, 2.5CU, 2500000uCU)");
  }
  return kExitOk;
}

}  // namespace chip::cli
