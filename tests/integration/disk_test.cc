// Bad data directories are refused at start-up with a clear reason. (The
// disk-full and read-only cases mount a filesystem, so they live in
// tests/reliability/disk_full.sh, which runs as root in CI.)

#include <catch2/catch.hpp>

#include "harness.h"

using namespace chip;
using namespace chip::itest;

TEST_CASE("missing and foreign data directories are refused at start-up", "[integration][disk]") {
  test::TempDir dir;
  auto run = [&](std::vector<std::string> args) {
    pid_t pid = Spawn(CHIPD_PATH, args, {}, dir.Sub("out"), dir.Sub("err"));
    int code = WaitExit(pid, std::chrono::seconds(30));
    return std::make_pair(code, ReadFile(dir.Sub("err")));
  };
  auto missing = run({"start", "--data-dir", dir.Sub("nothing"), "--no-metrics"});
  CHECK(missing.first == 1);
  CHECK(missing.second.find("does not exist") != std::string::npos);

  REQUIRE(run({"init", "--data-dir", dir.Sub("a"), "--chain-name", "one"}).first == 0);
  REQUIRE(run({"init", "--data-dir", dir.Sub("b"), "--chain-name", "two"}).first == 0);
  std::filesystem::copy_file(dir.Sub("b") + "/genesis.json", dir.Sub("a") + "/genesis.json",
                             std::filesystem::copy_options::overwrite_existing);
  auto foreign = run({"start", "--data-dir", dir.Sub("a"), "--no-metrics", "--listen",
                      "127.0.0.1:" + std::to_string(FreePort())});
  CHECK(foreign.first == 1);
  CHECK(foreign.second.find("belongs to another chain") != std::string::npos);

  std::filesystem::remove_all(dir.Sub("b") + "/db");
  auto no_store = run({"start", "--data-dir", dir.Sub("b"), "--no-metrics"});
  CHECK(no_store.first == 1);
  CHECK(no_store.second.find("no ledger store") != std::string::npos);
}
