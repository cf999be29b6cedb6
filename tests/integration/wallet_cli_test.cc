// chip's wallet commands where no node is needed or none is running: a
// secret key typed on a terminal, and signing on an offline machine.
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <termios.h>

#include <catch2/catch.hpp>

#include "harness.h"

using namespace chip;
using namespace chip::itest;
using nlohmann::json;

namespace {

constexpr char kSecretHex[] = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";

// Runs chip with a pseudo-terminal as its controlling terminal and its
// stdin, stdout and stderr; once `prompt` appears, types `input`. Returns
// the exit code and everything the terminal showed.
// With `final_tio`, the terminal's settings once chip has exited.
Run ChipOnTerminal(const std::vector<std::string>& args,
                   const std::map<std::string, std::string>& env, const std::string& prompt,
                   const std::string& input, termios* final_tio = nullptr) {
  Run r;
  int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  REQUIRE(master >= 0);
  REQUIRE(::grantpt(master) == 0);
  REQUIRE(::unlockpt(master) == 0);
  const std::string slave_name = ::ptsname(master);
  // Prepared before fork, like Spawn: the child only makes async-signal-safe calls.
  std::vector<std::string> arg_strings = {CHIP_PATH};
  arg_strings.insert(arg_strings.end(), args.begin(), args.end());
  std::vector<std::string> env_strings = ChildEnvironment(env);
  std::vector<char*> argv = CStrings(arg_strings), envp = CStrings(env_strings);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setsid();
    int slave = ::open(slave_name.c_str(), O_RDWR);  // becomes the controlling terminal
    if (slave < 0) ::_exit(126);
    ::dup2(slave, 0);
    ::dup2(slave, 1);
    ::dup2(slave, 2);
    ::close(master);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  bool typed = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!typed && r.out.find(prompt) != std::string::npos) {
      REQUIRE(::write(master, input.data(), input.size()) == static_cast<ssize_t>(input.size()));
      typed = true;
    }
    pollfd p{master, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(master, buf, sizeof(buf));
    if (n <= 0) break;  // EIO: chip closed the terminal
    r.out.append(buf, static_cast<size_t>(n));
  }
  r.code = WaitExit(pid, std::chrono::seconds(10));
  if (final_tio != nullptr) REQUIRE(::tcgetattr(master, final_tio) == 0);
  ::close(master);
  return r;
}

// Runs chip with `input` on its stdin (a file, so no terminal).
Run ChipWithStdin(const test::TempDir& dir, const std::vector<std::string>& args,
                  const std::map<std::string, std::string>& env, const std::string& input) {
  const std::string in_path = dir.Sub("stdin.txt");
  {
    std::ofstream f(in_path);
    f << input;
  }
  // Spawn gives the child /dev/null as stdin; a shell redirects it.
  std::string command = "exec \"$0\" \"$@\" < " + in_path;
  std::vector<std::string> sh_args = {"-c", command, CHIP_PATH};
  sh_args.insert(sh_args.end(), args.begin(), args.end());
  pid_t pid = Spawn("/bin/sh", sh_args, env, dir.Sub("out.txt"), dir.Sub("err.txt"));
  Run r;
  r.code = WaitExit(pid, std::chrono::seconds(30));
  r.out = ReadFile(dir.Sub("out.txt"));
  r.err = ReadFile(dir.Sub("err.txt"));
  return r;
}

const std::map<std::string, std::string> kPassphrase = {{"CHIP_PASSPHRASE", "test passphrase"}};

// Runs chip against `node_address` (DevNode::Chip always names its own node).
Run ChipAt(const DevNode& node, const std::string& node_address, std::vector<std::string> args) {
  std::vector<std::string> full = {"--node", node_address, "--wallet", node.wallet()};
  full.insert(full.end(), args.begin(), args.end());
  const std::string out = node.dir().Sub("offline.out"), err = node.dir().Sub("offline.err");
  Run r;
  r.code = WaitExit(Spawn(CHIP_PATH, full, kPassphrase, out, err), std::chrono::seconds(60));
  r.out = ReadFile(out);
  r.err = ReadFile(err);
  return r;
}

