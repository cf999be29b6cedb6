#include "node/serve/ledger_service.h"

#include <google/protobuf/descriptor.h>
#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <grpc/support/alloc.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <exception>
#include <mutex>
#include <set>
#include <string_view>
#include <thread>

#include "ledger/address.h"
#include "ledger/amount.h"
#include "ledger/check.h"
#include "ledger/checkpoint.h"
#include "ledger/merkle.h"

namespace chip::node {

namespace pb = ::chipledger::v1;

grpc::Status InvalidArgument(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

namespace {

// A 32-byte key or hash from a request field.
std::optional<Hash32> Key32(const std::string& bytes) { return ToHash32(bytes); }

// The answer for a transaction refused before any block (a stateless check or
// admission): its code, the operation that decided it, no height.
void Refuse(Metrics* metrics, pb::ResultCode code, std::optional<uint32_t> failed_op,
            pb::TxResult* r) {
  metrics->CountResult(code);
  r->set_code(code);
  if (failed_op) r->set_failed_operation(*failed_op);
}

// An atomic batch with a refused member never reaches a block: every member
// not refused itself is ATOMIC_BATCH_FAILED.
void FailAtomicBatch(std::vector<pb::TxResult>* results, pb::SubmitBatchResponse* resp) {
  for (auto& r : *results) {
    if (r.code() == pb::RESULT_UNSPECIFIED) r.set_code(pb::RESULT_ATOMIC_BATCH_FAILED);
    *resp->add_results() = r;
  }
}

pb::ReservationInfo ToInfo(const Hash32& id, const Reservation& r) {
  pb::ReservationInfo info;
  info.set_id(AsString(id));
  info.set_payer(AsString(r.payer));
  info.set_provider(AsString(r.provider));
  info.set_amount_ucu(r.amount_ucu);
  info.set_held_ucu(r.held_ucu);
  info.set_settled_ucu(r.settled_ucu);
  info.set_created_height(r.created_height);
  info.set_expires_at_ms(r.expires_at_ms);
  info.set_status(static_cast<pb::ReservationInfo::Status>(r.status));
  return info;
}

// History cursors are the hex of height (8 bytes) || index (4 bytes) of the
// last item returned; opaque to clients.
std::string EncodeCursor(uint64_t height, uint32_t index) {
  std::string raw;
  PutU64(&raw, height);
  PutU32(&raw, index);
  return ToHex(raw);
}

std::optional<std::pair<uint64_t, uint32_t>> DecodeCursor(const std::string& cursor) {
  if (cursor.size() != 24) return std::nullopt;
  auto raw = FromHex(cursor);
  if (!raw) return std::nullopt;
  std::string_view in(*raw);
  uint64_t h = 0;
  uint32_t i = 0;
  if (!GetU64(&in, &h) || !GetU32(&in, &i)) return std::nullopt;
  return std::make_pair(h, i);
}

// Bounds how many handler threads run CheckTx (Ed25519) at once: one per
// core. gRPC's synchronous server runs every request on its own thread, so
// without a bound 64 concurrent SubmitBatch calls were 64 runnable threads
// verifying at the same priority as the one sequencer thread, which then got
// a 1/65 share of the CPUs and spent 60% of its time waiting for one
// (docs/PERFORMANCE.md). With the bound, the sequencer competes with at most
// one verifier per core, and verification still uses every core.
class VerifySlots {
 public:
  static VerifySlots& Instance() {
    static VerifySlots slots(std::max(1u, std::thread::hardware_concurrency()));
    return slots;
  }
  void Acquire() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return free_ > 0; });
    --free_;
  }
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++free_;
    }
    cv_.notify_one();
  }

 private:
  explicit VerifySlots(unsigned n) : free_(n) {}
  std::mutex mu_;
  std::condition_variable cv_;
  unsigned free_;
};

constexpr size_t kVerifyChunkTxs = 64;  // about 2.5 ms of Ed25519 on this machine

// Holds one verification slot for its scope.
class VerifySlot {
 public:
  VerifySlot() { VerifySlots::Instance().Acquire(); }
  ~VerifySlot() { VerifySlots::Instance().Release(); }
  VerifySlot(const VerifySlot&) = delete;
  VerifySlot& operator=(const VerifySlot&) = delete;
};

Result<uint32_t> PageSize(uint32_t requested) {
  if (requested == 0) return kPageSizeDefault;
  if (requested > kPageSizeMax) {
    return Status::InvalidArgument("page_size must be 1.." + std::to_string(kPageSizeMax));
  }
  return requested;
}

}  // namespace

