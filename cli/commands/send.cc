// `chip send TO AMOUNT`: a transfer, in CU or (--chip) in chip time.
// `chip send --many FILE`: the transfers of a list file (list_file.h) as
// multi-operation transactions (operation_list.h).
#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <vector>

#include "cli/commands/chip_time.h"
#include "cli/commands/commands.h"
#include "cli/commands/list_file.h"
#include "cli/commands/operation_list.h"
#include "cli/commands/transaction.h"
#include "cli/price/price.h"
#include "ledger/address.h"
#include "ledger/amount.h"

namespace chip::cli {

namespace {

struct SendFlags {
  std::string to;
  std::string amount;
  std::string many;  // --many FILE
  TxFlags tx;
  ChipTimeFlags chip_time;
};

// The transfers of `f.many`, each checked here with its file:line so that a
// bad line stops the whole list before anything is signed: the ledger
// would refuse a zero amount or a transfer to oneself too, but for the
// whole transaction and naming only an operation index.
int RunSendMany(Session* s, const SendFlags& f) {
  if (!f.to.empty() || !f.amount.empty()) {
    return s->Fail(kExitUsage,
                   "--many FILE takes the recipients and amounts from FILE: give "
                   "either TO AMOUNT or --many FILE");
  }
  if (!f.chip_time.chip.empty()) {
    return s->Fail(kExitUsage,
                   "with --many, chip time names its chip per line (column 'chip'), not --chip");
  }
  auto entries = ReadListFile(f.many, ListColumns{{"to", "amount", "chip"}, 2});
  if (!entries.ok()) return s->Fail(kExitUsage, entries.status().message());
  auto self = s->keystore().Resolve(f.tx.from);
  if (!self.ok()) return s->ResolveFail(self.status());

  std::optional<PriceCommands> prices;  // only when a line is chip time
  std::vector<ListedOp> ops;
  for (const ListEntry& e : *entries) {
    const std::string where = f.many + ":" + std::to_string(e.line) + ": ";
    const std::string& to_text = e.values[0];
    const std::string& amount_text = e.values[1];
    const std::string& chip = e.values[2];
    auto to = s->keystore().Resolve(to_text);
    if (!to.ok()) {
      if (to.status().code() == Status::Code::kNotFound) {
        return s->Fail(kExitUsage, where + "unknown key name '" + to_text +
                                       "' (not in the wallet; give an address or a key name "
                                       "`chip keys list` shows)");
      }
      return s->Fail(kExitUsage, where + to.status().message());
    }
    ListedOp op;
    op.line = e.line;
    op.json["to"] = to_text;
    uint64_t ucu = 0;
    if (!chip.empty()) {
      // As `chip send --chip`: the node's catalog converts, line by line.
      if (!prices) {
        const Globals& g = s->globals();
        prices.emplace(g.node, g.timeout_ms, g.json);
      }
      ChipAmount converted;
      CliError error;
      if (!prices->ConvertAmount(amount_text, chip, f.chip_time.basis, &converted, &error)) {
        return s->Fail(error.exit_code, where + error.message);
      }
      ucu = converted.ucu;
      op.json["conversion"] = converted.Json();
    } else {
      if (LooksLikeChipTime(amount_text)) {
        return s->Fail(kExitUsage, where + "'" + amount_text +
                                       "' is chip time: add the chip as a third column (e.g. " +
                                       to_text + "," + amount_text + ",B200), or give CU");
      }
      auto parsed = ParseAmount(amount_text);
      if (!parsed.ok()) return s->Fail(kExitUsage, where + parsed.status().message());
      ucu = *parsed;
    }
    if (ucu == 0) {
      return s->Fail(kExitUsage, where + "zero amount: a transfer moves at least 1 uCU");
    }
    if (*to == *self) {
      return s->Fail(kExitUsage, where + "transfer to oneself ('" + to_text +
                                     "' is the signing key " + f.tx.from + ")");
    }
    op.json["address"] = EncodeAddress(*to);
    op.json["amount"] = AmountJson(ucu);
    op.op.mutable_transfer()->set_to(AsString(*to));
    op.op.mutable_transfer()->set_amount_ucu(ucu);
    ops.push_back(std::move(op));
  }
  if (!f.chip_time.basis.empty() && !prices) {
    return s->Fail(kExitUsage,
                   "--basis applies to chip time amounts: no line of " + f.many + " names a chip");
  }
  return SubmitOperationList(s, f.tx, f.many, ops, "transfer");
}

int RunSend(Session* s, const SendFlags& f) {
  if (!f.many.empty()) return RunSendMany(s, f);
  if (f.to.empty() || f.amount.empty()) {
    return s->Fail(kExitUsage, "send needs TO and AMOUNT (or --many FILE)");
  }
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
  // Required unless --many gives them (checked in RunSend).
  cmd->add_option("to", f->to, "recipient");
  cmd->add_option("amount", f->amount, "amount: 2.5, 2.5CU, 2500000uCU, or 10h with --chip");
  cmd->add_option("--many", f->many,
                  "transfers from FILE: CSV lines to,amount[,chip] or JSON lines "
                  "{\"to\",\"amount\",\"chip\"}, signed as transactions of at most 128")
      ->type_name("FILE");
  AddTxFlags(cmd, &f->tx);
  AddChipTimeFlags(cmd, &f->chip_time);
  return TxSessionCommand(cmd, f, RunSend);
}

}  // namespace chip::cli
