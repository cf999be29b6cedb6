// `chip tx HASH`: one transaction with its result.
#include "ledger/tx.h"

#include <CLI/CLI.hpp>
#include <memory>

#include "cli/commands/commands.h"
#include "ledger/address.h"
#include "ledger/amount.h"

namespace chip::cli {

namespace pb = ::chipledger::v1;
using nlohmann::json;

namespace {

// One line per operation of a multi-operation body (BodyJson), and where it
// failed: the JSON of the whole body on one line would be unreadable at 128.
std::string DescribeOperations(const json& body, const pb::TxResult& r) {
  const json& ops = body["operations"];
  std::string s = std::to_string(ops.size()) + " operations signed by " +
                  body["from"].get<std::string>() + ", all or nothing:";
  for (const json& op : ops) {
    const uint32_t index = op["index"].get<uint32_t>();
    s += "\n    " + std::to_string(index) + "  " + op["kind"].get<std::string>();
    if (op.contains("amount")) s += " " + op["amount"]["cu"].get<std::string>() + " CU";
    if (op.contains("to")) s += " to " + op["to"].get<std::string>();
    if (op.contains("timeout_ms")) {
      s += " timeout " + std::to_string(op["timeout_ms"].get<uint64_t>()) + "ms";
    }
    if (op.contains("reservation")) s += " of reservation " + op["reservation"].get<std::string>();
    if (op.contains("reserve_op")) {
      s += " of the reservation of operation " + std::to_string(op["reserve_op"].get<uint32_t>());
    }
    if (op.value("final", false)) s += " (final)";
    if (op.contains("chip")) s += " " + op["chip"].get<std::string>();
    if (op.contains("member")) s += " member " + op["member"].get<std::string>();
    if (op.contains("reservation_id")) {
      s += "  reservation id " + op["reservation_id"].get<std::string>();
    }
    if (r.has_failed_operation() && r.failed_operation() == index) {
      s += "  <- failed: " + std::string(ResultName(r.code()));
    }
  }
  return s;
}

int RunTx(Session* s, const std::string& hash_hex) {
  auto hash = Hash32FromHex(hash_hex);
  if (!hash) return s->Fail(kExitUsage, "transaction hash must be 64 hex digits");
  pb::GetTxRequest req;
  req.set_tx_hash(AsString(*hash));
  pb::GetTxResponse resp;
  auto ctx = s->client().Context();
  grpc::Status rpc = s->client().stub()->GetTx(ctx.get(), req, &resp);
  if (!rpc.ok()) return s->Fail(s->client().Error(rpc));
  const pb::TxResult& r = resp.result();
  json j = TxResultJson(r);
  j["body"] = BodyJson(resp.tx().body());
  AddReservationIds(r, &j["body"]);
  j["signer"] = ToHash32(resp.tx().signer()) ? EncodeAddress(*ToHash32(resp.tx().signer())) : "";
  std::string human = DescribeResult(r) + "\n  at " + FormatTimeMs(r.block_time_ms()) + "\n  ";
  if (j["body"]["kind"] == "operations") {
    human += DescribeOperations(j["body"], r);
  } else {
    human += SafeDump(j["body"]);  // a chip name or source may not be UTF-8
  }
  if (resp.fund_levy_ucu() != 0) {
    j["fund_levy"] = AmountJson(resp.fund_levy_ucu());
    human += "\n  fund levy " + FormatCu(resp.fund_levy_ucu()) +
             " CU (of the amounts settled or minted, paid to the equity fund)";
  }
  s->Print(j, human);
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
