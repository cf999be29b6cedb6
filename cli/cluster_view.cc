#include "cli/cluster_view.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include "cli/client.h"
#include "ledger/address.h"
#include "ledger/bytes.h"

namespace chip::cli {

namespace pb = ::chipledger::v1;

namespace {

// Members asked at the same time at most. A cluster is a handful of nodes,
// but the list comes from the node, so it is bounded here.
constexpr size_t kMemberQueriesInFlightMax = 16;

struct MemberState {
  std::string address;
  std::string node_key;  // address text
  std::unique_ptr<NodeClient> client;
  bool reachable = false;
  std::string error;
  uint64_t height = 0;
  std::string tip_hash, state_digest;  // hex
  bool block_ok = false;               // GetBlock at the common height answered
  std::string hash_at_common;          // hex block hash at the common height
};

std::string KeyText(const std::string& bytes) {
  auto k = ToHash32(bytes);
  return k ? EncodeAddress(*k) : "";
}

// Runs fn(member) for every member, up to kMemberQueriesInFlightMax at a
// time, and returns when all are done. fn touches only its own member.
template <typename Fn>
void ForEachMemberConcurrently(std::vector<MemberState>* members, const Fn& fn) {
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next.fetch_add(1); i < members->size(); i = next.fetch_add(1)) {
      fn(&(*members)[i]);
    }
  };
  std::vector<std::thread> pool;
  const size_t threads = std::min(members->size(), kMemberQueriesInFlightMax);
  for (size_t t = 0; t < threads; ++t) pool.emplace_back(work);
  for (auto& t : pool) t.join();
}

}  // namespace

ClusterView ViewCluster(const std::string& self, const pb::GetStatusResponse& status,
                        uint64_t timeout_ms) {
  const pb::ClusterStatus& c = status.cluster();
  std::vector<MemberState> members;
  for (const auto& m : c.members()) {
    MemberState s;
    s.address = m.address();
    s.node_key = KeyText(m.node_key());
    members.push_back(std::move(s));
  }
  // The output lists members in this order, whatever order answers come in.
  std::sort(members.begin(), members.end(),
            [](const MemberState& a, const MemberState& b) { return a.address < b.address; });
  // Every member is asked at once, so an unreachable one costs one timeout
  // in all rather than one each.
  ForEachMemberConcurrently(&members, [&](MemberState* m) {
    m->client = std::make_unique<NodeClient>(m->address, timeout_ms);
    pb::GetStatusResponse st;
    auto ctx = m->client->Context();
    grpc::Status s = m->client->stub()->GetStatus(ctx.get(), pb::GetStatusRequest(), &st);
    if (!s.ok()) {
      m->error = s.error_message();
      return;
    }
    if (st.chain_id() != status.chain_id()) {
      m->error = "serves another chain";
      return;
    }
    m->reachable = true;
    m->height = st.height();
    m->tip_hash = ToHex(st.tip_hash());
    m->state_digest = ToHex(st.state_digest());
  });
  std::optional<uint64_t> common;
  for (const auto& m : members) {
    if (m.reachable) common = std::min(common.value_or(m.height), m.height);
  }
  ClusterView view;
  std::string agreed_hash;
  if (common) {
    ForEachMemberConcurrently(&members, [&](MemberState* m) {
      if (!m->reachable) return;
      pb::GetBlockRequest req;
      req.set_height(*common);
      pb::GetBlockResponse resp;
      auto ctx = m->client->Context();
      grpc::Status s = m->client->stub()->GetBlock(ctx.get(), req, &resp);
      if (!s.ok()) {
        m->error = s.error_message();
        return;
      }
      m->block_ok = true;
      m->hash_at_common = ToHex(resp.block_hash());
    });
    // The first reachable member (in address order) sets the hash the
    // others must match.
    for (auto& m : members) {
      if (!m.reachable) continue;
      if (!m.block_ok) {
        m.reachable = false;
        continue;
      }
      if (agreed_hash.empty()) agreed_hash = m.hash_at_common;
      if (m.hash_at_common != agreed_hash) view.agree = false;
    }
  }
  const std::string producer = c.producer().address();
  nlohmann::json list = nlohmann::json::array();
  std::ostringstream o;
  o << "cluster       " << members.size() << " nodes registered; producer "
    << (producer.empty() ? "(none elected)" : producer) << "; etcd tip " << c.etcd_tip() << "\n";
  if (!c.etcd_error().empty()) o << "etcd          " << c.etcd_error() << "\n";
  if (!c.refused_block().empty()) o << "refused       " << c.refused_block() << "\n";
  for (const auto& m : members) {
    nlohmann::json j = {{"address", m.address},
                        {"node_key", m.node_key},
                        {"producer", m.address == producer},
                        {"reachable", m.reachable}};
    o << (m.address == producer ? "  * " : "    ") << m.address;
    if (m.reachable) {
      j["height"] = m.height;
      j["tip_hash"] = m.tip_hash;
      j["state_digest"] = m.state_digest;
      o << "  height " << m.height << "  digest " << m.state_digest.substr(0, 16) << "  tip "
        << m.tip_hash.substr(0, 16);
    } else {
      j["error"] = m.error;
      o << "  unreachable: " << m.error;
    }
    if (m.address == self) o << "  (this node)";
    o << "\n";
    list.push_back(j);
  }
  if (!common) {
    o << "agree         unknown: no member answered";
  } else if (view.agree) {
    o << "agree         yes: every reachable node holds block " << *common << " "
      << agreed_hash.substr(0, 16);
  } else {
    o << "agree         NO: nodes hold different blocks at height " << *common;
  }
  view.json = {{"producer", producer},
               {"etcd_tip", c.etcd_tip()},
               {"etcd_error", c.etcd_error()},
               {"refused_block", c.refused_block()},
               {"refused_blocks_total", c.refused_blocks_total()},
               {"peer_catchup_blocks_total", c.peer_catchup_blocks_total()},
               {"members", list},
               {"agree", view.agree},
               {"common_height", common.value_or(0)}};
  view.human = o.str();
  return view;
}

}  // namespace chip::cli
