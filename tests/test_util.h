// Helpers shared by the ledger tests: temporary directories, deterministic
// keys and a small chain fixture over a real RocksDB store.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "ledger/address.h"
#include "ledger/chain.h"
#include "ledger/crypto.h"
#include "ledger/invariants.h"
#include "ledger/limits.h"
#include "ledger/tx.h"

namespace chip::test {

// A fresh directory removed (with its contents) when the object dies.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "chiptest-XXXXXX").string();
    char* made = ::mkdtemp(tmpl.data());
    if (made == nullptr) std::abort();
    path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Deterministic key number `n` (seed = n repeated), so tests are reproducible.
inline SecretKey TestKey(uint8_t n) {
  std::array<uint8_t, 32> seed;
  seed.fill(n);
  return KeyFromSeed(seed);
}

inline std::string Raw(const PublicKey& k) { return AsString(k); }

}  // namespace chip::test

namespace chip::test {

// A chain in a temp dir with a validator, an uncapped issuer, an issuer
// capped at 10 CU and `alice` funded with 100 CU at genesis.
struct ChainFixture {
  TempDir dir;
  SecretKey validator = TestKey(200);
  SecretKey issuer = TestKey(201);
  SecretKey capped_issuer = TestKey(202);
  SecretKey oracle = TestKey(203);
  SecretKey alice = TestKey(1);
  SecretKey bob = TestKey(2);
  SecretKey carol = TestKey(3);
  Genesis genesis;
  std::unique_ptr<Chain> chain;
  uint64_t nonce = 1;

  // `fund`: the genesis fund section (none by default, as on every chain
  // made before the fund existed).
  explicit ChainFixture(StoreOptions options = {}, std::optional<FundRules> fund = std::nullopt) {
    genesis.chain_name = "test-chain";
    genesis.genesis_time_ms = 1'000;
    genesis.issuers.push_back({issuer.Public(), std::nullopt});
    genesis.issuers.push_back({capped_issuer.Public(), 10'000'000});
    genesis.validators.push_back(validator.Public());
    genesis.balances.emplace_back(alice.Public(), 100'000'000);
    genesis.oracles.push_back(oracle.Public());
    GenesisPricing pricing;
    pricing.chips = {"h100-sxm", "b200"};
    pricing.prior_usd_micros_per_cu = 2'970'000;
    pricing.prior_t0_ms = 1'000;
    pricing.prior_halving_ms = 77'630'000'000;
    genesis.pricing = pricing;
    genesis.fund = fund;
    auto c = Chain::Create(dir.Sub("db"), genesis, options);
    if (!c.ok()) std::abort();
    chain = std::move(*c);
  }

  const Hash32& chain_id() const { return chain->chain_id(); }

  pb::SignedTx Sign(const SecretKey& key, pb::TxBody body) {
    if (body.nonce() == 0) body.set_nonce(nonce++);
    return SignTx(key, chain_id(), std::move(body));
  }
  pb::SignedTx Transfer(const SecretKey& from, const PublicKey& to, uint64_t amount_ucu) {
    pb::TxBody b;
    b.mutable_transfer()->set_to(AsString(to));
    b.mutable_transfer()->set_amount_ucu(amount_ucu);
    return Sign(from, b);
  }
  pb::SignedTx Reserve(const SecretKey& from, const PublicKey& to, uint64_t amount_ucu,
                       uint64_t timeout_ms) {
    pb::TxBody b;
    b.mutable_reserve()->set_to(AsString(to));
    b.mutable_reserve()->set_amount_ucu(amount_ucu);
    b.mutable_reserve()->set_timeout_ms(timeout_ms);
    return Sign(from, b);
  }
  pb::SignedTx Settle(const SecretKey& provider, const Hash32& id, uint64_t amount_ucu, bool fin) {
    pb::TxBody b;
    b.mutable_settle()->set_reservation(AsString(id));
    b.mutable_settle()->set_amount_ucu(amount_ucu);
    b.mutable_settle()->set_final(fin);
    return Sign(provider, b);
  }
  pb::SignedTx Release(const SecretKey& provider, const Hash32& id) {
    pb::TxBody b;
    b.mutable_release()->set_reservation(AsString(id));
    return Sign(provider, b);
  }
  pb::SignedTx Mint(const SecretKey& is, const PublicKey& to, uint64_t amount_ucu) {
    pb::TxBody b;
    b.mutable_mint()->set_to(AsString(to));
    b.mutable_mint()->set_amount_ucu(amount_ucu);
    return Sign(is, b);
  }
  pb::SignedTx Observe(const SecretKey& from, const std::string& chip, uint64_t usd_micros,
                       uint64_t observed_at_ms, const std::string& source = "test") {
    pb::TxBody b;
    auto* o = b.mutable_observe_price();
    o->set_chip(chip);
    o->set_usd_micros_per_chip_hour(usd_micros);
    o->set_observed_at_ms(observed_at_ms);
    o->set_source(source);
    return Sign(from, b);
  }
  pb::SignedTx Burn(const SecretKey& from, uint64_t amount_ucu) {
    pb::TxBody b;
    b.mutable_burn()->set_amount_ucu(amount_ucu);
    return Sign(from, b);
  }
  pb::SignedTx FundRegister(const SecretKey& registrar, const PublicKey& member) {
    pb::TxBody b;
    b.mutable_fund_register()->set_member(AsString(member));
    return Sign(registrar, b);
  }
  pb::SignedTx FundDeregister(const SecretKey& signer, const PublicKey& member) {
    pb::TxBody b;
    b.mutable_fund_deregister()->set_member(AsString(member));
    return Sign(signer, b);
  }
  pb::SignedTx FundClaim(const SecretKey& member) {
    pb::TxBody b;
    b.mutable_fund_claim();
    return Sign(member, b);
  }
  Hash32 HashOf(const pb::SignedTx& tx) const { return TxHash(chain_id(), tx.body()); }

  // Produces one block; aborts the test on an operating error.
  pb::Block Block(std::vector<pb::SignedTx> txs, uint64_t time_ms,
                  std::vector<pb::AtomicRange> atomic = {}) {
    auto b = chain->Produce(std::move(txs), std::move(atomic), time_ms, validator);
    if (!b.ok()) {
      fprintf(stderr, "Produce failed: %s\n", b.status().ToString().c_str());
      std::abort();
    }
    return *b;
  }
  uint64_t Balance(const SecretKey& k) {
    auto a = chain->store()->GetAccount(k.Public());
    return a ? a->balance_ucu : 0;
  }
};

inline pb::AtomicRange Range(uint32_t first, uint32_t count) {
  pb::AtomicRange r;
  r.set_first(first);
  r.set_count(count);
  return r;
}

}  // namespace chip::test