grpc::Status ToGrpc(const Status& s) {
  using C = Status::Code;
  grpc::StatusCode code = grpc::StatusCode::INTERNAL;
  switch (s.code()) {
    case C::kOk:
      return grpc::Status::OK;
    case C::kInvalidArgument:
      code = grpc::StatusCode::INVALID_ARGUMENT;
      break;
    case C::kNotFound:
      code = grpc::StatusCode::NOT_FOUND;
      break;
    case C::kAlreadyExists:
      code = grpc::StatusCode::ALREADY_EXISTS;
      break;
    case C::kFailedPrecondition:
      code = grpc::StatusCode::FAILED_PRECONDITION;
      break;
    case C::kResourceExhausted:
      code = grpc::StatusCode::RESOURCE_EXHAUSTED;
      break;
    case C::kUnavailable:
    case C::kIoError:
      code = grpc::StatusCode::UNAVAILABLE;
      break;
    case C::kCorruption:
      code = grpc::StatusCode::DATA_LOSS;
      break;
    case C::kInternal:
      code = grpc::StatusCode::INTERNAL;
      break;
  }
  return grpc::Status(code, s.message());
}

namespace {

// The handler of one method behind an answer to requests that do not parse
// (see ParsedRequestService). The server thread calls Deserialize with the
// received bytes, then RunHandler with its result and status; a failed
// parse makes `inner` answer the status without running the method.
class ParseFailureAnswer final : public grpc::internal::MethodHandler {
 public:
  ParseFailureAnswer(std::string path, std::string request_type, Metrics* metrics,
                     grpc::internal::MethodHandler* inner)
      : path_(std::move(path)),
        request_type_(std::move(request_type)),
        metrics_(metrics),
        inner_(inner) {}

  void RunHandler(const HandlerParameter& param) override { inner_->RunHandler(param); }

  void* Deserialize(grpc_call* call, grpc_byte_buffer* req, grpc::Status* status,
                    void** handler_data) override {
    // The size first: the inner handler consumes the buffer.
    const size_t bytes = req == nullptr ? 0 : grpc_byte_buffer_length(req);
    void* request = inner_->Deserialize(call, req, status, handler_data);
    if (status->ok()) return request;
    std::string message = "failed to parse the request as " + request_type_ + " (" +
                          std::to_string(bytes) + " bytes)";
    // gRPC's own text: empty for a proto3 message that does not parse,
    // "No payload" for a call without a message.
    if (!status->error_message().empty()) message += ": " + status->error_message();
    if (spdlog::default_logger_raw()->should_log(spdlog::level::debug)) {
      char* peer = grpc_call_get_peer(call);
      spdlog::debug("{}: {} from {}; answered INVALID_ARGUMENT", path_, message,
                    peer != nullptr ? peer : "?");
      gpr_free(peer);
    }
    metrics_->rpc_errors.fetch_add(1, std::memory_order_relaxed);
    *status = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
    return nullptr;
  }

 private:
  const std::string path_;          // "/chipledger.v1.Ledger/SubmitTx"
  const std::string request_type_;  // "chipledger.v1.SubmitTxRequest"
  Metrics* const metrics_;
  const std::unique_ptr<grpc::internal::MethodHandler> inner_;
};

}  // namespace

ParsedRequestService::ParsedRequestService(const std::string& service_full_name, Metrics* metrics)
    : descriptor_(
          google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service_full_name)),
      metrics_(metrics) {
  CHIP_CHECK(descriptor_ != nullptr);
}

void ParsedRequestService::Add(const char* method, grpc::internal::RpcMethod::RpcType type,
                               const google::protobuf::Descriptor* request,
                               const google::protobuf::Descriptor* response,
                               grpc::internal::MethodHandler* handler) {
  std::unique_ptr<grpc::internal::MethodHandler> owned(handler);
  const google::protobuf::MethodDescriptor* m = descriptor_->FindMethodByName(method);
  CHIP_CHECK(m != nullptr);
  CHIP_CHECK(m->input_type() == request);
  CHIP_CHECK(m->output_type() == response);
  CHIP_CHECK(!m->client_streaming());
  CHIP_CHECK(m->server_streaming() == (type == grpc::internal::RpcMethod::SERVER_STREAMING));
  CHIP_CHECK(added_.insert(method).second);
  paths_.push_back("/" + descriptor_->full_name() + "/" + method);
  AddMethod(new grpc::internal::RpcServiceMethod(
      paths_.back().c_str(), type,
      new ParseFailureAnswer(paths_.back(), request->full_name(), metrics_, owned.release())));
}

