// The wallet keystore: Ed25519 keys kept encrypted on disk, one file per key.
//
// Layout: <wallet_dir>/keys/<name>.json, files mode 0600, keys/ mode 0700.
// Each file is a JSON object
//   {"version":1, "name":..., "address":"chip...", "kdf":"argon2id13",
//    "opslimit":N, "memlimit":N, "salt":hex(16), "cipher":"xchacha20poly1305-ietf",
//    "nonce":hex(24), "ciphertext":hex(48), "protected":bool}
// The plaintext is the 32-byte seed, encrypted with XChaCha20-Poly1305 under
// an Argon2id key derived from the passphrase. The address string is the
// additional data, so a file whose address was swapped fails to decrypt
// rather than presenting someone else's address for our key.
//
// "protected": false marks a development key stored under the empty
// passphrase (so the CLI need not prompt); it is encrypted the same way.
// A key is protected exactly when its passphrase is non-empty.
//
// Nothing here throws or logs; secrets are wiped from intermediate buffers.
// Call chip::InitCrypto() before using this module.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/bytes.h"
#include "ledger/crypto.h"
#include "ledger/status.h"

namespace chip::wallet {

// Argon2id cost. Both values are stored in the key file and are bounded on
// creation and on load to [Minimum(), Maximum()], so a hostile file cannot make
// us spend gigabytes of memory or minutes of CPU.
struct KdfCost {
  uint64_t opslimit;
  size_t memlimit;
  // libsodium's interactive preset (the default for real keys).
  static KdfCost Interactive();
  // The cheapest accepted cost; for tests only.
  static KdfCost Minimum();
  // The most expensive cost we accept: 4 x libsodium's moderate preset.
  static KdfCost Maximum();
};

// Public facts about a stored key; reading them needs no passphrase.
struct KeyInfo {
  std::string name;
  PublicKey key{};
  std::string address;  // EncodeAddress(key)
  bool is_protected = true;
  std::string path;  // the key file
};

class Keystore {
 public:
  // `wallet_dir` (e.g. ~/.chip) need not exist yet; writes create it.
  explicit Keystore(std::string wallet_dir);

  // The wallet directory, without trailing slashes.
  const std::string& dir() const { return dir_; }

  // Generates a new key, encrypts it under `passphrase` and writes
  // keys/<name>.json atomically. The key is protected iff `passphrase` is
  // non-empty. InvalidArgument for a bad name or cost, AlreadyExists when the
  // name is taken, IoError when the file cannot be written.
  Result<KeyInfo> Create(const std::string& name, const std::string& passphrase,
                         const KdfCost& cost = KdfCost::Interactive());

  // Stores a given 32-byte seed (import). `is_protected` = false marks a
  // development key and requires the empty passphrase; `is_protected` = true
  // requires a non-empty one (InvalidArgument otherwise). Errors as Create.
  Result<KeyInfo> Import(const std::string& name, const std::array<uint8_t, 32>& seed,
                         const std::string& passphrase, bool is_protected = true,
                         const KdfCost& cost = KdfCost::Interactive());

  // Every key in the wallet, sorted by name (byte order). An empty or missing
  // keys/ directory gives an empty list. Files not ending in ".json" and
  // dot-files (e.g. our temp files) are ignored; a malformed key file is an
  // error naming the file, not silently skipped.
  Result<std::vector<KeyInfo>> List() const;

  // Public info of one key, no passphrase needed. NotFound
  // "no key named '<name>' in <dir>/keys" when absent; InvalidArgument naming
  // the file and the problem when malformed.
  Result<KeyInfo> Info(const std::string& name) const;

  // Decrypts a key. InvalidArgument "wrong passphrase for key '<name>'" when
  // the passphrase is wrong, and also when the ciphertext, nonce, salt or
  // address were altered (AEAD cannot tell these apart). Corruption when the
  // decrypted seed does not belong to the file's address.
  Result<SecretKey> Unlock(const std::string& name, const std::string& passphrase) const;

  // Resolves a name or an address. Text shaped like an address ("chip"
  // prefix, 62 characters, any case) must decode with a valid checksum and is
  // returned as is (InvalidArgument when mistyped, never a name lookup);
  // anything else is looked up as a key name in the wallet.
  Result<PublicKey> Resolve(const std::string& name_or_address) const;

 private:
  std::string KeysDir() const;
  std::string KeyPath(const std::string& name) const;
  Result<KeyInfo> Store(const std::string& name, const std::array<uint8_t, 32>& seed,
                        const std::string& passphrase, bool is_protected, const KdfCost& cost);

  std::string dir_;
};

// Ok when `name` is a valid key name: 1-64 characters of [A-Za-z0-9_.-], not
// starting with '.' or '-', and not shaped like an address (a 62-character
// string starting with "chip", in any case), so that Resolve is unambiguous.
Status ValidateKeyName(std::string_view name);

// Parses a secret key given as 64 hex characters (the seed), for
// `chip keys import`. Surrounding whitespace (e.g. the newline of a file) is
// ignored. Error messages never repeat the input, which is a secret.
Result<std::array<uint8_t, 32>> ParseSeedHex(std::string_view hex);

}  // namespace chip::wallet
