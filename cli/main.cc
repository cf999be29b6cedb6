// chip: the Chipledger wallet. Keys live encrypted in the wallet directory;
// transactions are signed here and sent to a node over gRPC.
// Exit codes: see cli/util.h and docs/USAGE.md.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/bench/bench.h"
#include "cli/client.h"
#include "cli/cluster_view.h"
#include "cli/price/price.h"
#include "cli/tls.h"
#include "cli/util.h"
#include "cli/verify.h"
#include "ledger/address.h"
#include "ledger/amount.h"
#include "ledger/block.h"
#include "ledger/crypto.h"
#include "ledger/limits.h"
#include "ledger/tx.h"
#include "wallet/keystore.h"

using namespace chip;
using namespace chip::cli;
using nlohmann::json;
namespace pb = ::chipledger::v1;

namespace {

// Text from the command line or a node may be invalid UTF-8; JSON output
// replaces such bytes rather than aborting.
std::string SafeDump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

constexpr const char* kDefaultNode = "127.0.0.1:7700";
constexpr size_t kBatchFileBytesMax = 4 << 20;

struct Globals {
  std::string node = kDefaultNode;
  std::string wallet;
  std::string passphrase_file;
  bool json = false;
  uint64_t timeout_ms = 30'000;
  TlsOptions tls;
};

// Shared state of one invocation; commands return an exit code.
class Cli {
 public:
  explicit Cli(const Globals& g)
      : g_(g), keystore_(g.wallet), client_(g.node, g.timeout_ms), pass_{g.passphrase_file} {}

  int Fail(const CliError& e) {
    std::cerr << "chip: " << e.message << "\n";
    if (g_.json)
      std::cout << SafeDump(json{{"error", e.message}, {"exit_code", e.exit_code}}) << "\n";
    return e.exit_code;
  }
  int Fail(int code, const std::string& message) { return Fail(CliError{code, message}); }
  int WalletFail(const Status& s) { return Fail(kExitWallet, s.message()); }
  void Print(const json& j, const std::string& human) {
    if (g_.json) {
      std::cout << SafeDump(j) << "\n";
    } else {
      std::cout << human;
      if (!human.empty() && human.back() != '\n') std::cout << "\n";
    }
  }

  // ---- keys ----
  int KeysNew(const std::string& name) {
    chip::Status valid = wallet::ValidateKeyName(name);
    if (!valid.ok()) return Fail(kExitUsage, valid.message());
    auto pass = pass_.Get("Passphrase for new key '" + name + "': ", /*confirm=*/true);
    if (!pass.ok()) return WalletFail(pass.status());
    if (pass->empty()) return Fail(kExitUsage, "an empty passphrase is only for development keys");
    auto info = keystore_.Create(name, *pass);
    if (!info.ok()) return WalletFail(info.status());
    Print(KeyJson(*info),
          "created key '" + name + "'\n  address " + info->address + "\n  file    " + info->path);
    return kExitOk;
  }
  int KeysList() {
    auto keys = keystore_.List();
    if (!keys.ok()) return WalletFail(keys.status());
    json arr = json::array();
    std::string human;
    for (const auto& k : *keys) {
      arr.push_back(KeyJson(k));
      human += k.name + std::string(k.name.size() < 16 ? 16 - k.name.size() : 1, ' ') + k.address +
               (k.is_protected ? "" : "  (dev, no passphrase)") + "\n";
    }
    if (keys->empty())
      human = "no keys in " + keystore_.dir() + " (create one: chip keys new NAME)\n";
    Print(arr, human);
    return kExitOk;
  }
  int KeysShow(const std::string& name) {
    auto info = keystore_.Info(name);
    if (!info.ok()) return WalletFail(info.status());
    Print(KeyJson(*info),
          "name     " + info->name + "\naddress  " + info->address + "\npublic   " +
              ToHex(info->key) + "\nfile     " + info->path +
              (info->is_protected ? "" : "\nnote     development key, no passphrase"));
    return kExitOk;
  }
  int KeysImport(const std::string& name, const std::string& seed_file) {
    chip::Status valid = wallet::ValidateKeyName(name);
    if (!valid.ok()) return Fail(kExitUsage, valid.message());
    std::string secret;
    if (!seed_file.empty()) {
      std::ifstream in(seed_file);
      if (!in) return Fail(kExitUsage, "cannot read " + seed_file);
      std::getline(in, secret);
    } else {
      if (isatty(STDIN_FILENO)) std::cerr << "Secret key (64 hex digits): ";
      std::getline(std::cin, secret);
    }
    auto seed = wallet::ParseSeedHex(secret);
    if (!seed.ok()) return Fail(kExitUsage, seed.status().message());
    auto pass = pass_.Get("Passphrase for imported key '" + name + "': ", true);
    if (!pass.ok()) return WalletFail(pass.status());
    if (pass->empty()) return Fail(kExitUsage, "an empty passphrase is only for development keys");
    auto info = keystore_.Import(name, *seed, *pass);
    if (!info.ok()) return WalletFail(info.status());
    Print(KeyJson(*info), "imported key '" + name + "' " + info->address);
    return kExitOk;
  }
  int KeysExport(const std::string& name) {
    auto key = Unlock(name);
    if (!key.ok()) return WalletFail(key.status());
    auto seed = key->Seed();
    std::string hex = ToHex(seed.data(), seed.size());
    Print(json{{"name", name}, {"address", EncodeAddress(key->Public())}, {"secret_key_hex", hex}},
          hex);
    return kExitOk;
  }

