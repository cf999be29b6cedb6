// `chip bench`: the wiring of cli/bench/bench.h, the load generator.
#include "cli/bench/bench.h"

#include <CLI/CLI.hpp>
#include <memory>

#include "cli/commands/commands.h"

namespace chip::cli {

Command BenchCommand(CLI::App* app, const std::string& default_from) {
  auto options = std::make_shared<BenchOptions>();
  options->from = default_from;
  CLI::App* cmd = AddBenchCommand(app, options.get());
  return {cmd, [options](const Globals& g) {
            return RunBench(BenchTarget{g.node, g.wallet, g.passphrase_file, g.timeout_ms, g.json},
                            *options);
          }};
}

}  // namespace chip::cli
