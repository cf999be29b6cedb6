// `chip tx HASH`: one transaction with its result.
#include <CLI/CLI.hpp>
#include <memory>

#include "cli/commands/commands.h"
#include "ledger/address.h"

namespace chip::cli {

namespace pb = ::chipledger::v1;
using nlohmann::json;

namespace {

int RunTx(Session* s, const std::string& hash_hex) {
  auto hash = Hash32FromHex(hash_hex);
  if (!hash) return s->Fail(kExitUsage, "transaction hash must be 64 hex digits");
  pb::GetTxRequest req;
  req.set_tx_hash(AsString(*hash));
  pb::GetTxResponse resp;
  auto ctx = s->client().Context();
  grpc::Status rpc = s->client().stub()->GetTx(ctx.get(), req, &resp);
  if (!rpc.ok()) return s->Fail(s->client().Error(rpc));
  json j = TxResultJson(resp.result());
  j["body"] = BodyJson(resp.tx().body());
  j["signer"] = ToHash32(resp.tx().signer()) ? EncodeAddress(*ToHash32(resp.tx().signer())) : "";
  s->Print(j, DescribeResult(resp.result()) + "\n  at " +
                  FormatTimeMs(resp.result().block_time_ms()) + "\n  " + j["body"].dump());
  return kExitOk;
}

}  // namespace

Command TxCommand(CLI::App* app) {
  auto hash = std::make_shared<std::string>();
  CLI::App* cmd = app->add_subcommand("tx", "a transaction with its result");
  cmd->add_option("hash", *hash, "transaction hash (hex)")->required();
  return SessionCommand(cmd, hash, RunTx);
}

}  // namespace chip::cli
