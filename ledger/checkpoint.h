// Signed checkpoints of the history log in the C2SP tlog-checkpoint format,
// wrapped in a C2SP signed note, so standard transparency-log tooling can
// read them:
//
//   <origin>\n
//   <tree size, decimal>\n
//   <root hash, standard base64>\n
//   \n
//   — <key name> <base64(key id (4 bytes) || Ed25519 signature (64 bytes))>\n
//
// The signature covers the note text (the first three lines, newlines
// included). key id = SHA-256(key name || "\n" || 0x01 || public key)[0:4],
// 0x01 being the note signature type of Ed25519. The origin names the chain:
// "chipledger/<chain name>/<chain id, hex>"; the key name is the signer's
// address.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "ledger/bytes.h"
#include "ledger/crypto.h"
#include "ledger/status.h"

namespace chip {

struct Checkpoint {
  std::string origin;
  uint64_t tree_size = 0;
  Hash32 root{};
};

std::string CheckpointOrigin(std::string_view chain_name, const Hash32& chain_id);
// The note text (unsigned body).
std::string CheckpointText(const Checkpoint& c);
// The key id of an Ed25519 note key.
std::array<uint8_t, 4> NoteKeyId(std::string_view key_name, const PublicKey& key);
// The verifier key string "<name>+<hex key id>+<base64(0x01 || key)>" that
// note tooling takes.
std::string NoteVerifierKey(std::string_view key_name, const PublicKey& key);

// The complete signed note, signed by `key` under the name EncodeAddress(key).
std::string SignCheckpoint(const Checkpoint& c, const SecretKey& key);

// Parses a signed note and verifies the signature of `key` (looked up by its
// name and key id among the signature lines). InvalidArgument says what is
// wrong: format, missing signature, bad signature, bad checkpoint body.
Result<Checkpoint> VerifyCheckpoint(std::string_view note, const PublicKey& key);

std::string Base64Encode(std::string_view bytes);
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace chip
