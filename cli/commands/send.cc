// `chip send TO AMOUNT`: a transfer, in CU or (--chip) in chip time.
#include <CLI/CLI.hpp>
#include <memory>

#include "cli/commands/chip_time.h"
#include "cli/commands/commands.h"
#include "cli/commands/transaction.h"

namespace chip::cli {

namespace {

struct SendFlags {
  std::string to;
  std::string amount;
  TxFlags tx;
  ChipTimeFlags chip_time;
};

int RunSend(Session* s, const SendFlags& f) {
  std::string amount = f.amount, amount_text;
  nlohmann::json extra = nlohmann::json::object();
  if (int code = ResolveChipTime(s, f.chip_time, &amount, &amount_text, &extra); code != kExitOk) {
    return code;
  }
  OpText op;
  op.op = "send";
  op.to = f.to;
  op.amount = amount;
  return SubmitOp(s, f.tx, op, "sent " + amount_text + " to " + f.to, extra);
}

}  // namespace

Command SendCommand(CLI::App* app, const std::string& default_from) {
  auto f = std::make_shared<SendFlags>();
  f->tx.from = default_from;
  CLI::App* cmd = app->add_subcommand("send", "transfer CU to a key name or address");
  cmd->add_option("to", f->to, "recipient")->required();
  cmd->add_option("amount", f->amount, "amount: 2.5, 2.5CU, 2500000uCU, or 10h with --chip")
      ->required();
  AddTxFlags(cmd, &f->tx);
  AddChipTimeFlags(cmd, &f->chip_time);
  return TxSessionCommand(cmd, f, RunSend);
}

}  // namespace chip::cli