void ParsedRequestService::CheckComplete() const {
  CHIP_CHECK(added_.size() == static_cast<size_t>(descriptor_->method_count()));
}

std::unique_ptr<ParsedRequestService> LedgerMethods(LedgerService* ledger, Metrics* metrics) {
  auto s = std::make_unique<ParsedRequestService>(pb::Ledger::service_full_name(), metrics);
  s->AddUnary("SubmitTx", ledger, &LedgerService::SubmitTx);
  s->AddUnary("SubmitBatch", ledger, &LedgerService::SubmitBatch);
  s->AddUnary("GetTx", ledger, &LedgerService::GetTx);
  s->AddUnary("GetAccount", ledger, &LedgerService::GetAccount);
  s->AddUnary("GetReservation", ledger, &LedgerService::GetReservation);
  s->AddUnary("ListHistory", ledger, &LedgerService::ListHistory);
  s->AddUnary("GetBlock", ledger, &LedgerService::GetBlock);
  s->AddUnary("ListBlocks", ledger, &LedgerService::ListBlocks);
  s->AddServerStreaming("StreamBlocks", ledger, &LedgerService::StreamBlocks);
  s->AddUnary("GetStatus", ledger, &LedgerService::GetStatus);
  s->AddUnary("GetCheckpoint", ledger, &LedgerService::GetCheckpoint);
  s->AddUnary("GetInclusionProof", ledger, &LedgerService::GetInclusionProof);
  s->AddUnary("GetConsistencyProof", ledger, &LedgerService::GetConsistencyProof);
  s->AddUnary("GetFund", ledger, &LedgerService::GetFund);
  s->CheckComplete();
  return s;
}

grpc::Status LedgerService::Limit(grpc::ServerContext* context, uint64_t txs,
                                  std::unique_ptr<ClientLimits::Ticket>* ticket) {
  uint64_t retry_after_ms = 0;
  Status s = ctx_->limits->Admit(context, txs, ticket, &retry_after_ms);
  if (s.ok()) return grpc::Status::OK;
  if (retry_after_ms != 0) {
    context->AddTrailingMetadata("retry-after-ms", std::to_string(retry_after_ms));
  }
  return ToGrpc(s);
}

bool LedgerService::StateChecks(grpc::ServerContext* context) const {
  return context->client_metadata().count(kForwardedMetadataKey) != 0 ||
         ctx_->orderer->OrdersLocally();
}

grpc::Status LedgerService::SubmitAndWait(grpc::ServerContext* context,
                                          std::vector<pb::SignedTx> txs,
                                          std::vector<CheckedTx> checked, bool atomic,
                                          std::vector<pb::TxResult>* results) {
  if (ctx_->stopping.load())
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "node is shutting down");
  const bool forwarded = context->client_metadata().count(kForwardedMetadataKey) != 0;
  auto future = ctx_->orderer->Enqueue(std::move(txs), std::move(checked), atomic, forwarded);
  if (!future.ok()) return ToGrpc(future.status());
  // Wait in slices so a cancelled client frees its thread promptly. The
  // transaction may still commit after a cancel: resubmitting it is safe.
  while (future->wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
    if (context->IsCancelled()) {
      return grpc::Status(grpc::StatusCode::CANCELLED,
                          "cancelled while waiting for the block; the transaction may still "
                          "commit: resubmit it to learn its result");
    }
  }
  const SubmitOutcome& outcome = future->get();
  if (!outcome.status.ok()) return ToGrpc(outcome.status);
  *results = outcome.results;
  return grpc::Status::OK;
}

