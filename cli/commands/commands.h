// The chip commands, one file each (git's builtin/*.c layout): a function
// that registers a top-level command and its flags on the CLI11 app and
// returns what runs when the command line chose it. main.cc calls them in
// the order `chip --help` lists the commands.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "cli/commands/session.h"

namespace CLI {
class App;
}  // namespace CLI

namespace chip::cli {

// A registered top-level command. `run` owns the storage its flags were
// bound to, so it must outlive parsing; it returns the exit code.
struct Command {
  CLI::App* app = nullptr;
  std::function<int(const Globals&)> run;
};

// A Command that opens a Session and runs `run` with the parsed `flags`.
template <typename Flags>
Command SessionCommand(CLI::App* app, std::shared_ptr<Flags> flags,
                       int (*run)(Session*, const Flags&)) {
  return {app, [flags, run](const Globals& g) {
            Session s(g);
            return run(&s, *flags);
          }};
}

// `default_from` is the key a command signs with or shows when none is
// given ($CHIP_FROM, else "dev").
Command KeysCommand(CLI::App* app);                                      // keys.cc
Command StatusCommand(CLI::App* app);                                    // status.cc
Command BalanceCommand(CLI::App* app, const std::string& default_from);  // balance.cc
Command TxCommand(CLI::App* app);                                        // tx.cc
Command HistoryCommand(CLI::App* app, const std::string& default_from);  // history.cc
Command BlocksCommand(CLI::App* app);                                    // blocks.cc
Command SendCommand(CLI::App* app, const std::string& default_from);     // send.cc
Command ReserveCommand(CLI::App* app, const std::string& default_from);  // escrow.cc
Command PriceCommand(CLI::App* app, const std::string& default_from);    // price.cc
Command SettleCommand(CLI::App* app, const std::string& default_from);   // escrow.cc
Command ReleaseCommand(CLI::App* app, const std::string& default_from);  // escrow.cc
Command MintCommand(CLI::App* app, const std::string& default_from);     // supply.cc
Command BurnCommand(CLI::App* app, const std::string& default_from);     // supply.cc
Command FundCommand(CLI::App* app, const std::string& default_from);     // fund.cc
Command VerifyCommand(CLI::App* app);                                    // verify.cc
Command SubmitCommand(CLI::App* app);                                    // submit.cc
Command BatchCommand(CLI::App* app, const std::string& default_from);    // batch.cc
Command BenchCommand(CLI::App* app, const std::string& default_from);    // bench.cc

}  // namespace chip::cli
