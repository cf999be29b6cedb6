// chipd: the Chipledger node. Subcommands: init, start, dev, version.
// Exit codes: 0 clean stop, 1 refused or failed at runtime, 2 usage error.
#include <signal.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>

#include "cli/keystore.h"
#include "ledger/address.h"
#include "ledger/amount.h"
#include "ledger/crypto.h"
#include "ledger/pricing/catalog.h"
#include "node/node.h"

using namespace chip;
using namespace chip::node;

namespace {

constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;
constexpr uint64_t kDevFundingUcu = 1'000'000ull * kUcuPerCu;  // 1,000,000 CU

uint64_t NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

int Fail(const Status& s) {
  std::cerr << "chipd: " << s.message() << "\n";
  return kExitRuntime;
}

Status SetupLogging(const NodeConfig& c) {
  std::vector<spdlog::sink_ptr> sinks;
  sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  if (!c.log_file.empty()) {
    // spdlog reports an unopenable file by throwing; our code does not throw.
    try {
      sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(c.log_file));
    } catch (const std::exception& e) {
      return Status::InvalidArgument("cannot open log file " + c.log_file + ": " + e.what());
    }
  }
  auto logger = std::make_shared<spdlog::logger>("chipd", sinks.begin(), sinks.end());
  logger->set_level(spdlog::level::from_str(c.log_level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  return Status::Ok();
}

// The pricing section of a generated genesis: every chip of this build's
// catalog may be observed; the prior is the 2026-08-25 H100 rental index
// price ($2.97 per H100-hour = per CU) falling with Epoch AI's 2.46-year
// halving time for GPU price-performance (docs/PRICING.md).
GenesisPricing DefaultPricing() {
  GenesisPricing p;
  for (const auto& chip : pricing::Catalog::Builtin().chips()) p.chips.push_back(chip.id);
  p.prior_usd_micros_per_cu = 2'970'000;
  p.prior_t0_ms = 1'787'616'000'000;    // 2026-08-25T00:00:00Z
  p.prior_halving_ms = 77'631'696'000;  // 2.46 years of 365.25 days
  return p;
}

std::string DefaultWalletDir() {
  if (const char* home = std::getenv("CHIP_HOME"); home && *home) return home;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.chip";
}

// Runs the node until SIGINT/SIGTERM. The signals are blocked in every thread
// and taken synchronously here, so shutdown runs in normal context.
int RunNode(const NodeConfig& config, const std::function<void(const Node&)>& on_started = {}) {
  auto node = Node::Open(config);
  if (!node.ok()) return Fail(node.status());
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  Status s = (*node)->Start();
  if (!s.ok()) return Fail(s);
  if (on_started) on_started(**node);
  std::fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  spdlog::info("signal {} received: finishing the block in progress and stopping", sig);
  (*node)->Shutdown();
  return 0;
}

// Applies command-line overrides (only those given) to a config.
struct Overrides {
  std::string listen, metrics_listen, log_level, log_file;
  bool allow_remote = false, no_metrics = false;
  uint32_t block_interval_ms = 0, block_tx_max = 0, mempool_tx_max = 0;
  std::optional<uint32_t> disk_reserve_mb;
  void Register(CLI::App* cmd) {
    cmd->add_option("--disk-reserve-mb", disk_reserve_mb,
                    "free space to keep; below it writes are refused (default 64)");
    cmd->add_option("--block-tx-max", block_tx_max, "cut a block when this many txs wait")
        ->check(CLI::Range(1, 10000));
    cmd->add_option("--mempool-tx-max", mempool_tx_max, "transactions waiting at most")
        ->check(CLI::Range(1, 10000000));
    cmd->add_option("--listen", listen, "gRPC address host:port (default 127.0.0.1:7700)");
    cmd->add_option("--metrics-listen", metrics_listen,
                    "Prometheus address (default 127.0.0.1:7701)");
    cmd->add_flag("--no-metrics", no_metrics, "do not serve metrics");
    cmd->add_flag("--allow-remote", allow_remote,
                  "allow listening on non-loopback addresses (plaintext)");
    cmd->add_option("--block-interval-ms", block_interval_ms,
                    "cut a block this long after its first tx")
        ->check(CLI::Range(1, 60000));
    cmd->add_option("--log-level", log_level, "trace|debug|info|warn|error|off");
    cmd->add_option("--log-file", log_file, "also log to this file");
  }
  void Apply(NodeConfig* c) const {
    if (!listen.empty()) c->listen = listen;
    if (!metrics_listen.empty()) c->metrics_listen = metrics_listen;
    if (no_metrics) c->metrics_listen.clear();
    if (allow_remote) c->allow_remote = true;
    if (block_interval_ms != 0) c->block_interval_ms = block_interval_ms;
    if (block_tx_max != 0) {
      c->block_tx_max = block_tx_max;
      c->submit_batch_tx_max = std::min(c->submit_batch_tx_max, block_tx_max);
    }
    if (mempool_tx_max != 0) c->mempool_tx_max = mempool_tx_max;
    if (disk_reserve_mb) c->disk_reserve_mb = *disk_reserve_mb;
    if (!log_level.empty()) c->log_level = log_level;
    if (!log_file.empty()) c->log_file = log_file;
  }
};

Status LoadConfig(const std::string& data_dir, const std::string& config_path, const Overrides& o,
                  NodeConfig* c) {
  c->data_dir = data_dir;
  std::string path = config_path.empty() ? data_dir + "/config.toml" : config_path;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    CHIP_RETURN_IF_ERROR(LoadConfigFile(path, c));
  } else if (!config_path.empty()) {
    return Status::NotFound("config file " + config_path + " not found");
  }
  o.Apply(c);
  return ValidateConfig(*c);
}

Result<std::pair<PublicKey, std::optional<uint64_t>>> ParseKeyWithAmount(const std::string& text,
                                                                         char sep) {
  auto pos = text.find(sep);
  auto key = DecodeAddress(text.substr(0, pos));
  if (!key.ok()) return key.status();
  if (pos == std::string::npos) return std::make_pair(*key, std::optional<uint64_t>());
  auto amount = ParseAmount(text.substr(pos + 1));
  if (!amount.ok()) return amount.status();
  return std::make_pair(*key, std::optional<uint64_t>(*amount));
}

void PrintDevBanner(const Node& node, const std::string& wallet_dir, const std::string& data_dir,
                    const std::string& metrics) {
  std::string addr = node.bound_address();
  std::printf(
      "\nchipd dev is running.\n"
      "  chain      %s (%s...)\n"
      "  gRPC       %s\n"
      "  metrics    %s\n"
      "  data dir   %s\n"
      "  wallet     %s (key 'dev': issuer, funded with 1,000,000 CU, no passphrase)\n\n"
      "In another terminal, try:\n"
      "  chip status\n"
      "  chip balance dev\n"
      "  chip keys new alice            # asks for a passphrase (or set CHIP_PASSPHRASE)\n"
      "  chip send alice 25 --from dev\n"
      "  chip reserve alice 10 --from dev --timeout 1h   # escrow for a compute job\n"
      "  chip history dev\n\n"
      "Ctrl-C stops the node; `chipd dev` again resumes the same chain.\n\n",
      node.chain().genesis().chain_name.c_str(),
      ToHex(node.chain().chain_id()).substr(0, 16).c_str(), addr.c_str(),
      metrics.empty() ? "(off)" : ("http://" + metrics + "/metrics").c_str(), data_dir.c_str(),
      wallet_dir.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  // SIGINT/SIGTERM are blocked before any thread exists (RocksDB and gRPC
  // start their own), so every thread inherits the mask and only RunNode's
  // sigwait takes them: a second signal during shutdown cannot kill the
  // process half-way.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  if (!InitCrypto().ok()) return kExitRuntime;
  CLI::App app{"chipd: the Chipledger node (a ledger whose money is compute)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("chipd ") + CHIPLEDGER_VERSION);

  // --- init ---
  auto* init =
      app.add_subcommand("init", "create a data directory: node key, genesis, config, store");
  std::string init_dir, init_genesis, init_chain_name = "chipledger", init_node_key;
  std::vector<std::string> init_issuers, init_funds, init_validators, init_oracles;
  init->add_option("--data-dir", init_dir, "directory to create")->required();
  init->add_option("--genesis", init_genesis,
                   "use this genesis file (JSON) instead of generating one");
  init->add_option("--node-key", init_node_key, "use this node key file instead of generating one");
  init->add_option("--chain-name", init_chain_name, "name of a generated genesis");
  init->add_option("--issuer", init_issuers,
                   "issuer address[:cap], e.g. chip...:1000CU (repeatable)");
  init->add_option("--fund", init_funds, "initial balance address=amount (repeatable)");
  init->add_option("--validator", init_validators, "extra validator address (repeatable)");
  init->add_option("--oracle", init_oracles, "price oracle address (repeatable)");
  Overrides init_over;
  init_over.Register(init);

  // --- start ---
  auto* start = app.add_subcommand("start", "run the node of a data directory");
  std::string start_dir, start_config;
  start->add_option("--data-dir", start_dir, "data directory made by `chipd init`")->required();
  start->add_option("--config", start_config, "config file (default <data-dir>/config.toml)");
  Overrides start_over;
  start_over.Register(start);

  // --- dev ---
  auto* dev = app.add_subcommand("dev", "create (first time) or resume a single-node dev chain");
  std::string dev_dir = ".chipdev", dev_wallet;
  dev->add_option("--data-dir", dev_dir, "dev chain directory (default ./.chipdev)");
  dev->add_option("--wallet", dev_wallet, "chip wallet directory (default $CHIP_HOME or ~/.chip)");
  Overrides dev_over;
  dev_over.Register(dev);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }

  if (*init) {
    NodeConfig c;
    c.data_dir = init_dir;
    init_over.Apply(&c);
    Status v = ValidateConfig(c);
    if (!v.ok()) return Fail(v);
    SecretKey node_key = GenerateKey();
    if (!init_node_key.empty()) {
      auto k = ReadNodeKey(init_node_key);
      if (!k.ok()) return Fail(k.status());
      node_key = *k;
    }
    Genesis g;
    if (!init_genesis.empty()) {
      auto text = ReadSmallFile(init_genesis, kGenesisBytesMax);
      if (!text.ok()) return Fail(text.status());
      auto parsed = ParseGenesis(*text);
      if (!parsed.ok())
        return Fail(Status::InvalidArgument(init_genesis + ": " + parsed.status().message()));
      g = *parsed;
    } else {
      g.chain_name = init_chain_name;
      g.genesis_time_ms = NowMs();
      g.pricing = DefaultPricing();
      g.validators.push_back(node_key.Public());
      for (const auto& v2 : init_validators) {
        auto k = DecodeAddress(v2);
        if (!k.ok()) return Fail(Status::InvalidArgument("--validator: " + k.status().message()));
        if (*k != node_key.Public()) g.validators.push_back(*k);
      }
      for (const auto& o : init_oracles) {
        auto k = DecodeAddress(o);
        if (!k.ok()) return Fail(Status::InvalidArgument("--oracle: " + k.status().message()));
        g.oracles.push_back(*k);
      }
      for (const auto& i : init_issuers) {
        auto p = ParseKeyWithAmount(i, ':');
        if (!p.ok())
          return Fail(Status::InvalidArgument("--issuer " + i + ": " + p.status().message()));
        g.issuers.push_back({p->first, p->second});
      }
      for (const auto& f : init_funds) {
        auto p = ParseKeyWithAmount(f, '=');
        if (!p.ok() || !p->second || *p->second == 0) {
          return Fail(Status::InvalidArgument("--fund " + f + ": expected address=amount"));
        }
        g.balances.emplace_back(p->first, *p->second);
      }
      // Round-trip through the parser so a generated genesis obeys every rule.
      auto check = ParseGenesis(CanonicalGenesis(g));
      if (!check.ok()) return Fail(check.status());
    }
    if (std::find(g.validators.begin(), g.validators.end(), node_key.Public()) ==
        g.validators.end()) {
      return Fail(Status::InvalidArgument(
          "the node key " + EncodeAddress(node_key.Public()) +
          " is not a validator in this genesis; pass --node-key with a validator's key file"));
    }
    Status s = InitDataDir(c, g, node_key);
    if (!s.ok()) return Fail(s);
    std::printf(
        "initialised %s\n  chain id  %s\n  node key  %s\nstart it with: chipd start --data-dir "
        "%s\n",
        init_dir.c_str(), ToHex(ChainId(g)).c_str(), EncodeAddress(node_key.Public()).c_str(),
        init_dir.c_str());
    return 0;
  }

  if (*start) {
    NodeConfig c;
    Status s = LoadConfig(start_dir, start_config, start_over, &c);
    if (!s.ok()) return Fail(s);
    if (Status l = SetupLogging(c); !l.ok()) return Fail(l);
    return RunNode(c);
  }

  if (*dev) {
    std::string wallet_dir = dev_wallet.empty() ? DefaultWalletDir() : dev_wallet;
    struct stat st;
    bool fresh = ::stat((dev_dir + "/db").c_str(), &st) != 0;
    wallet::Keystore ks(wallet_dir);
    PublicKey dev_key{};
    auto info = ks.Info("dev");
    if (info.ok()) {
      dev_key = info->key;
    } else if (info.status().code() == Status::Code::kNotFound && !fresh) {
      return Fail(Status::FailedPrecondition(
          dev_dir + " holds a dev chain, but wallet " + wallet_dir +
          " has no 'dev' key: pass the --wallet it was created with (or remove " + dev_dir +
          " to start a new chain)"));
    } else if (info.status().code() == Status::Code::kNotFound) {
      SecretKey k = GenerateKey();
      // Development key: stored under the empty passphrase, marked
      // unprotected so `chip` does not prompt; cheap KDF since it guards
      // nothing.
      auto made =
          ks.Import("dev", k.Seed(), "", /*is_protected=*/false, wallet::KdfCost::Minimum());
      if (!made.ok()) return Fail(made.status());
      dev_key = made->key;
      std::printf("created development key 'dev' %s in %s\n", made->address.c_str(),
                  wallet_dir.c_str());
    } else {
      return Fail(info.status());
    }
    NodeConfig c;
    if (fresh) {
      c.data_dir = dev_dir;
      dev_over.Apply(&c);
      Status v = ValidateConfig(c);
      if (!v.ok()) return Fail(v);
      SecretKey node_key = GenerateKey();
      Genesis g;
      g.chain_name = "chipledger-dev";
      g.genesis_time_ms = NowMs();
      g.pricing = DefaultPricing();
      g.validators.push_back(node_key.Public());
      g.issuers.push_back({dev_key, std::nullopt});
      g.oracles.push_back(dev_key);
      g.balances.emplace_back(dev_key, kDevFundingUcu);
      Status s = InitDataDir(c, g, node_key);
      if (!s.ok()) return Fail(s);
      std::printf("created dev chain in %s\n", dev_dir.c_str());
    }
    Status s = LoadConfig(dev_dir, "", dev_over, &c);
    if (!s.ok()) return Fail(s);
    if (Status l = SetupLogging(c); !l.ok()) return Fail(l);
    return RunNode(
        c, [&](const Node& n) { PrintDevBanner(n, wallet_dir, dev_dir, c.metrics_listen); });
  }
  return kExitUsage;
}
