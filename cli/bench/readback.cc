// --verify: reads acknowledged transactions back with GetTx.
#include <mutex>
#include <thread>

#include "cli/bench/rpc.h"
#include "cli/bench/run.h"
#include "ledger/tx.h"
#include "support/grpc_names.h"

namespace chip::cli::bench_internal {

namespace pb = ::chipledger::v1;
using nlohmann::json;

namespace {

// --verify reads every acknowledged transaction up to this many, else an
// evenly spread sample of this many.
constexpr size_t kVerifyAllMax = 100'000;
constexpr uint32_t kVerifyThreadsMax = 8;

}  // namespace

// Reads acknowledged transactions back (all, or an even sample of
// kVerifyAllMax) and compares code, position and failed operation with what
// the node answered. The stored body must hash to the transaction's hash (so
// a list is stored whole, every operation in order) and carry --ops
// operations; the operations so read back are counted.
json Bench::Verify(bool* ok) {
  std::vector<size_t> acked;
  uint64_t already_applied = 0;
  for (size_t i = 0; i < acks_.size(); ++i) {
    if (acks_[i].already_applied || acks_[i].code == pb::RESULT_ALREADY_APPLIED) ++already_applied;
    if (acks_[i].height > 0) acked.push_back(i);
  }
  std::vector<size_t> check;
  if (acked.size() <= kVerifyAllMax) {
    check = acked;
  } else {
    for (size_t k = 0; k < kVerifyAllMax; ++k)
      check.push_back(acked[k * acked.size() / kVerifyAllMax]);
  }
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> missing{0}, mismatched{0}, errors{0}, operations{0};
  std::mutex mu;
  std::vector<std::string> examples;
  constexpr size_t kExamplesMax = 5;
  auto worker = [&](size_t client) {
    for (;;) {
      size_t k = next.fetch_add(1);
      if (k >= check.size()) return;
      size_t slot = check[k];
      pb::GetTxRequest req;
      req.set_tx_hash(AsString(hashes_[slot]));
      pb::GetTxResponse resp;
      auto ctx = Context(t_.timeout_ms);
      grpc::Status s = Stub(client)->GetTx(ctx.get(), req, &resp);
      std::string problem;
      if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
        ++missing;
        problem = "missing";
      } else if (!s.ok()) {
        ++errors;
        problem = std::string("GetTx ") + GrpcCodeName(s.error_code());
      } else if (resp.result().code() != acks_[slot].code ||
                 resp.result().height() != acks_[slot].height ||
                 resp.result().index() != acks_[slot].index ||
                 resp.result().has_failed_operation() != acks_[slot].failed_operation.has_value() ||
                 (resp.result().has_failed_operation() &&
                  resp.result().failed_operation() != *acks_[slot].failed_operation)) {
        ++mismatched;
        problem = "recorded at " + std::to_string(resp.result().height()) + ":" +
                  std::to_string(resp.result().index()) + " " + ResultName(resp.result().code()) +
                  ", acknowledged at " + std::to_string(acks_[slot].height) + ":" +
                  std::to_string(acks_[slot].index);
      } else if (TxHash(chain_id_, resp.tx().body()) != hashes_[slot]) {
        ++mismatched;
        problem = "stored body does not hash to its tx_hash";
      } else if (pb::TxBody body; !body.ParseFromString(resp.tx().body()) ||
                                  OperationCount(body) != o_.ops ||
                                  IsMultiOp(body) != (o_.ops > 1)) {
        ++mismatched;
        problem = "stored body does not carry " + std::to_string(o_.ops) + " operations";
      } else {
        operations.fetch_add(OperationCount(body));
      }
      if (!problem.empty()) {
        std::lock_guard<std::mutex> lock(mu);
        if (examples.size() < kExamplesMax)
          examples.push_back(ToHex(hashes_[slot]) + " " + problem);
      }
    }
  };
  std::vector<std::thread> pool;
  size_t workers =
      std::min<size_t>({stubs_.size(), kVerifyThreadsMax, std::max<size_t>(1, check.size())});
  for (size_t c = 0; c < workers; ++c) pool.emplace_back(worker, c);
  for (auto& th : pool) th.join();
  *ok = missing == 0 && mismatched == 0 && errors == 0 && already_applied == 0;
  return json{{"acknowledged", acked.size()},
              {"checked", check.size()},
              {"sampled", check.size() < acked.size()},
              {"missing", missing.load()},
              {"mismatched", mismatched.load()},
              {"errors", errors.load()},
              {"already_applied", already_applied},
              // Operations in the bodies read back intact: checked x --ops.
              {"operations", operations.load()},
              {"examples", examples},
              {"ok", *ok}};
}

}  // namespace chip::cli::bench_internal
