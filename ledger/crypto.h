// SHA-256 and Ed25519 through libsodium. Call InitCrypto() once before use
// (it is idempotent and thread-safe).
#pragma once

#include <string>
#include <string_view>

#include "ledger/bytes.h"
#include "ledger/status.h"

namespace chip {

Status InitCrypto();

Hash32 Sha256(std::string_view data);

// Incremental SHA-256 for messages built from parts.
class Sha256Builder {
 public:
  Sha256Builder();
  void Update(std::string_view data);
  void Update(const Hash32& h) { Update(AsView(h)); }
  Hash32 Finish();

 private:
  alignas(64) unsigned char state_[128];  // crypto_hash_sha256_state, opaque here
};

// An Ed25519 secret key in libsodium's 64-byte form (seed || public key).
struct SecretKey {
  std::array<uint8_t, 64> bytes{};
  PublicKey Public() const;
  std::array<uint8_t, 32> Seed() const;
  ~SecretKey();  // wipes the key material
};

SecretKey GenerateKey();
SecretKey KeyFromSeed(const std::array<uint8_t, 32>& seed);
Signature Sign(const SecretKey& key, std::string_view message);
// Strict verification (libsodium rejects small-order and non-canonical points).
bool Verify(const PublicKey& key, std::string_view message, const Signature& sig);
bool Verify(std::string_view key32, std::string_view message, std::string_view sig64);

// Fills `out` with random bytes (wallet side only; never used in apply).
void RandomBytes(uint8_t* out, size_t size);

}  // namespace chip
