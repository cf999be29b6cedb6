#include "cli/commands/operation_list.h"

#include <algorithm>
#include <iostream>
#include <optional>

#include "ledger/address.h"
#include "ledger/limits.h"
#include "ledger/tx.h"

namespace chip::cli {

namespace pb = ::chipledger::v1;
using nlohmann::json;

namespace {

// One signed transaction of the list: operations [first, first + count).
struct ListTx {
  size_t first = 0;
  size_t count = 0;
  pb::SignedTx tx;
  Hash32 hash{};
};

std::string Plural(size_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

std::string Lines(const std::vector<ListedOp>& ops, const ListTx& t) {
  size_t a = ops[t.first].line, b = ops[t.first + t.count - 1].line;
  return a == b ? "line " + std::to_string(a)
                : "lines " + std::to_string(a) + "-" + std::to_string(b);
}

// How the list was split, said before any result: a list over
// kTxOperationsMax is not one all-or-nothing unit, and the user must know.
std::string SplitText(size_t n_ops, size_t n_txs, const std::string& noun) {
  if (n_txs == 1) return Plural(n_ops, noun) + " in 1 transaction (all or nothing)";
  return Plural(n_ops, noun) + " in " + std::to_string(n_txs) + " transactions of at most " +
         std::to_string(kTxOperationsMax) + "; each transaction is all-or-nothing on its own";
}

// The outcome of operation `k` of a transaction whose result is `r`.
std::string Outcome(const pb::TxResult& r, size_t k) {
  if (r.code() == pb::RESULT_OK) return "applied";
  if (r.has_failed_operation()) {
    if (r.failed_operation() == k) return ResultName(r.code());
    return "not applied (transaction failed at operation " + std::to_string(r.failed_operation()) +
           ")";
  }
  // A result no single operation decided (EXPIRED, or a stateless refusal
  // of the whole body).
  return std::string("not applied (transaction rejected: ") + ResultName(r.code()) + ")";
}

}  // namespace

int SubmitOperationList(Session* s, const TxFlags& flags, const std::string& file,
                        const std::vector<ListedOp>& ops, const std::string& noun) {
  if (flags.memo.size() > kMemoBytesMax) {
    return s->Fail(kExitUsage, "memo longer than " + std::to_string(kMemoBytesMax) + " bytes");
  }
  // One validity window for all the transactions of the list: they are
  // signed and sent together.
  pb::TxBody base;
  base.set_memo(flags.memo);
  if (int code = ApplyValidFor(s, flags, &base); code != kExitOk) return code;
  auto key = s->Unlock(flags.from);
  if (!key.ok()) return s->WalletFail(key.status());
  std::optional<Hash32> chain = s->SigningChainId();
  if (!chain) return s->Fail(s->client().Error(s->status_error()));

  // 128 operations of any kind fit kMultiOpTxBodyBytesMax (limits.h), so
  // splitting by count alone never makes a body the node refuses as large.
  std::vector<ListTx> txs;
  for (size_t first = 0; first < ops.size(); first += kTxOperationsMax) {
    ListTx t;
    t.first = first;
    t.count = std::min(kTxOperationsMax, ops.size() - first);
    pb::TxBody body = base;
    for (size_t k = 0; k < t.count; ++k) *body.mutable_operations()->add_ops() = ops[first + k].op;
    t.tx = SignTx(*key, *chain, WithNonce(std::move(body)));
    t.hash = TxHash(*chain, t.tx.body());
    txs.push_back(std::move(t));
  }
  const std::string split = SplitText(ops.size(), txs.size(), noun);

  if (flags.sign_only) {
    // One hex line per transaction, each for `chip submit` on its own.
    json arr = json::array();
    std::string human;
    for (const ListTx& t : txs) {
      std::string hex = ToHex(t.tx.SerializeAsString());
      arr.push_back({{"tx_hex", hex},
                     {"tx_hash", ToHex(t.hash)},
                     {"operations", t.count},
                     {"first_line", ops[t.first].line},
                     {"last_line", ops[t.first + t.count - 1].line}});
      human += hex + "\n";
    }
    if (!s->globals().json) std::cerr << "chip: signed " << split << "\n";
    s->Print(json{{"file", file}, {"summary", split}, {"transactions", arr}}, human);
    return kExitOk;
  }

  // One non-atomic SubmitBatch rather than SubmitTx per transaction: one
  // round trip and one block commit to wait for instead of one per
  // transaction, and non-atomic keeps what the split promises, each
  // transaction standing alone (an atomic batch would tie them together,
  // and a list over 128 is then not what the user was told).
  // kListEntriesMax keeps the request within the node's batch limits.
  pb::SubmitBatchRequest req;
  req.set_atomic(false);
  for (const ListTx& t : txs) *req.add_txs() = t.tx;
  pb::SubmitBatchResponse resp;
  auto ctx = s->client().Context();
  grpc::Status rpc = s->client().stub()->SubmitBatch(ctx.get(), req, &resp);
  if (!rpc.ok()) {
    CliError e = s->client().Error(rpc);
    if (rpc.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
        rpc.error_code() == grpc::StatusCode::UNAVAILABLE ||
        rpc.error_code() == grpc::StatusCode::CANCELLED) {
      // As for one transaction (SendSigned): the outcome is unknown, and
      // signing the file again would make new transactions.
      e.message += "\n  the transactions may still commit: check them with `chip tx HASH`:";
      for (const ListTx& t : txs) e.message += "\n    " + ToHex(t.hash);
    }
    return s->Fail(e);
  }
  if (static_cast<size_t>(resp.results_size()) != txs.size()) {
    return s->Fail(kExitError, "node answered " + std::to_string(resp.results_size()) +
                                   " results for " + std::to_string(txs.size()) + " transactions");
  }

  bool all_ok = true;
  json arr = json::array();
  std::string human = split + "\n";
  for (size_t i = 0; i < txs.size(); ++i) {
    const ListTx& t = txs[i];
    const pb::TxResult& r = resp.results(static_cast<int>(i));
    all_ok = all_ok && r.code() == pb::RESULT_OK;
    json tj = TxResultJson(r);
    tj["first_line"] = ops[t.first].line;
    tj["last_line"] = ops[t.first + t.count - 1].line;
    json oj = json::array();
    for (size_t k = 0; k < t.count; ++k) {
      json o = ops[t.first + k].json;
      o["index"] = k;
      o["line"] = ops[t.first + k].line;
      o["outcome"] = Outcome(r, k);
      oj.push_back(std::move(o));
    }
    tj["operations"] = std::move(oj);
    arr.push_back(std::move(tj));
    human += "transaction " + std::to_string(i + 1) + " of " + std::to_string(txs.size()) + " (" +
             Lines(ops, t) + ", " + Plural(t.count, noun) + "): " + DescribeResult(r) + "\n";
    if (r.code() != pb::RESULT_OK && r.has_failed_operation() && r.failed_operation() < t.count) {
      human += "  operation " + std::to_string(r.failed_operation()) + " (" + file + ":" +
               std::to_string(ops[t.first + r.failed_operation()].line) +
               ") failed; none of this transaction's " + Plural(t.count, noun) + " applied\n";
    }
  }
  s->Print(json{{"file", file},
                {"summary", split},
                {"operations", ops.size()},
                {"operations_per_transaction_max", kTxOperationsMax},
                {"transactions", arr},
                {"ok", all_ok}},
           human);
  return all_ok ? kExitOk : kExitRejected;
}

}  // namespace chip::cli
