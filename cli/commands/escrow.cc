// The escrow of a compute job: `chip reserve` (the payer holds CU for a
// provider), `chip settle` (the provider takes what was used) and
// `chip release` (the provider closes it and refunds everything).
// `chip settle --many FILE` settles the reservations of a list file
// (list_file.h) in multi-operation transactions (operation_list.h).
#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <vector>

#include "cli/commands/chip_time.h"
#include "cli/commands/commands.h"
#include "cli/commands/list_file.h"
#include "cli/commands/operation_list.h"
#include "cli/commands/transaction.h"
#include "ledger/address.h"
#include "ledger/amount.h"

namespace chip::cli {

namespace {

struct ReserveFlags {
  std::string provider;
  std::string amount;
  std::string timeout;
  TxFlags tx;
  ChipTimeFlags chip_time;
};

struct SettleFlags {
  std::string reservation;
  std::string amount;
  bool is_final = false;
  std::string many;  // --many FILE
  TxFlags tx;
};

struct ReleaseFlags {
  std::string reservation;
  TxFlags tx;
};

int RunReserve(Session* s, const ReserveFlags& f) {
  std::string amount = f.amount, amount_text;
  nlohmann::json extra = nlohmann::json::object();
  if (int code = ResolveChipTime(s, f.chip_time, &amount, &amount_text, &extra); code != kExitOk) {
    return code;
  }
  OpText op;
  op.op = "reserve";
  op.to = f.provider;
  op.amount = amount;
  op.timeout = f.timeout;
  // The "reserve" prefix makes the report print the reservation id.
  return SubmitOp(s, f.tx, op,
                  "reserved " + amount_text + " for " + f.provider + " (timeout " + f.timeout + ")",
                  extra);
}

// The `final` column: empty means not final.
std::optional<bool> ParseFinal(const std::string& text) {
  if (text.empty() || text == "false" || text == "0" || text == "no") return false;
  if (text == "true" || text == "1" || text == "yes" || text == "final") return true;
  return std::nullopt;
}

// The settles of `f.many`, each checked here with its file:line before
// anything is signed (see RunSendMany in send.cc for why).
int RunSettleMany(Session* s, const SettleFlags& f) {
  if (!f.reservation.empty() || !f.amount.empty() || f.is_final) {
    return s->Fail(kExitUsage,
                   "--many FILE takes the reservations, amounts and final flags "
                   "from FILE: give either RESERVATION AMOUNT or --many FILE");
  }
  auto entries = ReadListFile(f.many, ListColumns{{"reservation", "amount", "final"}, 2});
  if (!entries.ok()) return s->Fail(kExitUsage, entries.status().message());
  std::vector<ListedOp> ops;
  for (const ListEntry& e : *entries) {
    const std::string where = f.many + ":" + std::to_string(e.line) + ": ";
    auto id = Hash32FromHex(e.values[0]);
    if (!id) return s->Fail(kExitUsage, where + "reservation id must be 64 hex digits");
    auto amount = ParseAmount(e.values[1]);
    if (!amount.ok()) return s->Fail(kExitUsage, where + amount.status().message());
    std::optional<bool> is_final = ParseFinal(e.values[2]);
    if (!is_final) {
      return s->Fail(kExitUsage, where + "final must be true or false, not '" + e.values[2] + "'");
    }
    if (*amount == 0 && !*is_final) {
      return s->Fail(kExitUsage,
                     where + "zero amount: only a final settle may pay 0 (it closes and refunds)");
    }
    ListedOp op;
    op.line = e.line;
    op.json = {{"reservation", ToHex(*id)}, {"amount", AmountJson(*amount)}, {"final", *is_final}};
    auto* settle = op.op.mutable_settle();
    settle->set_reservation(AsString(*id));
    settle->set_amount_ucu(*amount);
    settle->set_final(*is_final);
    ops.push_back(std::move(op));
  }
  return SubmitOperationList(s, f.tx, f.many, ops, "settle");
}

int RunSettle(Session* s, const SettleFlags& f) {
  if (!f.many.empty()) return RunSettleMany(s, f);
  if (f.reservation.empty()) {
    return s->Fail(kExitUsage, "settle needs a RESERVATION id (or --many FILE)");
  }
  OpText op;
  op.op = "settle";
  op.amount = f.amount;
  op.reservation = f.reservation;
  op.is_final = f.is_final;
  return SubmitOp(s, f.tx, op,
                  std::string(f.is_final ? "settled (final) " : "settled ") + f.amount);
}

int RunRelease(Session* s, const ReleaseFlags& f) {
  OpText op;
  op.op = "release";
  op.reservation = f.reservation;
  return SubmitOp(s, f.tx, op, "released reservation");
}

}  // namespace

Command ReserveCommand(CLI::App* app, const std::string& default_from) {
  auto f = std::make_shared<ReserveFlags>();
  f->tx.from = default_from;
  CLI::App* cmd = app->add_subcommand("reserve", "hold CU in escrow for a compute provider");
  cmd->add_option("provider", f->provider, "provider key name or address")->required();
  cmd->add_option("amount", f->amount, "amount to hold (or chip time with --chip)")->required();
  cmd->add_option("--timeout", f->timeout, "released automatically after, e.g. 2h")->required();
  AddTxFlags(cmd, &f->tx);
  AddChipTimeFlags(cmd, &f->chip_time);
  return TxSessionCommand(cmd, f, RunReserve);
}

Command SettleCommand(CLI::App* app, const std::string& default_from) {
  auto f = std::make_shared<SettleFlags>();
  f->tx.from = default_from;
  CLI::App* cmd = app->add_subcommand("settle", "provider: take payment from a reservation");
  // Required unless --many gives it (checked in RunSettle).
  cmd->add_option("reservation", f->reservation, "reservation id (hex)");
  cmd->add_option("amount", f->amount, "amount used (0 allowed with --final)");
  cmd->add_flag("--final", f->is_final, "close the reservation and return the rest to the payer");
  cmd->add_option("--many", f->many,
                  "settles from FILE: CSV lines reservation,amount[,final] or JSON lines "
                  "{\"reservation\",\"amount\",\"final\"}, signed as transactions of at most "
                  "128")
      ->type_name("FILE");
  AddTxFlags(cmd, &f->tx);
  return TxSessionCommand(cmd, f, RunSettle);
}

Command ReleaseCommand(CLI::App* app, const std::string& default_from) {
  auto f = std::make_shared<ReleaseFlags>();
  f->tx.from = default_from;
  CLI::App* cmd = app->add_subcommand("release", "provider: close a reservation, refund all");
  cmd->add_option("reservation", f->reservation, "reservation id (hex)")->required();
  AddTxFlags(cmd, &f->tx);
  return TxSessionCommand(cmd, f, RunRelease);
}

}  // namespace chip::cli
