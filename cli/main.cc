// chip: the Chipledger wallet. Keys live encrypted in the wallet directory;
// transactions are signed here and sent to a node over gRPC.
// Exit codes: see cli/util.h and docs/USAGE.md.
//
// This file is the wiring: the global options, the commands in the order
// `chip --help` lists them (one file each in cli/commands/), and the
// dispatch to the one the command line chose.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <utility>
#include <vector>

#include "cli/commands/commands.h"
#include "cli/commands/session.h"
#include "cli/tls.h"
#include "cli/util.h"
#include "ledger/crypto.h"

using namespace chip;
using namespace chip::cli;
using nlohmann::json;

namespace {

std::string DefaultWalletDir() {
  if (const char* home = std::getenv("CHIP_HOME"); home && *home) return home;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.chip";
}

void AddGlobalOptions(CLI::App* app, Globals* g) {
  if (const char* n = std::getenv("CHIP_NODE"); n && *n) g->node = n;
  g->wallet = DefaultWalletDir();
  app->add_option("--node", g->node,
                  "node address host:port (env CHIP_NODE, default 127.0.0.1:7700)");
  app->add_option("--wallet", g->wallet, "wallet directory (env CHIP_HOME, default ~/.chip)");
  app->add_option(
      "--passphrase-file", g->passphrase_file,
      "read key passphrases from this file (or CHIP_PASSPHRASE / CHIP_PASSPHRASE_FILE)");
  app->add_flag("--json", g->json, "machine-readable output");
  app->add_option("--timeout-ms", g->timeout_ms, "per-request deadline")
      ->check(CLI::Range(1, 3'600'000));
  // TLS (cli/tls.h): without a CA file chip connects in plaintext.
  for (auto [env, field] : {std::pair<const char*, std::string*>{"CHIP_TLS_CA", &g->tls.ca_file},
                            {"CHIP_TLS_CERT", &g->tls.cert_file},
                            {"CHIP_TLS_KEY", &g->tls.key_file},
                            {"CHIP_TLS_SERVER_NAME", &g->tls.server_name}}) {
    if (const char* v = std::getenv(env); v && *v) *field = v;
  }
  app->add_option("--tls-ca", g->tls.ca_file,
                  "connect over TLS, trusting the node certificates this PEM CA signed (env "
                  "CHIP_TLS_CA)");
  app->add_option("--tls-cert", g->tls.cert_file,
                  "client certificate (PEM) for nodes that ask for one (env CHIP_TLS_CERT)");
  app->add_option("--tls-key", g->tls.key_file, "its private key (PEM; env CHIP_TLS_KEY)");
  app->add_option("--tls-server-name", g->tls.server_name,
                  "name the node's certificate must carry (default: the host of --node; env "
                  "CHIP_TLS_SERVER_NAME)");
  // Global options may also follow the subcommand (`chip send ... --json`).
  app->fallthrough();
}

}  // namespace

int main(int argc, char** argv) {
  if (!InitCrypto().ok()) return kExitError;
  CLI::App app{"chip: the Chipledger wallet (money that is compute: 1 CU = one H100-hour)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "chip 0.1.0");
  Globals g;
  AddGlobalOptions(&app, &g);

  std::string from = "dev";
  if (const char* f = std::getenv("CHIP_FROM"); f && *f) from = f;
  // In the order `chip --help` lists them.
  const std::vector<Command> commands = {
      KeysCommand(&app),           // commands/keys.cc
      StatusCommand(&app),         // commands/status.cc
      BalanceCommand(&app, from),  // commands/balance.cc
      TxCommand(&app),             // commands/tx.cc
      HistoryCommand(&app, from),  // commands/history.cc
      BlocksCommand(&app),         // commands/blocks.cc
      SendCommand(&app, from),     // commands/send.cc
      ReserveCommand(&app, from),  // commands/escrow.cc
      PriceCommand(&app, from),    // commands/price.cc
      SettleCommand(&app, from),   // commands/escrow.cc
      ReleaseCommand(&app, from),  // commands/escrow.cc
      MintCommand(&app, from),     // commands/supply.cc
      BurnCommand(&app, from),     // commands/supply.cc
      FundCommand(&app, from),     // commands/fund.cc
      VerifyCommand(&app),         // commands/verify.cc
      SubmitCommand(&app),         // commands/submit.cc
      BatchCommand(&app, from),    // commands/batch.cc
      BenchCommand(&app, from),    // commands/bench.cc
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }

  // Every channel below uses these credentials; bad TLS files stop any command.
  if (Status s = ConfigureChannels(g.tls); !s.ok()) {
    std::cerr << "chip: " << s.message() << "\n";
    if (g.json)
      std::cout << SafeDump(json{{"error", s.message()}, {"exit_code", kExitUsage}}) << "\n";
    return kExitUsage;
  }
  for (const Command& c : commands) {
    if (*c.app) return c.run(g);
  }
  return kExitUsage;
}
