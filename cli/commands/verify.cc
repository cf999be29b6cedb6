// `chip verify tx|log|chain`: the wiring of cli/verify.h, which checks what
// a node says against proofs and a node key pinned in the wallet.
#include "cli/verify.h"

#include <CLI/CLI.hpp>
#include <memory>

#include "cli/commands/commands.h"

namespace chip::cli {

namespace {

struct VerifyFlags {
  std::string hash;
  CLI::App* tx = nullptr;
  CLI::App* log = nullptr;
  CLI::App* chain = nullptr;
};

}  // namespace

Command VerifyCommand(CLI::App* app) {
  auto f = std::make_shared<VerifyFlags>();
  CLI::App* cmd = app->add_subcommand("verify", "check the node's history with proofs, not trust");
  cmd->require_subcommand(1);
  f->tx = cmd->add_subcommand("tx", "prove a transaction is in the signed history log");
  f->tx->add_option("hash", f->hash, "transaction hash (hex)")->required();
  f->log = cmd->add_subcommand("log", "prove the log only grew since the last check");
  f->chain =
      cmd->add_subcommand("chain", "re-execute every block and re-derive every hash and digest");
  return {cmd, [f](const Globals& g) {
            NodeClient client(g.node, g.timeout_ms);
            VerifyContext ctx{&client, g.wallet, g.json};
            if (*f->tx) return VerifyTx(ctx, f->hash);
            if (*f->log) return VerifyLog(ctx);
            if (*f->chain) return VerifyChain(ctx);
            return kExitUsage;
          }};
}

}  // namespace chip::cli
