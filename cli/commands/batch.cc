// `chip batch FILE [--atomic]`: several operations from a JSON file, signed
// here and sent in one SubmitBatch (all or none with --atomic).
#include <CLI/CLI.hpp>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>

#include "cli/commands/commands.h"
#include "cli/commands/transaction.h"
#include "ledger/tx.h"

namespace chip::cli {

namespace pb = ::chipledger::v1;
using nlohmann::json;

namespace {

constexpr size_t kBatchFileBytesMax = 4 << 20;

struct BatchFlags {
  std::string file;
  bool atomic = false;
  std::string from;
};

int RunBatch(Session* s, const BatchFlags& f) {
  const std::string& file = f.file;
  std::ifstream in(file, std::ios::binary);
  if (!in) return s->Fail(kExitUsage, "cannot read " + file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > kBatchFileBytesMax) return s->Fail(kExitUsage, file + " is too large");
  json ops = json::parse(text, nullptr, false);
  if (ops.is_discarded() || !ops.is_array() || ops.empty()) {
    return s->Fail(kExitUsage, file + ": expected a non-empty JSON array of operations");
  }
  const pb::GetStatusResponse& st = s->NodeStatus();
  if (!s->status_ok()) return s->Fail(s->client().Error(s->status_error()));
  Hash32 chain_id = *ToHash32(st.chain_id());
  pb::SubmitBatchRequest req;
  req.set_atomic(f.atomic);
  std::map<std::string, SecretKey> keys;
  for (size_t i = 0; i < ops.size(); ++i) {
    const json& op = ops[i];
    std::string where = file + "[" + std::to_string(i) + "]";
    if (!op.is_object() || !op.contains("op") || !op["op"].is_string()) {
      return s->Fail(kExitUsage, where + ": each operation needs \"op\"");
    }
    auto field = [&](const char* name) -> std::string {
      return op.contains(name) && op[name].is_string() ? op[name].get<std::string>() : "";
    };
    std::string from = field("from").empty() ? f.from : field("from");
    OpText t;
    t.op = op["op"].get<std::string>();
    t.to = field("to");
    t.amount = field("amount");
    t.timeout = field("timeout");
    t.reservation = field("reservation");
    t.is_final = op.contains("final") && op["final"].is_boolean() && op["final"].get<bool>();
    t.memo = field("memo");
    auto body = BuildBody(s->keystore(), t);
    if (!body.ok()) return s->Fail(kExitUsage, where + ": " + body.status().message());
    if (keys.count(from) == 0) {
      auto key = s->Unlock(from);
      if (!key.ok()) return s->WalletFail(key.status());
      keys.emplace(from, *key);
    }
    *req.add_txs() = SignTx(keys.at(from), chain_id, WithNonce(std::move(*body)));
  }
  pb::SubmitBatchResponse resp;
  auto ctx = s->client().Context();
  grpc::Status rpc = s->client().stub()->SubmitBatch(ctx.get(), req, &resp);
  if (!rpc.ok()) return s->Fail(s->client().Error(rpc));
  json arr = json::array();
  std::string human;
  bool all_ok = true;
  for (const auto& r : resp.results()) {
    arr.push_back(TxResultJson(r));
    human += DescribeResult(r) + "\n";
    all_ok = all_ok && r.code() == pb::RESULT_OK;
  }
  s->Print(json{{"atomic", f.atomic}, {"results", arr}, {"ok", all_ok}}, human);
  return all_ok ? kExitOk : kExitRejected;
}

}  // namespace

Command BatchCommand(CLI::App* app, const std::string& default_from) {
  auto f = std::make_shared<BatchFlags>();
  f->from = default_from;
  CLI::App* cmd = app->add_subcommand("batch", "submit several operations from a JSON file");
  cmd->add_option("file", f->file,
                  "JSON array of {\"op\": send|reserve|settle|release|mint|burn|fund-register|"
                  "fund-deregister|fund-claim, \"to\", "
                  "\"amount\", \"timeout\", \"reservation\", \"final\", \"memo\", \"from\"}")
      ->required();
  cmd->add_flag("--atomic", f->atomic, "all apply or none");
  cmd->add_option("--from", f->from, "default signing key");
  return SessionCommand(cmd, f, RunBatch);
}

}  // namespace chip::cli
