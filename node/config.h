// Node configuration: defaults, then <data_dir>/config.toml, then flags.
#pragma once

#include <cstdint>
#include <string>

#include "ledger/status.h"

namespace chip::node {

constexpr const char* kDefaultListen = "127.0.0.1:7700";
constexpr const char* kDefaultMetricsListen = "127.0.0.1:7701";

struct NodeConfig {
  std::string data_dir;
  std::string listen = kDefaultListen;                 // gRPC host:port
  std::string metrics_listen = kDefaultMetricsListen;  // Prometheus host:port; "" = off
  // Listening on a non-loopback address needs this: traffic is plaintext.
  bool allow_remote = false;
  uint32_t block_interval_ms = 20;  // cut a block this long after its first tx
  uint32_t block_tx_max = 5'000;    // or when this many txs wait
  uint32_t mempool_tx_max = 100'000;
  uint32_t request_bytes_max = 4 << 20;  // largest gRPC request accepted
  uint32_t submit_batch_tx_max = 1'000;
  uint32_t streams_max = 64;  // concurrent StreamBlocks calls
  uint32_t rpc_threads_max = 256;
  // Free space kept on the data directory's filesystem: below it the node
  // refuses new transactions (RESOURCE_EXHAUSTED) and keeps serving reads,
  // instead of letting RocksDB run out of space mid-write.
  uint32_t disk_reserve_mb = 64;
  std::string log_level = "info";
  std::string log_file;  // "" = stderr only
};

// Reads `path` (TOML) over `config`. Unknown keys, wrong types and values out
// of range are InvalidArgument naming the key.
Status LoadConfigFile(const std::string& path, NodeConfig* config);
// Checks cross-field rules (ranges, loopback unless allow_remote).
Status ValidateConfig(const NodeConfig& config);
// The TOML text `chipd init` writes, with every key and its default.
std::string DefaultConfigToml(const NodeConfig& config);
// True for 127.0.0.0/8, ::1 and "localhost".
bool IsLoopback(const std::string& host_port);

}  // namespace chip::node