grpc::Status LedgerService::SubmitTx(grpc::ServerContext* context, const pb::SubmitTxRequest* req,
                                     pb::SubmitTxResponse* resp) {
  return Guard("SubmitTx", ctx_->metrics, [&]() -> grpc::Status {
    if (!req->has_tx()) return InvalidArgument("tx is required");
    std::unique_ptr<ClientLimits::Ticket> limit_ticket;  // held until the result
    if (grpc::Status l = Limit(context, 1, &limit_ticket); !l.ok()) return l;
    CheckedTx checked;
    {
      VerifySlot slot;
      checked = CheckTx(req->tx(), ctx_->chain->chain_id());
    }
    if (checked.code != pb::RESULT_OK) {
      pb::TxResult* r = resp->mutable_result();
      if (checked.code != pb::RESULT_TX_TOO_LARGE) r->set_tx_hash(AsString(checked.hash));
      Refuse(ctx_->metrics, checked.code, checked.failed_op, r);
      return grpc::Status::OK;
    }
    auto stored = ctx_->chain->store()->GetTx(checked.hash);
    if (!stored.ok()) return ToGrpc(stored.status());
    if (stored->has_value()) {
      *resp->mutable_result() = FromStored(ctx_->chain->store(), checked.hash, **stored, true);
      return grpc::Status::OK;
    }
    // Admission: refused here, the transaction is answered and not recorded.
    std::vector<std::unique_ptr<PendingBook::Ticket>> tickets;  // held until the result
    auto admitted = ctx_->pending->Admit(checked, ctx_->chain, StateChecks(context), &tickets);
    if (!admitted.ok()) return ToGrpc(admitted.status());
    if (admitted->code != pb::RESULT_OK) {
      pb::TxResult* r = resp->mutable_result();
      r->set_tx_hash(AsString(checked.hash));
      Refuse(ctx_->metrics, admitted->code, admitted->failed_op, r);
      return grpc::Status::OK;
    }
    std::vector<pb::TxResult> results;
    std::vector<CheckedTx> list;
    list.push_back(std::move(checked));
    grpc::Status s = SubmitAndWait(context, {req->tx()}, std::move(list), false, &results);
    if (!s.ok()) return s;
    *resp->mutable_result() = results.at(0);
    return grpc::Status::OK;
  });
}

grpc::Status LedgerService::SubmitBatch(grpc::ServerContext* context,
                                        const pb::SubmitBatchRequest* req,
                                        pb::SubmitBatchResponse* resp) {
  return Guard("SubmitBatch", ctx_->metrics, [&]() -> grpc::Status {
    const size_t n = static_cast<size_t>(req->txs_size());
    if (n == 0) return InvalidArgument("txs is empty");
    if (n > ctx_->config.submit_batch_tx_max) {
      return InvalidArgument("batch has " + std::to_string(n) + " transactions; the maximum is " +
                             std::to_string(ctx_->config.submit_batch_tx_max));
    }
    std::unique_ptr<ClientLimits::Ticket> limit_ticket;  // held until the results
    if (grpc::Status l = Limit(context, n, &limit_ticket); !l.ok()) return l;
    std::vector<pb::TxResult> results(n);
    std::vector<CheckedTx> checked(n);
    bool any_stateless_failure = false;
    std::set<std::string_view> bodies;  // views into *req, which outlives the set
    for (const auto& tx : req->txs()) {
      if (!bodies.insert(tx.body()).second) {
        return InvalidArgument("the batch holds the same transaction twice");
      }
    }
    // A slot per chunk, so a batch of 1,000 does not hold a core from
    // single-transaction submitters for 40 ms.
    for (size_t first = 0; first < n; first += kVerifyChunkTxs) {
      VerifySlot slot;
      for (size_t i = first; i < std::min(n, first + kVerifyChunkTxs); ++i) {
        checked[i] = CheckTx(req->txs(static_cast<int>(i)), ctx_->chain->chain_id());
      }
    }
    for (size_t i = 0; i < n; ++i) {
      if (checked[i].code != pb::RESULT_TX_TOO_LARGE) {
        results[i].set_tx_hash(AsString(checked[i].hash));
      }
      if (checked[i].code != pb::RESULT_OK) {
        Refuse(ctx_->metrics, checked[i].code, checked[i].failed_op, &results[i]);
        any_stateless_failure = true;
      }
    }
    if (req->atomic() && any_stateless_failure) {
      FailAtomicBatch(&results, resp);
      return grpc::Status::OK;
    }
    std::vector<pb::SignedTx> queue_txs;
    std::vector<CheckedTx> queue_checked;
    std::vector<size_t> slots;
    std::vector<std::unique_ptr<PendingBook::Ticket>> tickets;  // held until the results
    const bool state_checks = StateChecks(context);
    bool any_refused = false;
    for (size_t i = 0; i < n; ++i) {
      if (checked[i].code != pb::RESULT_OK) continue;
      if (!req->atomic()) {
        auto stored = ctx_->chain->store()->GetTx(checked[i].hash);
        if (!stored.ok()) return ToGrpc(stored.status());
        if (stored->has_value()) {
          results[i] = FromStored(ctx_->chain->store(), checked[i].hash, **stored, true);
          continue;
        }
      }
      auto admitted = ctx_->pending->Admit(checked[i], ctx_->chain, state_checks, &tickets);
      if (!admitted.ok()) return ToGrpc(admitted.status());
      if (admitted->code != pb::RESULT_OK) {
        Refuse(ctx_->metrics, admitted->code, admitted->failed_op, &results[i]);
        any_refused = true;
        continue;
      }
      queue_txs.push_back(req->txs(static_cast<int>(i)));
      queue_checked.push_back(std::move(checked[i]));
      slots.push_back(i);
    }
    if (req->atomic() && any_refused) {
      FailAtomicBatch(&results, resp);
      return grpc::Status::OK;
    }
    if (!queue_txs.empty()) {
      std::vector<pb::TxResult> committed;
      grpc::Status s = SubmitAndWait(context, std::move(queue_txs), std::move(queue_checked),
                                     req->atomic(), &committed);
      if (!s.ok()) return s;
      for (size_t k = 0; k < slots.size(); ++k) results[slots[k]] = committed.at(k);
    }
    for (auto& r : results) *resp->add_results() = r;
    return grpc::Status::OK;
  });
}