std::string ExportedSecret(const std::string& wallet, const std::string& name) {
  test::TempDir dir;
  Run r = ChipWithStdin(dir, {"--wallet", wallet, "keys", "export", name}, kPassphrase, "");
  INFO(r.err);
  REQUIRE(r.code == 0);
  return r.out.substr(0, r.out.find('\n'));
}

}  // namespace

// Regression (#13): Ctrl-C at a no-echo prompt left the terminal without
// echo, so the user's shell showed nothing typed afterwards.
TEST_CASE("Ctrl-C at the secret prompt restores the terminal's echo", "[integration][cli][keys]") {
  test::TempDir dir;
  termios after{};
  Run r = ChipOnTerminal({"--wallet", dir.Sub("wallet"), "keys", "import", "typed"}, kPassphrase,
                         "Secret key (64 hex digits): ", "5eed\x03", &after);
  INFO("terminal showed: " << r.out);
  CHECK(r.code == 128 + SIGINT);
  CHECK((after.c_lflag & ECHO) != 0);
  CHECK(r.out.find("5eed") == std::string::npos);
}

TEST_CASE("keys import reads a secret typed on a terminal without echoing it (#13)",
          "[integration][cli][keys]") {
  test::TempDir dir;
  const std::string wallet = dir.Sub("wallet");
  Run r = ChipOnTerminal({"--wallet", wallet, "keys", "import", "typed"}, kPassphrase,
                         "Secret key (64 hex digits): ", std::string(kSecretHex) + "\n");
  INFO("terminal showed: " << r.out);
  CHECK(r.code == 0);
  CHECK(r.out.find("imported key 'typed'") != std::string::npos);
  // The bug: the terminal echoed the secret as it was typed.
  CHECK(r.out.find(kSecretHex) == std::string::npos);
  CHECK(r.out.find(std::string(kSecretHex).substr(0, 16)) == std::string::npos);
  CHECK(ExportedSecret(wallet, "typed") == kSecretHex);
}

TEST_CASE("keys import still reads a secret from stdin that is not a terminal, or a file",
          "[integration][cli][keys]") {
  test::TempDir dir;
  const std::string wallet = dir.Sub("wallet");
  Run piped = ChipWithStdin(dir, {"--wallet", wallet, "keys", "import", "piped"}, kPassphrase,
                            std::string(kSecretHex) + "\n");
  INFO("out: " << piped.out << "\nerr: " << piped.err);
  CHECK(piped.code == 0);
  CHECK(piped.err.find("Secret key") == std::string::npos);  // no prompt without a terminal
  CHECK(ExportedSecret(wallet, "piped") == kSecretHex);

  const std::string secret_file = dir.Sub("secret.hex");
  {
    std::ofstream f(secret_file);
    f << kSecretHex << "\n";
  }
  Run from_file = ChipWithStdin(
      dir, {"--wallet", wallet, "keys", "import", "filed", "--secret-file", secret_file},
      kPassphrase, "");
  CHECK(from_file.code == 0);
  CHECK(ExportedSecret(wallet, "filed") == kSecretHex);

  Run bad =
      ChipWithStdin(dir, {"--wallet", wallet, "keys", "import", "bad"}, kPassphrase, "not hex\n");
  CHECK(bad.code == 2);
  CHECK(bad.err.find("not hex") == std::string::npos);  // a secret is never repeated
}