  // ---- reads ----
  int StatusCmd() {
    pb::GetStatusResponse st;
    auto ctx = client_.Context();
    grpc::Status s = client_.stub()->GetStatus(ctx.get(), pb::GetStatusRequest(), &st);
    if (!s.ok()) return Fail(client_.Error(s));
    auto node_key = ToHash32(st.node_key());
    json j = {{"node", g_.node},
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
    o << "node          " << g_.node << " (chipd " << st.version() << ", up "
      << st.uptime_ms() / 1000 << " s)\n"
      << "chain         " << st.chain_name() << "  " << ToHex(st.chain_id()) << "\n"
      << "height        " << st.height() << "  at " << FormatTimeMs(st.tip_time_ms()) << "\n"
      << "tip hash      " << ToHex(st.tip_hash()) << "\n"
      << "state digest  " << ToHex(st.state_digest()) << "\n"
      << "node key      " << j["node_key"].get<std::string>() << "\n"
      << "mempool       " << st.mempool_depth() << " waiting";
    int code = kExitOk;
    if (st.cluster().enabled()) {
      ClusterView view = ViewCluster(g_.node, st, std::min<uint64_t>(g_.timeout_ms, 5000));
      j["cluster"] = view.json;
      o << "\n" << view.human;
      // Nodes holding different blocks at one height is a verification
      // failure, like a proof that does not check.
      if (!view.agree) code = kExitVerifyFailed;
    }
    Print(j, o.str());
    return code;
  }

  int Balance(const std::string& who) {
    auto key = keystore_.Resolve(who);
    if (!key.ok()) return ResolveFail(key.status());
    pb::GetAccountRequest req;
    req.set_account(AsString(*key));
    pb::GetAccountResponse resp;
    auto ctx = client_.Context();
    grpc::Status s = client_.stub()->GetAccount(ctx.get(), req, &resp);
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
      resp.set_exists(false);  // never credited: every amount is zero
    } else if (!s.ok()) {
      return Fail(client_.Error(s));
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
               FormatCu(r.held_ucu()) + " CU held, expires " + FormatTimeMs(r.expires_at_ms()) +
               "\n";
    }
    json j = {{"address", EncodeAddress(*key)},
              {"exists", resp.exists()},
              {"balance", AmountJson(resp.balance_ucu())},
              {"held_as_payer", AmountJson(resp.held_as_payer_ucu())},
              {"held_as_provider", AmountJson(resp.held_as_provider_ucu())},
              {"open_reservations", res}};
    std::string out = EncodeAddress(*key) + "\n  available          " +
                      FormatCu(resp.balance_ucu()) + " CU\n  held (paying)      " +
                      FormatCu(resp.held_as_payer_ucu()) + " CU\n  held (for you)     " +
                      FormatCu(resp.held_as_provider_ucu()) + " CU\n";
    if (!human.empty()) out += "open reservations:\n" + human;
    if (!resp.exists()) out += "  (never credited)\n";
    Print(j, out);
    return kExitOk;
  }

  int Tx(const std::string& hash_hex) {
    auto hash = Hash32FromHex(hash_hex);
    if (!hash) return Fail(kExitUsage, "transaction hash must be 64 hex digits");
    pb::GetTxRequest req;
    req.set_tx_hash(AsString(*hash));
    pb::GetTxResponse resp;
    auto ctx = client_.Context();
    grpc::Status s = client_.stub()->GetTx(ctx.get(), req, &resp);
    if (!s.ok()) return Fail(client_.Error(s));
    json j = TxResultJson(resp.result());
    j["body"] = BodyJson(resp.tx().body());
    j["signer"] = ToHash32(resp.tx().signer()) ? EncodeAddress(*ToHash32(resp.tx().signer())) : "";
    Print(j, DescribeResult(resp.result()) + "\n  at " +
                 FormatTimeMs(resp.result().block_time_ms()) + "\n  " + j["body"].dump());
    return kExitOk;
  }

  int History(const std::string& who, uint32_t limit, const std::string& cursor, bool all) {
    auto key = keystore_.Resolve(who);
    if (!key.ok()) return ResolveFail(key.status());
    json items = json::array();
    std::string human, next = cursor;
    do {
      pb::ListHistoryRequest req;
      req.set_account(AsString(*key));
      req.set_page_size(limit);
      req.set_cursor(next);
      pb::ListHistoryResponse resp;
      auto ctx = client_.Context();
      grpc::Status s = client_.stub()->ListHistory(ctx.get(), req, &resp);
      if (!s.ok()) return Fail(client_.Error(s));
      for (const auto& it : resp.items()) {
        json body = BodyJson(it.tx().body());
        json item = {{"tx_hash", ToHex(it.tx_hash())},
                     {"height", it.height()},
                     {"index", it.index()},
                     {"code", ResultName(it.code())},
                     {"block_time_ms", it.block_time_ms()},
                     {"body", body}};
        items.push_back(item);
        std::string amount =
            body.contains("amount") ? body["amount"]["cu"].get<std::string>() + " CU" : "";
        std::string peer = body.contains("to") ? " to " + body["to"].get<std::string>() : "";
        human += std::to_string(it.height()) + ":" + std::to_string(it.index()) + "  " +
                 FormatTimeMs(it.block_time_ms()) + "  " + body["kind"].get<std::string>() + " " +
                 amount + peer + "  " + ResultName(it.code()) + "  " +
                 ToHex(it.tx_hash()).substr(0, 16) + "\n";
      }
      next = resp.next_cursor();
    } while (all && !next.empty());
    if (!next.empty()) human += "more: chip history " + who + " --cursor " + next + "\n";
    if (items.empty()) human = "no transactions\n";
    Print(json{{"items", items}, {"next_cursor", next}}, human);
    return kExitOk;
  }