grpc::Status LedgerService::GetTx(grpc::ServerContext*, const pb::GetTxRequest* req,
                                  pb::GetTxResponse* resp) {
  return Guard("GetTx", ctx_->metrics, [&]() -> grpc::Status {
    auto hash = Key32(req->tx_hash());
    if (!hash) return InvalidArgument("tx_hash must be 32 bytes");
    auto stored = ctx_->chain->store()->GetTx(*hash);
    if (!stored.ok()) return ToGrpc(stored.status());
    if (!stored->has_value()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no transaction " + ToHex(*hash));
    }
    *resp->mutable_tx() = (*stored)->tx;
    *resp->mutable_result() = FromStored(ctx_->chain->store(), *hash, **stored, false);
    if (resp->result().code() == pb::RESULT_OK && ctx_->chain->rules().fund) {
      pb::TxBody body;
      if (body.ParseFromString((*stored)->tx.body())) {
        resp->set_fund_levy_ucu(FundLevyOf(body, ctx_->chain->rules()));
      }
    }
    return grpc::Status::OK;
  });
}

grpc::Status LedgerService::GetFund(grpc::ServerContext*, const pb::GetFundRequest* req,
                                    pb::GetFundResponse* resp) {
  return Guard("GetFund", ctx_->metrics, [&]() -> grpc::Status {
    std::optional<PublicKey> member;
    if (!req->member().empty()) {
      member = Key32(req->member());
      if (!member) return InvalidArgument("member must be a 32-byte public key");
    }
    const auto& rules = ctx_->chain->rules().fund;
    resp->set_fund_enabled(rules.has_value());
    if (!rules) return grpc::Status::OK;
    resp->set_settle_levy_bps(static_cast<uint32_t>(rules->settle_levy_bps));
    resp->set_mint_share_bps(static_cast<uint32_t>(rules->mint_share_bps));
    resp->set_epoch_ms(rules->epoch_ms);
    for (const auto& k : rules->registrars) resp->add_registrars(AsString(k));
    Store* store = ctx_->chain->store();
    resp->set_height(ctx_->orderer->Tip().height());  // read before the state: never newer
    // A member's record with the fund from one snapshot (ReadAccountView).
    AccountView view;
    if (member) {
      auto v = store->ReadAccountView(*member);
      if (!v.ok()) return ToGrpc(v.status());
      view = std::move(*v);
    }
    if (!view.member) {
      auto fund = store->ReadFund();
      if (!fund.ok()) return ToGrpc(fund.status());
      view.fund = *fund;
    }
    if (!view.fund) return ToGrpc(Status::Corruption("fund record missing"));
    const FundState& f = *view.fund;
    resp->set_balance_ucu(f.balance_ucu);
    resp->set_unclaimed_ucu(f.unclaimed_ucu);
    resp->set_members(f.members);
    resp->set_epoch(f.epoch);
    resp->set_next_boundary_ms(f.next_boundary_ms);
    resp->set_last_dividend_ucu(f.last_dividend_ucu);
    resp->set_distributed_ucu(f.distributed_ucu);
    if (view.member) {
      resp->set_member_registered(view.member->registered);
      resp->set_member_unclaimed_ucu(UnclaimedDividend(f, *view.member));
    }
    return grpc::Status::OK;
  });
}