TEST_CASE("signing offline: --sign-only needs no node with --chain-id or --genesis (#13)",
          "[integration][cli][offline]") {
  DevNode node;
  REQUIRE(node.Start());
  node.ChipJson({"keys", "new", "bob"});
  const std::string chain_id = node.ChipJson({"status"})["chain_id"];
  const std::string genesis = node.data_dir() + "/genesis.json";  // chipd init wrote it
  // The signing machine: no node listens on this port.
  const std::string nowhere = "127.0.0.1:" + std::to_string(FreePort());
  REQUIRE(ChipAt(node, nowhere, {"status"}).code == 4);

  struct Case {
    std::vector<std::string> args;
  };
  const Case cases[] = {
      {{"send", "bob", "1", "--chain-id", chain_id}},
      {{"send", "bob", "2", "--genesis", genesis}},
      {{"send", "bob", "3", "--genesis", genesis, "--valid-for", "1h", "--memo", "offline"}},
      {{"reserve", "bob", "4", "--timeout", "1h", "--chain-id", chain_id}},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = c.args;
    args.insert(args.end(), {"--sign-only", "--json"});
    Run signed_offline = ChipAt(node, nowhere, args);
    INFO("chip " << nlohmann::json(args).dump() << " -> " << signed_offline.code
                 << "\nout: " << signed_offline.out << "\nerr: " << signed_offline.err);
    REQUIRE(signed_offline.code == 0);
    json j = signed_offline.Json();
    REQUIRE_FALSE(j.is_discarded());
    // Then a machine that reaches the node sends the bytes, and they commit.
    json sent = node.ChipJson({"submit", j["tx_hex"]});
    CHECK(sent["code"] == "OK");
    CHECK(sent["tx_hash"] == j["tx_hash"]);
    CHECK(sent["height"].get<uint64_t>() > 0);
    CHECK(node.ChipJson({"tx", j["tx_hash"]})["code"] == "OK");
  }
  json bob = node.ChipJson({"balance", "bob"});
  CHECK(bob["balance"]["ucu"] == 6'000'000);
  CHECK(bob["held_as_provider"]["ucu"] == 4'000'000);

  // A signature is for one chain: signed for another, the node rejects it.
  Run other =
      ChipAt(node, nowhere,
             {"send", "bob", "1", "--sign-only", "--json", "--chain-id", std::string(64, '0')});
  REQUIRE(other.code == 0);
  CHECK(node.ChipJson({"submit", other.Json()["tx_hex"]}, 3)["code"] == "BAD_SIGNATURE");
}

TEST_CASE("signing offline: misused or malformed --chain-id and --genesis exit 2",
          "[integration][cli][offline]") {
  DevNode node;  // not started: nothing may need a node
  const std::string nowhere = "127.0.0.1:" + std::to_string(FreePort());
  const std::string id = std::string(64, 'a');
  const std::string genesis = node.dir().Sub("genesis.json");
  const std::string not_genesis = node.dir().Sub("not-genesis.json");
  {
    std::ofstream(genesis) << R"({"chain_name":"offline","genesis_time_ms":1,"validators":[]})";
    std::ofstream(not_genesis) << "{not json";
  }
  struct Case {
    std::vector<std::string> flags;
    const char* message;
  };
  const Case cases[] = {
      {{"--sign-only", "--chain-id", "zz"}, "--chain-id must be 64 hex digits"},
      {{"--sign-only", "--chain-id", id.substr(1)}, "--chain-id must be 64 hex digits"},
      {{"--sign-only", "--chain-id", id + "aa"}, "--chain-id must be 64 hex digits"},
      {{"--sign-only", "--chain-id", ""}, "--chain-id must be 64 hex digits"},
      {{"--sign-only", "--genesis", node.dir().Sub("missing.json")}, "--genesis: cannot read"},
      {{"--sign-only", "--genesis", not_genesis}, "genesis is not valid JSON"},
      {{"--sign-only", "--chain-id", id, "--genesis", genesis}, "both name the chain"},
      {{"--chain-id", id}, "--chain-id names the chain for offline signing: add --sign-only"},
      {{"--genesis", genesis}, "--genesis names the chain for offline signing: add --sign-only"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"send", "dev", "1", "--json"};
    args.insert(args.end(), c.flags.begin(), c.flags.end());
    Run r = ChipAt(node, nowhere, args);
    INFO("flags " << nlohmann::json(c.flags).dump() << " -> " << r.code << "\nerr: " << r.err);
    CHECK(r.code == 2);
    CHECK(r.err.find(c.message) != std::string::npos);
    json j = r.Json();
    CHECK(j["exit_code"] == 2);
  }
}
