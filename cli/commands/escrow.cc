// The escrow of a compute job: `chip reserve` (the payer holds CU for a
// provider), `chip settle` (the provider takes what was used) and
// `chip release` (the provider closes it and refunds everything).
#include <CLI/CLI.hpp>
#include <memory>

#include "cli/commands/chip_time.h"
#include "cli/commands/commands.h"
#include "cli/commands/transaction.h"

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

int RunSettle(Session* s, const SettleFlags& f) {
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
  cmd->add_option("reservation", f->reservation, "reservation id (hex)")->required();
  cmd->add_option("amount", f->amount, "amount used (0 allowed with --final)");
  cmd->add_flag("--final", f->is_final, "close the reservation and return the rest to the payer");
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
