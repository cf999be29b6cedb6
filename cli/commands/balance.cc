// `chip balance [ACCOUNT]`: available and held amounts, open reservations.
#include <CLI/CLI.hpp>
#include <memory>

#include "cli/commands/commands.h"
#include "ledger/address.h"
#include "ledger/amount.h"

namespace chip::cli {

namespace pb = ::chipledger::v1;
using nlohmann::json;

namespace {

struct BalanceFlags {
  std::string account;
  std::string from;
};

int RunBalance(Session* s, const BalanceFlags& f) {
  const std::string& who = f.account.empty() ? f.from : f.account;
  auto key = s->keystore().Resolve(who);
  if (!key.ok()) return s->ResolveFail(key.status());
  pb::GetAccountRequest req;
  req.set_account(AsString(*key));
  pb::GetAccountResponse resp;
  auto ctx = s->client().Context();
  grpc::Status rpc = s->client().stub()->GetAccount(ctx.get(), req, &resp);
  if (rpc.error_code() == grpc::StatusCode::NOT_FOUND) {
    resp.set_exists(false);  // never credited: every amount is zero
  } else if (!rpc.ok()) {
    return s->Fail(s->client().Error(rpc));
  }
  json res = json::array();
  std::string human;
  for (const auto& r : resp.open_reservations()) {
    bool paying = r.payer() == AsString(*key);
    auto other = ToHash32(paying ? r.provider() : r.payer());
    res.push_back({{"id", ToHex(r.id())},
                   {"role", paying ? "payer" : "provider"},
                   {"counterparty", other ? EncodeAddress(*other) : ""},
                   {"held", AmountJson(r.held_ucu())},
                   {"settled", AmountJson(r.settled_ucu())},
                   {"expires_at_ms", r.expires_at_ms()}});
    human += "  " + ToHex(r.id()) + "  " + (paying ? "pays " : "provides ") +
             FormatCu(r.held_ucu()) + " CU held, expires " + FormatTimeMs(r.expires_at_ms()) + "\n";
  }
  json j = {{"address", EncodeAddress(*key)},
            {"exists", resp.exists()},
            {"balance", AmountJson(resp.balance_ucu())},
            {"held_as_payer", AmountJson(resp.held_as_payer_ucu())},
            {"held_as_provider", AmountJson(resp.held_as_provider_ucu())},
            {"open_reservations", res},
            {"unclaimed_dividend", AmountJson(resp.unclaimed_dividend_ucu())},
            {"fund_member", resp.fund_member()}};
  std::string out = EncodeAddress(*key) + "\n  available          " + FormatCu(resp.balance_ucu()) +
                    " CU\n  held (paying)      " + FormatCu(resp.held_as_payer_ucu()) +
                    " CU\n  held (for you)     " + FormatCu(resp.held_as_provider_ucu()) + " CU\n";
  if (resp.unclaimed_dividend_ucu() != 0 || resp.fund_member()) {
    // GetAccount's balance already counts the dividend (credited on the
    // key's next transaction or `chip fund claim`).
    out += "  of which dividend  " + FormatCu(resp.unclaimed_dividend_ucu()) + " CU unclaimed" +
           (resp.fund_member() ? " (fund member)" : " (no longer a member)") + "\n";
  }
  if (!human.empty()) out += "open reservations:\n" + human;
  if (!resp.exists()) out += "  (never credited)\n";
  s->Print(j, out);
  return kExitOk;
}

}  // namespace

Command BalanceCommand(CLI::App* app, const std::string& default_from) {
  auto f = std::make_shared<BalanceFlags>();
  f->from = default_from;
  CLI::App* cmd = app->add_subcommand("balance", "balance and held amounts of a key or address");
  cmd->add_option("account", f->account, "key name or address (default: --from key)");
  cmd->add_option("--from", f->from, "key to show when no account is given");
  return SessionCommand(cmd, f, RunBalance);
}

}  // namespace chip::cli
