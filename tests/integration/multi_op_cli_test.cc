// End-to-end: `chip send --many`, `chip settle --many` and how `chip tx` and
// `chip history` show multi-operation transactions, against a real chipd dev
// node driven by the real chip binary.
#include <catch2/catch.hpp>
#include <fstream>
#include <string>
#include <vector>

#include "chipledger/v1/types.pb.h"
#include "harness.h"
#include "ledger/bytes.h"
#include "ledger/crypto.h"
#include "ledger/tx.h"

using namespace chip;
using namespace chip::itest;
using nlohmann::json;

namespace {

// Names are prefixed: unity builds put several test files in one
// translation unit, where anonymous namespaces are shared.
uint64_t MultiOpCliBalance(const DevNode& node, const std::string& who) {
  return node.ChipJson({"balance", who})["balance"]["ucu"].get<uint64_t>();
}

std::string MultiOpCliWrite(const DevNode& node, const std::string& name, const std::string& text) {
  std::string path = node.dir().Sub(name);
  std::ofstream f(path, std::ios::binary);
  f << text;
  return path;
}

// A node with alice (100 CU minted by dev), bob and carol.
void MultiOpCliSetUp(DevNode* node) {
  REQUIRE(node->Start());
  node->ChipJson({"keys", "new", "alice"});
  node->ChipJson({"keys", "new", "bob"});
  node->ChipJson({"keys", "new", "carol"});
  REQUIRE(node->ChipJson({"mint", "alice", "100"})["code"] == "OK");
}

std::string MultiOpCliAddress(const DevNode& node, const std::string& name) {
  return node.ChipJson({"keys", "show", name})["address"].get<std::string>();
}

}  // namespace

TEST_CASE("chip send --many signs the transfers of a CSV file as one transaction",
          "[integration][cli][multi_op]") {
  DevNode node;
  MultiOpCliSetUp(&node);
  const std::string bob = MultiOpCliAddress(node, "bob");
  const std::string carol = MultiOpCliAddress(node, "carol");
  // Comments, a header, blank lines, spaces around values and a CRLF line.
  std::string csv = MultiOpCliWrite(node, "pay.csv",
                                    "# November payouts\n"
                                    "to,amount,chip\n"
                                    "\n"
                                    "bob, 1.5\n"
                                    "carol,2500000uCU\r\n"
                                    "   # an indented comment\n" +
                                        bob + ",1CU\n");
  json sent = node.ChipJson({"send", "--many", csv, "--from", "alice"});
  CHECK(sent["ok"] == true);
  CHECK(sent["summary"] == "3 transfers in 1 transaction (all or nothing)");
  REQUIRE(sent["transactions"].size() == 1);
  const json& tx = sent["transactions"][0];
  CHECK(tx["code"] == "OK");
  CHECK(tx["height"].get<uint64_t>() > 0);
  CHECK_FALSE(tx.contains("failed_operation"));
  REQUIRE(tx["operations"].size() == 3);
  const std::vector<size_t> lines = {4, 5, 7};
  for (size_t k = 0; k < 3; ++k) {
    CHECK(tx["operations"][k]["index"] == k);
    CHECK(tx["operations"][k]["line"] == lines[k]);
    CHECK(tx["operations"][k]["outcome"] == "applied");
  }
  CHECK(tx["operations"][1]["address"] == carol);
  CHECK(tx["operations"][1]["amount"]["ucu"] == 2'500'000);
  CHECK(MultiOpCliBalance(node, "alice") == 95'000'000);
  CHECK(MultiOpCliBalance(node, "bob") == 2'500'000);
  CHECK(MultiOpCliBalance(node, "carol") == 2'500'000);

  // chip tx shows every operation of the list.
  const std::string hash = tx["tx_hash"];
  json shown = node.ChipJson({"tx", hash});
  CHECK(shown["code"] == "OK");
  CHECK(shown["body"]["kind"] == "operations");
  REQUIRE(shown["body"]["operations"].size() == 3);
  CHECK(shown["body"]["operations"][0]["kind"] == "transfer");
  CHECK(shown["body"]["operations"][0]["to"] == bob);
  CHECK(shown["body"]["operations"][0]["amount"]["ucu"] == 1'500'000);
  CHECK(shown["body"]["operations"][1]["to"] == carol);
  CHECK(shown["body"]["operations"][2]["index"] == 2);
  Run human = node.Chip({"tx", hash});
  CHECK(human.code == 0);
  CHECK(human.out.find("3 operations signed by") != std::string::npos);
  CHECK(human.out.find("1  transfer 2.500000 CU to " + carol) != std::string::npos);

  // History lists it once for bob, with the operations that paid him.
  json history = node.ChipJson({"history", "bob"});
  REQUIRE(history["items"].size() == 1);
  CHECK(history["items"][0]["tx_hash"] == hash);
  CHECK(history["items"][0]["operations"] == json::array({0, 2}));
  CHECK(history["items"][0]["operation_count"] == 3);
  CHECK(node.ChipJson({"history", "carol"})["items"][0]["operations"] == json::array({1}));
  Run history_text = node.Chip({"history", "bob"});
  CHECK(history_text.out.find("ops 0,2 of 3") != std::string::npos);
}