  int Blocks(uint64_t height, bool show_one, uint32_t limit) {
    if (show_one) {
      pb::GetBlockRequest req;
      req.set_height(height);
      pb::GetBlockResponse resp;
      auto ctx = client_.Context();
      grpc::Status s = client_.stub()->GetBlock(ctx.get(), req, &resp);
      if (!s.ok()) return Fail(client_.Error(s));
      const auto& h = resp.block().header();
      json txs = json::array();
      std::string human = HeaderLine(h, resp.block_hash()) + "\n";
      for (int i = 0; i < resp.block().txs_size(); ++i) {
        const auto& tx = resp.block().txs(i);
        Hash32 hash = TxHash(*ToHash32(Cached().chain_id()), tx.body());
        json body = BodyJson(tx.body());
        txs.push_back({{"tx_hash", ToHex(hash)},
                       {"code", ResultName(resp.block().results(i))},
                       {"body", body}});
        human += "  " + std::to_string(i) + "  " + ToHex(hash).substr(0, 16) + "  " +
                 body["kind"].get<std::string>() + "  " + ResultName(resp.block().results(i)) +
                 "\n";
      }
      json j = HeaderJson(h, resp.block_hash());
      j["txs"] = txs;
      Print(j, human);
      return kExitOk;
    }
    pb::ListBlocksRequest req;
    req.set_page_size(limit);
    req.set_before_height(height);
    pb::ListBlocksResponse resp;
    auto ctx = client_.Context();
    grpc::Status s = client_.stub()->ListBlocks(ctx.get(), req, &resp);
    if (!s.ok()) return Fail(client_.Error(s));
    json arr = json::array();
    std::string human;
    for (const auto& b : resp.blocks()) {
      arr.push_back(HeaderJson(b.header(), b.block_hash()));
      human += HeaderLine(b.header(), b.block_hash()) + "\n";
    }
    Print(arr, human);
    return kExitOk;
  }

  // ---- transactions ----
  int Submit(const std::string& from, pb::TxBody body, const std::string& what, bool sign_only) {
    auto key = Unlock(from);
    if (!key.ok()) return WalletFail(key.status());
    const pb::GetStatusResponse& st = Cached();
    if (!status_ok_) return Fail(client_.Error(status_error_));
    pb::SubmitTxRequest req;
    Hash32 chain_id = *ToHash32(st.chain_id());
    *req.mutable_tx() = SignTx(*key, chain_id, WithNonce(std::move(body)));
    if (sign_only) {
      // Offline signing: the hex of the serialized SignedTx, for `chip submit`.
      std::string hex = ToHex(req.tx().SerializeAsString());
      Print(json{{"tx_hex", hex}, {"tx_hash", ToHex(TxHash(chain_id, req.tx().body()))}}, hex);
      return kExitOk;
    }
    return SendSigned(req, what);
  }

  // Sends a SignedTx given as hex (from --sign-only or another client).
  int SubmitHex(const std::string& hex_or_file) {
    std::string hex = hex_or_file;
    if (!hex.empty() && hex[0] == '@') {
      std::ifstream in(hex.substr(1));
      if (!in) return Fail(kExitUsage, "cannot read " + hex.substr(1));
      std::getline(in, hex);
    }
    while (!hex.empty() && std::isspace(static_cast<unsigned char>(hex.back()))) hex.pop_back();
    if (hex.size() > 2 * kSignedTxBytesMax) return Fail(kExitUsage, "signed transaction too large");
    auto raw = FromHex(hex);
    pb::SubmitTxRequest req;
    if (!raw || !req.mutable_tx()->ParseFromString(*raw)) {
      return Fail(kExitUsage,
                  "expected the hex of a serialized SignedTx (chip send ... --sign-only)");
    }
    return SendSigned(req);
  }

  int SendSigned(const pb::SubmitTxRequest& req, const std::string& what = "") {
    pb::SubmitTxResponse resp;
    auto ctx = client_.Context();
    grpc::Status s = client_.stub()->SubmitTx(ctx.get(), req, &resp);
    if (!s.ok()) {
      CliError e = client_.Error(s);
      if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
          s.error_code() == grpc::StatusCode::UNAVAILABLE ||
          s.error_code() == grpc::StatusCode::CANCELLED) {
        // The outcome is unknown: the node may still commit it. Resubmitting
        // these exact bytes is safe (a tx_hash applies once); signing again
        // would make a new transaction with a new nonce.
        auto chain_id = ToHash32(Cached().chain_id());
        std::string hash = chain_id ? ToHex(TxHash(*chain_id, req.tx().body())) : "HASH";
        e.message += "\n  the transaction may still commit: check it with `chip tx " + hash +
                     "`, or resend the same bytes with `chip submit " +
                     ToHex(req.tx().SerializeAsString()) + "`";
      }
      return Fail(e);
    }
    if (what.empty()) return Report(resp.result(), DescribeBody(req.tx().body()));
    return Report(resp.result(), what);
  }