grpc::Status LedgerService::GetAccount(grpc::ServerContext*, const pb::GetAccountRequest* req,
                                       pb::GetAccountResponse* resp) {
  return Guard("GetAccount", ctx_->metrics, [&]() -> grpc::Status {
    auto key = Key32(req->account());
    if (!key) return InvalidArgument("account must be a 32-byte public key");
    Store* store = ctx_->chain->store();
    // On a fund chain, consistent with the member record: a commit that
    // credits the dividend between two separate reads would have it counted
    // twice or not at all. Without a fund, the account alone (cached).
    AccountView view;
    if (ctx_->chain->rules().fund) {
      auto v = store->ReadAccountView(*key);
      if (!v.ok()) return ToGrpc(v.status());
      view = std::move(*v);
    } else {
      auto account = store->ReadAccount(*key);
      if (!account.ok()) return ToGrpc(account.status());
      view.account = *account;
    }
    uint64_t dividend = 0;
    bool member = false;
    if (view.member) {
      if (!view.fund) return ToGrpc(Status::Corruption("fund record missing"));
      dividend = UnclaimedDividend(*view.fund, *view.member);
      member = view.member->registered;
    }
    if (!view.account && dividend == 0 && !member) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          "account " + EncodeAddress(*key) + " has never been credited");
    }
    const Account a = view.account.value_or(Account{});
    resp->set_account(AsString(*key));
    resp->set_exists(view.account.has_value());
    resp->set_unclaimed_dividend_ucu(dividend);
    resp->set_fund_member(member);
    // Shown as if credited; a balance plus a dividend never exceeds the supply.
    resp->set_balance_ucu(CheckedAdd(a.balance_ucu, dividend).value_or(a.balance_ucu));
    resp->set_held_as_payer_ucu(a.held_as_payer_ucu);
    resp->set_held_as_provider_ucu(a.held_as_provider_ucu);
    auto open = store->OpenReservations(*key, kOpenReservationsListed + 1);
    if (!open.ok()) return ToGrpc(open.status());
    for (size_t i = 0; i < open->size() && i < kOpenReservationsListed; ++i) {
      auto r = store->ReadReservation((*open)[i].id);
      if (!r.ok()) return ToGrpc(r.status());
      if (r->has_value()) *resp->add_open_reservations() = ToInfo((*open)[i].id, **r);
    }
    resp->set_open_reservations_truncated(open->size() > kOpenReservationsListed);
    return grpc::Status::OK;
  });
}

grpc::Status LedgerService::GetReservation(grpc::ServerContext*,
                                           const pb::GetReservationRequest* req,
                                           pb::GetReservationResponse* resp) {
  return Guard("GetReservation", ctx_->metrics, [&]() -> grpc::Status {
    auto id = Key32(req->id());
    if (!id) return InvalidArgument("id must be 32 bytes");
    auto r = ctx_->chain->store()->ReadReservation(*id);
    if (!r.ok()) return ToGrpc(r.status());
    if (!r->has_value())
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no reservation " + ToHex(*id));
    *resp->mutable_reservation() = ToInfo(*id, **r);
    return grpc::Status::OK;
  });
}

grpc::Status LedgerService::ListHistory(grpc::ServerContext*, const pb::ListHistoryRequest* req,
                                        pb::ListHistoryResponse* resp) {
  return Guard("ListHistory", ctx_->metrics, [&]() -> grpc::Status {
    auto key = Key32(req->account());
    if (!key) return InvalidArgument("account must be a 32-byte public key");
    auto page = PageSize(req->page_size());
    if (!page.ok()) return ToGrpc(page.status());
    std::optional<std::pair<uint64_t, uint32_t>> before;
    if (!req->cursor().empty()) {
      before = DecodeCursor(req->cursor());
      if (!before) return InvalidArgument("bad cursor: pass next_cursor from a previous response");
    }
    Store* store = ctx_->chain->store();
    // One more than asked tells whether another page exists.
    auto entries = store->History(*key, before, *page + 1);
    if (!entries.ok()) return ToGrpc(entries.status());
    for (size_t i = 0; i < entries->size() && i < *page; ++i) {
      const HistoryEntry& e = (*entries)[i];
      auto stored = store->GetTx(e.tx_hash);
      if (!stored.ok()) return ToGrpc(stored.status());
      if (!stored->has_value())
        return grpc::Status(grpc::StatusCode::DATA_LOSS, "history entry without transaction");
      pb::HistoryItem* item = resp->add_items();
      item->set_tx_hash(AsString(e.tx_hash));
      item->set_height(e.height);
      item->set_index(e.index);
      item->set_code(static_cast<pb::ResultCode>((*stored)->location.code));
      item->set_block_time_ms((*stored)->block_time_ms);
      *item->mutable_tx() = (*stored)->tx;
      pb::TxBody body;
      if (body.ParseFromString((*stored)->tx.body())) {
        for (uint32_t op : OperationsTouching(body, e.tx_hash, *key, store))
          item->add_operations(op);
        if (item->code() == pb::RESULT_OK) {
          item->set_fund_levy_ucu(FundLevyOf(body, ctx_->chain->rules()));
        }
      }
    }
    if (entries->size() > *page) {
      const HistoryEntry& last = (*entries)[*page - 1];
      resp->set_next_cursor(EncodeCursor(last.height, last.index));
    }
    return grpc::Status::OK;
  });
}