TEST_CASE("chip send --many splits a list of 130 into 2 transactions, each atomic on its own",
          "[integration][cli][multi_op]") {
  DevNode node;
  MultiOpCliSetUp(&node);
  std::string lines;
  for (int i = 0; i < 130; ++i) lines += "bob,0.01\n";
  std::string csv = MultiOpCliWrite(node, "130.csv", lines);
  Run human = node.Chip({"send", "--many", csv, "--from", "alice"});
  INFO(human.out << human.err);
  CHECK(human.code == 0);
  CHECK(human.out.find("130 transfers in 2 transactions of at most 128; each transaction is "
                       "all-or-nothing on its own") != std::string::npos);
  CHECK(human.out.find("transaction 1 of 2 (lines 1-128, 128 transfers): OK") != std::string::npos);
  CHECK(human.out.find("transaction 2 of 2 (lines 129-130, 2 transfers): OK") != std::string::npos);
  CHECK(MultiOpCliBalance(node, "bob") == 1'300'000);

  // --memo and --valid-for apply to every transaction of the list.
  json j = node.ChipJson(
      {"send", "--many", csv, "--from", "alice", "--memo", "payday", "--valid-for", "1h"});
  REQUIRE(j["transactions"].size() == 2);
  json body0 = node.ChipJson({"tx", j["transactions"][0]["tx_hash"]})["body"];
  json body1 = node.ChipJson({"tx", j["transactions"][1]["tx_hash"]})["body"];
  CHECK(body0["memo"] == "payday");
  CHECK(body1["memo"] == "payday");
  CHECK(body0["valid_until_ms"].get<uint64_t>() > 0);
  CHECK(body0["valid_until_ms"] == body1["valid_until_ms"]);
  CHECK(body0["operations"].size() == 128);
  CHECK(j["operations"] == 130);
  CHECK(j["operations_per_transaction_max"] == 128);
  CHECK(j["transactions"][0]["operations"].size() == 128);
  CHECK(j["transactions"][1]["operations"].size() == 2);
  CHECK(j["transactions"][1]["first_line"] == 129);
  CHECK(j["transactions"][0]["tx_hash"] != j["transactions"][1]["tx_hash"]);
  CHECK(MultiOpCliBalance(node, "bob") == 2'600'000);

  // Signed offline: one hex line per transaction, each submitted on its own.
  json signed_json = node.ChipJson({"send", "--many", csv, "--from", "alice", "--sign-only"});
  REQUIRE(signed_json["transactions"].size() == 2);
  CHECK(signed_json["transactions"][0]["operations"] == 128);
  CHECK(signed_json["transactions"][1]["operations"] == 2);
  CHECK(signed_json["transactions"][1]["tx_hex"].get<std::string>().size() > 64);
  Run signed_only = node.Chip({"send", "--many", csv, "--from", "alice", "--sign-only"});
  REQUIRE(signed_only.code == 0);
  std::vector<std::string> hexes;
  std::istringstream in(signed_only.out);
  for (std::string line; std::getline(in, line);) hexes.push_back(line);
  REQUIRE(hexes.size() == 2);
  CHECK(MultiOpCliBalance(node, "bob") == 2'600'000);  // nothing sent yet
  for (const std::string& hex : hexes) CHECK(node.ChipJson({"submit", hex})["code"] == "OK");
  CHECK(MultiOpCliBalance(node, "bob") == 3'900'000);
}

