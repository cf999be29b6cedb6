// Transaction envelope: the exact signed bytes, the hash, signing, and the
// stateless checks (size, lengths, parse, unknown fields, signature, field
// rules) that need no ledger state and so can run on any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "chipledger/v1/types.pb.h"
#include "ledger/bytes.h"
#include "ledger/crypto.h"

namespace chip {

namespace pb = ::chipledger::v1;

constexpr std::string_view kTxDomain = "chipledger/tx/v1";  // 16 bytes

// "chipledger/tx/v1" || chain_id || body: the bytes signed and hashed.
std::string TxSigningMessage(const Hash32& chain_id, std::string_view body);
Hash32 TxHash(const Hash32& chain_id, std::string_view body);

// Fills body.account with the key's public key, serializes and signs.
pb::SignedTx SignTx(const SecretKey& key, const Hash32& chain_id, pb::TxBody body);

// Outcome of the stateless checks. When code == RESULT_OK, body, signer and
// hash are valid. hash is also set whenever the body bytes were within the
// largest size a body may have (kMultiOpTxBodyBytesMax).
struct CheckedTx {
  pb::ResultCode code = pb::RESULT_UNSPECIFIED;
  Hash32 hash{};
  PublicKey signer{};
  pb::TxBody body;
  // For a multi-operation body refused because of one operation: its index.
  std::optional<uint32_t> failed_op;
};

// True for a body that carries an operation list (field `operations`).
inline bool IsMultiOp(const pb::TxBody& body) { return body.has_operations(); }

// Operations a transaction counts for in block limits: its list's length, or 1.
inline size_t OperationCount(const pb::TxBody& body) {
  return IsMultiOp(body) ? static_cast<size_t>(body.operations().ops_size()) : 1;
}

// The id of the reservation created by the Reserve at `op_index` of the
// multi-operation transaction `tx_hash`:
//   SHA-256("chipledger/reservation/v1" || tx_hash || op_index as u32 big-endian).
// A single-operation Reserve's id is its tx_hash, as before.
Hash32 OperationReservationId(const Hash32& tx_hash, uint32_t op_index);

// The in-list reference of a settle or release (field reserve_op), if set.
template <typename M>
std::optional<uint32_t> ReserveOp(const M& m) {
  if (!m.has_reserve_op()) return std::nullopt;
  return m.reserve_op();
}

// The id of the reservation a settle or release acts on: its `reservation`,
// or for an in-list reference the id made by that Reserve of `tx_hash`.
// nullopt when `reservation` is not 32 bytes (CheckTx refuses that).
template <typename M>
std::optional<Hash32> ReservationOf(const M& m, const Hash32& tx_hash) {
  if (auto op = ReserveOp(m)) return OperationReservationId(tx_hash, *op);
  return ToHash32(m.reservation());
}

CheckedTx CheckTx(const pb::SignedTx& tx, const Hash32& chain_id);

// True when the message or any sub-message holds fields unknown to this
// schema version.
bool HasUnknownFields(const google::protobuf::Message& msg);

const char* ResultName(pb::ResultCode code);

}  // namespace chip
