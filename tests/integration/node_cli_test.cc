// End-to-end: a real chipd dev node driven by the real chip binary.
#include <catch2/catch.hpp>

#include "harness.h"

using namespace chip;
using namespace chip::itest;
using nlohmann::json;

namespace {

uint64_t Ucu(const json& balance, const char* field) {
  return balance[field]["ucu"].get<uint64_t>();
}

// Runs chipd to its exit (init, or a start that fails), output in dir.
Run RunChipd(const test::TempDir& dir, const std::vector<std::string>& args) {
  Run r;
  pid_t pid = Spawn(CHIPD_PATH, args, {}, dir.Sub("chipd.out"), dir.Sub("chipd.err"));
  r.code = WaitExit(pid, std::chrono::seconds(60));
  r.out = ReadFile(dir.Sub("chipd.out"));
  r.err = ReadFile(dir.Sub("chipd.err"));
  return r;
}

}  // namespace

TEST_CASE("a new user moves compute credits with chip against chipd dev", "[integration][cli]") {
  DevNode node;
  REQUIRE(node.Start());

  // Keys: the dev key exists (funded issuer); make two more.
  json keys = node.ChipJson({"keys", "list"});
  REQUIRE(keys.size() == 1);
  CHECK(keys[0]["name"] == "dev");
  CHECK(keys[0]["protected"] == false);
  node.ChipJson({"keys", "new", "alice"});
  node.ChipJson({"keys", "new", "bob"});
  std::string bob_addr = node.ChipJson({"keys", "show", "bob"})["address"];
  CHECK(node.ChipJson({"balance", "dev"})["balance"]["cu"] == "1000000.000000");

  // mint (dev is an issuer), send in three amount notations.
  CHECK(node.ChipJson({"mint", "alice", "100"})["code"] == "OK");
  CHECK(node.ChipJson({"send", "bob", "2.5CU", "--from", "alice"})["code"] == "OK");
  CHECK(node.ChipJson({"send", bob_addr, "500000uCU", "--from", "alice"})["code"] == "OK");
  json alice = node.ChipJson({"balance", "alice"});
  CHECK(Ucu(alice, "balance") == 97'000'000);
  CHECK(Ucu(node.ChipJson({"balance", bob_addr}), "balance") == 3'000'000);

  // A rejected transaction: its own exit code and result code.
  json rejected = node.ChipJson({"send", "alice", "50", "--from", "bob"}, 3);
  CHECK(rejected["code"] == "INSUFFICIENT_FUNDS");
  // A mistyped address never reaches the node.
  std::string typo = bob_addr;
  typo[20] = typo[20] == 'a' ? 'b' : 'a';
  Run bad = node.Chip({"send", typo, "1", "--from", "alice"});
  CHECK(bad.code == 2);
  CHECK(bad.err.find("checksum") != std::string::npos);

  // Escrow for a compute job: reserve, metered settles, final settle.
  json res = node.ChipJson({"reserve", "bob", "10", "--from", "alice", "--timeout", "1h"});
  REQUIRE(res["code"] == "OK");
  std::string id = res["reservation_id"];
  alice = node.ChipJson({"balance", "alice"});
  CHECK(Ucu(alice, "balance") == 87'000'000);
  CHECK(Ucu(alice, "held_as_payer") == 10'000'000);
  REQUIRE(alice["open_reservations"].size() == 1);
  CHECK(alice["open_reservations"][0]["id"] == id);
  // The dev chain's equity fund levies 1% of every settlement (docs/FUND.md):
  // the provider receives the rest, and the result says both.
  json settled = node.ChipJson({"settle", id, "1.5", "--from", "bob"});
  CHECK(settled["code"] == "OK");
  CHECK(settled["fund_levy"]["ucu"] == 15'000);
  CHECK(settled["provider_received"]["ucu"] == 1'485'000);
  CHECK(node.ChipJson({"settle", id, "2", "--from", "bob"})["code"] == "OK");
  CHECK(node.ChipJson({"settle", id, "7", "--from", "bob"}, 3)["code"] == "SETTLE_EXCEEDS_HELD");
  CHECK(node.ChipJson({"settle", id, "1", "--from", "alice"}, 3)["code"] == "NOT_PROVIDER");
  CHECK(node.ChipJson({"settle", id, "0.5", "--final", "--from", "bob"})["code"] == "OK");
  CHECK(node.ChipJson({"settle", id, "0.1", "--from", "bob"}, 3)["code"] == "RESERVATION_CLOSED");
  alice = node.ChipJson({"balance", "alice"});
  CHECK(Ucu(alice, "balance") == 87'000'000 + 6'000'000);  // 10 held, 4 used
  CHECK(Ucu(alice, "held_as_payer") == 0);
  // 4 settled, 0.04 of it levied for the fund.
  CHECK(Ucu(node.ChipJson({"balance", "bob"}), "balance") == 3'000'000 + 4'000'000 - 40'000);

  // Release returns everything.
  std::string id2 = node.ChipJson(
      {"reserve", "bob", "5", "--from", "alice", "--timeout", "1h"})["reservation_id"];
  CHECK(node.ChipJson({"release", id2, "--from", "bob"})["code"] == "OK");
  CHECK(Ucu(node.ChipJson({"balance", "alice"}), "balance") == 93'000'000);

  // Expiry: a reservation with a 1 s timeout is released automatically by the
  // first block after it expires, and can no longer be settled.
  std::string id3 = node.ChipJson(
      {"reserve", "bob", "3", "--from", "alice", "--timeout", "1s"})["reservation_id"];
  CHECK(Ucu(node.ChipJson({"balance", "alice"}), "balance") == 90'000'000);
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  CHECK(node.ChipJson({"settle", id3, "1", "--from", "bob"}, 3)["code"] == "RESERVATION_EXPIRED");
  CHECK(Ucu(node.ChipJson({"balance", "alice"}), "balance") == 93'000'000);

  // A replayed transaction: signed once, submitted twice, applied once.
  json signed_tx = node.ChipJson({"send", "bob", "1", "--from", "alice", "--sign-only"});
  std::string hex = signed_tx["tx_hex"];
  json first = node.ChipJson({"submit", hex});
  json again = node.ChipJson({"submit", hex});
  CHECK(first["code"] == "OK");
  CHECK(first["already_applied"] == false);
  CHECK(again["code"] == "OK");
  CHECK(again["already_applied"] == true);
  CHECK(again["height"] == first["height"]);
  CHECK(again["index"] == first["index"]);
  CHECK(Ucu(node.ChipJson({"balance", "alice"}), "balance") == 92'000'000);

  // An atomic batch whose second transfer overdraws fails as a whole.
  std::string batch = node.dir().Sub("batch.json");
  {
    std::ofstream f(batch);
    f << R"([{"op":"send","to":"bob","amount":"1"},{"op":"send","to":"bob","amount":"1000"}])";
  }
  json b = node.ChipJson({"batch", batch, "--atomic", "--from", "alice"}, 3);
  REQUIRE(b["results"].size() == 2);
  CHECK(b["results"][0]["code"] == "ATOMIC_BATCH_FAILED");
  CHECK(b["results"][1]["code"] == "INSUFFICIENT_FUNDS");
  CHECK(Ucu(node.ChipJson({"balance", "alice"}), "balance") == 92'000'000);
  // The same operations without --atomic: the first applies.
  b = node.ChipJson({"batch", batch, "--from", "alice"}, 3);
  CHECK(b["results"][0]["code"] == "OK");
  CHECK(Ucu(node.ChipJson({"balance", "alice"}), "balance") == 91'000'000);

  // History pages with a cursor, newest first, and nothing is lost.
  json page1 = node.ChipJson({"history", "alice", "--limit", "3"});
  REQUIRE(page1["items"].size() == 3);
  REQUIRE_FALSE(page1["next_cursor"].get<std::string>().empty());
  json page2 =
      node.ChipJson({"history", "alice", "--limit", "3", "--cursor", page1["next_cursor"]});
  REQUIRE(page2["items"].size() == 3);
  CHECK(page1["items"][2]["height"].get<uint64_t>() >= page2["items"][0]["height"].get<uint64_t>());
  json everything = node.ChipJson({"history", "alice", "--all", "--limit", "4"});
  size_t alice_txs = everything["items"].size();
  CHECK(alice_txs >= 14);
  CHECK(node.ChipJson({"history", "alice", "--cursor", "zz"}, 2).contains("error"));

  // Restart: every balance and history survives.
  json before_status = node.ChipJson({"status"});
  json before_alice = node.ChipJson({"balance", "alice"});
  json before_bob = node.ChipJson({"balance", "bob"});
  REQUIRE(node.Stop() == 0);
  CHECK(node.Chip({"status"}).code == 4);  // unreachable while stopped
  REQUIRE(node.Start());
  json after_status = node.ChipJson({"status"});
  CHECK(after_status["height"] == before_status["height"]);
  CHECK(after_status["tip_hash"] == before_status["tip_hash"]);
  CHECK(after_status["state_digest"] == before_status["state_digest"]);
  CHECK(node.ChipJson({"balance", "alice"}) == before_alice);
  CHECK(node.ChipJson({"balance", "bob"}) == before_bob);
  CHECK(node.ChipJson({"history", "alice", "--all", "--limit", "4"})["items"].size() == alice_txs);
  // And it keeps going.
  CHECK(node.ChipJson({"send", "bob", "1", "--from", "alice"})["code"] == "OK");
  json tx_hash = node.ChipJson({"send", "bob", "1", "--from", "alice"})["tx_hash"];
  json shown = node.ChipJson({"tx", tx_hash});
  CHECK(shown["body"]["kind"] == "transfer");
  CHECK(shown["body"]["amount"]["ucu"] == 1'000'000);
  CHECK(node.ChipJson({"blocks", "--limit", "2"}).size() == 2);
}

TEST_CASE("wallet errors and unreachable nodes have their own exit codes", "[integration][cli]") {
  DevNode node;
  REQUIRE(node.Start());
  node.ChipJson({"keys", "new", "carol"});
  Run wrong = node.Chip({"send", "dev", "1", "--from", "carol"}, {{"CHIP_PASSPHRASE", "nope"}});
  CHECK(wrong.code == 5);
  CHECK(wrong.err.find("wrong passphrase for key 'carol'") != std::string::npos);
  Run missing = node.Chip({"balance", "nobody"});
  CHECK(missing.code == 5);
  Run usage = node.Chip({"send", "carol"});
  CHECK(usage.code == 2);
  Run amount = node.Chip({"send", "carol", "1.0000001"});
  CHECK(amount.code == 2);
  CHECK(amount.err.find("six decimals") != std::string::npos);
  Run duplicate = node.Chip({"keys", "new", "carol"});
  CHECK(duplicate.code == 5);
  // Secrets appear only when asked for.
  Run exported = node.Chip({"keys", "export", "carol"});
  CHECK(exported.code == 0);
  CHECK(exported.out.size() == 65);  // 64 hex + newline
  Run shown = node.Chip({"keys", "show", "carol"});
  CHECK(shown.out.find(exported.out.substr(0, 64)) == std::string::npos);
  node.Stop();
  Run down = node.Chip({"status"});
  CHECK(down.code == 4);
  CHECK(down.err.find("cannot reach node") != std::string::npos);
}

// Regression (issue #13): `chipd init` wrote non-ASCII values into config.toml
// as raw UTF-8, and `chipd start` refused that file ("non-ASCII byte at
// offset N"). Now init escapes them and start reads them back byte for byte:
// here the data directory and the log file have UTF-8 names, the log file's
// with quotes, a backslash and control characters too, and the node started
// from config.toml alone logs to exactly that file.
TEST_CASE("chipd start reads back what chipd init wrote, UTF-8 paths included",
          "[integration][cli][config]") {
  test::TempDir dir;
  const std::string data_dir = dir.Sub("d\xc3\xa4t\xc3\xa4-\xe7\x9b\xae\xe5\xbd\x95");
  const std::string log_file = data_dir + "/log \"\xc3\xa4\" \\ \x01\t\xf0\x9f\x98\x80.log";
  const std::string listen = "127.0.0.1:" + std::to_string(FreePort());
  const std::string metrics = "127.0.0.1:" + std::to_string(FreePort());
  auto chipd = [&](const std::vector<std::string>& args) { return RunChipd(dir, args); };

  Run init = chipd({"init", "--data-dir", data_dir, "--listen", listen, "--metrics-listen", metrics,
                    "--log-file", log_file});
  INFO("chipd init: " << init.out << init.err);
  REQUIRE(init.code == 0);
  const std::string toml = ReadFile(data_dir + "/config.toml");
  INFO(toml);
  for (char ch : toml) REQUIRE(static_cast<unsigned char>(ch) < 0x80);
  CHECK(toml.find(R"(log_file = ")") != std::string::npos);
  CHECK(toml.find(R"(\u00E4\" \\ \u0001\u0009\U0001F600.log")") != std::string::npos);

  // Only the data directory on the command line: the rest comes from the file.
  pid_t pid = Spawn(CHIPD_PATH, {"start", "--data-dir", data_dir}, {}, dir.Sub("start.out"),
                    dir.Sub("start.err"));
  bool serving = false, exited = false;
  for (int i = 0; i < 600 && !serving && !exited; ++i) {
    pid_t chip = Spawn(CHIP_PATH, {"--node", listen, "--wallet", dir.Sub("wallet"), "status"}, {},
                       dir.Sub("chip.out"), dir.Sub("chip.err"));
    serving = WaitExit(chip, std::chrono::seconds(30)) == 0;
    int status = 0;
    exited = !serving && ::waitpid(pid, &status, WNOHANG) == pid;
    if (!serving && !exited) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!exited) ::kill(pid, serving ? SIGTERM : SIGKILL);
  const int code = exited ? -1 : WaitExit(pid, std::chrono::seconds(30));
  INFO("chipd start: " << ReadFile(dir.Sub("start.err")));
  REQUIRE(serving);
  CHECK(code == 0);
  CHECK(ReadFile(log_file).find("chipd serving chain chipledger") != std::string::npos);

  // Bytes that are not UTF-8 cannot be written to TOML: init refuses them,
  // naming the key, before it creates anything.
  Run latin1 =
      chipd({"init", "--data-dir", dir.Sub("latin1"), "--log-file", dir.Sub("d\xe4t\xe4.log")});
  CHECK(latin1.code == 1);
  CHECK(latin1.err.find("log_file is not valid UTF-8 (byte 0xe4 at offset") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.Sub("latin1")));
}

// Group commit (block_interval_ms = 0) is the default that init writes; a
// block timer stays available, and a value above the maximum is refused both
// on the command line and in config.toml, naming the key.
TEST_CASE("block_interval_ms: 0 (group commit) by default, a timer on request, bounds checked",
          "[integration][cli][config]") {
  test::TempDir dir;
  auto chipd = [&](const std::vector<std::string>& args) { return RunChipd(dir, args); };
  REQUIRE(chipd({"init", "--data-dir", dir.Sub("default")}).code == 0);
  CHECK(ReadFile(dir.Sub("default") + "/config.toml").find("\nblock_interval_ms = 0\n") !=
        std::string::npos);
  REQUIRE(chipd({"init", "--data-dir", dir.Sub("timer"), "--block-interval-ms", "7"}).code == 0);
  CHECK(ReadFile(dir.Sub("timer") + "/config.toml").find("\nblock_interval_ms = 7\n") !=
        std::string::npos);

  Run flag = chipd({"init", "--data-dir", dir.Sub("flag"), "--block-interval-ms", "60001"});
  CHECK(flag.code == 2);
  CHECK(flag.err.find("--block-interval-ms: Value 60001 not in range 0 to 60000") !=
        std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.Sub("flag")));

  const std::string toml_path = dir.Sub("default") + "/config.toml";
  std::string toml = ReadFile(toml_path);
  toml.replace(toml.find("block_interval_ms = 0"), 21, "block_interval_ms = 60001");
  {
    std::ofstream out(toml_path, std::ios::trunc);
    out << toml;
  }
  Run start = chipd({"start", "--data-dir", dir.Sub("default")});
  CHECK(start.code == 1);
  CHECK(start.err.find("block_interval_ms must be 0..60000") != std::string::npos);
}
