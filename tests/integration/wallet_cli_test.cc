// chip's wallet commands where no node is needed or none is running: a
// secret key typed on a terminal, and signing on an offline machine.
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>

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
Run ChipOnTerminal(const std::vector<std::string>& args,
                   const std::map<std::string, std::string>& env, const std::string& prompt,
                   const std::string& input) {
  Run r;
  int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  REQUIRE(master >= 0);
  REQUIRE(::grantpt(master) == 0);
  REQUIRE(::unlockpt(master) == 0);
  const std::string slave_name = ::ptsname(master);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setsid();
    int slave = ::open(slave_name.c_str(), O_RDWR);  // becomes the controlling terminal
    if (slave < 0) ::_exit(126);
    ::dup2(slave, 0);
    ::dup2(slave, 1);
    ::dup2(slave, 2);
    ::close(master);
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> argv = {const_cast<char*>(CHIP_PATH)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(CHIP_PATH, argv.data());
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
  ::close(master);
  r.code = WaitExit(pid, std::chrono::seconds(10));
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

std::string ExportedSecret(const std::string& wallet, const std::string& name) {
  test::TempDir dir;
  Run r = ChipWithStdin(dir, {"--wallet", wallet, "keys", "export", name}, kPassphrase, "");
  INFO(r.err);
  REQUIRE(r.code == 0);
  return r.out.substr(0, r.out.find('\n'));
}

}  // namespace

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
