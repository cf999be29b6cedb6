// `chip status` on a cluster node: asks every member the node knows of for
// its height, tip and state digest, and checks that they agree (the same
// block at the lowest height any of them has reached).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "chipledger/v1/ledger.pb.h"

namespace chip::cli {

struct ClusterView {
  nlohmann::json json;
  std::string human;
  // False when two reachable nodes hold different blocks at the height they
  // all reached (a divergence); unreachable members do not count.
  bool agree = true;
};

// `self` is the node that answered `status`; `timeout_ms` bounds each call.
// Members are asked concurrently (their status, then their block at the
// common height; up to 16 at a time), so members that are down cost about
// one timeout per round rather than one each. The output lists members in
// address order.
ClusterView ViewCluster(const std::string& self, const chipledger::v1::GetStatusResponse& status,
                        uint64_t timeout_ms);

}  // namespace chip::cli