  int Batch(const std::string& file, bool atomic, const std::string& default_from) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return Fail(kExitUsage, "cannot read " + file);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.size() > kBatchFileBytesMax) return Fail(kExitUsage, file + " is too large");
    json ops = json::parse(text, nullptr, false);
    if (ops.is_discarded() || !ops.is_array() || ops.empty()) {
      return Fail(kExitUsage, file + ": expected a non-empty JSON array of operations");
    }
    const pb::GetStatusResponse& st = Cached();
    if (!status_ok_) return Fail(client_.Error(status_error_));
    Hash32 chain_id = *ToHash32(st.chain_id());
    pb::SubmitBatchRequest req;
    req.set_atomic(atomic);
    std::map<std::string, SecretKey> keys;
    for (size_t i = 0; i < ops.size(); ++i) {
      const json& op = ops[i];
      std::string where = file + "[" + std::to_string(i) + "]";
      if (!op.is_object() || !op.contains("op") || !op["op"].is_string()) {
        return Fail(kExitUsage, where + ": each operation needs \"op\"");
      }
      auto field = [&](const char* name) -> std::string {
        return op.contains(name) && op[name].is_string() ? op[name].get<std::string>() : "";
      };
      std::string from = field("from").empty() ? default_from : field("from");
      auto body =
          BuildBody(op["op"].get<std::string>(), field("to"), field("amount"), field("timeout"),
                    field("reservation"),
                    op.contains("final") && op["final"].is_boolean() && op["final"].get<bool>(),
                    field("memo"));
      if (!body.ok()) return Fail(kExitUsage, where + ": " + body.status().message());
      if (keys.count(from) == 0) {
        auto key = Unlock(from);
        if (!key.ok()) return WalletFail(key.status());
        keys.emplace(from, *key);
      }
      *req.add_txs() = SignTx(keys.at(from), chain_id, WithNonce(std::move(*body)));
    }
    pb::SubmitBatchResponse resp;
    auto ctx = client_.Context();
    grpc::Status s = client_.stub()->SubmitBatch(ctx.get(), req, &resp);
    if (!s.ok()) return Fail(client_.Error(s));
    json arr = json::array();
    std::string human;
    bool all_ok = true;
    for (const auto& r : resp.results()) {
      arr.push_back(TxResultJson(r));
      human += DescribeResult(r) + "\n";
      all_ok = all_ok && r.code() == pb::RESULT_OK;
    }
    Print(json{{"atomic", atomic}, {"results", arr}, {"ok", all_ok}}, human);
    return all_ok ? kExitOk : kExitRejected;
  }

  // Builds a transaction body from text arguments (shared by the per-kind
  // commands and `chip batch`). Usage errors are InvalidArgument.
  Result<pb::TxBody> BuildBody(const std::string& op, const std::string& to,
                               const std::string& amount, const std::string& timeout,
                               const std::string& reservation, bool fin, const std::string& memo) {
    pb::TxBody b;
    if (memo.size() > kMemoBytesMax) return Status::InvalidArgument("memo longer than 256 bytes");
    b.set_memo(memo);
    auto need_to = [&]() -> Result<PublicKey> {
      if (to.empty()) return Status::InvalidArgument("'to' (a key name or address) is required");
      return keystore_.Resolve(to);
    };
    auto need_amount = [&]() -> Result<uint64_t> {
      if (amount.empty()) return Status::InvalidArgument("an amount is required");
      return ParseAmount(amount);
    };
    auto need_reservation = [&]() -> Result<Hash32> {
      auto id = Hash32FromHex(reservation);
      if (!id) return Status::InvalidArgument("reservation id must be 64 hex digits");
      return *id;
    };
    if (op == "send" || op == "transfer" || op == "reserve" || op == "mint") {
      auto k = need_to();
      if (!k.ok()) return k.status();
      auto a = need_amount();
      if (!a.ok()) return a.status();
      if (op == "reserve") {
        if (timeout.empty()) return Status::InvalidArgument("reserve needs a timeout, e.g. 1h");
        auto t = ParseDurationMs(timeout);
        if (!t.ok()) return t.status();
        auto* r = b.mutable_reserve();
        r->set_to(AsString(*k));
        r->set_amount_ucu(*a);
        r->set_timeout_ms(*t);
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
      if (!amount.empty()) {
        auto parsed = ParseAmount(amount);
        if (!parsed.ok()) return parsed.status();
        a = *parsed;
      }
      b.mutable_settle()->set_reservation(AsString(*id));
      b.mutable_settle()->set_amount_ucu(a);
      b.mutable_settle()->set_final(fin);
    } else if (op == "release") {
      auto id = need_reservation();
      if (!id.ok()) return id.status();
      b.mutable_release()->set_reservation(AsString(*id));
    } else if (op == "burn") {
      auto a = need_amount();
      if (!a.ok()) return a.status();
      b.mutable_burn()->set_amount_ucu(*a);
    } else {
      return Status::InvalidArgument("unknown operation '" + op +
                                     "' (send, reserve, settle, release, mint, burn)");
    }
    return b;
  }

  static std::string DescribeBody(const std::string& body) {
    json b = BodyJson(body);
    std::string s = b["kind"].get<std::string>();
    if (s == "reserve") s = "reserved";
    if (b.contains("amount")) s += " " + b["amount"]["cu"].get<std::string>() + " CU";
    if (b.contains("to")) s += " to " + b["to"].get<std::string>();
    return s;
  }

  int ResolveFail(const chip::Status& s) {
    // A mistyped address is a usage error; a missing key name a wallet one.
    return Fail(s.code() == chip::Status::Code::kNotFound ? kExitWallet : kExitUsage, s.message());
  }

  // Fields added to the JSON of the next reported result (a chip-hour
  // conversion, an observation): what was signed, as the user wrote it.
  void SetReportExtra(json extra) { report_extra_ = std::move(extra); }

  // Adds the optional validity window to a body.
  void SetValidFor(pb::TxBody* b, uint64_t valid_for_ms) {
    if (valid_for_ms == 0) return;
    const pb::GetStatusResponse& st = Cached();
    // The node's tip time is the clock that matters for expiry; fall back to
    // the local clock when the chain is idle and its tip is old.
    uint64_t now = std::max<uint64_t>(st.tip_time_ms(), NowMs());
    b->set_valid_until_ms(now + valid_for_ms);
  }

 private:
  static uint64_t NowMs() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  }

  static json KeyJson(const wallet::KeyInfo& k) {
    return {{"name", k.name},
            {"address", k.address},
            {"public_key", ToHex(k.key)},
            {"protected", k.is_protected},
            {"file", k.path}};
  }

  static json HeaderJson(const pb::BlockHeader& h, const std::string& hash) {
    auto producer = ToHash32(h.producer());
    return {{"height", h.height()},
            {"block_hash", ToHex(hash)},
            {"prev_hash", ToHex(h.prev_hash())},
            {"timestamp_ms", h.timestamp_ms()},
            {"tx_count", h.tx_count()},
            {"producer", producer ? EncodeAddress(*producer) : ""},
            {"state_digest", ToHex(h.state_digest())}};
  }
  static std::string HeaderLine(const pb::BlockHeader& h, const std::string& hash) {
    return "#" + std::to_string(h.height()) + "  " + FormatTimeMs(h.timestamp_ms()) + "  " +
           std::to_string(h.tx_count()) + " txs  " + ToHex(hash).substr(0, 16);
  }

  Result<SecretKey> Unlock(const std::string& name) {
    auto info = keystore_.Info(name);
    if (!info.ok()) return info.status();
    std::string pass;
    if (info->is_protected) {
      auto p = pass_.Get("Passphrase for key '" + name + "': ", false);
      if (!p.ok()) return p.status();
      pass = *p;
    }
    return keystore_.Unlock(name, pass);
  }

  pb::TxBody WithNonce(pb::TxBody b) {
    uint64_t nonce = 0;
    while (nonce == 0) RandomBytes(reinterpret_cast<uint8_t*>(&nonce), sizeof(nonce));
    b.set_nonce(nonce);
    return b;
  }

  // The node's status, fetched once per invocation (chain id for signing).
  const pb::GetStatusResponse& Cached() {
    if (!status_fetched_) {
      status_fetched_ = true;
      auto ctx = client_.Context();
      status_error_ = client_.stub()->GetStatus(ctx.get(), pb::GetStatusRequest(), &status_);
      status_ok_ = status_error_.ok() && status_.chain_id().size() == 32;
      if (status_error_.ok() && !status_ok_) {
        status_error_ = grpc::Status(grpc::StatusCode::INTERNAL, "node sent no chain id");
      }
    }
    return status_;
  }

  int Report(const pb::TxResult& r, const std::string& what) {
    json j = TxResultJson(r);
    for (const auto& [k, v] : report_extra_.items()) j[k] = v;  // cli/price.h conversions
    std::string human = DescribeResult(r);
    if (r.code() == pb::RESULT_OK && !what.empty()) human = what + "\n" + human;
    if (r.code() == pb::RESULT_OK && what.rfind("reserve", 0) == 0) {
      j["reservation_id"] = ToHex(r.tx_hash());
      human += "\nreservation id " + ToHex(r.tx_hash());
    }
    Print(j, human);
    return r.code() == pb::RESULT_OK ? kExitOk : kExitRejected;
  }

  Globals g_;
  wallet::Keystore keystore_;
  NodeClient client_;
  PassphraseSource pass_;
  json report_extra_ = json::object();
  bool status_fetched_ = false;
  bool status_ok_ = false;
  grpc::Status status_error_;
  pb::GetStatusResponse status_;
};