grpc::Status LedgerService::GetBlock(grpc::ServerContext*, const pb::GetBlockRequest* req,
                                     pb::GetBlockResponse* resp) {
  return Guard("GetBlock", ctx_->metrics, [&]() -> grpc::Status {
    uint64_t tip = ctx_->orderer->Tip().height();
    if (req->height() > tip) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no block " + std::to_string(req->height()) +
                                                           "; the tip is " + std::to_string(tip));
    }
    auto block = ctx_->chain->store()->GetBlock(req->height());
    if (!block.ok()) return ToGrpc(block.status());
    if (!block->has_value()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such block");
    resp->set_block_hash(AsString(BlockHash((*block)->header())));
    *resp->mutable_block() = std::move(**block);
    return grpc::Status::OK;
  });
}

grpc::Status LedgerService::ListBlocks(grpc::ServerContext*, const pb::ListBlocksRequest* req,
                                       pb::ListBlocksResponse* resp) {
  return Guard("ListBlocks", ctx_->metrics, [&]() -> grpc::Status {
    auto page = PageSize(req->page_size());
    if (!page.ok()) return ToGrpc(page.status());
    uint64_t tip = ctx_->orderer->Tip().height();
    uint64_t end = req->before_height() == 0 ? tip + 1 : std::min(req->before_height(), tip + 1);
    for (uint64_t h = end; h > 0 && resp->blocks_size() < static_cast<int>(*page); --h) {
      auto block = ctx_->chain->store()->GetBlock(h - 1);
      if (!block.ok()) return ToGrpc(block.status());
      if (!block->has_value()) break;
      pb::BlockSummary* s = resp->add_blocks();
      *s->mutable_header() = (*block)->header();
      s->set_block_hash(AsString(BlockHash((*block)->header())));
    }
    return grpc::Status::OK;
  });
}

grpc::Status LedgerService::StreamBlocks(grpc::ServerContext* context,
                                         const pb::StreamBlocksRequest* req,
                                         grpc::ServerWriter<pb::StreamBlocksResponse>* writer) {
  return Guard("StreamBlocks", ctx_->metrics, [&]() -> grpc::Status {
    if (ctx_->streams.fetch_add(1) >= ctx_->config.streams_max) {
      ctx_->streams.fetch_sub(1);
      return grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          "too many block streams (" + std::to_string(ctx_->config.streams_max) + ")");
    }
    struct Release {
      std::atomic<uint32_t>* n;
      ~Release() { n->fetch_sub(1); }
    } release{&ctx_->streams};
    uint64_t next = req->from_height();
    while (!context->IsCancelled() && !ctx_->stopping.load()) {
      uint64_t tip = ctx_->orderer->Tip().height();
      if (next > tip) {
        ctx_->orderer->WaitForHeightAbove(tip, std::chrono::milliseconds(250));
        continue;
      }
      auto block = ctx_->chain->store()->GetBlock(next);
      if (!block.ok()) return ToGrpc(block.status());
      if (!block->has_value()) return grpc::Status(grpc::StatusCode::DATA_LOSS, "missing block");
      pb::StreamBlocksResponse msg;
      msg.set_block_hash(AsString(BlockHash((*block)->header())));
      *msg.mutable_block() = std::move(**block);
      if (!writer->Write(msg)) return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
      ++next;
    }
    if (ctx_->stopping.load())
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "node is shutting down");
    return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
  });
}

grpc::Status LedgerService::GetStatus(grpc::ServerContext*, const pb::GetStatusRequest*,
                                      pb::GetStatusResponse* resp) {
  return Guard("GetStatus", ctx_->metrics, [&]() -> grpc::Status {
    pb::BlockHeader tip = ctx_->orderer->Tip();
    resp->set_chain_id(AsString(ctx_->chain->chain_id()));
    resp->set_chain_name(ctx_->chain->genesis().chain_name);
    resp->set_height(tip.height());
    resp->set_tip_hash(AsString(BlockHash(tip)));
    resp->set_state_digest(tip.state_digest());
    resp->set_tip_time_ms(tip.timestamp_ms());
    resp->set_node_key(AsString(ctx_->node_key));
    resp->set_version(CHIPLEDGER_VERSION);
    resp->set_uptime_ms(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                  std::chrono::steady_clock::now() - ctx_->started)
                                                  .count()));
    resp->set_mempool_depth(static_cast<uint32_t>(ctx_->orderer->depth()));
    resp->set_genesis_json(ctx_->chain->genesis_json());
    resp->set_storage_error(ctx_->orderer->storage_error());
    ctx_->orderer->FillClusterStatus(resp->mutable_cluster());
    return grpc::Status::OK;
  });
}

