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
// has a name; an OK transaction has a kind, a signer equal to the body's
// account and fields within the rules, survives an envelope round trip, and
// fails with BAD_SIGNATURE under another chain id or with one signature bit
// flipped. A transaction that SignTx signed never fails on its envelope.
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
         (code >= pb::RESULT_MALFORMED && code <= pb::RESULT_SOURCE_TOO_LONG);
}

// The field rules of an OK transaction, restated independently of tx.cc.
void CheckOkBody(const pb::SignedTx& tx, const CheckedTx& c) {
  const pb::TxBody& b = c.body;
  FUZZ_ASSERT(AsString(c.signer) == tx.signer(), Describe(c));
  FUZZ_ASSERT(b.account() == tx.signer(), Describe(c));
  FUZZ_ASSERT(b.memo().size() <= kMemoBytesMax, Describe(c));
  const std::string self = tx.signer();
  switch (b.kind_case()) {
    case pb::TxBody::kTransfer:
      FUZZ_ASSERT(b.transfer().to().size() == kKeyBytes, Describe(c));
      FUZZ_ASSERT(b.transfer().amount_ucu() > 0, Describe(c));
      FUZZ_ASSERT(b.transfer().to() != self, Describe(c));
      break;
    case pb::TxBody::kReserve:
      FUZZ_ASSERT(b.reserve().to().size() == kKeyBytes, Describe(c));
      FUZZ_ASSERT(b.reserve().amount_ucu() > 0, Describe(c));
      FUZZ_ASSERT(b.reserve().to() != self, Describe(c));
      FUZZ_ASSERT(b.reserve().timeout_ms() > 0, Describe(c));
      FUZZ_ASSERT(b.reserve().timeout_ms() <= kReserveTimeoutMsMax, Describe(c));
      break;
    case pb::TxBody::kSettle:
      FUZZ_ASSERT(b.settle().reservation().size() == kKeyBytes, Describe(c));
      FUZZ_ASSERT(b.settle().amount_ucu() > 0 || b.settle().final(), Describe(c));
      break;
    case pb::TxBody::kRelease:
      FUZZ_ASSERT(b.release().reservation().size() == kKeyBytes, Describe(c));
      break;
    case pb::TxBody::kMint:
      FUZZ_ASSERT(b.mint().to().size() == kKeyBytes, Describe(c));
      FUZZ_ASSERT(b.mint().amount_ucu() > 0, Describe(c));
      break;
    case pb::TxBody::kBurn:
      FUZZ_ASSERT(b.burn().amount_ucu() > 0, Describe(c));
      break;
    case pb::TxBody::kObservePrice:
      FUZZ_ASSERT(b.observe_price().usd_micros_per_chip_hour() > 0, Describe(c));
      FUZZ_ASSERT(b.observe_price().source().size() <= kObservationSourceBytesMax, Describe(c));
      break;
    case pb::TxBody::KIND_NOT_SET:
      FUZZ_ASSERT(false && "OK transaction without a kind", Describe(c));
  }
}

CheckedTx CheckAndVerify(const pb::SignedTx& tx) {
  const Hash32 chain_id = fuzz::FixedChainId();
  CheckedTx c = CheckTx(tx, chain_id);
  FUZZ_ASSERT(std::string(ResultName(c.code)) != "UNKNOWN_RESULT", Describe(c));
  FUZZ_ASSERT(IsStatelessCode(c.code), Describe(c));

  CheckedTx again = CheckTx(tx, chain_id);
  FUZZ_ASSERT(again.code == c.code, Describe(c) + " then " + Describe(again));
  FUZZ_ASSERT(again.hash == c.hash, Describe(c));
  if (tx.body().size() <= kTxBodyBytesMax && c.code != pb::RESULT_TX_TOO_LARGE) {
    FUZZ_ASSERT(c.hash == TxHash(chain_id, tx.body()), Describe(c));
  }
  if (c.code != pb::RESULT_OK) return c;

  CheckOkBody(tx, c);
  FUZZ_ASSERT(tx.ByteSizeLong() <= kSignedTxBytesMax, Describe(c));

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
