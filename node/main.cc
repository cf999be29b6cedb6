// chipd: the Chipledger node. Subcommands: init, start, dev, devnet, backup,
// restore; --version.
// Exit codes: 0 clean stop, 1 refused or failed at runtime, 2 usage error.
#include <signal.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include "ledger/address.h"
#include "ledger/amount.h"
#include "ledger/crypto.h"
#include "ledger/pricing/catalog.h"
#include "node/node.h"
#include "node/ops/backup_command.h"
#include "node/ops/devnet.h"
#include "node/ops/malloc_tuning.h"
#include "wallet/keystore.h"

using namespace chip;
using namespace chip::node;

namespace {

constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;
constexpr uint64_t kDevFundingUcu = 1'000'000ull * kUcuPerCu;  // 1,000,000 CU
// The dev chain's equity fund: 1% (100 basis points) of every settlement,
// paid out to the members every 60 s. No share of mints: on a dev chain the
// dev key mints test money, and a recipient expects what was minted.
constexpr uint64_t kDevFundLevyBps = 100;
constexpr uint64_t kDevFundEpochMs = 60'000;
// --fund-epoch-ms at most a year: a dev chain wants to see dividends.
constexpr uint64_t kFundEpochMsFlagMax = 366ull * 86'400'000;

// `--fund-epoch-ms` of dev and devnet: the epoch of a chain they create.
void AddFundEpochOption(CLI::App* cmd, uint64_t* epoch_ms) {
  *epoch_ms = kDevFundEpochMs;
  cmd->add_option(
         "--fund-epoch-ms", *epoch_ms,
         "a new chain's equity-fund epoch (default 60000; an existing chain keeps its own)")
      ->check(CLI::Range(uint64_t{1}, kFundEpochMsFlagMax));
}

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
  MallocTrimmer trimmer;  // signals are blocked here, so its thread inherits the mask
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
  std::string tls_cert, tls_key, tls_client_ca;
  bool tls_require_client_cert = false, allow_plaintext_remote = false;
  std::optional<uint32_t> block_interval_ms;
  uint32_t block_tx_max = 0, mempool_tx_max = 0, signer_pending_tx_max = 0;
  std::optional<uint32_t> submit_rate_per_client;
  uint32_t submit_burst_per_client = 0, connection_pending_tx_max = 0;
  std::optional<uint32_t> disk_reserve_mb;
  std::string etcd, advertise, etcd_tls_ca, etcd_tls_cert, etcd_tls_key;
  uint32_t etcd_lease_ttl_s = 0, etcd_window_blocks = 0, cluster_block_bytes_max = 0;
  std::optional<uint32_t> etcd_defrag_interval_s;
  void Register(CLI::App* cmd) {
    cmd->add_option("--etcd", etcd,
                    "join a cluster: etcd members host:port,host:port,... (docs/OPERATIONS.md)");
    cmd->add_option("--advertise", advertise,
                    "gRPC host:port peers use to reach this node (default: the listen address)");
    cmd->add_option("--etcd-tls-ca", etcd_tls_ca, "TLS to etcd: CA of the members (PEM)");
    cmd->add_option("--etcd-tls-cert", etcd_tls_cert, "TLS to etcd: this node's certificate");
    cmd->add_option("--etcd-tls-key", etcd_tls_key, "TLS to etcd: its key");
    cmd->add_option("--etcd-lease-ttl-s", etcd_lease_ttl_s, "producer lease TTL (default 3)")
        ->check(CLI::Range(1, 60));
    cmd->add_option("--etcd-window-blocks", etcd_window_blocks,
                    "recent blocks kept in etcd (default 1000)")
        ->check(CLI::Range(2, 1000000));
    cmd->add_option("--cluster-block-bytes-max", cluster_block_bytes_max,
                    "largest block put into etcd (default 65536)")
        ->check(CLI::Range(4096, 1 << 20));
    cmd->add_option("--etcd-defrag-interval-s", etcd_defrag_interval_s,
                    "producer defragments one etcd member in turn this often; 0 never (600)");
    cmd->add_option("--disk-reserve-mb", disk_reserve_mb,
                    "free space to keep; below it writes are refused (default 64)");
    cmd->add_option("--block-tx-max", block_tx_max, "cut a block when this many txs wait")
        ->check(CLI::Range(1, 10000));
    cmd->add_option("--mempool-tx-max", mempool_tx_max, "transactions waiting at most")
        ->check(CLI::Range(1, 10000000));
    cmd->add_option("--submit-rate-per-client", submit_rate_per_client,
                    "transactions/s one client may submit; 0 = no limit (default 0)")
        ->check(CLI::Range(0, 10000000));
    cmd->add_option("--submit-burst-per-client", submit_burst_per_client,
                    "the rate limit's burst, transactions (default 2000)")
        ->check(CLI::Range(1, 10000000));
    cmd->add_option("--connection-pending-tx-max", connection_pending_tx_max,
                    "one connection's transactions waiting for results (default 100000)")
        ->check(CLI::Range(1, 10000000));
    cmd->add_option("--signer-pending-tx-max", signer_pending_tx_max,
                    "one signer's admitted, uncommitted transactions at most (default 10000)")
        ->check(CLI::Range(1, 10000000));
    cmd->add_option("--listen", listen, "gRPC address host:port (default 127.0.0.1:7700)");
    cmd->add_option("--metrics-listen", metrics_listen,
                    "Prometheus address (default 127.0.0.1:7701)");
    cmd->add_flag("--no-metrics", no_metrics, "do not serve metrics");
    cmd->add_flag("--allow-remote", allow_remote, "older name of --allow-plaintext-remote");
    cmd->add_flag("--allow-plaintext-remote", allow_plaintext_remote,
                  "allow plaintext gRPC (no TLS) or metrics on non-loopback addresses");
    cmd->add_option("--tls-cert", tls_cert, "serve gRPC over TLS with this PEM certificate chain");
    cmd->add_option("--tls-key", tls_key, "the PEM private key of --tls-cert (unencrypted)");
    cmd->add_option("--tls-client-ca", tls_client_ca,
                    "ask clients for a certificate signed by this PEM CA");
    cmd->add_flag("--tls-require-client-cert", tls_require_client_cert,
                  "refuse clients without such a certificate (needs --tls-client-ca)");
    cmd->add_option("--block-interval-ms", block_interval_ms,
                    "0: group commit (cut a block when idle); N: cut N ms after its first tx")
        ->check(CLI::Range(0, 60000));
    cmd->add_option("--log-level", log_level, "trace|debug|info|warn|error|off");
    cmd->add_option("--log-file", log_file, "also log to this file");
  }
  void Apply(NodeConfig* c) const {
    if (!listen.empty()) c->listen = listen;
    if (!metrics_listen.empty()) c->metrics_listen = metrics_listen;
    if (no_metrics) c->metrics_listen.clear();
    if (allow_remote) c->allow_remote = true;
    if (allow_plaintext_remote) c->allow_plaintext_remote = true;
    // Absolute, so that the config.toml written by init (and dev) still
    // finds the files when chipd later runs from another directory.
    auto absolute = [](const std::string& p) {
      std::error_code ec;
      auto a = std::filesystem::absolute(p, ec);
      return ec ? p : a.string();
    };
    if (!tls_cert.empty()) c->tls_cert_file = absolute(tls_cert);
    if (!tls_key.empty()) c->tls_key_file = absolute(tls_key);
    if (!tls_client_ca.empty()) c->tls_client_ca_file = absolute(tls_client_ca);
    if (tls_require_client_cert) c->tls_require_client_cert = true;
    if (block_interval_ms) c->block_interval_ms = *block_interval_ms;
    if (block_tx_max != 0) {
      c->block_tx_max = block_tx_max;
      c->submit_batch_tx_max = std::min(c->submit_batch_tx_max, block_tx_max);
    }
    if (mempool_tx_max != 0) c->mempool_tx_max = mempool_tx_max;
    if (signer_pending_tx_max != 0) c->signer_pending_tx_max = signer_pending_tx_max;
    if (submit_rate_per_client) c->submit_rate_per_client = *submit_rate_per_client;
    if (submit_burst_per_client != 0) c->submit_burst_per_client = submit_burst_per_client;
    if (connection_pending_tx_max != 0) c->connection_pending_tx_max = connection_pending_tx_max;
    if (disk_reserve_mb) c->disk_reserve_mb = *disk_reserve_mb;
    if (!log_level.empty()) c->log_level = log_level;
    if (!log_file.empty()) c->log_file = log_file;
    if (!etcd.empty()) c->etcd_endpoints = etcd;
    if (!advertise.empty()) c->advertise = advertise;
    if (!etcd_tls_ca.empty()) c->etcd_tls_ca_file = absolute(etcd_tls_ca);
    if (!etcd_tls_cert.empty()) c->etcd_tls_cert_file = absolute(etcd_tls_cert);
    if (!etcd_tls_key.empty()) c->etcd_tls_key_file = absolute(etcd_tls_key);
    if (etcd_lease_ttl_s != 0) c->etcd_lease_ttl_s = etcd_lease_ttl_s;
    if (etcd_window_blocks != 0) c->etcd_window_blocks = etcd_window_blocks;
    if (cluster_block_bytes_max != 0) c->cluster_block_bytes_max = cluster_block_bytes_max;
    if (etcd_defrag_interval_s) c->etcd_defrag_interval_s = *etcd_defrag_interval_s;
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

// The wallet's 'dev' key, created (unprotected: it guards nothing) for a new
// chain. A chain that exists already needs the wallet it was made with.
Result<PublicKey> EnsureDevKey(const std::string& wallet_dir, bool fresh_chain,
                               const std::string& chain_dir) {
  wallet::Keystore ks(wallet_dir);
  auto info = ks.Info("dev");
  if (info.ok()) return info->key;
  if (info.status().code() != Status::Code::kNotFound) return info.status();
  if (!fresh_chain) {
    return Status::FailedPrecondition(
        chain_dir + " holds a dev chain, but wallet " + wallet_dir +
        " has no 'dev' key: pass the --wallet it was created with (or remove " + chain_dir +
        " to start a new chain)");
  }
  SecretKey k = GenerateKey();
  // Stored under the empty passphrase, marked unprotected so `chip` does not
  // prompt; cheap KDF since it guards nothing.
  auto made = ks.Import("dev", k.Seed(), "", /*is_protected=*/false, wallet::KdfCost::Minimum());
  if (!made.ok()) return made.status();
  std::printf("created development key 'dev' %s in %s\n", made->address.c_str(),
              wallet_dir.c_str());
  return made->key;
}

// A development genesis: `validators` produce, the dev key issues, observes
// prices and holds the initial funds.
Genesis DevGenesis(const std::string& name, const std::vector<PublicKey>& validators,
                   const PublicKey& dev_key, uint64_t fund_epoch_ms) {
  Genesis g;
  g.chain_name = name;
  g.genesis_time_ms = NowMs();
  g.pricing = DefaultPricing();
  g.validators = validators;
  g.issuers.push_back({dev_key, std::nullopt});
  g.oracles.push_back(dev_key);
  g.balances.emplace_back(dev_key, kDevFundingUcu);
  // A small equity fund (docs/FUND.md) so that a newcomer sees a dividend
  // within minutes: 1% of every settlement, paid out every minute, with the
  // dev key registering members.
  FundRules fund;
  fund.settle_levy_bps = kDevFundLevyBps;
  fund.mint_share_bps = 0;
  fund.epoch_ms = fund_epoch_ms;
  fund.registrars.insert(dev_key);
  g.fund = fund;
  return g;
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
      "  chip history dev\n"
      "  chip fund register alice --from dev   # the equity fund: 1%% of every\n"
      "  chip fund                             # settlement, paid out every minute\n\n"
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
  TuneMalloc();
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
  uint64_t dev_fund_epoch_ms = 0;
  AddFundEpochOption(dev, &dev_fund_epoch_ms);
  Overrides dev_over;
  dev_over.Register(dev);

  // --- devnet ---
  auto* devnet = app.add_subcommand(
      "devnet", "run a local cluster: 3 etcd members and N nodes on loopback (Ctrl-C stops all)");
  DevnetOptions net;
  net.dir = ".chipdevnet";
  std::string net_wallet;
  devnet->add_option("--nodes", net.nodes, "number of chipd nodes, 1..7 (default 3)")
      ->check(CLI::Range(size_t{1}, kDevnetNodesMax));
  devnet->add_option("--dir", net.dir, "devnet directory (default ./.chipdevnet)");
  devnet->add_option("--wallet", net_wallet,
                     "chip wallet directory (default $CHIP_HOME or ~/.chip)");
  devnet
      ->add_option("--base-port", net.base_port,
                   "node i serves gRPC on base+2i, metrics on base+2i+1 (default 7710)")
      ->check(CLI::Range(1024, 65000));
  devnet
      ->add_option("--etcd-base-port", net.etcd_base_port,
                   "etcd member j: client base+2j, peer base+2j+1 (default 23790)")
      ->check(CLI::Range(1024, 65000));
  devnet->add_option("--etcd-binary", net.etcd_path, "etcd to run (default /usr/bin/etcd)");
  devnet->add_option("--log-level", net.log_level, "nodes' log level (default info)");
  devnet->add_option("--node-flag", net.node_flags,
                     "extra flag for every node's chipd start (repeatable)");
  uint64_t net_fund_epoch_ms = 0;
  AddFundEpochOption(devnet, &net_fund_epoch_ms);

  // --- backup / restore ---
  auto* backup = app.add_subcommand(
      "backup", "write a consistent backup of a data directory, its node running or stopped");
  std::string backup_dir, backup_to;
  bool backup_json = false;
  backup->add_option("--data-dir", backup_dir, "the node's data directory")->required();
  backup->add_option("--to", backup_to, "new directory for the backup (must not exist)")
      ->required();
  backup->add_flag("--json", backup_json, "print the backup's manifest as JSON");
  auto* restore =
      app.add_subcommand("restore", "make a new data directory from a backup, and check it");
  std::string restore_from, restore_dir;
  bool restore_json = false;
  restore->add_option("--from", restore_from, "a directory written by chipd backup")->required();
  restore->add_option("--data-dir", restore_dir, "new (or empty) data directory")->required();
  restore->add_flag("--json", restore_json, "print the restored tip as JSON");

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

  if (*backup) return RunBackupCommand(backup_dir, backup_to, backup_json);
  if (*restore) return RunRestoreCommand(restore_from, restore_dir, restore_json);

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
    auto dev_key_or = EnsureDevKey(wallet_dir, fresh, dev_dir);
    if (!dev_key_or.ok()) return Fail(dev_key_or.status());
    const PublicKey dev_key = *dev_key_or;
    NodeConfig c;
    if (fresh) {
      c.data_dir = dev_dir;
      dev_over.Apply(&c);
      Status v = ValidateConfig(c);
      if (!v.ok()) return Fail(v);
      SecretKey node_key = GenerateKey();
      Genesis g = DevGenesis("chipledger-dev", {node_key.Public()}, dev_key, dev_fund_epoch_ms);
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
  if (*devnet) {
    net.wallet_dir = net_wallet.empty() ? DefaultWalletDir() : net_wallet;
    char self[4096];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) return Fail(Status::Internal("cannot find this chipd binary"));
    net.chipd_path.assign(self, static_cast<size_t>(n));
    struct stat st;
    if (::mkdir(net.dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return Fail(Status::IoError("mkdir " + net.dir + ": " + std::strerror(errno)));
    }
    size_t existing = 0;
    while (::stat((DevnetNodeDir(net, existing) + "/db").c_str(), &st) == 0) ++existing;
    if (existing != 0 && existing != net.nodes) {
      return Fail(Status::FailedPrecondition(
          net.dir + " holds a devnet of " + std::to_string(existing) + " nodes; pass --nodes " +
          std::to_string(existing) + " (or remove " + net.dir + " to start a new one)"));
    }
    auto dev_key = EnsureDevKey(net.wallet_dir, existing == 0, net.dir);
    if (!dev_key.ok()) return Fail(dev_key.status());
    if (existing == 0) {
      std::vector<SecretKey> keys;
      std::vector<PublicKey> validators;
      for (size_t i = 0; i < net.nodes; ++i) {
        keys.push_back(GenerateKey());
        validators.push_back(keys.back().Public());
      }
      Genesis g = DevGenesis("chipledger-devnet", validators, *dev_key, net_fund_epoch_ms);
      for (size_t i = 0; i < net.nodes; ++i) {
        NodeConfig c;
        c.data_dir = DevnetNodeDir(net, i);
        c.listen = DevnetNodeAddress(net, i);
        c.metrics_listen = DevnetMetricsAddress(net, i);
        c.etcd_endpoints = DevnetEtcdEndpoints(net);
        Status s = InitDataDir(c, g, keys[i]);
        if (!s.ok()) return Fail(s);
      }
      std::printf("created devnet chain %s... with %zu validators in %s\n",
                  ToHex(ChainId(g)).substr(0, 16).c_str(), net.nodes, net.dir.c_str());
    }
    return RunDevnet(net, signals);
  }
  return kExitUsage;
}
