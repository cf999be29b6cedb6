#include "ledger/tx.h"

#include <google/protobuf/reflection.h>
#include <google/protobuf/unknown_field_set.h>

#include "ledger/check.h"
#include "ledger/limits.h"

namespace chip {

static_assert(kTxDomain.size() == 16, "the domain tag is exactly 16 bytes");

std::string TxSigningMessage(const Hash32& chain_id, std::string_view body) {
  std::string msg;
  msg.reserve(kTxDomain.size() + 32 + body.size());
  PutBytes(&msg, kTxDomain);
  PutHash(&msg, chain_id);
  PutBytes(&msg, body);
  return msg;
}

Hash32 TxHash(const Hash32& chain_id, std::string_view body) {
  Sha256Builder b;
  b.Update(kTxDomain);
  b.Update(chain_id);
  b.Update(body);
  return b.Finish();
}

pb::SignedTx SignTx(const SecretKey& key, const Hash32& chain_id, pb::TxBody body) {
  PublicKey pk = key.Public();
  body.set_account(AsString(pk));
  pb::SignedTx tx;
  CHIP_CHECK(body.SerializeToString(tx.mutable_body()));
  Signature sig = Sign(key, TxSigningMessage(chain_id, tx.body()));
  tx.set_signer(AsString(pk));
  tx.set_signature(std::string(reinterpret_cast<const char*>(sig.data()), sig.size()));
  return tx;
}

bool HasUnknownFields(const google::protobuf::Message& msg) {
  const auto* refl = msg.GetReflection();
  if (!refl->GetUnknownFields(msg).empty()) return true;
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  refl->ListFields(msg, &fields);
  for (const auto* f : fields) {
    if (f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (f->is_repeated()) {
      int n = refl->FieldSize(msg, f);
      for (int i = 0; i < n; ++i) {
        if (HasUnknownFields(refl->GetRepeatedMessage(msg, f, i))) return true;
      }
    } else if (HasUnknownFields(refl->GetMessage(msg, f))) {
      return true;
    }
  }
  return false;
}

Hash32 OperationReservationId(const Hash32& tx_hash, uint32_t op_index) {
  std::string m = "chipledger/reservation/v1";
  PutHash(&m, tx_hash);
  PutU32(&m, op_index);
  return Sha256(m);
}

namespace {

// Field rules of one operation, a TxBody's single one or an Operation of a
// list (the two messages have the same kinds under the same field numbers).
// Returns RESULT_OK or the code.
// `list` is the operation list `op` belongs to and `index` its position
// there, or nullptr for a body's single operation.
template <typename Op>
pb::ResultCode CheckOperationRules(const Op& op, std::string_view self, const pb::Operations* list,
                                   uint32_t index) {
  // A settle or release names its reservation by id, or inside a list by the
  // index of an earlier Reserve of the same list.
  auto check_reference = [&](const std::string& reservation,
                             const std::optional<uint32_t>& reserve_op) {
    if (!reserve_op) {
      return reservation.size() == kKeyBytes ? pb::RESULT_OK : pb::RESULT_BAD_ADDRESS;
    }
    if (list == nullptr || !reservation.empty() || *reserve_op >= index ||
        !list->ops(static_cast<int>(*reserve_op)).has_reserve()) {
      return pb::RESULT_BAD_OPERATION_REF;
    }
    return pb::RESULT_OK;
  };
  if (op.has_transfer()) {
    const auto& t = op.transfer();
    if (t.to().size() != kKeyBytes) return pb::RESULT_BAD_ADDRESS;
    if (t.amount_ucu() == 0) return pb::RESULT_ZERO_AMOUNT;
    if (t.to() == self) return pb::RESULT_SELF_TRANSFER;
    return pb::RESULT_OK;
  }
  if (op.has_reserve()) {
    const auto& r = op.reserve();
    if (r.to().size() != kKeyBytes) return pb::RESULT_BAD_ADDRESS;
    if (r.amount_ucu() == 0) return pb::RESULT_ZERO_AMOUNT;
    if (r.to() == self) return pb::RESULT_SELF_TRANSFER;
    if (r.timeout_ms() == 0 || r.timeout_ms() > kReserveTimeoutMsMax) return pb::RESULT_BAD_TIMEOUT;
    return pb::RESULT_OK;
  }
  if (op.has_settle()) {
    const auto& s = op.settle();
    pb::ResultCode ref = check_reference(s.reservation(), ReserveOp(s));
    if (ref != pb::RESULT_OK) return ref;
    // A final settle of zero closes the reservation and refunds the payer.
    if (s.amount_ucu() == 0 && !s.final()) return pb::RESULT_ZERO_AMOUNT;
    return pb::RESULT_OK;
  }
  if (op.has_release()) return check_reference(op.release().reservation(), ReserveOp(op.release()));
  if (op.has_mint()) {
    const auto& m = op.mint();
    if (m.to().size() != kKeyBytes) return pb::RESULT_BAD_ADDRESS;
    if (m.amount_ucu() == 0) return pb::RESULT_ZERO_AMOUNT;
    return pb::RESULT_OK;
  }
  if (op.has_burn()) {
    if (op.burn().amount_ucu() == 0) return pb::RESULT_ZERO_AMOUNT;
    return pb::RESULT_OK;
  }
  if (op.has_observe_price()) {
    const auto& o = op.observe_price();
    if (o.usd_micros_per_chip_hour() == 0) return pb::RESULT_ZERO_PRICE;
    if (o.source().size() > kObservationSourceBytesMax) return pb::RESULT_SOURCE_TOO_LONG;
    return pb::RESULT_OK;
  }
  if (op.has_fund_register()) {
    return op.fund_register().member().size() == kKeyBytes ? pb::RESULT_OK : pb::RESULT_BAD_ADDRESS;
  }
  if (op.has_fund_deregister()) {
    return op.fund_deregister().member().size() == kKeyBytes ? pb::RESULT_OK
                                                             : pb::RESULT_BAD_ADDRESS;
  }
  if (op.has_fund_claim()) return pb::RESULT_OK;
  return pb::RESULT_MALFORMED;  // no kind
}

// Field rules that depend only on the body: sets out->code, and
// out->failed_op when one operation of a list decided it.
void CheckBodyRules(CheckedTx* out) {
  const pb::TxBody& body = out->body;
  if (body.memo().size() > kMemoBytesMax) {
    out->code = pb::RESULT_MEMO_TOO_LONG;
    return;
  }
  std::string_view self = AsView(out->signer);
  if (!IsMultiOp(body)) {
    out->code = CheckOperationRules(body, self, nullptr, 0);
    return;
  }
  const auto& ops = body.operations().ops();
  if (body.kind_case() != pb::TxBody::KIND_NOT_SET) {
    out->code = pb::RESULT_OPERATIONS_WITH_KIND;
    return;
  }
  if (ops.empty()) {
    out->code = pb::RESULT_EMPTY_OPERATIONS;
    return;
  }
  if (static_cast<size_t>(ops.size()) > kTxOperationsMax) {
    out->code = pb::RESULT_TOO_MANY_OPERATIONS;
    return;
  }
  for (int k = 0; k < ops.size(); ++k) {
    pb::ResultCode code =
        CheckOperationRules(ops.Get(k), self, &body.operations(), static_cast<uint32_t>(k));
    if (code != pb::RESULT_OK) {
      out->code = code;
      out->failed_op = static_cast<uint32_t>(k);
      return;
    }
  }
  out->code = pb::RESULT_OK;
}

}  // namespace

CheckedTx CheckTx(const pb::SignedTx& tx, const Hash32& chain_id) {
  CheckedTx out;
  if (tx.ByteSizeLong() > kMultiOpSignedTxBytesMax || tx.body().size() > kMultiOpTxBodyBytesMax) {
    out.code = pb::RESULT_TX_TOO_LARGE;
    return out;
  }
  // Over the single-operation limits only a body with an operation list may
  // go on; any other is TX_TOO_LARGE before every other check, as it always
  // was, so a block that held one re-executes to the same result.
  bool parsed = false;
  if (tx.ByteSizeLong() > kSignedTxBytesMax || tx.body().size() > kTxBodyBytesMax) {
    parsed = out.body.ParseFromString(tx.body());
    if (!parsed || !IsMultiOp(out.body)) {
      out.code = pb::RESULT_TX_TOO_LARGE;
      return out;
    }
  }
  out.hash = TxHash(chain_id, tx.body());
  if (!tx.GetReflection()->GetUnknownFields(tx).empty()) {
    out.code = pb::RESULT_UNKNOWN_FIELD;
    return out;
  }
  if (tx.signer().size() != kKeyBytes) {
    out.code = pb::RESULT_BAD_SIGNER_LENGTH;
    return out;
  }
  if (tx.signature().size() != kSignatureBytes) {
    out.code = pb::RESULT_BAD_SIGNATURE_LENGTH;
    return out;
  }
  out.signer = *ToHash32(tx.signer());
  if (!parsed && !out.body.ParseFromString(tx.body())) {
    out.code = pb::RESULT_MALFORMED;
    return out;
  }
  if (HasUnknownFields(out.body)) {
    out.code = pb::RESULT_UNKNOWN_FIELD;
    // Name the operation that carries them, when one does.
    const auto& ops = out.body.operations().ops();
    for (int k = 0; k < ops.size(); ++k) {
      if (HasUnknownFields(ops.Get(k))) {
        out.failed_op = static_cast<uint32_t>(k);
        break;
      }
    }
    return out;
  }
  if (out.body.account() != tx.signer()) {
    out.code = pb::RESULT_SIGNER_MISMATCH;
    return out;
  }
  CheckBodyRules(&out);
  if (out.code != pb::RESULT_OK) return out;
  // The signature is checked last: it is by far the most expensive step.
  if (!Verify(tx.signer(), TxSigningMessage(chain_id, tx.body()), tx.signature())) {
    out.code = pb::RESULT_BAD_SIGNATURE;
    return out;
  }
  out.code = pb::RESULT_OK;
  return out;
}

const char* ResultName(pb::ResultCode code) {
  switch (code) {
    case pb::RESULT_UNSPECIFIED:
      return "UNSPECIFIED";
    case pb::RESULT_OK:
      return "OK";
    case pb::RESULT_MALFORMED:
      return "MALFORMED";
    case pb::RESULT_UNKNOWN_FIELD:
      return "UNKNOWN_FIELD";
    case pb::RESULT_TX_TOO_LARGE:
      return "TX_TOO_LARGE";
    case pb::RESULT_BAD_SIGNER_LENGTH:
      return "BAD_SIGNER_LENGTH";
    case pb::RESULT_BAD_SIGNATURE_LENGTH:
      return "BAD_SIGNATURE_LENGTH";
    case pb::RESULT_BAD_SIGNATURE:
      return "BAD_SIGNATURE";
    case pb::RESULT_SIGNER_MISMATCH:
      return "SIGNER_MISMATCH";
    case pb::RESULT_BAD_ADDRESS:
      return "BAD_ADDRESS";
    case pb::RESULT_MEMO_TOO_LONG:
      return "MEMO_TOO_LONG";
    case pb::RESULT_ZERO_AMOUNT:
      return "ZERO_AMOUNT";
    case pb::RESULT_SELF_TRANSFER:
      return "SELF_TRANSFER";
    case pb::RESULT_BAD_TIMEOUT:
      return "BAD_TIMEOUT";
    case pb::RESULT_ZERO_PRICE:
      return "ZERO_PRICE";
    case pb::RESULT_SOURCE_TOO_LONG:
      return "SOURCE_TOO_LONG";
    case pb::RESULT_EMPTY_OPERATIONS:
      return "EMPTY_OPERATIONS";
    case pb::RESULT_TOO_MANY_OPERATIONS:
      return "TOO_MANY_OPERATIONS";
    case pb::RESULT_OPERATIONS_WITH_KIND:
      return "OPERATIONS_WITH_KIND";
    case pb::RESULT_BAD_OPERATION_REF:
      return "BAD_OPERATION_REF";
    case pb::RESULT_NOT_ORACLE:
      return "NOT_ORACLE";
    case pb::RESULT_UNKNOWN_CHIP:
      return "UNKNOWN_CHIP";
    case pb::RESULT_FUTURE_OBSERVATION:
      return "FUTURE_OBSERVATION";
    case pb::RESULT_EXPIRED:
      return "EXPIRED";
    case pb::RESULT_INSUFFICIENT_FUNDS:
      return "INSUFFICIENT_FUNDS";
    case pb::RESULT_OVERFLOW:
      return "OVERFLOW";
    case pb::RESULT_NOT_ISSUER:
      return "NOT_ISSUER";
    case pb::RESULT_CAP_EXCEEDED:
      return "CAP_EXCEEDED";
    case pb::RESULT_UNKNOWN_RESERVATION:
      return "UNKNOWN_RESERVATION";
    case pb::RESULT_NOT_PROVIDER:
      return "NOT_PROVIDER";
    case pb::RESULT_RESERVATION_CLOSED:
      return "RESERVATION_CLOSED";
    case pb::RESULT_RESERVATION_EXPIRED:
      return "RESERVATION_EXPIRED";
    case pb::RESULT_SETTLE_EXCEEDS_HELD:
      return "SETTLE_EXCEEDS_HELD";
    case pb::RESULT_ATOMIC_BATCH_FAILED:
      return "ATOMIC_BATCH_FAILED";
    case pb::RESULT_NO_FUND:
      return "NO_FUND";
    case pb::RESULT_NOT_REGISTRAR:
      return "NOT_REGISTRAR";
    case pb::RESULT_ALREADY_MEMBER:
      return "ALREADY_MEMBER";
    case pb::RESULT_NOT_MEMBER:
      return "NOT_MEMBER";
    case pb::RESULT_NOTHING_TO_CLAIM:
      return "NOTHING_TO_CLAIM";
    case pb::RESULT_ALREADY_APPLIED:
      return "ALREADY_APPLIED";
    default:
      break;
  }
  return "UNKNOWN_RESULT";
}

}  // namespace chip
