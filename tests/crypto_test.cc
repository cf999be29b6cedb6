#include "ledger/crypto.h"

#include <catch2/catch.hpp>

#include "ledger/block.h"
#include "ledger/tx.h"

using namespace chip;

TEST_CASE("SHA-256 of \"abc\" matches FIPS 180-2", "[ledger][crypto]") {
  CHECK(ToHex(Sha256("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256Builder b;
  b.Update("a");
  b.Update("bc");
  CHECK(b.Finish() == Sha256("abc"));
}

TEST_CASE("Ed25519 matches RFC 8032 test 1", "[ledger][crypto]") {
  auto seed = FromHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  REQUIRE(seed);
  std::array<uint8_t, 32> s;
  std::copy(seed->begin(), seed->end(), s.begin());
  SecretKey key = KeyFromSeed(s);
  CHECK(ToHex(key.Public()) == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  Signature sig = Sign(key, "");
  CHECK(ToHex(sig) ==
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701c"
        "f9b46bd25bf5f0595bbe24655141438e7a100b");
  CHECK(Verify(key.Public(), "", sig));
  sig[0] ^= 1;
  CHECK_FALSE(Verify(key.Public(), "", sig));
  CHECK_FALSE(Verify(key.Public(), "x", Sign(key, "")));
}

TEST_CASE("signing message layout is domain || chain_id || body", "[ledger][tx]") {
  Hash32 chain{};
  chain.fill(0xab);
  std::string msg = TxSigningMessage(chain, "BODY");
  REQUIRE(msg.size() == 16 + 32 + 4);
  CHECK(msg.substr(0, 16) == "chipledger/tx/v1");
  CHECK(msg.substr(16, 32) == std::string(32, '\xab'));
  CHECK(msg.substr(48) == "BODY");
  CHECK(TxHash(chain, "BODY") == Sha256(msg));
}
