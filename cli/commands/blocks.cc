// `chip blocks [HEIGHT]`: recent blocks, or one block with its transactions.
#include <CLI/CLI.hpp>
#include <memory>
#include <optional>

#include "cli/commands/commands.h"
#include "ledger/address.h"
#include "ledger/tx.h"

namespace chip::cli {

namespace pb = ::chipledger::v1;
using nlohmann::json;

namespace {

struct BlocksFlags {
  uint64_t height = 0;
  uint64_t before = 0;
  uint32_t limit = 20;
  CLI::Option* height_given = nullptr;
};

json HeaderJson(const pb::BlockHeader& h, const std::string& hash) {
  auto producer = ToHash32(h.producer());
  return {{"height", h.height()},
          {"block_hash", ToHex(hash)},
          {"prev_hash", ToHex(h.prev_hash())},
          {"timestamp_ms", h.timestamp_ms()},
          {"tx_count", h.tx_count()},
          {"producer", producer ? EncodeAddress(*producer) : ""},
          {"state_digest", ToHex(h.state_digest())}};
}

std::string HeaderLine(const pb::BlockHeader& h, const std::string& hash) {
  return "#" + std::to_string(h.height()) + "  " + FormatTimeMs(h.timestamp_ms()) + "  " +
         std::to_string(h.tx_count()) + " txs  " + ToHex(hash).substr(0, 16);
}

int ShowBlock(Session* s, uint64_t height) {
  pb::GetBlockRequest req;
  req.set_height(height);
  pb::GetBlockResponse resp;
  auto ctx = s->client().Context();
  grpc::Status rpc = s->client().stub()->GetBlock(ctx.get(), req, &resp);
  if (!rpc.ok()) return s->Fail(s->client().Error(rpc));
  const auto& h = resp.block().header();
  json txs = json::array();
  std::string human = HeaderLine(h, resp.block_hash()) + "\n";
  // The hashes need the chain id; a node that does not give one is an error,
  // not a crash.
  std::optional<Hash32> chain_id;
  if (resp.block().txs_size() > 0) {
    chain_id = ToHash32(s->NodeStatus().chain_id());
    if (!chain_id) {
      if (!s->status_ok()) return s->Fail(s->client().Error(s->status_error()));
      return s->Fail(kExitError, "the node gave no 32-byte chain id");
    }
  }
  for (int i = 0; i < resp.block().txs_size(); ++i) {
    const auto& tx = resp.block().txs(i);
    Hash32 hash = TxHash(*chain_id, tx.body());
    json body = BodyJson(tx.body());
    // A block from a misbehaving node may hold fewer results than txs.
    const pb::ResultCode code =
        i < resp.block().results_size() ? resp.block().results(i) : pb::RESULT_UNSPECIFIED;
    txs.push_back({{"tx_hash", ToHex(hash)}, {"code", ResultName(code)}, {"body", body}});
    human += "  " + std::to_string(i) + "  " + ToHex(hash).substr(0, 16) + "  " +
             body["kind"].get<std::string>() + "  " + ResultName(code) + "\n";
  }
  json j = HeaderJson(h, resp.block_hash());
  j["txs"] = txs;
  s->Print(j, human);
  return kExitOk;
}

int ListBlocks(Session* s, uint64_t before_height, uint32_t limit) {
  pb::ListBlocksRequest req;
  req.set_page_size(limit);
  req.set_before_height(before_height);
  pb::ListBlocksResponse resp;
  auto ctx = s->client().Context();
  grpc::Status rpc = s->client().stub()->ListBlocks(ctx.get(), req, &resp);
  if (!rpc.ok()) return s->Fail(s->client().Error(rpc));
  json arr = json::array();
  std::string human;
  for (const auto& b : resp.blocks()) {
    arr.push_back(HeaderJson(b.header(), b.block_hash()));
    human += HeaderLine(b.header(), b.block_hash()) + "\n";
  }
  s->Print(arr, human);
  return kExitOk;
}

int RunBlocks(Session* s, const BlocksFlags& f) {
  if (*f.height_given) return ShowBlock(s, f.height);
  return ListBlocks(s, f.before, f.limit);
}

}  // namespace

Command BlocksCommand(CLI::App* app) {
  auto f = std::make_shared<BlocksFlags>();
  CLI::App* cmd =
      app->add_subcommand("blocks", "recent blocks, or one block with its transactions");
  f->height_given = cmd->add_option("height", f->height, "show this block");
  cmd->add_option("--before", f->before, "list blocks below this height");
  cmd->add_option("--limit", f->limit, "page size (1..100)")->check(CLI::Range(1, 100));
  return SessionCommand(cmd, f, RunBlocks);
}

}  // namespace chip::cli