std::string DefaultWalletDir() {
  if (const char* home = std::getenv("CHIP_HOME"); home && *home) return home;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.chip";
}

}  // namespace

int main(int argc, char** argv) {
  if (!InitCrypto().ok()) return kExitError;
  CLI::App app{"chip: the Chipledger wallet (money that is compute: 1 CU = one H100-hour)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "chip 0.1.0");
  Globals g;
  if (const char* n = std::getenv("CHIP_NODE"); n && *n) g.node = n;
  g.wallet = DefaultWalletDir();
  app.add_option("--node", g.node,
                 "node address host:port (env CHIP_NODE, default 127.0.0.1:7700)");
  app.add_option("--wallet", g.wallet, "wallet directory (env CHIP_HOME, default ~/.chip)");
  app.add_option("--passphrase-file", g.passphrase_file,
                 "read key passphrases from this file (or CHIP_PASSPHRASE / CHIP_PASSPHRASE_FILE)");
  app.add_flag("--json", g.json, "machine-readable output");
  app.add_option("--timeout-ms", g.timeout_ms, "per-request deadline")
      ->check(CLI::Range(1, 3'600'000));
  // TLS (cli/tls.h): without a CA file chip connects in plaintext.
  for (auto [env, field] : {std::pair<const char*, std::string*>{"CHIP_TLS_CA", &g.tls.ca_file},
                            {"CHIP_TLS_CERT", &g.tls.cert_file},
                            {"CHIP_TLS_KEY", &g.tls.key_file},
                            {"CHIP_TLS_SERVER_NAME", &g.tls.server_name}}) {
    if (const char* v = std::getenv(env); v && *v) *field = v;
  }
  app.add_option("--tls-ca", g.tls.ca_file,
                 "connect over TLS, trusting the node certificates this PEM CA signed (env "
                 "CHIP_TLS_CA)");
  app.add_option("--tls-cert", g.tls.cert_file,
                 "client certificate (PEM) for nodes that ask for one (env CHIP_TLS_CERT)");
  app.add_option("--tls-key", g.tls.key_file, "its private key (PEM; env CHIP_TLS_KEY)");
  app.add_option("--tls-server-name", g.tls.server_name,
                 "name the node's certificate must carry (default: the host of --node; env "
                 "CHIP_TLS_SERVER_NAME)");
  // Global options may also follow the subcommand (`chip send ... --json`).
  app.fallthrough();

  std::string default_from = "dev";
  if (const char* f = std::getenv("CHIP_FROM"); f && *f) default_from = f;

  // keys
  auto* keys = app.add_subcommand("keys", "manage keys in the wallet");
  keys->require_subcommand(1);
  std::string key_name, seed_file;
  auto* keys_new = keys->add_subcommand("new", "create a key (asks for a passphrase)");
  keys_new->add_option("name", key_name, "key name")->required();
  auto* keys_list = keys->add_subcommand("list", "list keys");
  auto* keys_show = keys->add_subcommand("show", "show a key's address");
  keys_show->add_option("name", key_name, "key name")->required();
  auto* keys_import = keys->add_subcommand("import", "import a secret key (64 hex digits)");
  keys_import->add_option("name", key_name, "key name")->required();
  keys_import->add_option("--secret-file", seed_file,
                          "read the secret from this file (else stdin)");
  auto* keys_export = keys->add_subcommand("export", "print a key's secret (64 hex digits)");
  keys_export->add_option("name", key_name, "key name")->required();

  // reads
  auto* status = app.add_subcommand("status", "node and chain status");
  std::string who;
  auto* balance = app.add_subcommand("balance", "balance and held amounts of a key or address");
  balance->add_option("account", who, "key name or address (default: --from key)");
  std::string from = default_from;
  balance->add_option("--from", from, "key to show when no account is given");
  std::string hash;
  auto* tx = app.add_subcommand("tx", "a transaction with its result");
  tx->add_option("hash", hash, "transaction hash (hex)")->required();
  uint32_t limit = 20;
  std::string cursor;
  bool all = false;
  auto* history = app.add_subcommand("history", "an account's transactions, newest first");
  history->add_option("account", who, "key name or address (default: --from key)");
  history->add_option("--from", from, "key to show when no account is given");
  history->add_option("--limit", limit, "page size (1..100)")->check(CLI::Range(1, 100));
  history->add_option("--cursor", cursor, "continue after a previous page");
  history->add_flag("--all", all, "fetch every page");
  uint64_t height = 0;
  auto* blocks = app.add_subcommand("blocks", "recent blocks, or one block with its transactions");
  auto* block_height = blocks->add_option("height", height, "show this block");
  uint64_t before = 0;
  blocks->add_option("--before", before, "list blocks below this height");
  blocks->add_option("--limit", limit, "page size (1..100)")->check(CLI::Range(1, 100));

  // transactions
  std::string to, amount, timeout, reservation, memo, valid_for;
  bool fin = false, sign_only = false;
  auto add_tx_flags = [&](CLI::App* cmd) {
    cmd->add_flag("--sign-only", sign_only,
                  "print the signed transaction (hex) instead of sending it");
    cmd->add_option("--from", from, "signing key (env CHIP_FROM, default 'dev')");
    cmd->add_option("--memo", memo, "note stored with the transaction (at most 256 bytes)");
    cmd->add_option("--valid-for", valid_for, "reject if not committed within, e.g. 30s");
  };
  auto* send = app.add_subcommand("send", "transfer CU to a key name or address");
  send->add_option("to", to, "recipient")->required();
  send->add_option("amount", amount, "amount: 2.5, 2.5CU, 2500000uCU, or 10h with --chip")
      ->required();
  add_tx_flags(send);
  auto* reserve = app.add_subcommand("reserve", "hold CU in escrow for a compute provider");
  reserve->add_option("provider", to, "provider key name or address")->required();
  reserve->add_option("amount", amount, "amount to hold (or chip time with --chip)")->required();
  reserve->add_option("--timeout", timeout, "released automatically after, e.g. 2h")->required();
  add_tx_flags(reserve);
  // ---- chip-hour amounts and `chip price` (cli/price.h) ----
  std::string amount_chip, price_basis;
  for (CLI::App* cmd : {send, reserve}) {
    cmd->add_option("--chip", amount_chip,
                    "the amount is chip time on this chip (10h, 90m, 2d), converted to CU by the "
                    "node's catalog");
    cmd->add_option("--basis", price_basis, "with --chip: bf16 (default) or bf16-bandwidth");
  }
  std::string price_at, price_date, price_amount, price_chip, price_usd, price_source, price_csv,
      price_out, price_t0;
  auto* price = app.add_subcommand(
      "price", "the price of compute: USD per CU now, the curve and its halving time");
  price->require_subcommand(0, 1);
  price->add_option("--basis", price_basis, "chip-hour conversion: bf16 (default), bf16-bandwidth");
  auto* price_at_cmd = price->add_subcommand("at", "USD per CU at a date");
  price_at_cmd->add_option("date", price_date, "YYYY-MM-DD or RFC 3339 UTC")->required();
  auto* price_convert = price->add_subcommand("convert", "chip time on a chip in CU");
  price_convert->add_option("hours", price_amount, "chip time: 3h, 90m, 2d")->required();
  price_convert->add_option("--chip", price_chip, "chip id, name or alias, e.g. B200")->required();
  auto* price_quote = price->add_subcommand("quote", "CU to USD (25CU) or USD to CU ('$100')");
  price_quote->add_option("amount", price_amount, "25CU, 2500000uCU, '$100' or 100USD")->required();
  price_quote->add_option("--at", price_at, "at this date (default now)");
  auto* price_chips =
      price->add_subcommand("chips", "the chip catalog: CU per hour, accepted on chain");
  auto* price_observe = price->add_subcommand(
      "observe", "oracle: sign a market price of one chip-hour (a PriceObservation)");
  price_observe->add_option("chip", price_chip, "chip id, name or alias")->required();
  price_observe->add_option("usd_per_hour", price_usd, "USD per chip-hour, e.g. 2.10")->required();
  price_observe->add_option("--at", price_at, "when it was observed (default now)");
  price_observe->add_option("--source", price_source,
                            "where the price comes from (at most 64 bytes)");
  add_tx_flags(price_observe);
  auto* price_fit = price->add_subcommand("fit", "offline Theil-Sen fit of an observations CSV");
  price_fit->add_option("--csv", price_csv, "observations: date, usd_per_hour[, chip, source]")
      ->required();
  price_fit->add_option("--t0", price_t0, "date of P0 (default the median observation's day)");
  auto* price_chart =
      price->add_subcommand("chart", "draw the curve, its interval and observations (gnuplot)");
  price_chart->add_option("--out", price_out, "PNG file to write")->required();
  price_chart->add_option("--csv", price_csv, "fit this CSV instead of asking the node");
  price_chart->add_option("--t0", price_t0, "with --csv: date of P0");
  std::vector<std::string> price_presets;
  price_chart->add_option("--preset", price_presets,
                          "also draw a published halving time through P0 at t0 (repeatable): "
                          "moore, epoch-all-gpus, epoch-ml-gpus, epoch-top-gpus, epoch-fp16, "
                          "epoch-ml-hardware, cotra-2020, ai-impacts-2019, koomey-post-2000");
  // ---- end chip-hour amounts and `chip price` ----
  auto* settle = app.add_subcommand("settle", "provider: take payment from a reservation");
  settle->add_option("reservation", reservation, "reservation id (hex)")->required();
  settle->add_option("amount", amount, "amount used (0 allowed with --final)");
  settle->add_flag("--final", fin, "close the reservation and return the rest to the payer");
  add_tx_flags(settle);
  auto* release = app.add_subcommand("release", "provider: close a reservation, refund all");
  release->add_option("reservation", reservation, "reservation id (hex)")->required();
  add_tx_flags(release);
  auto* mint = app.add_subcommand("mint", "issuer: create CU");
  mint->add_option("to", to, "recipient")->required();
  mint->add_option("amount", amount, "amount")->required();
  add_tx_flags(mint);
  auto* burn = app.add_subcommand("burn", "destroy CU (redeemed off-ledger)");
  burn->add_option("amount", amount, "amount")->required();
  add_tx_flags(burn);
  auto* verify = app.add_subcommand("verify", "check the node's history with proofs, not trust");
  verify->require_subcommand(1);
  auto* verify_tx =
      verify->add_subcommand("tx", "prove a transaction is in the signed history log");
  verify_tx->add_option("hash", hash, "transaction hash (hex)")->required();
  auto* verify_log = verify->add_subcommand("log", "prove the log only grew since the last check");
  auto* verify_chain =
      verify->add_subcommand("chain", "re-execute every block and re-derive every hash and digest");
  std::string signed_hex;
  auto* submit = app.add_subcommand("submit", "send a transaction signed with --sign-only");
  submit->add_option("signed", signed_hex, "hex of the SignedTx, or @FILE")->required();
  std::string batch_file;
  bool atomic = false;
  auto* batch = app.add_subcommand("batch", "submit several operations from a JSON file");
  batch
      ->add_option("file", batch_file,
                   "JSON array of {\"op\": send|reserve|settle|release|mint|burn, \"to\", "
                   "\"amount\", \"timeout\", \"reservation\", \"final\", \"memo\", \"from\"}")
      ->required();
  batch->add_flag("--atomic", atomic, "all apply or none");
  batch->add_option("--from", from, "default signing key");
  // `chip bench` (cli/bench.h): a load generator for one node.
  BenchOptions bench_options;
  bench_options.from = default_from;
  CLI::App* bench = AddBenchCommand(&app, &bench_options);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }

  // Every channel below uses these credentials; bad TLS files stop any command.
  if (Status s = ConfigureChannels(g.tls); !s.ok()) {
    std::cerr << "chip: " << s.message() << "\n";
    if (g.json)
      std::cout << SafeDump(json{{"error", s.message()}, {"exit_code", kExitUsage}}) << "\n";
    return kExitUsage;
  }
  if (*bench) {
    return RunBench(BenchTarget{g.node, g.wallet, g.passphrase_file, g.timeout_ms, g.json},
                    bench_options);
  }
  if (*verify) {
    NodeClient client(g.node, g.timeout_ms);
    VerifyContext vctx{&client, g.wallet, g.json};
    if (*verify_tx) return VerifyTx(vctx, hash);
    if (*verify_log) return VerifyLog(vctx);
    if (*verify_chain) return VerifyChain(vctx);
  }
  Cli cli(g);
  if (*keys_new) return cli.KeysNew(key_name);
  if (*keys_list) return cli.KeysList();
  if (*keys_show) return cli.KeysShow(key_name);
  if (*keys_import) return cli.KeysImport(key_name, seed_file);
  if (*keys_export) return cli.KeysExport(key_name);
  if (*status) return cli.StatusCmd();
  if (*balance) return cli.Balance(who.empty() ? from : who);
  if (*tx) return cli.Tx(hash);
  if (*history) return cli.History(who.empty() ? from : who, limit, cursor, all);
  if (*blocks)
    return cli.Blocks(*block_height ? height : before, static_cast<bool>(*block_height), limit);
  if (*batch) return cli.Batch(batch_file, atomic, from);
  if (*submit) return cli.SubmitHex(signed_hex);

  // ---- `chip price` (cli/price.h) ----
  PriceCommands prices(g.node, g.timeout_ms, g.json);
  if (*price_observe) {
    const uint64_t now_ms =
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count());
    auto body = BuildObserveBody(price_chip, price_usd, price_at, price_source, now_ms);
    if (!body.ok()) return cli.Fail(kExitUsage, body.status().message());
    if (memo.size() > kMemoBytesMax) return cli.Fail(kExitUsage, "memo longer than 256 bytes");
    body->set_memo(memo);
    if (!valid_for.empty()) {
      auto ms = ParseDurationMs(valid_for);
      if (!ms.ok()) return cli.Fail(kExitUsage, ms.status().message());
      cli.SetValidFor(&*body, *ms);
    }
    const auto& o = body->observe_price();
    cli.SetReportExtra({{"observation",
                         {{"chip", o.chip()},
                          {"usd_micros_per_chip_hour", o.usd_micros_per_chip_hour()},
                          {"observed_at_ms", o.observed_at_ms()},
                          {"source", o.source()}}}});
    std::string what = "observed " + o.chip() + " at $" + FormatCu(o.usd_micros_per_chip_hour()) +
                       " per chip-hour on " + FormatTimeMs(o.observed_at_ms()) +
                       (o.source().empty() ? "" : " (" + o.source() + ")");
    return cli.Submit(from, std::move(*body), what, sign_only);
  }
  if (*price_at_cmd) return prices.Show(price_date, price_basis);
  if (*price_convert) return prices.Convert(price_amount, price_chip, price_basis);
  if (*price_quote) return prices.Quote(price_amount, price_at, price_basis);
  if (*price_chips) return prices.Chips(price_basis);
  if (*price_fit) return prices.Fit(price_csv, price_basis, price_t0);
  if (*price_chart) return prices.Chart(price_out, price_csv, price_basis, price_t0, price_presets);
  if (*price) return prices.Show("", price_basis);
  // Chip time as an amount: the node's catalog converts it (floored to uCU).
  std::string amount_text = amount;
  if (*send || *reserve) {
    if (!amount_chip.empty()) {
      ChipAmount converted;
      CliError error;
      if (!prices.ConvertAmount(amount, amount_chip, price_basis, &converted, &error)) {
        return cli.Fail(error);
      }
      amount = std::to_string(converted.ucu) + "uCU";
      amount_text = converted.Describe();
      cli.SetReportExtra({{"conversion", converted.Json()}});
    } else if (!price_basis.empty()) {
      return cli.Fail(kExitUsage, "--basis applies to chip time amounts: add --chip");
    } else if (LooksLikeChipTime(amount)) {
      return cli.Fail(kExitUsage, "'" + amount +
                                      "' is chip time: add --chip CHIP (e.g. --chip B200) to "
                                      "convert it to CU, or give CU (2.5, 2.5CU, 2500000uCU)");
    }
  }
  // ---- end `chip price` ----

  struct Kind {
    CLI::App* cmd;
    const char* op;
  };
  for (const Kind& k : {Kind{send, "send"}, Kind{reserve, "reserve"}, Kind{settle, "settle"},
                        Kind{release, "release"}, Kind{mint, "mint"}, Kind{burn, "burn"}}) {
    if (!*k.cmd) continue;
    auto body = cli.BuildBody(k.op, to, amount, timeout, reservation, fin, memo);
    if (!body.ok()) return cli.ResolveFail(body.status());
    if (!valid_for.empty()) {
      auto ms = ParseDurationMs(valid_for);
      if (!ms.ok()) return cli.Fail(kExitUsage, ms.status().message());
      cli.SetValidFor(&*body, *ms);
    }
    std::string what;
    std::string op = k.op;
    if (op == "send") what = "sent " + amount_text + " to " + to;
    if (op == "reserve")
      what = "reserved " + amount_text + " for " + to + " (timeout " + timeout + ")";
    if (op == "settle") what = std::string(fin ? "settled (final) " : "settled ") + amount;
    if (op == "release") what = "released reservation";
    if (op == "mint") what = "minted " + amount + " to " + to;
    if (op == "burn") what = "burned " + amount;
    return cli.Submit(from, std::move(*body), what, sign_only);
  }
  return kExitUsage;
}
