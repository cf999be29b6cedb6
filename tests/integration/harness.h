// Integration-test harness: real chipd processes on free loopback ports in
// temporary directories, driven by the real chip binary. Nothing is mocked.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../test_util.h"

namespace chip::itest {

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A TCP port on 127.0.0.1 that was free a moment ago. It is taken below the
// kernel's ephemeral range (32768-60999 by default), from which every
// outgoing connection (chip, gRPC clients, etcd) and every bind to port 0
// draws, so none of them can take it between this check and the server's
// own bind. Each process walks its own permutation of the range from a
// pid-dependent start, so it never hands out one port twice and two test
// processes rarely try the same one.
inline int FreePort() {
  constexpr uint32_t kLow = 20'000;
  constexpr uint32_t kCount = 12'768;  // 20000-32767
  constexpr uint32_t kStride = 7'919;  // a prime not dividing kCount: a full cycle
  static std::atomic<uint32_t> next{static_cast<uint32_t>(::getpid()) * 2'654'435'761u};
  for (uint32_t attempt = 0; attempt < kCount; ++attempt) {
    const uint32_t n = next.fetch_add(1) % kCount;
    const uint16_t port = static_cast<uint16_t>(kLow + (n * kStride) % kCount);
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    if (free) return port;
  }
  std::abort();
}

// The environment `overrides` applied to this process's, as execve wants it.
inline std::vector<std::string> ChildEnvironment(
    const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('='));
    if (overrides.count(name) == 0) env.push_back(entry);
  }
  for (const auto& [k, v] : overrides) env.push_back(k + "=" + v);
  return env;
}

inline std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Starts `path args...` with stdout/stderr to `log_path`, stdin from
// /dev/null, in its own session (so it has no terminal to prompt on).
// Everything is prepared before fork: the test process has many threads, and
// a child that allocates or calls setenv before exec can deadlock on a lock
// another thread held at the fork (it did, under ASan). Between fork and
// exec the child makes only async-signal-safe calls.
inline pid_t Spawn(const std::string& path, const std::vector<std::string>& args,
                   const std::map<std::string, std::string>& env, const std::string& log_path,
                   const std::string& err_path) {
  std::vector<std::string> arg_strings = {path};
  arg_strings.insert(arg_strings.end(), args.begin(), args.end());
  std::vector<std::string> env_strings = ChildEnvironment(env);
  std::vector<char*> argv = CStrings(arg_strings), envp = CStrings(env_strings);
  int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int out = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  pid_t pid = (in >= 0 && out >= 0 && err >= 0) ? ::fork() : -1;
  if (pid == 0) {
    ::setsid();
    ::dup2(in, 0);  // dup2 clears O_CLOEXEC on the copies
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  for (int fd : {in, out, err}) {
    if (fd >= 0) ::close(fd);
  }
  return pid;
}

// Waits up to `timeout` for pid to exit; returns its exit code, or -1 (and
// kills it) on timeout; a signal death returns 128 + signal.
inline int WaitExit(pid_t pid, std::chrono::milliseconds timeout) {
  if (pid <= 0) return -1;  // never started (waitpid(-1) would reap any child)
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return -1;
}

struct Run {
  int code = -1;
  std::string out, err;
  nlohmann::json Json() const {
    auto j = nlohmann::json::parse(out, nullptr, false);
    return j;
  }
};

// Runs `path` to its end (killed after `timeout`) with stdout and stderr in
// `dir`/`name`.out and .err, and returns its exit code and output.
inline Run RunProgram(const std::string& path, const std::vector<std::string>& args,
                      const std::map<std::string, std::string>& env, const test::TempDir& dir,
                      const std::string& name,
                      std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  const std::string out = dir.Sub(name + ".out"), err = dir.Sub(name + ".err");
  Run r;
  r.code = WaitExit(Spawn(path, args, env, out, err), timeout);
  r.out = ReadFile(out);
  r.err = ReadFile(err);
  return r;
}

// A dev node (chipd dev) with its own data dir, wallet and ports.
class DevNode {
 public:
  DevNode() : port_(FreePort()), metrics_port_(FreePort()) {}
  // A node whose chain lives in `data_dir` (e.g. on a filesystem a test mounted).
  explicit DevNode(std::string data_dir) : DevNode() { data_dir_ = std::move(data_dir); }
  ~DevNode() { Stop(); }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string metrics_address() const { return "127.0.0.1:" + std::to_string(metrics_port_); }
  std::string wallet() const { return dir_.Sub("wallet"); }
  std::string data_dir() const { return data_dir_.empty() ? dir_.Sub("chain") : data_dir_; }
  std::string log() const { return ReadFile(dir_.Sub("chipd.err")); }
  const test::TempDir& dir() const { return dir_; }

  // Starts (or restarts) chipd dev and waits until `chip status` answers.
  bool Start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"dev",      "--data-dir",       data_dir(),
                                     "--wallet", wallet(),           "--listen",
                                     address(),  "--metrics-listen", metrics_address()};
    // No --block-interval-ms: the tests run the default, group commit.
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = Spawn(CHIPD_PATH, args, {}, dir_.Sub("chipd.out"), dir_.Sub("chipd.err"));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      if (Chip({"status"}).code == 0) return true;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        // Another process took a port between FreePort and chipd's bind:
        // new ports, once more each (the test asked for a node, not a port).
        if (port_retries_ < 3 && log().find("(port in use?)") != std::string::npos) {
          ++port_retries_;
          port_ = FreePort();
          metrics_port_ = FreePort();
          return Start(std::move(extra));
        }
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  // SIGTERM and wait; returns chipd's exit code.
  int Stop(int sig = SIGTERM) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, sig);
    int code = WaitExit(pid_, std::chrono::seconds(30));
    pid_ = -1;
    return code;
  }

  // Runs the chip CLI against this node and wallet.
  Run Chip(std::vector<std::string> args, std::map<std::string, std::string> env = {}) const {
    std::vector<std::string> full = {"--node", address(), "--wallet", wallet()};
    full.insert(full.end(), args.begin(), args.end());
    if (env.count("CHIP_PASSPHRASE") == 0) env["CHIP_PASSPHRASE"] = "test passphrase";
    return RunProgram(CHIP_PATH, full, env, dir_, "chip");
  }
  // chip ... --json, parsed; fails the test on bad JSON.
  nlohmann::json ChipJson(std::vector<std::string> args, int expect_code = 0) const {
    args.push_back("--json");
    Run r = Chip(args);
    INFO("chip " << args[0] << " -> " << r.code << "\nout: " << r.out << "\nerr: " << r.err);
    REQUIRE(r.code == expect_code);
    auto j = r.Json();
    REQUIRE_FALSE(j.is_discarded());
    return j;
  }

 private:
  test::TempDir dir_;
  int port_;
  int metrics_port_;
  int port_retries_ = 0;
  pid_t pid_ = -1;
  std::string data_dir_;
};

}  // namespace chip::itest
