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
  // Plaintext off loopback: the gRPC port without TLS, or metrics (always
  // plain HTTP), on a non-loopback address needs allow_plaintext_remote.
  // allow_remote is its older name and means the same.
  bool allow_plaintext_remote = false;
  bool allow_remote = false;
  // TLS of the gRPC port (node/serve/tls.h, docs/OPERATIONS.md "TLS"), PEM files.
  // No certificate: plaintext. A client CA: clients are asked for a
  // certificate signed by it, and must present one if tls_require_client_cert.
  std::string tls_cert_file;  // certificate chain, the node's own first
  std::string tls_key_file;   // its private key, unencrypted
  std::string tls_client_ca_file;
  bool tls_require_client_cert = false;
  uint32_t block_interval_ms = 0;  // 0: group commit; N: cut N ms after the first tx
  uint32_t block_tx_max = 5'000;   // or when this many txs wait
  uint32_t mempool_tx_max = 100'000;
  // Transactions of one signer admitted and not yet committed, at most; a
  // submission beyond it gets RESOURCE_EXHAUSTED (docs/PROTOCOL.md, "Admission").
  uint32_t signer_pending_tx_max = 10'000;
  // Per client (its certificate's common name, else its IP address): at most
  // submit_rate_per_client transactions a second, in bursts of at most
  // submit_burst_per_client; 0 turns the rate limit off. Per connection: at
  // most connection_pending_tx_max transactions waiting for their results.
  uint32_t submit_rate_per_client = 0;
  uint32_t submit_burst_per_client = 2'000;
  uint32_t connection_pending_tx_max = 100'000;
  uint32_t request_bytes_max = 4 << 20;  // largest gRPC request accepted
  uint32_t submit_batch_tx_max = 1'000;
  uint32_t streams_max = 64;  // concurrent StreamBlocks calls
  uint32_t rpc_threads_max = 256;
  // Free space kept on the data directory's filesystem: below it the node
  // refuses new transactions (RESOURCE_EXHAUSTED) and keeps serving reads,
  // instead of letting RocksDB run out of space mid-write.
  uint32_t disk_reserve_mb = 64;
  // Cluster (docs/OPERATIONS.md, "Running a cluster"). Empty etcd_endpoints:
  // a single node that orders its blocks itself.
  std::string etcd_endpoints;  // "host:port,host:port,..." of the etcd members
  // The gRPC host:port other nodes and clients use to reach this node; ""
  // means the bound listen address.
  std::string advertise;
  // TLS to etcd: the CA of the members' certificates, and this node's
  // client certificate and key (PEM files); empty: plaintext.
  std::string etcd_tls_ca_file, etcd_tls_cert_file, etcd_tls_key_file;
  uint32_t etcd_lease_ttl_s = 3;  // producer lease: failover takes about this long
  uint32_t etcd_call_timeout_ms = 3'000;
  // Blocks kept in etcd; a node further behind catches up from a peer.
  uint32_t etcd_window_blocks = 1'000;
  // The producer defragments one etcd member (in turn) this often, giving
  // the space of compacted blocks back to the filesystem; 0: never.
  uint32_t etcd_defrag_interval_s = 600;
  // Largest block (serialized) a cluster producer puts into etcd: etcd stays
  // fast with small values (tens of KiB) and refuses requests over 1.5 MiB.
  uint32_t cluster_block_bytes_max = 64 * 1024;
  std::string log_level = "info";
  std::string log_file;  // "" = stderr only
};

// Reads `path` (TOML) over `config`. Unknown keys, wrong types and values out
// of range are InvalidArgument naming the key; so is a file that is not
// ASCII (strings reach other characters through \u and \U escapes).
Status LoadConfigFile(const std::string& path, NodeConfig* config);
// Checks cross-field rules (ranges; plaintext only on loopback unless
// allow_plaintext_remote; TLS files given as complete sets). Does not read
// the TLS files: node/serve/tls.h does, when the server starts.
Status ValidateConfig(const NodeConfig& config);
// The TOML text `chipd init` writes, with every key and its value in
// `config`. It is ASCII (non-ASCII characters of strings as \u or \U
// escapes), and LoadConfigFile reads it back to the same values.
// InvalidArgument naming the key when a string value is not UTF-8 (a TOML
// file cannot hold such bytes), or when the text would be larger than
// LoadConfigFile reads (64 KiB).
Result<std::string> DefaultConfigToml(const NodeConfig& config);
// True for 127.0.0.0/8, ::1 and "localhost".
bool IsLoopback(const std::string& host_port);

}  // namespace chip::node
