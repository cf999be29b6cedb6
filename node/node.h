// A running chipd: the chain, the orderer, the gRPC server (Ledger, health,
// reflection) and the metrics endpoint. Data directory layout:
//   <data_dir>/config.toml    settings (flags override)
//   <data_dir>/genesis.json   the chain's genesis (canonical form)
//   <data_dir>/node_key.json  the node's Ed25519 key (mode 0600)
//   <data_dir>/db/            RocksDB store
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "ledger/chain.h"
#include "ledger/file_util.h"
#include "node/ops/config.h"
#include "node/ops/metrics.h"
#include "node/order/orderer.h"
#include "node/serve/admin_service.h"
#include "node/serve/ledger_service.h"
#include "node/serve/pricing_service.h"

namespace chip::node {

// Node key file: {"address": "chip...", "seed_hex": "<64 hex>"}.
Status WriteNodeKey(const std::string& path, const SecretKey& key);
Result<SecretKey> ReadNodeKey(const std::string& path);

// Creates a data directory: node key, genesis, config, and the store with
// block 0. AlreadyExists if the directory already holds a store.
Status InitDataDir(const NodeConfig& config, const Genesis& genesis, const SecretKey& node_key);

class Node {
 public:
  // Opens <data_dir>: refuses a missing directory, a missing or foreign
  // store, a node key that is not a validator of its genesis.
  static Result<std::unique_ptr<Node>> Open(const NodeConfig& config);
  ~Node();

  // Starts metrics, the orderer (single-node or cluster) and the gRPC server.
  Status Start();
  // Stops accepting, commits the queued block(s), stops the server cleanly.
  void Shutdown();

  const Chain& chain() const { return *chain_; }
  const PublicKey& node_key() const { return node_key_pub_; }
  // The address the gRPC server is bound to (host:port, port resolved).
  const std::string& bound_address() const { return bound_; }

 private:
  Node() = default;
  NodeConfig config_;
  std::unique_ptr<Chain> chain_;
  std::unique_ptr<SecretKey> node_key_;
  PublicKey node_key_pub_{};
  Metrics metrics_;
  std::unique_ptr<MetricsServer> metrics_server_;
  std::unique_ptr<Orderer> orderer_;
  std::unique_ptr<PendingBook> pending_;
  std::unique_ptr<ClientLimits> limits_;
  std::unique_ptr<NodeContext> ctx_;
  std::unique_ptr<LedgerService> service_;
  std::unique_ptr<PricingService> pricing_service_;
  // What the gRPC server registers: the two services' methods.
  std::unique_ptr<ParsedRequestService> ledger_methods_;
  std::unique_ptr<ParsedRequestService> pricing_methods_;
  std::unique_ptr<grpc::Server> server_;
  // The admin socket (node/serve/admin_service.h): NodeAdmin for the node's
  // own user.
  Status StartAdmin();
  std::unique_ptr<AdminService> admin_service_;
  std::unique_ptr<grpc::Server> admin_server_;
  std::string admin_socket_;
  std::string bound_;
  bool shut_down_ = false;
};

}  // namespace chip::node