TEST_CASE("a transfer of chip send --many that overdraws fails its whole transaction only",
          "[integration][cli][multi_op]") {
  DevNode node;
  MultiOpCliSetUp(&node);
  // Line 3 overdraws: the first transaction (lines 1-128) fails at its
  // operation 2 and moves nothing; the second (lines 129-130) still applies.
  std::string lines = "bob,1\ncarol,2\ncarol,1000\n";
  for (int i = 0; i < 127; ++i) lines += "bob,0.01\n";
  std::string csv = MultiOpCliWrite(node, "overdraw.csv", lines);
  json j = node.ChipJson({"send", "--many", csv, "--from", "alice"}, 3);
  CHECK(j["ok"] == false);
  REQUIRE(j["transactions"].size() == 2);
  const json& failed = j["transactions"][0];
  CHECK(failed["code"] == "INSUFFICIENT_FUNDS");
  CHECK(failed["failed_operation"] == 2);
  CHECK(failed["operations"][0]["outcome"] == "not applied (transaction failed at operation 2)");
  CHECK(failed["operations"][1]["outcome"] == "not applied (transaction failed at operation 2)");
  CHECK(failed["operations"][2]["outcome"] == "INSUFFICIENT_FUNDS");
  CHECK(failed["operations"][2]["line"] == 3);
  CHECK(j["transactions"][1]["code"] == "OK");
  CHECK(j["transactions"][1]["operations"][1]["outcome"] == "applied");
  // Only the second transaction's two transfers of 0.01 moved.
  CHECK(MultiOpCliBalance(node, "carol") == 0);
  CHECK(MultiOpCliBalance(node, "bob") == 20'000);
  CHECK(MultiOpCliBalance(node, "alice") == 100'000'000 - 20'000);

  // The node refused it at admission (docs/PROTOCOL.md, "Admission"): it
  // answered the operation that decided it and recorded nothing.
  CHECK_FALSE(failed.contains("height"));
  Run shown = node.Chip({"tx", failed["tx_hash"]});
  CHECK(shown.code == 1);
  CHECK(shown.err.find("no transaction") != std::string::npos);

  // The human report names the failing line.
  Run again = node.Chip({"send", "--many", csv, "--from", "alice"});
  CHECK(again.code == 3);
  CHECK(again.out.find("operation 2 (" + csv + ":3) failed; none of this transaction's 128 " +
                       "transfers applied") != std::string::npos);
}

TEST_CASE("chip send --many reads JSON lines, and chip time with its chip per line",
          "[integration][cli][multi_op]") {
  DevNode node;
  MultiOpCliSetUp(&node);
  const std::string bob = MultiOpCliAddress(node, "bob");
  std::string file = MultiOpCliWrite(node, "pay.jsonl",
                                     "# JSON lines\n"
                                     "{\"to\": \"bob\", \"amount\": \"1.5\"}\n"
                                     "\n"
                                     "{\"to\": \"carol\", \"amount\": 2.25}\n"
                                     "{\"to\": \"" +
                                         bob + "\", \"amount\": \"2h\", \"chip\": \"h100\"}\n");
  json j = node.ChipJson({"send", "--many", file, "--from", "alice"});
  REQUIRE(j["transactions"].size() == 1);
  CHECK(j["transactions"][0]["code"] == "OK");
  const json& ops = j["transactions"][0]["operations"];
  REQUIRE(ops.size() == 3);
  CHECK(ops[1]["amount"]["ucu"] == 2'250'000);
  CHECK(ops[2]["conversion"]["chip_id"] == "h100-sxm");
  CHECK(ops[2]["amount"]["ucu"] == 2'000'000);  // an H100-hour is 1 CU
  CHECK(MultiOpCliBalance(node, "bob") == 3'500'000);
  CHECK(MultiOpCliBalance(node, "carol") == 2'250'000);
  CHECK(MultiOpCliBalance(node, "alice") == 100'000'000 - 5'750'000);
}

TEST_CASE("a bad line of chip send --many is a usage error naming it, and nothing is sent",
          "[integration][cli][multi_op]") {
  DevNode node;
  MultiOpCliSetUp(&node);
  struct Case {
    std::string text;
    std::string error;  // after "FILE:LINE: "
    int line;
  };
  const std::vector<Case> cases = {
      {"bob,1\nbob\n", "missing column 'amount': expected to,amount[,chip]", 2},
      {"bob,1\nbob,1,h100,x\n", "extra column: 4 values, expected to,amount[,chip]", 2},
      {"bob,1\n\nnobody,1\n", "unknown key name 'nobody'", 3},
      {"bob,1.0000001\n", "six decimals", 1},
      {"bob,0\n", "zero amount", 1},
      {"bob,1\nalice,1\n", "transfer to oneself", 2},
      {"bob,10h\n", "is chip time", 1},
      {"bob,,\n", "empty 'amount'", 1},
      {"{\"to\": \"bob\", \"amount\": \"1\"}\n{\"to\": \"bob\", \n", "not valid JSON", 2},
      {"{\"to\": \"bob\", \"amount\": \"1\", \"from\": \"x\"}\n", "unknown key \"from\"", 1},
      {"{\"to\": \"bob\"}\n", "missing \"amount\"", 1},
      {"{\"to\": \"bob\", \"amount\": [1]}\n", "must be a string, a number or a boolean", 1},
  };
  for (const Case& c : cases) {
    std::string file = MultiOpCliWrite(node, "bad.txt", c.text);
    Run r = node.Chip({"send", "--many", file, "--from", "alice"});
    INFO(c.text << "\nerr: " << r.err);
    CHECK(r.code == 2);
    CHECK(r.err.find(file + ":" + std::to_string(c.line) + ": ") != std::string::npos);
    CHECK(r.err.find(c.error) != std::string::npos);
  }
  // Errors about the file as a whole.
  Run missing = node.Chip({"send", "--many", node.dir().Sub("none.csv"), "--from", "alice"});
  CHECK(missing.code == 2);
  CHECK(missing.err.find("cannot read " + node.dir().Sub("none.csv")) != std::string::npos);
  std::string empty = MultiOpCliWrite(node, "empty.csv", "# nothing\nto,amount\n\n");
  Run none = node.Chip({"send", "--many", empty, "--from", "alice"});
  CHECK(none.code == 2);
  CHECK(none.err.find("no entries") != std::string::npos);
  std::string large = MultiOpCliWrite(node, "large.csv", std::string((4 << 20) + 1, '#'));
  Run too_large = node.Chip({"send", "--many", large, "--from", "alice"});
  CHECK(too_large.code == 2);
  CHECK(too_large.err.find("is larger than 4194304 bytes") != std::string::npos);
  // --many replaces TO AMOUNT, and the JSON error carries the exit code.
  std::string ok = MultiOpCliWrite(node, "ok.csv", "bob,1\n");
  json both = node.ChipJson({"send", "bob", "1", "--many", ok, "--from", "alice"}, 2);
  CHECK(both["exit_code"] == 2);
  CHECK(node.Chip({"send", "--from", "alice"}).code == 2);
  // Nothing reached the ledger.
  CHECK(MultiOpCliBalance(node, "alice") == 100'000'000);
  CHECK(node.ChipJson({"history", "bob"})["items"].empty());
}

TEST_CASE("chip settle --many settles several reservations in one transaction",
          "[integration][cli][multi_op]") {
  DevNode node;
  MultiOpCliSetUp(&node);
  std::string id1 = node.ChipJson(
      {"reserve", "bob", "10", "--from", "alice", "--timeout", "1h"})["reservation_id"];
  std::string id2 = node.ChipJson(
      {"reserve", "bob", "5", "--from", "alice", "--timeout", "1h"})["reservation_id"];
  REQUIRE(MultiOpCliBalance(node, "alice") == 85'000'000);

  std::string csv = MultiOpCliWrite(
      node, "settle.csv",
      "reservation,amount,final\n" + id1 + ",2\n" + id2 + ",1,true\n" + id1 + ",0.5,false\n");
  json j = node.ChipJson({"settle", "--many", csv, "--from", "bob"});
  REQUIRE(j["transactions"].size() == 1);
  CHECK(j["transactions"][0]["code"] == "OK");
  REQUIRE(j["transactions"][0]["operations"].size() == 3);
  CHECK(j["transactions"][0]["operations"][1]["final"] == true);
  CHECK(j["transactions"][0]["operations"][2]["outcome"] == "applied");
  // The dev chain's equity fund takes 1% of every settlement: 3.5 CU settled
  // pays the provider 3.465 and the fund 0.035.
  CHECK(MultiOpCliBalance(node, "bob") == 3'465'000);
  json alice = node.ChipJson({"balance", "alice"});
  CHECK(alice["balance"]["ucu"] == 89'000'000);  // 4 of id2 came back
  CHECK(alice["held_as_payer"]["ucu"] == 7'500'000);

  json shown = node.ChipJson({"tx", j["transactions"][0]["tx_hash"]});
  REQUIRE(shown["body"]["operations"].size() == 3);
  CHECK(shown["body"]["operations"][0]["kind"] == "settle");
  CHECK(shown["body"]["operations"][0]["reservation"] == id1);
  CHECK(shown["body"]["operations"][1]["final"] == true);
  CHECK(shown["fund_levy"]["ucu"] == 35'000);

  // JSON lines; a final settle by the payer is NOT_PROVIDER and undoes the
  // non-final one before it.
  std::string jsonl = MultiOpCliWrite(node, "settle.jsonl",
                                      "{\"reservation\": \"" + id1 +
                                          "\", \"amount\": \"1\"}\n{\"reservation\": \"" + id1 +
                                          "\", \"amount\": 0, \"final\": true}\n");
  json refused = node.ChipJson({"settle", "--many", jsonl, "--from", "alice"}, 3);
  CHECK(refused["transactions"][0]["code"] == "NOT_PROVIDER");
  CHECK(refused["transactions"][0]["failed_operation"] == 1);
  CHECK(MultiOpCliBalance(node, "bob") == 3'465'000);
  CHECK(node.ChipJson({"balance", "alice"})["held_as_payer"]["ucu"] == 7'500'000);
  json closed = node.ChipJson({"settle", "--many", jsonl, "--from", "bob"});
  CHECK(closed["transactions"][0]["code"] == "OK");
  CHECK(MultiOpCliBalance(node, "bob") == 4'455'000);  // 1 more settled, 0.01 levied
  CHECK(node.ChipJson({"balance", "alice"})["held_as_payer"]["ucu"] == 0);

  // Bad lines name themselves.
  std::string bad = MultiOpCliWrite(node, "bad.csv", id1 + ",1\nabc,1\n");
  Run r = node.Chip({"settle", "--many", bad, "--from", "bob"});
  CHECK(r.code == 2);
  CHECK(r.err.find(bad + ":2: reservation id must be 64 hex digits") != std::string::npos);
  bad = MultiOpCliWrite(node, "bad.csv", id1 + ",0\n");
  r = node.Chip({"settle", "--many", bad, "--from", "bob"});
  CHECK(r.code == 2);
  CHECK(r.err.find(bad + ":1: zero amount") != std::string::npos);
  bad = MultiOpCliWrite(node, "bad.csv", id1 + ",1,maybe\n");
  r = node.Chip({"settle", "--many", bad, "--from", "bob"});
  CHECK(r.code == 2);
  CHECK(r.err.find(bad + ":1: final must be true or false, not 'maybe'") != std::string::npos);
}

TEST_CASE("chip tx shows the reservation ids a list's Reserve operations created",
          "[integration][cli][multi_op]") {
  DevNode node;
  MultiOpCliSetUp(&node);
  // No chip command builds a Reserve inside a list yet: sign one here with
  // alice's exported key, and hand it to `chip submit`.
  Run exported = node.Chip({"keys", "export", "alice"});
  REQUIRE(exported.code == 0);
  auto seed = Hash32FromHex(exported.out.substr(0, 64));
  REQUIRE(seed);
  auto chain_id = Hash32FromHex(node.ChipJson({"status"})["chain_id"].get<std::string>());
  REQUIRE(chain_id);
  std::string bob_text = node.ChipJson({"keys", "show", "bob"})["public_key"].get<std::string>();
  auto bob_key = Hash32FromHex(bob_text);
  REQUIRE(bob_key);
  chipledger::v1::TxBody body;
  body.set_nonce(7);
  auto* reserve = body.mutable_operations()->add_ops()->mutable_reserve();
  reserve->set_to(AsString(*bob_key));
  reserve->set_amount_ucu(4'000'000);
  reserve->set_timeout_ms(3'600'000);
  auto* settle = body.mutable_operations()->add_ops()->mutable_settle();
  settle->set_reserve_op(0);
  settle->set_amount_ucu(1'000'000);
  chipledger::v1::SignedTx tx = SignTx(KeyFromSeed(*seed), *chain_id, body);
  const Hash32 hash = TxHash(*chain_id, tx.body());
  json submitted = node.ChipJson({"submit", ToHex(tx.SerializeAsString())});
  REQUIRE(submitted["code"] == "OK");

  const std::string id = ToHex(OperationReservationId(hash, 0));
  json shown = node.ChipJson({"tx", ToHex(hash)});
  REQUIRE(shown["body"]["operations"].size() == 2);
  CHECK(shown["body"]["operations"][0]["kind"] == "reserve");
  CHECK(shown["body"]["operations"][0]["reservation_id"] == id);
  CHECK(shown["body"]["operations"][1]["reserve_op"] == 0);
  CHECK_FALSE(shown["body"]["operations"][1].contains("reservation"));
  Run text = node.Chip({"tx", ToHex(hash)});
  CHECK(text.out.find("reservation id " + id) != std::string::npos);
  CHECK(text.out.find("settle 1.000000 CU of the reservation of operation 0") != std::string::npos);
  // The id is the reservation the ledger holds, with what the settle left.
  json alice = node.ChipJson({"balance", "alice"});
  REQUIRE(alice["open_reservations"].size() == 1);
  CHECK(alice["open_reservations"][0]["id"] == id);
  CHECK(alice["held_as_payer"]["ucu"] == 3'000'000);
  json history = node.ChipJson({"history", "bob"});
  REQUIRE(history["items"].size() == 1);
  CHECK(history["items"][0]["operations"] == json::array({0, 1}));
  CHECK(history["items"][0]["body"]["operations"][0]["reservation_id"] == id);
}
