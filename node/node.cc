#include "node/node.h"

#include <fcntl.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ledger/address.h"
#include "ledger/file_util.h"
#include "node/cluster/etcd_orderer.h"
#include "node/ops/backup.h"
#include "node/order/sequencer.h"
#include "node/serve/tls.h"

namespace chip::node {

namespace pb = ::chipledger::v1;

namespace {

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

bool IsDir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

Status WriteNodeKey(const std::string& path, const SecretKey& key) {
  auto seed = key.Seed();
  nlohmann::json j = {{"address", EncodeAddress(key.Public())},
                      {"seed_hex", ToHex(seed.data(), seed.size())}};
  return WriteFileAtomic(path, j.dump(2) + "\n", 0600);
}

Result<SecretKey> ReadNodeKey(const std::string& path) {
  auto text = ReadSmallFile(path, 4096);
  if (!text.ok()) return text.status();
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("seed_hex") || !j["seed_hex"].is_string() ||
      !j.contains("address") || !j["address"].is_string()) {
    return Status::InvalidArgument(path + ": expected {\"address\": ..., \"seed_hex\": ...}");
  }
  auto seed = FromHex(j["seed_hex"].get<std::string>());
  if (!seed || seed->size() != 32)
    return Status::InvalidArgument(path + ": seed_hex must be 64 hex digits");
  std::array<uint8_t, 32> s;
  std::memcpy(s.data(), seed->data(), 32);
  SecretKey key = KeyFromSeed(s);
  if (EncodeAddress(key.Public()) != j["address"].get<std::string>()) {
    return Status::InvalidArgument(path + ": address does not match the key");
  }
  return key;
}

Status InitDataDir(const NodeConfig& config, const Genesis& genesis, const SecretKey& node_key) {
  const std::string& dir = config.data_dir;
  if (IsDir(dir + "/db")) return Status::AlreadyExists(dir + " already holds a chain (db/)");
  // Before anything is written: a value config.toml cannot hold refuses the
  // whole directory.
  auto toml = DefaultConfigToml(config);
  if (!toml.ok()) return toml.status();
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Status::IoError(Errno("mkdir " + dir));
  CHIP_RETURN_IF_ERROR(WriteNodeKey(dir + "/node_key.json", node_key));
  nlohmann::json pretty = nlohmann::json::parse(CanonicalGenesis(genesis));
  CHIP_RETURN_IF_ERROR(WriteFileAtomic(dir + "/genesis.json", pretty.dump(2) + "\n", 0644));
  CHIP_RETURN_IF_ERROR(WriteFileAtomic(dir + "/config.toml", *toml, 0644));
  auto chain = Chain::Create(dir + "/db", genesis);
  return chain.ok() ? Status::Ok() : chain.status();
}

Result<std::unique_ptr<Node>> Node::Open(const NodeConfig& config) {
  CHIP_RETURN_IF_ERROR(ValidateConfig(config));
  if (!IsDir(config.data_dir)) {
    return Status::NotFound("data directory " + config.data_dir +
                            " does not exist (create one with `chipd init`)");
  }
  std::unique_ptr<Node> node(new Node());
  node->config_ = config;
  auto key = ReadNodeKey(config.data_dir + "/node_key.json");
  if (!key.ok()) return key.status();
  node->node_key_ = std::make_unique<SecretKey>(*key);
  node->node_key_pub_ = node->node_key_->Public();
  auto chain = Chain::Open(config.data_dir + "/db");
  if (!chain.ok()) return chain.status();
  node->chain_ = std::move(*chain);
  // The genesis file beside the store must name the same chain.
  auto genesis_text = ReadSmallFile(config.data_dir + "/genesis.json", kGenesisBytesMax);
  if (genesis_text.ok()) {
    auto g = ParseGenesis(*genesis_text);
    if (!g.ok() || ChainId(*g) != node->chain_->chain_id()) {
      return Status::FailedPrecondition(config.data_dir +
                                        "/genesis.json belongs to another chain than db/");
    }
  }
  if (node->chain_->rules().validators.count(node->node_key_pub_) == 0) {
    return Status::FailedPrecondition("node key " + EncodeAddress(node->node_key_pub_) +
                                      " is not a validator in this chain's genesis");
  }
  return node;
}

Node::~Node() { Shutdown(); }

Status Node::Start() {
  // TLS files are read and checked before anything starts: a bad certificate
  // refuses the start with a message naming the file.
  auto credentials = MakeServerCredentials(ServerTlsFiles(config_), config_.listen,
                                           config_.allow_plaintext_remote || config_.allow_remote);
  if (!credentials.ok()) return credentials.status();
  spdlog::info("{}", DescribeServerTls(ServerTlsFiles(config_)));
  // The orderer exists before anything that may read it (metrics, RPCs).
  EtcdOrderer* cluster = nullptr;
  if (config_.etcd_endpoints.empty()) {
    orderer_ = std::make_unique<Sequencer>(chain_.get(), node_key_.get(), config_, &metrics_);
  } else {
    auto made = EtcdOrderer::Create(chain_.get(), node_key_.get(), config_, &metrics_);
    if (!made.ok()) return made.status();
    cluster = made->get();
    orderer_ = std::move(*made);
  }
  if (!config_.metrics_listen.empty()) {
    metrics_server_ = std::make_unique<MetricsServer>(&metrics_);
    Store* store = chain_->store();
    metrics_.SetGaugeSource([this, store](std::string* out) {
      std::ostringstream o;
      pb::BlockHeader tip = orderer_->Tip();
      o << "# TYPE chip_height gauge\nchip_height " << tip.height() << "\n";
      for (const char* prop : {"rocksdb.estimate-num-keys", "rocksdb.total-sst-files-size",
                               "rocksdb.cur-size-all-mem-tables", "rocksdb.estimate-live-data-size",
                               "rocksdb.num-running-compactions", "rocksdb.block-cache-usage",
                               "rocksdb.estimate-table-readers-mem"}) {
        if (auto v = store->IntProperty(prop)) {
          std::string name = std::string("chip_") + prop;
          for (auto& c : name) {
            if (c == '.' || c == '-') c = '_';
          }
          o << "# TYPE " << name << " gauge\n" << name << " " << *v << "\n";
        }
      }
      *out += o.str();
    });
    CHIP_RETURN_IF_ERROR(metrics_server_->Start(config_.metrics_listen));
  }
  ctx_ = std::make_unique<NodeContext>();
  ctx_->chain = chain_.get();
  ctx_->orderer = orderer_.get();
  ctx_->metrics = &metrics_;
  pending_ = std::make_unique<PendingBook>(config_.signer_pending_tx_max, &metrics_);
  ctx_->pending = pending_.get();
  limits_ = std::make_unique<ClientLimits>(
      ClientLimits::Options{config_.submit_rate_per_client, config_.submit_burst_per_client,
                            config_.connection_pending_tx_max},
      &metrics_);
  ctx_->limits = limits_.get();
  ctx_->config = config_;
  ctx_->node_key = node_key_pub_;
  ctx_->node_secret = node_key_.get();
  ctx_->started = std::chrono::steady_clock::now();
  service_ = std::make_unique<LedgerService>(ctx_.get());
  pricing_service_ = std::make_unique<PricingService>(ctx_.get());
  ledger_methods_ = LedgerMethods(service_.get(), &metrics_);
  pricing_methods_ = PricingMethods(pricing_service_.get(), &metrics_);
  // A single node orders from the start; a cluster node starts once its
  // gRPC address is known, since it advertises it to its peers.
  if (!cluster) orderer_->Start();

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // Without this, gRPC sets SO_REUSEPORT and a second chipd on the same port
  // would silently share it, each client reaching either chain at random.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  int port = 0;
  builder.AddListeningPort(config_.listen, *credentials, &port);
  builder.RegisterService(ledger_methods_.get());
  builder.RegisterService(pricing_methods_.get());
  builder.SetMaxReceiveMessageSize(static_cast<int>(config_.request_bytes_max));
  builder.SetMaxSendMessageSize(64 << 20);
  // The synchronous server ends a handler thread when more than MAX_POLLERS
  // (default 2) idle threads poll, so bursts of concurrent submissions keep
  // creating and ending threads (stacks, malloc arenas). Keeping up to 32
  // idle pollers keeps them for the next burst; rpc_threads_max still bounds
  // the total. (Its effect on CPU per transfer was within measurement noise:
  // docs/PERFORMANCE.md, "Round 3".)
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 32);
  grpc::ResourceQuota quota("chipd");
  quota.SetMaxThreads(static_cast<int>(config_.rpc_threads_max));
  builder.SetResourceQuota(quota);
  server_ = builder.BuildAndStart();
  if (!server_ || port == 0) {
    orderer_->Stop();
    // gRPC also fails here when it cannot use the TLS certificate and key:
    // node/serve/tls.cc checks only their PEM form, not that they belong together.
    if (!config_.tls_cert_file.empty()) {
      return Status::Unavailable("cannot listen on " + config_.listen +
                                 ": port in use, or the TLS certificate " + config_.tls_cert_file +
                                 " and key " + config_.tls_key_file +
                                 " do not match or are invalid");
    }
    return Status::Unavailable("cannot listen on " + config_.listen + " (port in use?)");
  }
  bound_ = config_.listen.substr(0, config_.listen.rfind(':') + 1) + std::to_string(port);
  if (cluster) {
    cluster->SetAdvertise(config_.advertise.empty() ? bound_ : config_.advertise);
    orderer_->Start();
  }
  if (Status a = StartAdmin(); !a.ok()) {
    orderer_->Stop();
    server_->Shutdown();
    return a;
  }
  spdlog::info("chipd serving chain {} ({}) at height {} on {}; metrics on {}",
               chain_->genesis().chain_name, ToHex(chain_->chain_id()).substr(0, 16),
               orderer_->Tip().height(), bound_,
               config_.metrics_listen.empty() ? "(off)" : config_.metrics_listen);
  return Status::Ok();
}

