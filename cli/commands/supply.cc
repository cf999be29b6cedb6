// The supply of CU: `chip mint` (an issuer creates CU) and `chip burn`
// (anyone destroys their own, redeemed off-ledger).
#include <CLI/CLI.hpp>
#include <memory>

#include "cli/commands/commands.h"
#include "cli/commands/transaction.h"

namespace chip::cli {

namespace {

struct SupplyFlags {
  std::string to;
  std::string amount;
  TxFlags tx;
};

int RunMint(Session* s, const SupplyFlags& f) {
  OpText op;
  op.op = "mint";
  op.to = f.to;
  op.amount = f.amount;
  return SubmitOp(s, f.tx, op, "minted " + f.amount + " to " + f.to);
}

int RunBurn(Session* s, const SupplyFlags& f) {
  OpText op;
  op.op = "burn";
  op.amount = f.amount;
  return SubmitOp(s, f.tx, op, "burned " + f.amount);
}

}  // namespace

Command MintCommand(CLI::App* app, const std::string& default_from) {
  auto f = std::make_shared<SupplyFlags>();
  f->tx.from = default_from;
  CLI::App* cmd = app->add_subcommand("mint", "issuer: create CU");
  cmd->add_option("to", f->to, "recipient")->required();
  cmd->add_option("amount", f->amount, "amount")->required();
  AddTxFlags(cmd, &f->tx);
  return TxSessionCommand(cmd, f, RunMint);
}

Command BurnCommand(CLI::App* app, const std::string& default_from) {
  auto f = std::make_shared<SupplyFlags>();
  f->tx.from = default_from;
  CLI::App* cmd = app->add_subcommand("burn", "destroy CU (redeemed off-ledger)");
  cmd->add_option("amount", f->amount, "amount")->required();
  AddTxFlags(cmd, &f->tx);
  return TxSessionCommand(cmd, f, RunBurn);
}

}  // namespace chip::cli
