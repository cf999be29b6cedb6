// Chip time as the amount of `chip send` and `chip reserve` (--chip,
// --basis): the node's catalog converts it to uCU (floored) before signing.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands/session.h"

namespace CLI {
class App;
}  // namespace CLI

namespace chip::cli {

struct ChipTimeFlags {
  std::string chip;   // --chip: the amount is chip time on this chip
  std::string basis;  // --basis: bf16 (default) or bf16-bandwidth
};

// Registers --chip and --basis on `cmd`.
void AddChipTimeFlags(CLI::App* cmd, ChipTimeFlags* flags);

// With --chip, converts `*amount` (chip time, e.g. "10h") into "<n>uCU",
// sets `*amount_text` to the conversion as the user should read it and adds
// it to `*extra` (the result's JSON). Without --chip, refuses --basis and an
// amount that looks like chip time. The exit code of a failure (printed),
// else kExitOk with `*amount_text` = `*amount` when nothing was converted.
int ResolveChipTime(Session* s, const ChipTimeFlags& flags, std::string* amount,
                    std::string* amount_text, nlohmann::json* extra);

}  // namespace chip::cli