Status Node::StartAdmin() {
  std::error_code ec;
  std::string dir = std::filesystem::absolute(config_.data_dir, ec).string();
  if (ec) dir = config_.data_dir;
  const std::string path = AdminSocketPath(dir);
  if (path.size() > kUnixSocketPathMax) {
    spdlog::warn(
        "no admin socket: {} is longer than a Unix socket path may be ({} bytes), so `chipd "
        "backup` cannot reach this running node (stop it for an offline backup, or use a shorter "
        "data directory path)",
        path, kUnixSocketPathMax);
    return Status::Ok();
  }
  // A socket left by a chipd that did not stop cleanly: this process holds
  // the store's lock (Node::Open), so no other chipd serves this directory.
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return Status::FailedPrecondition(path + " exists and is not a socket: remove it");
    }
    ::unlink(path.c_str());
  }
  admin_service_ = std::make_unique<AdminService>(chain_->store(), config_.data_dir);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + path, grpc::InsecureServerCredentials());
  builder.RegisterService(admin_service_.get());
  builder.SetMaxReceiveMessageSize(static_cast<int>(kAdminRequestBytesMax));
  admin_server_ = builder.BuildAndStart();
  if (!admin_server_) return Status::Unavailable("cannot listen on the admin socket " + path);
  // Only the node's own user may ask for backups (the data directory made
  // by chipd init is 0700 as well).
  if (::chmod(path.c_str(), 0600) != 0) {
    return Status::IoError(Errno("chmod " + path));
  }
  admin_socket_ = path;
  return Status::Ok();
}

void Node::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (ctx_) ctx_->stopping.store(true);
  // Commit what is queued first: submitters waiting on it get their results
  // before the server closes their calls.
  if (orderer_) orderer_->Stop();
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    server_->Wait();
  }
  if (metrics_server_) metrics_server_->Stop();
  if (admin_server_) {
    // A backup under way finishes first (Wait): it reads the store.
    admin_server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    admin_server_->Wait();
    ::unlink(admin_socket_.c_str());
  }
  if (orderer_) spdlog::info("chipd stopped at height {}", orderer_->Tip().height());
}

}  // namespace chip::node
