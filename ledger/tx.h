// Transaction envelope: the exact signed bytes, the hash, signing, and the
// stateless checks (size, lengths, parse, unknown fields, signature, field
// rules) that need no ledger state and so can run on any thread.
#pragma once

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
// hash are valid. hash is also set whenever the body bytes were within size.
struct CheckedTx {
  pb::ResultCode code = pb::RESULT_UNSPECIFIED;
  Hash32 hash{};
  PublicKey signer{};
  pb::TxBody body;
};

CheckedTx CheckTx(const pb::SignedTx& tx, const Hash32& chain_id);

// True when the message or any sub-message holds fields unknown to this
// schema version.
bool HasUnknownFields(const google::protobuf::Message& msg);

const char* ResultName(pb::ResultCode code);

}  // namespace chip
