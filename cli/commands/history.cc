// `chip history [ACCOUNT]`: an account's transactions, newest first, a page
// at a time (--cursor) or all of them (--all).
#include <CLI/CLI.hpp>
#include <memory>
#include <vector>

#include "cli/commands/commands.h"
#include "ledger/address.h"
#include "ledger/amount.h"
#include "ledger/tx.h"

namespace chip::cli {

namespace pb = ::chipledger::v1;
using nlohmann::json;

namespace {

struct HistoryFlags {
  std::string account;
  std::string from;
  uint32_t limit = 20;
  std::string cursor;
  bool all = false;
};

int RunHistory(Session* s, const HistoryFlags& f) {
  const std::string& who = f.account.empty() ? f.from : f.account;
  auto key = s->keystore().Resolve(who);
  if (!key.ok()) return s->ResolveFail(key.status());
  json items = json::array();
  std::string human, next = f.cursor;
  do {
    pb::ListHistoryRequest req;
    req.set_account(AsString(*key));
    req.set_page_size(f.limit);
    req.set_cursor(next);
    pb::ListHistoryResponse resp;
    auto ctx = s->client().Context();
    grpc::Status rpc = s->client().stub()->ListHistory(ctx.get(), req, &resp);
    if (!rpc.ok()) return s->Fail(s->client().Error(rpc));
    for (const auto& it : resp.items()) {
      json body = BodyJson(it.tx().body());
      pb::TxResult result;
      result.set_tx_hash(it.tx_hash());
      result.set_code(it.code());
      AddReservationIds(result, &body);
      json item = {{"tx_hash", ToHex(it.tx_hash())},
                   {"height", it.height()},
                   {"index", it.index()},
                   {"code", ResultName(it.code())},
                   {"block_time_ms", it.block_time_ms()},
                   {"body", body}};
      // A multi-operation transaction is listed once; which of its
      // operations touched this account is what tells a payee its line.
      std::string ops_text;
      if (body["kind"] == "operations") {
        item["operations"] =
            json(std::vector<uint32_t>(it.operations().begin(), it.operations().end()));
        item["operation_count"] = body["operations"].size();
        ops_text = "  ops ";
        for (int k = 0; k < it.operations_size(); ++k) {
          ops_text += (k == 0 ? "" : ",") + std::to_string(it.operations(k));
        }
        ops_text += " of " + std::to_string(body["operations"].size());
      }
      if (it.fund_levy_ucu() != 0) item["fund_levy"] = AmountJson(it.fund_levy_ucu());
      items.push_back(item);
      std::string amount =
          body.contains("amount") ? body["amount"]["cu"].get<std::string>() + " CU" : "";
      std::string peer = body.contains("to") ? " to " + body["to"].get<std::string>() : "";
      std::string kind = body["kind"].get<std::string>();
      if (kind == "operations") kind = std::to_string(body["operations"].size()) + " operations";
      human +=
          std::to_string(it.height()) + ":" + std::to_string(it.index()) + "  " +
          FormatTimeMs(it.block_time_ms()) + "  " + kind + " " + amount + peer + "  " +
          ResultName(it.code()) + "  " + ToHex(it.tx_hash()).substr(0, 16) + ops_text +
          (it.fund_levy_ucu() != 0 ? "  fund levy " + FormatCu(it.fund_levy_ucu()) + " CU" : "") +
          "\n";
    }
    next = resp.next_cursor();
  } while (f.all && !next.empty());
  if (!next.empty()) human += "more: chip history " + who + " --cursor " + next + "\n";
  if (items.empty()) human = "no transactions\n";
  s->Print(json{{"items", items}, {"next_cursor", next}}, human);
  return kExitOk;
}

}  // namespace

Command HistoryCommand(CLI::App* app, const std::string& default_from) {
  auto f = std::make_shared<HistoryFlags>();
  f->from = default_from;
  CLI::App* cmd = app->add_subcommand("history", "an account's transactions, newest first");
  cmd->add_option("account", f->account, "key name or address (default: --from key)");
  cmd->add_option("--from", f->from, "key to show when no account is given");
  cmd->add_option("--limit", f->limit, "page size (1..100)")->check(CLI::Range(1, 100));
  cmd->add_option("--cursor", f->cursor, "continue after a previous page");
  cmd->add_flag("--all", f->all, "fetch every page");
  return SessionCommand(cmd, f, RunHistory);
}

}  // namespace chip::cli
