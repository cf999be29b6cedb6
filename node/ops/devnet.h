// chipd devnet: a whole cluster on one machine for development and
// integration tests. A supervisor process starts a 3-member etcd cluster (own
// ports and data directories, never etcd's default 2379/2380) and N chipd
// nodes (`chipd start --etcd ...` children), prints every endpoint, and on
// SIGINT/SIGTERM stops the nodes, then etcd, cleanly. Layout of its directory:
//   <dir>/etcd/m<j>/        etcd member j's data; <dir>/etcd/m<j>.log its log
//   <dir>/node<i>/          node i's data directory (made by chipd init)
//   <dir>/node<i>/chipd.log node i's log
#pragma once

#include <signal.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ledger/status.h"

namespace chip::node {

inline constexpr size_t kDevnetNodesMax = 7;
inline constexpr size_t kDevnetEtcdMembers = 3;

struct DevnetOptions {
  std::string dir;
  size_t nodes = 3;
  uint16_t base_port = 7710;        // node i: gRPC base+2i, metrics base+2i+1
  uint16_t etcd_base_port = 23790;  // member j: client base+2j, peer base+2j+1
  std::string chipd_path;           // the chipd binary to start nodes with
  std::string etcd_path = "/usr/bin/etcd";
  std::string wallet_dir;  // printed in the banner
  std::string log_level = "info";
  // Extra flags for every node (e.g. --etcd-window-blocks 20).
  std::vector<std::string> node_flags;
};

// "127.0.0.1:p,..." of the devnet's etcd members.
std::string DevnetEtcdEndpoints(const DevnetOptions& o);
std::string DevnetNodeDir(const DevnetOptions& o, size_t i);
std::string DevnetNodeAddress(const DevnetOptions& o, size_t i);
std::string DevnetMetricsAddress(const DevnetOptions& o, size_t i);

// Runs the devnet (node directories must exist) until one of `signals`
// arrives (they must be blocked in every thread). Returns the process exit
// code: 0 after a clean stop, 1 when something could not start.
int RunDevnet(const DevnetOptions& o, const sigset_t& signals);

}  // namespace chip::node
