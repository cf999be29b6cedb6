// fuzz_tx: transaction decoding and the stateless checks (ledger/tx.h).
//
// Each input is tried three ways:
//  1. as a serialized SignedTx envelope, signer and signature as given;
//  2. as the body bytes of an envelope that a fixed key signs for the fixed
//     chain id, so the field rules and signature verification are reached
//     although the fuzzer cannot forge a signature (the seeds' bodies name
//     that key as their account);
//  3. when it parses as a TxBody, re-signed with SignTx by the fixed key.
// Properties: CheckTx never crashes and is deterministic; its hash is the
// TxHash of the body whenever the body is within size; every code it returns
// is a stateless one with a name, and names a failed operation only for an
// operation list; an OK transaction has a kind or a list of 1 to
// kTxOperationsMax operations, a signer equal to the body's account and
// fields within the rules (in-list references to earlier Reserves), survives an envelope round
// trip, and fails with BAD_SIGNATURE under another chain id or with one signature bit flipped. A
// transaction that SignTx signed never fails on its envelope.
#include <cstdint>
#include <string>

#include "ledger/limits.h"
#include "ledger/tx.h"
#include "tests/fuzz/fuzz_util.h"

namespace chip {
namespace {

std::string Describe(const CheckedTx& c) {
  return std::string("code ") + ResultName(c.code) + " (" + std::to_string(c.code) + ")";
}

bool IsStatelessCode(pb::ResultCode code) {
  return code == pb::RESULT_OK ||
         (code >= pb::RESULT_MALFORMED && code <= pb::RESULT_BAD_OPERATION_REF);
}

// The reference rule of a settle or release, restated: by id (32 bytes), or
// inside a list by the index of an earlier Reserve of it, with no id.
template <typename M>
void CheckReference(const M& m, const pb::Operations* list, int index, const std::string& what) {
  if (!m.has_reserve_op()) {
    FUZZ_ASSERT(m.reservation().size() == kKeyBytes, what);
    return;
  }
  FUZZ_ASSERT(list != nullptr, what);
  FUZZ_ASSERT(m.reservation().empty(), what);
  FUZZ_ASSERT(static_cast<int64_t>(m.reserve_op()) < index, what);
  FUZZ_ASSERT(list->ops(static_cast<int>(m.reserve_op())).has_reserve(), what);
}

// The field rules of one OK operation (a body's single one, or an Operation
// of a list: the same kinds under the same field numbers), restated
// independently of tx.cc.
template <typename Op>
void CheckOkOperation(const Op& op, const std::string& self, const pb::Operations* list, int index,
                      const std::string& what) {
  if (op.has_transfer()) {
    FUZZ_ASSERT(op.transfer().to().size() == kKeyBytes, what);
    FUZZ_ASSERT(op.transfer().amount_ucu() > 0, what);
    FUZZ_ASSERT(op.transfer().to() != self, what);
  } else if (op.has_reserve()) {
    FUZZ_ASSERT(op.reserve().to().size() == kKeyBytes, what);
    FUZZ_ASSERT(op.reserve().amount_ucu() > 0, what);
    FUZZ_ASSERT(op.reserve().to() != self, what);
    FUZZ_ASSERT(op.reserve().timeout_ms() > 0, what);
    FUZZ_ASSERT(op.reserve().timeout_ms() <= kReserveTimeoutMsMax, what);
  } else if (op.has_settle()) {
    CheckReference(op.settle(), list, index, what);
    FUZZ_ASSERT(op.settle().amount_ucu() > 0 || op.settle().final(), what);
  } else if (op.has_release()) {
    CheckReference(op.release(), list, index, what);
  } else if (op.has_mint()) {
    FUZZ_ASSERT(op.mint().to().size() == kKeyBytes, what);
    FUZZ_ASSERT(op.mint().amount_ucu() > 0, what);
  } else if (op.has_burn()) {
    FUZZ_ASSERT(op.burn().amount_ucu() > 0, what);
  } else if (op.has_observe_price()) {
    FUZZ_ASSERT(op.observe_price().usd_micros_per_chip_hour() > 0, what);
    FUZZ_ASSERT(op.observe_price().source().size() <= kObservationSourceBytesMax, what);
  } else if (op.has_fund_register()) {
    FUZZ_ASSERT(op.fund_register().member().size() == kKeyBytes, what);
  } else if (op.has_fund_deregister()) {
    FUZZ_ASSERT(op.fund_deregister().member().size() == kKeyBytes, what);
  } else if (op.has_fund_claim()) {
    // no fields
  } else {
    FUZZ_ASSERT(false && "OK operation without a kind", what);
  }
}

// The field rules of an OK transaction.
void CheckOkBody(const pb::SignedTx& tx, const CheckedTx& c) {
  const pb::TxBody& b = c.body;
  FUZZ_ASSERT(AsString(c.signer) == tx.signer(), Describe(c));
  FUZZ_ASSERT(b.account() == tx.signer(), Describe(c));
  FUZZ_ASSERT(b.memo().size() <= kMemoBytesMax, Describe(c));
  FUZZ_ASSERT(!c.failed_op, Describe(c));
  const std::string self = tx.signer();
  if (!b.has_operations()) {
    FUZZ_ASSERT(tx.ByteSizeLong() <= kSignedTxBytesMax, Describe(c));
    CheckOkOperation(b, self, nullptr, 0, Describe(c));
    return;
  }
  // An operation list, alone, of 1 to kTxOperationsMax operations.
  FUZZ_ASSERT(tx.ByteSizeLong() <= kMultiOpSignedTxBytesMax, Describe(c));
  FUZZ_ASSERT(b.kind_case() == pb::TxBody::KIND_NOT_SET, Describe(c));
  const auto& ops = b.operations().ops();
  FUZZ_ASSERT(!ops.empty(), Describe(c));
  FUZZ_ASSERT(static_cast<size_t>(ops.size()) <= kTxOperationsMax, Describe(c));
  for (int k = 0; k < ops.size(); ++k) {
    CheckOkOperation(ops.Get(k), self, &b.operations(), k,
                     Describe(c) + " operation " + std::to_string(k));
  }
}

// A failure that one operation of a list decided names that operation; no
// other failure names one.
void CheckFailedOp(const CheckedTx& c) {
  if (!c.failed_op) return;
  FUZZ_ASSERT(c.body.has_operations(), Describe(c));
  FUZZ_ASSERT(*c.failed_op < static_cast<uint32_t>(c.body.operations().ops_size()), Describe(c));
}

CheckedTx CheckAndVerify(const pb::SignedTx& tx) {
  const Hash32 chain_id = fuzz::FixedChainId();
  CheckedTx c = CheckTx(tx, chain_id);
  FUZZ_ASSERT(std::string(ResultName(c.code)) != "UNKNOWN_RESULT", Describe(c));
  FUZZ_ASSERT(IsStatelessCode(c.code), Describe(c));

  CheckFailedOp(c);

  CheckedTx again = CheckTx(tx, chain_id);
  FUZZ_ASSERT(again.code == c.code, Describe(c) + " then " + Describe(again));
  FUZZ_ASSERT(again.failed_op == c.failed_op, Describe(c));
  FUZZ_ASSERT(again.hash == c.hash, Describe(c));
  if (tx.body().size() <= kTxBodyBytesMax && c.code != pb::RESULT_TX_TOO_LARGE) {
    FUZZ_ASSERT(c.hash == TxHash(chain_id, tx.body()), Describe(c));
  }
  if (c.code != pb::RESULT_OK) return c;

  CheckOkBody(tx, c);

  // The envelope survives serialization (unknown envelope fields were refused).
  std::string wire;
  FUZZ_ASSERT(tx.SerializeToString(&wire), Describe(c));
  pb::SignedTx reparsed;
  FUZZ_ASSERT(reparsed.ParseFromString(wire), Describe(c));
  CheckedTx round = CheckTx(reparsed, chain_id);
  FUZZ_ASSERT(round.code == pb::RESULT_OK, Describe(round));
  FUZZ_ASSERT(round.hash == c.hash, Describe(round));

  // The signature binds the chain id and every signature bit.
  Hash32 other_chain = chain_id;
  other_chain[0] ^= 1;
  CheckedTx foreign = CheckTx(tx, other_chain);
  FUZZ_ASSERT(foreign.code == pb::RESULT_BAD_SIGNATURE, Describe(foreign));
  pb::SignedTx flipped = tx;
  std::string* sig = flipped.mutable_signature();
  size_t bit = c.hash[0] % (sig->size() * 8);
  (*sig)[bit / 8] = static_cast<char>((*sig)[bit / 8] ^ (1 << (bit % 8)));
  CheckedTx forged = CheckTx(flipped, chain_id);
  FUZZ_ASSERT(forged.code == pb::RESULT_BAD_SIGNATURE, Describe(forged));
  return c;
}

}  // namespace
}  // namespace chip

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chip;
  fuzz::InitOnce();
  const std::string_view input = fuzz::AsText(data, size);
  const SecretKey& key = fuzz::TxKey();
  const PublicKey signer = key.Public();

  // 1. The input is the envelope.
  pb::SignedTx envelope;
  if (envelope.ParseFromString(std::string(input))) (void)CheckAndVerify(envelope);

  // 2. The input is the body, validly signed.
  pb::SignedTx wrapped;
  wrapped.set_body(std::string(input));
  wrapped.set_signer(AsString(signer));
  Signature sig = Sign(key, TxSigningMessage(fuzz::FixedChainId(), input));
  wrapped.set_signature(std::string(reinterpret_cast<const char*>(sig.data()), sig.size()));
  CheckedTx c = CheckAndVerify(wrapped);
  if (size <= kTxBodyBytesMax) {
    // A valid signature over a well-sized envelope never fails on the envelope.
    FUZZ_ASSERT(c.code != pb::RESULT_BAD_SIGNATURE, Describe(c));
    FUZZ_ASSERT(c.code != pb::RESULT_BAD_SIGNER_LENGTH, Describe(c));
    FUZZ_ASSERT(c.code != pb::RESULT_BAD_SIGNATURE_LENGTH, Describe(c));
  }

  // 3. The input parses as a body: SignTx sets the account and signs it.
  pb::TxBody body;
  if (body.ParseFromString(std::string(input))) {
    pb::SignedTx signed_tx = SignTx(key, fuzz::FixedChainId(), body);
    CheckedTx s = CheckAndVerify(signed_tx);
    FUZZ_ASSERT(s.code != pb::RESULT_BAD_SIGNATURE, Describe(s));
    FUZZ_ASSERT(s.code != pb::RESULT_SIGNER_MISMATCH, Describe(s));
    FUZZ_ASSERT(s.code != pb::RESULT_MALFORMED || body.kind_case() == pb::TxBody::KIND_NOT_SET,
                Describe(s));
  }
  return 0;
}