namespace {

MerkleNodeReader NodeReader(Store* store) {
  return [store](uint8_t level, uint64_t index) { return store->ReadMerkleNode(level, index); };
}

grpc::Status OutOfRange(const std::string& m) {
  return grpc::Status(grpc::StatusCode::OUT_OF_RANGE, m);
}

}  // namespace

grpc::Status LedgerService::GetCheckpoint(grpc::ServerContext*, const pb::GetCheckpointRequest*,
                                          pb::GetCheckpointResponse* resp) {
  return Guard("GetCheckpoint", ctx_->metrics, [&]() -> grpc::Status {
    pb::BlockHeader tip = ctx_->orderer->Tip();
    auto root = ToHash32(tip.tree_root());
    if (!root) return grpc::Status(grpc::StatusCode::DATA_LOSS, "tip has no tree root");
    Checkpoint c{CheckpointOrigin(ctx_->chain->genesis().chain_name, ctx_->chain->chain_id()),
                 tip.tree_size(), *root};
    resp->set_note(SignCheckpoint(c, *ctx_->node_secret));
    resp->set_tree_size(c.tree_size);
    resp->set_root(AsString(c.root));
    resp->set_height(tip.height());
    resp->set_node_key(AsString(ctx_->node_key));
    resp->set_origin(c.origin);
    return grpc::Status::OK;
  });
}

grpc::Status LedgerService::GetInclusionProof(grpc::ServerContext*,
                                              const pb::GetInclusionProofRequest* req,
                                              pb::GetInclusionProofResponse* resp) {
  return Guard("GetInclusionProof", ctx_->metrics, [&]() -> grpc::Status {
    auto hash = Key32(req->tx_hash());
    if (!hash) return InvalidArgument("tx_hash must be 32 bytes");
    uint64_t latest = ctx_->orderer->Tip().tree_size();
    uint64_t size = req->tree_size() == 0 ? latest : req->tree_size();
    if (size > latest) {
      return OutOfRange("tree_size " + std::to_string(size) + " is beyond the log's " +
                        std::to_string(latest) + " leaves");
    }
    Store* store = ctx_->chain->store();
    auto stored = store->GetTx(*hash);
    if (!stored.ok()) return ToGrpc(stored.status());
    if (!stored->has_value())
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no transaction " + ToHex(*hash));
    const StoredTx& tx = **stored;
    if (tx.leaf_index >= size) {
      return OutOfRange("transaction is leaf " + std::to_string(tx.leaf_index) +
                        ", outside a tree of " + std::to_string(size));
    }
    auto proof = MerkleInclusionProof(tx.leaf_index, size, NodeReader(store));
    if (!proof.ok()) return ToGrpc(proof.status());
    resp->set_leaf_index(tx.leaf_index);
    resp->set_tree_size(size);
    resp->set_leaf_data(LeafData(*hash, tx.location.height, tx.location.index, tx.location.code));
    for (const Hash32& h : *proof) resp->add_proof(AsString(h));
    return grpc::Status::OK;
  });
}

grpc::Status LedgerService::GetConsistencyProof(grpc::ServerContext*,
                                                const pb::GetConsistencyProofRequest* req,
                                                pb::GetConsistencyProofResponse* resp) {
  return Guard("GetConsistencyProof", ctx_->metrics, [&]() -> grpc::Status {
    uint64_t latest = ctx_->orderer->Tip().tree_size();
    uint64_t second = req->second() == 0 ? latest : req->second();
    if (second > latest) {
      return OutOfRange("second " + std::to_string(second) + " is beyond the log's " +
                        std::to_string(latest) + " leaves");
    }
    if (req->first() == 0 || req->first() > second) {
      return OutOfRange("first must be 1.." + std::to_string(second));
    }
    auto proof = MerkleConsistencyProof(req->first(), second, NodeReader(ctx_->chain->store()));
    if (!proof.ok()) return ToGrpc(proof.status());
    resp->set_first(req->first());
    resp->set_second(second);
    for (const Hash32& h : *proof) resp->add_proof(AsString(h));
    return grpc::Status::OK;
  });
}

}  // namespace chip::node
