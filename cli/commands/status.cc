// `chip status`: the node, its chain and tip, and on a cluster node every
// member's view (cli/cluster_view.h).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <sstream>

#include "cli/cluster_view.h"
#include "cli/commands/commands.h"
#include "cli/verify.h"
#include "ledger/address.h"

namespace chip::cli {

namespace pb = ::chipledger::v1;
using nlohmann::json;

namespace {

// How long `status` waits for each other cluster member at most.
constexpr uint64_t kClusterMemberTimeoutMsMax = 5000;

int RunStatus(Session* s) {
  const Globals& g = s->globals();
  pb::GetStatusResponse st;
  auto ctx = s->client().Context();
  grpc::Status rpc = s->client().stub()->GetStatus(ctx.get(), pb::GetStatusRequest(), &st);
  if (!rpc.ok()) return s->Fail(s->client().Error(rpc));
  auto node_key = ToHash32(st.node_key());
  json j = {{"node", g.node},
            {"chain_name", st.chain_name()},
            {"chain_id", ToHex(st.chain_id())},
            {"height", st.height()},
            {"tip_hash", ToHex(st.tip_hash())},
            {"tip_time_ms", st.tip_time_ms()},
            {"state_digest", ToHex(st.state_digest())},
            {"node_key", node_key ? EncodeAddress(*node_key) : ""},
            {"version", st.version()},
            {"uptime_ms", st.uptime_ms()},
            {"mempool_depth", st.mempool_depth()}};
  std::ostringstream o;
  o << "node          " << g.node << " (chipd " << st.version() << ", up " << st.uptime_ms() / 1000
    << " s)\n"
    << "chain         " << st.chain_name() << "  " << ToHex(st.chain_id()) << "\n"
    << "height        " << st.height() << "  at " << FormatTimeMs(st.tip_time_ms()) << "\n"
    << "tip hash      " << ToHex(st.tip_hash()) << "\n"
    << "state digest  " << ToHex(st.state_digest()) << "\n"
    << "node key      " << j["node_key"].get<std::string>() << "\n"
    << "mempool       " << st.mempool_depth() << " waiting";
  int code = kExitOk;
  if (st.cluster().enabled()) {
    ClusterView view =
        ViewCluster(g.node, st, std::min<uint64_t>(g.timeout_ms, kClusterMemberTimeoutMsMax));
    j["cluster"] = view.json;
    o << "\n" << view.human;
    // Nodes holding different blocks at one height is a verification
    // failure, like a proof that does not check.
    if (!view.agree) code = kExitVerifyFailed;
  }
  s->Print(j, o.str());
  return code;
}

}  // namespace

Command StatusCommand(CLI::App* app) {
  CLI::App* cmd = app->add_subcommand("status", "node and chain status");
  return {cmd, [](const Globals& g) {
            Session s(g);
            return RunStatus(&s);
          }};
}

}  // namespace chip::cli
