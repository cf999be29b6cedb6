#include <catch2/catch.hpp>

#include "ledger/address.h"
#include "ledger/amount.h"
#include "test_util.h"

using namespace chip;

TEST_CASE("address round-trips and rejects mistakes", "[ledger][address]") {
  for (uint8_t n = 0; n < 50; ++n) {
    PublicKey k = test::TestKey(n).Public();
    std::string a = EncodeAddress(k);
    REQUIRE(a.size() == kAddressChars);
    REQUIRE(a.rfind("chip", 0) == 0);
    auto back = DecodeAddress(a);
    REQUIRE(back.ok());
    CHECK(*back == k);
    std::string upper = a;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    CHECK(DecodeAddress(upper).ok());
    // Every single-character substitution in the payload is caught.
    for (size_t i = 4; i < a.size(); ++i) {
      std::string typo = a;
      typo[i] = typo[i] == 'a' ? 'b' : 'a';
      CHECK_FALSE(DecodeAddress(typo).ok());
    }
  }
  CHECK_FALSE(DecodeAddress("").ok());
  CHECK_FALSE(DecodeAddress("chip").ok());
  std::string a = EncodeAddress(test::TestKey(1).Public());
  CHECK_FALSE(DecodeAddress(a.substr(0, 61)).ok());
  CHECK_FALSE(DecodeAddress(a + "a").ok());
  std::string wrong_prefix = a;
  wrong_prefix[0] = 'x';
  CHECK_FALSE(DecodeAddress(wrong_prefix).ok());
  std::string bad_char = a;
  bad_char[10] = '1';  // not in the base32 alphabet
  auto r = DecodeAddress(bad_char);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("invalid character") != std::string::npos);
}

TEST_CASE("amounts parse in CU and uCU with checked arithmetic", "[ledger][amount]") {
  struct Case {
    const char* text;
    bool ok;
    uint64_t ucu;
  };
  const Case cases[] = {
      {"2.5", true, 2'500'000},
      {"2.5CU", true, 2'500'000},
      {"2.5 cu", true, 2'500'000},
      {"2500000uCU", true, 2'500'000},
      {"2500000 ucu", true, 2'500'000},
      {"0.000001", true, 1},
      {"1", true, 1'000'000},
      {".5", true, 500'000},
      {"5.", true, 5'000'000},
      {"0", true, 0},
      {"18446744073709.551615", true, UINT64_MAX},
      {"18446744073709551615uCU", true, UINT64_MAX},
      {"18446744073709.551616", false, 0},
      {"18446744073709551616uCU", false, 0},
      {"99999999999999999999", false, 0},
      {"0.0000001", false, 0},
      {"-1", false, 0},
      {"1.5uCU", false, 0},
      {"", false, 0},
      {"CU", false, 0},
      {".", false, 0},
      {"1e6", false, 0},
      {"1,5", false, 0},
      {"abc", false, 0},
      {"1.2.3", false, 0},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto r = ParseAmount(c.text);
    REQUIRE(r.ok() == c.ok);
    if (c.ok) CHECK(*r == c.ucu);
  }
  CHECK(FormatCu(2'500'000) == "2.500000");
  CHECK(FormatCu(1) == "0.000001");
  CHECK(FormatCu(UINT64_MAX) == "18446744073709.551615");
  CHECK(CheckedAdd(UINT64_MAX, 1) == std::nullopt);
  CHECK(CheckedSub(1, 2) == std::nullopt);
  CHECK(CheckedAdd(1, 2) == 3u);
}
