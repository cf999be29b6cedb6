// chipd backup / chipd restore (docs/OPERATIONS.md, "Backups and restore"):
// a backup taken while transfers commit restores into a node that serves the
// backup's height with the state digest the original had there, and passes
// chip verify chain; bad input is refused without leaving anything behind.
#include <sys/stat.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <thread>

#include "harness.h"

using namespace chip;
using namespace chip::itest;
using nlohmann::json;

namespace {

Run Chipd(const test::TempDir& dir, const std::vector<std::string>& args) {
  return RunProgram(CHIPD_PATH, args, {}, dir, "chipd-cmd", std::chrono::seconds(120));
}

bool PathExists(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

// chip against an arbitrary node address, with a given wallet.
Run ChipAt(const test::TempDir& dir, const std::string& node, const std::string& wallet,
           std::vector<std::string> args) {
  std::vector<std::string> full = {"--node", node, "--wallet", wallet};
  full.insert(full.end(), args.begin(), args.end());
  return RunProgram(CHIP_PATH, full, {{"CHIP_PASSPHRASE", "test passphrase"}}, dir, "chip-at",
                    std::chrono::seconds(120));
}

}  // namespace

TEST_CASE("chipd backup under load restores into a node with the same state, which verifies",
          "[integration][backup]") {
  DevNode node;
  REQUIRE(node.Start());
  node.ChipJson({"keys", "new", "alice"});
  test::TempDir dir;

  // Transfers commit one after another while the backup is taken.
  std::atomic<bool> stop{false};
  std::atomic<int> acknowledged{0};
  std::thread load([&] {
    while (!stop.load()) {
      if (node.Chip({"send", "alice", "0.000001", "--from", "dev"}).code == 0) ++acknowledged;
    }
  });
  while (acknowledged.load() < 3) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const std::string backup = dir.Sub("backup");
  Run b = Chipd(dir, {"backup", "--data-dir", node.data_dir(), "--to", backup, "--json"});
  while (acknowledged.load() < 6) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  stop = true;
  load.join();
  INFO("backup: " << b.code << "\n" << b.out << b.err);
  REQUIRE(b.code == 0);
  json m = json::parse(b.out);
  CHECK(m["online"] == true);
  CHECK(m["format"] == "chipledger-backup/1");
  const uint64_t height = m["height"];
  CHECK(height >= 3);
  CHECK(PathExists(backup + "/BACKUP.json"));
  CHECK(PathExists(backup + "/node_key.json"));
  CHECK_FALSE(PathExists(backup + ".partial"));
  struct stat key_stat;
  REQUIRE(::stat((backup + "/node_key.json").c_str(), &key_stat) == 0);
  CHECK((key_stat.st_mode & 0077) == 0);

  // The original's block at the backup's height is the backup's tip.
  json blocks = node.ChipJson({"blocks", std::to_string(height)});
  INFO(blocks.dump());
  json block = blocks.is_array() ? blocks[0] : blocks;
  json header = block.contains("header") ? block["header"] : block;
  CHECK(header["state_digest"] == m["state_digest"]);

  // Bad targets are refused and leave nothing behind.
  {
    Run again = Chipd(dir, {"backup", "--data-dir", node.data_dir(), "--to", backup});
    CHECK(again.code == 1);
    CHECK(again.err.find("exists") != std::string::npos);
    Run no_parent =
        Chipd(dir, {"backup", "--data-dir", node.data_dir(), "--to", dir.Sub("missing/backup")});
    CHECK(no_parent.code == 1);
    CHECK(no_parent.err.find("does not exist") != std::string::npos);
    Run not_data = Chipd(dir, {"backup", "--data-dir", dir.path(), "--to", dir.Sub("b2")});
    CHECK(not_data.code == 1);
    CHECK(not_data.err.find("not a data directory") != std::string::npos);
    CHECK_FALSE(PathExists(dir.Sub("b2")));
    Run not_backup =
        Chipd(dir, {"restore", "--from", node.data_dir(), "--data-dir", dir.Sub("r2")});
    CHECK(not_backup.code == 1);
    CHECK(not_backup.err.find("BACKUP.json") != std::string::npos);
    CHECK_FALSE(PathExists(dir.Sub("r2")));
    // A manifest that names another height than the store holds.
    std::string text = ReadFile(backup + "/BACKUP.json");
    json edited = json::parse(text);
    edited["height"] = height + 1;
    { std::ofstream(backup + "/BACKUP.json") << edited.dump(2); }
    Run damaged = Chipd(dir, {"restore", "--from", backup, "--data-dir", dir.Sub("r3")});
    CHECK(damaged.code == 1);
    CHECK(damaged.err.find("damaged") != std::string::npos);
    CHECK_FALSE(PathExists(dir.Sub("r3")));
    CHECK_FALSE(PathExists(dir.Sub("r3.partial")));
    { std::ofstream(backup + "/BACKUP.json") << text; }
    Run garbage_usage = Chipd(dir, {"backup", "--to", dir.Sub("b4")});
    CHECK(garbage_usage.code == 2);
  }

  // The restored node serves the backup's height and verifies.
  {
    const std::string restored = dir.Sub("restored");
    Run r = Chipd(dir, {"restore", "--from", backup, "--data-dir", restored, "--json"});
    INFO("restore: " << r.out << r.err);
    REQUIRE(r.code == 0);
    json rj = json::parse(r.out);
    CHECK(rj["height"] == height);
    CHECK(rj["state_digest"] == m["state_digest"]);
    Run twice = Chipd(dir, {"restore", "--from", backup, "--data-dir", restored});
    CHECK(twice.code == 1);
    CHECK(twice.err.find("not empty") != std::string::npos);

    // The original goes on from where it was; the copy starts on its own port.
    const int port = FreePort();
    const std::string address = "127.0.0.1:" + std::to_string(port);
    pid_t pid = Spawn(CHIPD_PATH,
                      {"start", "--data-dir", restored, "--listen", address, "--metrics-listen",
                       "127.0.0.1:" + std::to_string(FreePort())},
                      {}, dir.Sub("restored.out"), dir.Sub("restored.err"));
    bool up = false;
    for (int i = 0; i < 300 && !up; ++i) {
      up = ChipAt(dir, address, node.wallet(), {"status"}).code == 0;
      if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    INFO(ReadFile(dir.Sub("restored.err")));
    REQUIRE(up);
    Run st = ChipAt(dir, address, node.wallet(), {"status", "--json"});
    REQUIRE(st.code == 0);
    json sj = json::parse(st.out);
    CHECK(sj["height"] == height);
    CHECK(sj["state_digest"] == m["state_digest"]);
    CHECK(sj["tip_hash"] == m["tip_hash"]);
    Run verify = ChipAt(dir, address, node.wallet(), {"verify", "chain"});
    INFO(verify.out << verify.err);
    CHECK(verify.code == 0);
    // It commits new transactions on top of the restored state.
    Run send = ChipAt(dir, address, node.wallet(), {"send", "alice", "1", "--from", "dev"});
    CHECK(send.code == 0);
    ::kill(pid, SIGTERM);
    CHECK(WaitExit(pid, std::chrono::seconds(30)) == 0);
  }

  // A stopped node is backed up from its store.
  {
    json before = node.ChipJson({"status"});
    REQUIRE(node.Stop() == 0);
    CHECK_FALSE(PathExists(node.data_dir() + "/admin.sock"));
    Run off =
        Chipd(dir, {"backup", "--data-dir", node.data_dir(), "--to", dir.Sub("offline"), "--json"});
    INFO(off.out << off.err);
    REQUIRE(off.code == 0);
    json oj = json::parse(off.out);
    CHECK(oj["online"] == false);
    CHECK(oj["height"] == before["height"]);
    CHECK(oj["state_digest"] == before["state_digest"]);
  }
}
