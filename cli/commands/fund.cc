// The equity fund (docs/FUND.md): `chip fund [status] [MEMBER]` shows the
// fund and what its last dividend buys; `chip fund register ADDR`,
// `chip fund deregister ADDR` and `chip fund claim` sign the fund's
// transactions.
#include <CLI/CLI.hpp>
#include <cmath>
#include <memory>

#include "chipledger/v1/pricing.grpc.pb.h"
#include "cli/commands/commands.h"
#include "cli/commands/transaction.h"
#include "cli/price/format.h"
#include "cli/tls.h"
#include "ledger/address.h"
#include "ledger/amount.h"
#include "ledger/pricing/dates.h"

namespace chip::cli {

namespace pb = ::chipledger::v1;
using nlohmann::json;

namespace {

// Year 9999: the last date FormatDateTime writes; also far inside int64.
constexpr double kLatestDateMs = 253'402'300'799'000.0;

struct FundFlags {
  std::string member;  // register, deregister; status: whose dividend to show
  std::string from;    // status: shown when no member is given, if it names a wallet key
  // `chip fund --from KEY SUBCOMMAND`: --from before the subcommand means the
  // same as after it (the signer of register, deregister and claim).
  std::string parent_from;
  CLI::Option* parent_from_option = nullptr;
  TxFlags tx;
  CLI::App* status = nullptr;
  CLI::App* register_cmd = nullptr;
  CLI::App* deregister = nullptr;
  CLI::App* claim = nullptr;
};

// An epoch length in the largest unit that divides it, minutes only from an
// hour on: "1 d", "25 h", "90 min", "60 s", "1500 ms".
std::string EpochText(uint64_t ms) {
  struct Unit {
    uint64_t ms, from_ms;
    const char* name;
  };
  static constexpr Unit kUnits[] = {{86'400'000, 86'400'000, " d"},
                                    {3'600'000, 3'600'000, " h"},
                                    {60'000, 3'600'000, " min"},
                                    {1'000, 1'000, " s"}};
  for (const Unit& u : kUnits) {
    if (ms >= u.from_ms && ms % u.ms == 0) return std::to_string(ms / u.ms) + u.name;
  }
  return std::to_string(ms) + " ms";
}

std::string Percent(uint32_t bps) {
  return std::to_string(bps / 100) + "." + (bps % 100 < 10 ? "0" : "") + std::to_string(bps % 100) +
         "%";
}

// The last dividend's value: in CU it is a fixed amount of reference-chip
// time; in USD it is worth what the curve says today and half that after one
// halving time. Empty when the node serves no prices (the figures in CU
// stand alone).
json DividendValue(Session* s, uint64_t dividend_ucu, std::string* human) {
  grpc::ChannelArguments args;
  auto pricing = pb::Pricing::NewStub(NewChannel(s->globals().node, args));
  pb::GetPriceRequest req;  // at 0: now
  pb::GetPriceResponse resp;
  auto ctx = s->client().Context();
  grpc::Status rpc = pricing->GetPrice(ctx.get(), req, &resp);
  if (!rpc.ok()) {
    *human = "  (no price: " + s->client().Error(rpc).message + ")\n";
    return json::object();
  }
  const double cu = static_cast<double>(dividend_ucu) / 1e6;
  const double usd_now = cu * resp.usd_per_cu();
  const double halving_years = resp.curve().halving_years();
  json j = {{"usd_per_cu", resp.usd_per_cu()},
            {"usd", usd_now},
            {"priced_at_ms", resp.at_ms()},
            {"halving_years", halving_years}};
  *human = "  worth today        " + price_internal::Usd(usd_now) + " at " +
           price_internal::Usd(resp.usd_per_cu()) + " per CU (" +
           pricing::FormatDateTime(resp.at_ms()) + ")\n";
  // The date is shown only when it is one (a node could send any double).
  const double later_ms = static_cast<double>(resp.at_ms()) + halving_years * pricing::kMsPerYear;
  if (std::isfinite(halving_years) && halving_years > 0 && later_ms < kLatestDateMs) {
    // P(t + H) = P(t) / 2 on the curve P(t) = P0 * 2^(-(t - t0)/H).
    j["usd_after_one_halving"] = usd_now / 2;
    j["one_halving_at_ms"] = static_cast<int64_t>(later_ms);
    *human += "  after one halving  " + price_internal::Usd(usd_now / 2) + " for the same " +
              FormatCu(dividend_ucu) + " CU (" + price_internal::HalvingText(halving_years) + ", " +
              pricing::FormatDateTime(static_cast<int64_t>(later_ms)) + ")\n";
  } else {
    *human += "  (the curve has no halving time: the price is not falling)\n";
  }
  return j;
}

int RunStatus(Session* s, const FundFlags& f) {
  pb::GetFundRequest req;
  std::optional<PublicKey> member;
  const bool named = !f.member.empty();
  if (named) {
    auto key = s->keystore().Resolve(f.member);
    if (!key.ok()) return s->ResolveFail(key.status());
    member = *key;
  } else if (auto key = s->keystore().Resolve(f.from); key.ok()) {
    member = *key;  // the default key, when the wallet has it
  }
  if (member) req.set_member(AsString(*member));
  pb::GetFundResponse resp;
  auto ctx = s->client().Context();
  grpc::Status rpc = s->client().stub()->GetFund(ctx.get(), req, &resp);
  if (!rpc.ok()) return s->Fail(s->client().Error(rpc));
  if (!resp.fund_enabled()) {
    s->Print(json{{"fund_enabled", false}},
             "this chain has no equity fund (its genesis has no \"fund\" section)");
    return kExitOk;
  }
  json registrars = json::array();
  for (const auto& r : resp.registrars()) {
    auto k = ToHash32(r);
    registrars.push_back(k ? EncodeAddress(*k) : "(invalid)");
  }
  std::string value_text;
  json value = DividendValue(s, resp.last_dividend_ucu(), &value_text);
  json j = {{"fund_enabled", true},
            {"height", resp.height()},
            {"settle_levy_bps", resp.settle_levy_bps()},
            {"mint_share_bps", resp.mint_share_bps()},
            {"epoch_ms", resp.epoch_ms()},
            {"registrars", registrars},
            {"balance", AmountJson(resp.balance_ucu())},
            {"unclaimed", AmountJson(resp.unclaimed_ucu())},
            {"members", resp.members()},
            {"epoch", resp.epoch()},
            {"next_boundary_ms", resp.next_boundary_ms()},
            {"last_dividend", AmountJson(resp.last_dividend_ucu())},
            {"last_dividend_reference_chip_hours", FormatCu(resp.last_dividend_ucu())},
            {"last_dividend_value", value},
            {"distributed", AmountJson(resp.distributed_ucu())}};
  std::string out =
      "equity fund at height " + std::to_string(resp.height()) + "\n  levy               " +
      Percent(resp.settle_levy_bps()) + " of every settlement, " + Percent(resp.mint_share_bps()) +
      " of every mint\n  balance            " + FormatCu(resp.balance_ucu()) +
      " CU (divided at the next boundary)\n  members            " + std::to_string(resp.members()) +
      "\n  epoch              " + std::to_string(resp.epoch()) + ", next boundary " +
      FormatTimeMs(resp.next_boundary_ms()) + " (every " + EpochText(resp.epoch_ms()) +
      ")\n  last dividend      " + FormatCu(resp.last_dividend_ucu()) +
      " CU per member = " + FormatCu(resp.last_dividend_ucu()) +
      " hours of the reference chip (H100 SXM)\n" + value_text + "  distributed        " +
      FormatCu(resp.distributed_ucu()) + " CU in all, unclaimed " + FormatCu(resp.unclaimed_ucu()) +
      " CU\n";
  for (const auto& r : registrars) out += "  registrar          " + r.get<std::string>() + "\n";
  // The default key is shown only when it takes part; a named one always.
  if (member && (named || resp.member_registered() || resp.member_unclaimed_ucu() != 0)) {
    j["member"] = {{"address", EncodeAddress(*member)},
                   {"registered", resp.member_registered()},
                   {"unclaimed_dividend", AmountJson(resp.member_unclaimed_ucu())}};
    out += EncodeAddress(*member) + "\n  " +
           (resp.member_registered() ? "member" : "not a member") + ", unclaimed dividend " +
           FormatCu(resp.member_unclaimed_ucu()) + " CU\n";
  }
  s->Print(j, out);
  return kExitOk;
}

int RunFund(Session* s, const FundFlags& f) {
  if (*f.register_cmd || *f.deregister) {
    OpText op;
    op.op = *f.register_cmd ? "fund-register" : "fund-deregister";
    op.to = f.member;
    return SubmitOp(s, f.tx, op,
                    (*f.register_cmd ? "registered " : "deregistered ") + f.member +
                        (*f.register_cmd ? " as a fund member" : " from the fund"));
  }
  if (*f.claim) {
    // What is owed when sent, for the report; a boundary crossed before the
    // claim commits adds to it (the claim credits all that is owed then).
    std::string owed;
    if (auto key = s->keystore().Resolve(f.tx.from); key.ok() && !s->offline()) {
      pb::GetFundRequest req;
      req.set_member(AsString(*key));
      pb::GetFundResponse resp;
      auto ctx = s->client().Context();
      if (s->client().stub()->GetFund(ctx.get(), req, &resp).ok()) {
        owed = " (" + FormatCu(resp.member_unclaimed_ucu()) + " CU owed when sent)";
      }
    }
    OpText op;
    op.op = "fund-claim";
    return SubmitOp(s, f.tx, op, "claimed the dividend owed to " + f.tx.from + owed);
  }
  return RunStatus(s, f);
}

}  // namespace

Command FundCommand(CLI::App* app, const std::string& default_from) {
  auto f = std::make_shared<FundFlags>();
  f->from = default_from;
  f->tx.from = default_from;
  CLI::App* fund =
      app->add_subcommand("fund", "the equity fund: levies paid out equally to registered members");
  fund->require_subcommand(0, 1);
  f->parent_from_option = fund->add_option(
      "--from", f->parent_from, "key to sign with, or whose dividend to show (default 'dev')");
  f->status = fund->add_subcommand("status", "the fund, its last dividend and a member's share");
  f->status->add_option("member", f->member,
                        "key name or address whose dividend to show (default: --from key)");
  f->status->add_option("--from", f->from, "key to show when no member is given");
  f->register_cmd = fund->add_subcommand("register", "registrar: add a member (one share each)");
  f->register_cmd->add_option("member", f->member, "key name or address")->required();
  AddTxFlags(f->register_cmd, &f->tx);
  f->deregister = fund->add_subcommand(
      "deregister", "remove a member (a registrar, or the member itself); owed dividends stay");
  f->deregister->add_option("member", f->member, "key name or address")->required();
  AddTxFlags(f->deregister, &f->tx);
  f->claim = fund->add_subcommand("claim", "credit the dividend owed to --from's key");
  AddTxFlags(f->claim, &f->tx);
  return {fund, [f](const Globals& g) {
            Session s(g);
            if (f->parent_from_option->count() > 0) {
              for (CLI::App* sub : {f->status, f->register_cmd, f->deregister, f->claim}) {
                if (*sub && sub->get_option("--from")->count() > 0) {
                  return s.Fail(kExitUsage, "--from is given twice: give it once");
                }
              }
              f->from = f->parent_from;
              f->tx.from = f->parent_from;
            }
            if (int code = UseOfflineChain(&s, f->tx); code != kExitOk) return code;
            return RunFund(&s, *f);
          }};
}

}  // namespace chip::cli
