#include "ledger/crypto.h"

#include <sodium.h>

#include <cstring>

#include "ledger/check.h"

namespace chip {

static_assert(sizeof(crypto_hash_sha256_state) <= 128, "state buffer too small");

Status InitCrypto() {
  if (sodium_init() < 0) return Status::Internal("libsodium failed to initialise");
  return Status::Ok();
}

Hash32 Sha256(std::string_view data) {
  Hash32 out;
  crypto_hash_sha256(out.data(), reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return out;
}

Sha256Builder::Sha256Builder() {
  crypto_hash_sha256_init(reinterpret_cast<crypto_hash_sha256_state*>(state_));
}

void Sha256Builder::Update(std::string_view data) {
  crypto_hash_sha256_update(reinterpret_cast<crypto_hash_sha256_state*>(state_),
                            reinterpret_cast<const unsigned char*>(data.data()), data.size());
}

Hash32 Sha256Builder::Finish() {
  Hash32 out;
  crypto_hash_sha256_final(reinterpret_cast<crypto_hash_sha256_state*>(state_), out.data());
  return out;
}

PublicKey SecretKey::Public() const {
  PublicKey pk;
  std::memcpy(pk.data(), bytes.data() + 32, 32);
  return pk;
}

std::array<uint8_t, 32> SecretKey::Seed() const {
  std::array<uint8_t, 32> seed;
  std::memcpy(seed.data(), bytes.data(), 32);
  return seed;
}

SecretKey::~SecretKey() { sodium_memzero(bytes.data(), bytes.size()); }

SecretKey GenerateKey() {
  SecretKey sk;
  PublicKey pk;
  CHIP_CHECK(crypto_sign_keypair(pk.data(), sk.bytes.data()) == 0);
  return sk;
}

SecretKey KeyFromSeed(const std::array<uint8_t, 32>& seed) {
  SecretKey sk;
  PublicKey pk;
  CHIP_CHECK(crypto_sign_seed_keypair(pk.data(), sk.bytes.data(), seed.data()) == 0);
  return sk;
}

Signature Sign(const SecretKey& key, std::string_view message) {
  Signature sig;
  CHIP_CHECK(crypto_sign_detached(sig.data(), nullptr,
                                  reinterpret_cast<const unsigned char*>(message.data()),
                                  message.size(), key.bytes.data()) == 0);
  return sig;
}

bool Verify(const PublicKey& key, std::string_view message, const Signature& sig) {
  return crypto_sign_verify_detached(sig.data(),
                                     reinterpret_cast<const unsigned char*>(message.data()),
                                     message.size(), key.data()) == 0;
}

bool Verify(std::string_view key32, std::string_view message, std::string_view sig64) {
  if (key32.size() != 32 || sig64.size() != 64) return false;
  return crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig64.data()),
                                     reinterpret_cast<const unsigned char*>(message.data()),
                                     message.size(),
                                     reinterpret_cast<const unsigned char*>(key32.data())) == 0;
}

void RandomBytes(uint8_t* out, size_t size) { randombytes_buf(out, size); }

}  // namespace chip
