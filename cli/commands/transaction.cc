#include "cli/commands/transaction.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>

#include "ledger/address.h"
#include "ledger/amount.h"
#include "ledger/crypto.h"
#include "ledger/file_util.h"
#include "ledger/genesis.h"
#include "ledger/limits.h"
#include "ledger/tx.h"

namespace chip::cli {

namespace pb = ::chipledger::v1;
using nlohmann::json;

namespace {

uint64_t NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// A one-line description of a body, for a transaction sent by `chip submit`.
std::string DescribeBody(const std::string& body) {
  json b = BodyJson(body);
  std::string s = b["kind"].get<std::string>();
  if (s == "operations") return std::to_string(b["operations"].size()) + " operations";
  if (s == "reserve") s = "reserved";
  if (b.contains("amount")) s += " " + b["amount"]["cu"].get<std::string>() + " CU";
  if (b.contains("to")) s += " to " + b["to"].get<std::string>();
  return s;
}

// What an OK settle or mint paid the equity fund, asked of the node (which
// knows the chain's rates); nothing on a chain without a fund or when the
// node does not answer (the result itself stands).
void AddFundLevy(Session* s, const pb::TxResult& r, const std::string& body_bytes, json* extra,
                 std::string* what) {
  if (r.code() != pb::RESULT_OK) return;
  pb::TxBody body;
  if (!body.ParseFromString(body_bytes)) return;
  bool levied = body.has_settle() || body.has_mint();
  for (const auto& op : body.operations().ops())
    levied = levied || op.has_settle() || op.has_mint();
  if (!levied) return;
  pb::GetTxRequest req;
  req.set_tx_hash(r.tx_hash());
  pb::GetTxResponse resp;
  auto ctx = s->client().Context();
  if (!s->client().stub()->GetTx(ctx.get(), req, &resp).ok() || resp.fund_levy_ucu() == 0) return;
  (*extra)["fund_levy"] = AmountJson(resp.fund_levy_ucu());
  *what += "\n" + std::string(body.has_mint() ? "fund share " : "fund levy ") +
           FormatCu(resp.fund_levy_ucu()) + " CU to the equity fund";
  if (body.has_settle() && resp.fund_levy_ucu() <= body.settle().amount_ucu()) {
    const uint64_t net = body.settle().amount_ucu() - resp.fund_levy_ucu();
    (*extra)["provider_received"] = AmountJson(net);
    *what += ", the provider received " + FormatCu(net) + " CU";
  }
}

int Report(Session* s, const pb::TxResult& r, const std::string& what, const json& extra) {
  json j = TxResultJson(r);
  for (const auto& [k, v] : extra.items()) j[k] = v;  // chip-hour conversions, observations
  std::string human = DescribeResult(r);
  if (r.code() == pb::RESULT_OK && !what.empty()) human = what + "\n" + human;
  if (r.code() == pb::RESULT_OK && what.rfind("reserve", 0) == 0) {
    j["reservation_id"] = ToHex(r.tx_hash());
    human += "\nreservation id " + ToHex(r.tx_hash());
  }
  s->Print(j, human);
  return r.code() == pb::RESULT_OK ? kExitOk : kExitRejected;
}

}  // namespace

void AddTxFlags(CLI::App* cmd, TxFlags* flags) {
  cmd->add_flag("--sign-only", flags->sign_only,
                "print the signed transaction (hex) instead of sending it");
  cmd->add_option("--from", flags->from, "signing key (env CHIP_FROM, default 'dev')");
  cmd->add_option("--memo", flags->memo, "note stored with the transaction (at most 256 bytes)");
  cmd->add_option("--valid-for", flags->valid_for, "reject if not committed within, e.g. 30s");
  flags->chain_id_option = cmd->add_option("--chain-id", flags->chain_id_hex,
                                           "with --sign-only: sign for this chain id (hex, as "
                                           "`chip status` shows) without asking a node");
  flags->chain_id_option->type_name("HEX");
  flags->genesis_option = cmd->add_option(
      "--genesis", flags->genesis_file,
      "with --sign-only: sign for the chain of this genesis file without asking a node");
  flags->genesis_option->type_name("FILE");
}

int UseOfflineChain(Session* s, const TxFlags& flags) {
  const bool by_id = flags.chain_id_option != nullptr && flags.chain_id_option->count() > 0;
  const bool by_genesis = flags.genesis_option != nullptr && flags.genesis_option->count() > 0;
  if (!by_id && !by_genesis) return kExitOk;
  if (by_id && by_genesis) {
    return s->Fail(kExitUsage, "--chain-id and --genesis both name the chain: give one of them");
  }
  const std::string flag = by_id ? "--chain-id" : "--genesis";
  if (!flags.sign_only) {
    return s->Fail(kExitUsage, flag + " names the chain for offline signing: add --sign-only");
  }
  if (by_id) {
    auto id = Hash32FromHex(flags.chain_id_hex);
    if (!id) {
      return s->Fail(kExitUsage,
                     "--chain-id must be 64 hex digits (the chain id `chip status` shows)");
    }
    s->SignOffline(*id);
    return kExitOk;
  }
  auto text = ReadSmallFile(flags.genesis_file, kGenesisBytesMax);
  if (!text.ok()) return s->Fail(kExitUsage, "--genesis: " + text.status().message());
  auto genesis = ParseGenesis(*text);
  if (!genesis.ok()) {
    return s->Fail(kExitUsage,
                   "--genesis " + flags.genesis_file + ": " + genesis.status().message());
  }
  s->SignOffline(ChainId(*genesis));
  return kExitOk;
}

Result<pb::TxBody> BuildBody(const wallet::Keystore& keystore, const OpText& t) {
  pb::TxBody b;
  if (t.memo.size() > kMemoBytesMax) return Status::InvalidArgument("memo longer than 256 bytes");
  b.set_memo(t.memo);
  auto need_to = [&]() -> Result<PublicKey> {
    if (t.to.empty()) return Status::InvalidArgument("'to' (a key name or address) is required");
    return keystore.Resolve(t.to);
  };
  auto need_amount = [&]() -> Result<uint64_t> {
    if (t.amount.empty()) return Status::InvalidArgument("an amount is required");
    return ParseAmount(t.amount);
  };
  auto need_reservation = [&]() -> Result<Hash32> {
    auto id = Hash32FromHex(t.reservation);
    if (!id) return Status::InvalidArgument("reservation id must be 64 hex digits");
    return *id;
  };
  const std::string& op = t.op;
  if (op == "send" || op == "transfer" || op == "reserve" || op == "mint") {
    auto k = need_to();
    if (!k.ok()) return k.status();
    auto a = need_amount();
    if (!a.ok()) return a.status();
    if (op == "reserve") {
      if (t.timeout.empty()) return Status::InvalidArgument("reserve needs a timeout, e.g. 1h");
      auto timeout_ms = ParseDurationMs(t.timeout);
      if (!timeout_ms.ok()) return timeout_ms.status();
      auto* r = b.mutable_reserve();
      r->set_to(AsString(*k));
      r->set_amount_ucu(*a);
      r->set_timeout_ms(*timeout_ms);
    } else if (op == "mint") {
      b.mutable_mint()->set_to(AsString(*k));
      b.mutable_mint()->set_amount_ucu(*a);
    } else {
      b.mutable_transfer()->set_to(AsString(*k));
      b.mutable_transfer()->set_amount_ucu(*a);
    }
  } else if (op == "settle") {
    auto id = need_reservation();
    if (!id.ok()) return id.status();
    uint64_t a = 0;
    if (!t.amount.empty()) {
      auto parsed = ParseAmount(t.amount);
      if (!parsed.ok()) return parsed.status();
      a = *parsed;
    }
    b.mutable_settle()->set_reservation(AsString(*id));
    b.mutable_settle()->set_amount_ucu(a);
    b.mutable_settle()->set_final(t.is_final);
  } else if (op == "release") {
    auto id = need_reservation();
    if (!id.ok()) return id.status();
    b.mutable_release()->set_reservation(AsString(*id));
  } else if (op == "burn") {
    auto a = need_amount();
    if (!a.ok()) return a.status();
    b.mutable_burn()->set_amount_ucu(*a);
  } else if (op == "fund-register" || op == "fund-deregister") {
    auto k = need_to();
    if (!k.ok()) return k.status();
    if (op == "fund-register") {
      b.mutable_fund_register()->set_member(AsString(*k));
    } else {
      b.mutable_fund_deregister()->set_member(AsString(*k));
    }
  } else if (op == "fund-claim") {
    b.mutable_fund_claim();
  } else {
    return Status::InvalidArgument(
        "unknown operation '" + op +
        "' (send, reserve, settle, release, mint, burn, fund-register, fund-deregister, "
        "fund-claim)");
  }
  return b;
}

int ApplyValidFor(Session* s, const TxFlags& flags, pb::TxBody* body) {
  if (flags.valid_for.empty()) return kExitOk;
  auto valid_for_ms = ParseDurationMs(flags.valid_for);
  if (!valid_for_ms.ok()) return s->Fail(kExitUsage, valid_for_ms.status().message());
  if (*valid_for_ms == 0) return kExitOk;
  // The node's tip time is the clock that matters for expiry; fall back to
  // the local clock when the chain is idle and its tip is old, or when
  // signing offline (no node to ask).
  const uint64_t tip_time_ms = s->offline() ? 0 : s->NodeStatus().tip_time_ms();
  uint64_t now = std::max<uint64_t>(tip_time_ms, NowMs());
  body->set_valid_until_ms(now + *valid_for_ms);
  return kExitOk;
}

int SubmitOp(Session* s, const TxFlags& flags, OpText op, const std::string& what,
             const json& extra) {
  op.memo = flags.memo;
  auto body = BuildBody(s->keystore(), op);
  if (!body.ok()) return s->ResolveFail(body.status());
  if (int code = ApplyValidFor(s, flags, &*body); code != kExitOk) return code;
  return SignAndSubmit(s, flags, std::move(*body), what, extra);
}

pb::TxBody WithNonce(pb::TxBody b) {
  uint64_t nonce = 0;
  while (nonce == 0) RandomBytes(reinterpret_cast<uint8_t*>(&nonce), sizeof(nonce));
  b.set_nonce(nonce);
  return b;
}

int SignAndSubmit(Session* s, const TxFlags& flags, pb::TxBody body, const std::string& what,
                  const json& extra) {
  auto key = s->Unlock(flags.from);
  if (!key.ok()) return s->WalletFail(key.status());
  std::optional<Hash32> chain = s->SigningChainId();
  if (!chain) return s->Fail(s->client().Error(s->status_error()));
  const Hash32& chain_id = *chain;
  pb::SubmitTxRequest req;
  *req.mutable_tx() = SignTx(*key, chain_id, WithNonce(std::move(body)));
  if (flags.sign_only) {
    // Offline signing: the hex of the serialized SignedTx, for `chip submit`.
    std::string hex = ToHex(req.tx().SerializeAsString());
    s->Print(json{{"tx_hex", hex}, {"tx_hash", ToHex(TxHash(chain_id, req.tx().body()))}}, hex);
    return kExitOk;
  }
  return SendSigned(s, req, what, extra);
}

int SendSigned(Session* s, const pb::SubmitTxRequest& req, const std::string& what,
               const json& extra) {
  pb::SubmitTxResponse resp;
  auto ctx = s->client().Context();
  grpc::Status rpc = s->client().stub()->SubmitTx(ctx.get(), req, &resp);
  if (!rpc.ok()) {
    CliError e = s->client().Error(rpc);
    if (rpc.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
        rpc.error_code() == grpc::StatusCode::UNAVAILABLE ||
        rpc.error_code() == grpc::StatusCode::CANCELLED) {
      // The outcome is unknown: the node may still commit it. Resubmitting
      // these exact bytes is safe (a tx_hash applies once); signing again
      // would make a new transaction with a new nonce.
      auto chain_id = ToHash32(s->NodeStatus().chain_id());
      std::string hash = chain_id ? ToHex(TxHash(*chain_id, req.tx().body())) : "HASH";
      e.message += "\n  the transaction may still commit: check it with `chip tx " + hash +
                   "`, or resend the same bytes with `chip submit " +
                   ToHex(req.tx().SerializeAsString()) + "`";
    }
    return s->Fail(e);
  }
  std::string text = what.empty() ? DescribeBody(req.tx().body()) : what;
  json fields = extra;
  AddFundLevy(s, resp.result(), req.tx().body(), &fields, &text);
  return Report(s, resp.result(), text, fields);
}

}  // namespace chip::cli
