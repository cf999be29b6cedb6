#include "ledger/genesis.h"

#include <catch2/catch.hpp>

#include "test_util.h"

using namespace chip;

namespace {
std::string Addr(uint8_t n) { return EncodeAddress(test::TestKey(n).Public()); }
}  // namespace

TEST_CASE("genesis parses, canonicalises and names the chain", "[ledger][genesis]") {
  std::string text = R"({
    "chain_name": "dev",
    "genesis_time_ms": 1700000000000,
    "validators": [")" +
                     Addr(9) + R"("],
    "issuers": [{"address": ")" +
                     Addr(8) + R"(", "cap_ucu": 5000000}],
    "balances": [{"amount_ucu": 42, "address": ")" +
                     Addr(1) + R"("}]
  })";
  auto g = ParseGenesis(text);
  REQUIRE(g.ok());
  CHECK(g->chain_name == "dev");
  REQUIRE(g->issuers.size() == 1);
  CHECK(g->issuers[0].cap_ucu == 5'000'000u);
  CHECK(g->balances[0].second == 42u);
  std::string canonical = CanonicalGenesis(*g);
  // Keys sorted, no white space, absent lists written empty.
  CHECK(canonical.rfind("{\"balances\":[{\"address\":\"", 0) == 0);
  CHECK(canonical.find(' ') == std::string::npos);
  CHECK(canonical.find("\"oracles\":[]") != std::string::npos);
  // Re-parsing the canonical form gives the same chain id: white space and key
  // order in the file do not matter, content does.
  auto again = ParseGenesis(canonical);
  REQUIRE(again.ok());
  CHECK(ChainId(*again) == ChainId(*g));
  CHECK(ChainId(*g) == Sha256(canonical));
  Genesis other = *g;
  other.balances[0].second = 43;
  CHECK(ChainId(other) != ChainId(*g));
}

TEST_CASE("bad genesis files are refused with the field named", "[ledger][genesis]") {
  struct Case {
    std::string text;
    const char* needle;
  };
  std::string a1 = Addr(1);
  std::vector<Case> cases = {
      {"", "not valid JSON"},
      {"[]", "JSON object"},
      {R"({"genesis_time_ms": 1})", "chain_name"},
      {R"({"chain_name": "x"})", "genesis_time_ms"},
      {R"({"chain_name": "x", "genesis_time_ms": -1})", "genesis_time_ms"},
      {R"({"chain_name": "x y", "genesis_time_ms": 1})", "chain_name"},
      {R"({"chain_name": "x", "genesis_time_ms": 1, "extra": 1})", "unknown field 'extra'"},
      {R"({"chain_name": "x", "genesis_time_ms": 1, "validators": ["chipzz"]})", "validators[0]"},
      {R"({"chain_name": "x", "genesis_time_ms": 1, "validators": [")" + a1 + "\",\"" + a1 + "\"]}",
       "duplicate"},
      {R"({"chain_name": "x", "genesis_time_ms": 1, "balances": [{"address": ")" + a1 +
           R"(", "amount_ucu": 1.5}]})",
       "amount_ucu"},
      {R"({"chain_name": "x", "genesis_time_ms": 1, "balances": [{"address": ")" + a1 +
           R"(", "amount_ucu": 0}]})",
       "positive"},
      {R"({"chain_name": "x", "genesis_time_ms": 1, "balances": [{"address": ")" + a1 +
           R"(", "amount_ucu": 18446744073709551615}, {"address": ")" + Addr(2) +
           R"(", "amount_ucu": 1}]})",
       "exceeds"},
      {R"({"chain_name": "x", "genesis_time_ms": 1, "issuers": [{"address": ")" + a1 +
           R"(", "cap": 1}]})",
       "unknown field 'cap'"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto g = ParseGenesis(c.text);
    REQUIRE_FALSE(g.ok());
    CHECK(g.status().code() == Status::Code::kInvalidArgument);
    CHECK(g.status().message().find(c.needle) != std::string::npos);
  }
}
