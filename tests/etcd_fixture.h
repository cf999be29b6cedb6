// A real etcd cluster for tests: `members` processes of Debian's etcd-server
// (/usr/bin/etcd) on free loopback ports (never 2379/2380), each with its own
// data directory in a temporary directory, formed with --initial-cluster-state
// new and short heartbeat/election timeouts so elections take a fraction of a
// second. Members can be killed and restarted; the destructor kills them all.
// Nothing is mocked: the etcd client tests and the chipd cluster tests use it.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "node/cluster/etcd_client.h"
#include "support/child_process.h"
#include "test_util.h"

namespace chip::test {

class EtcdCluster {
 public:
  struct Options {
    size_t members = 3;
    // etcd's defaults are 100 / 1000 ms; loopback needs far less.
    uint32_t heartbeat_ms = 25;
    uint32_t election_ms = 250;
    std::string binary = "/usr/bin/etcd";
    // TLS on the client port (PEM files), with client certificates required
    // when ca_file is set; empty: plaintext.
    std::string cert_file, key_file, ca_file;
  };

  EtcdCluster() : EtcdCluster(Options{}) {}
  explicit EtcdCluster(Options options) : options_(std::move(options)) {
    members_.resize(options_.members);
  }
  ~EtcdCluster() {
    for (size_t i = 0; i < members_.size(); ++i) Kill(i);
  }
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  // Starts every member and waits until each answers a quorum read. On
  // false, error() says why. A member that dies while starting (its port was
  // taken since it was found free) makes it start over on fresh ports.
  bool Start(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    if (::access(options_.binary.c_str(), X_OK) != 0) {
      error_ = options_.binary + " not found: install etcd-server (scripts/install-deps.sh)";
      return false;
    }
    for (int attempt = 1; attempt <= kStartAttemptsMax; ++attempt) {
      AssignPorts();
      token_ =
          "chiptest-" + std::to_string(::getpid()) + "-" + std::to_string(members_[0].client_port);
      bool launched = true;
      for (size_t i = 0; i < members_.size() && launched; ++i) {
        std::error_code ec;
        std::filesystem::remove_all(DataDir(i), ec);
        launched = Launch(i);
      }
      auto deadline = std::chrono::steady_clock::now() + timeout;
      bool healthy = launched;
      for (size_t i = 0; i < members_.size() && healthy; ++i) healthy = WaitHealthy(i, deadline);
      if (healthy) return true;
      bool died = false;
      for (size_t i = 0; i < members_.size(); ++i) died = died || Exited(i);
      for (size_t i = 0; i < members_.size(); ++i) Kill(i);
      if (!died) return false;  // slow, not unlucky: error_ says which member
    }
    return false;
  }

  size_t size() const { return members_.size(); }
  // "127.0.0.1:p" of member i's client URL.
  std::string endpoint(size_t i) const {
    return "127.0.0.1:" + std::to_string(members_.at(i).client_port);
  }
  // Every member's endpoint, comma-separated, for EtcdClientOptions.
  std::string endpoints() const {
    std::string all;
    for (size_t i = 0; i < members_.size(); ++i) all += (i ? "," : "") + endpoint(i);
    return all;
  }
  bool running(size_t i) const { return members_.at(i).pid > 0; }
  const std::string& error() const { return error_; }
  // The tail of member i's log, for failure messages.
  std::string Log(size_t i, size_t bytes_max = 4'000) const {
    std::ifstream in(LogPath(i), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    return s.size() > bytes_max ? s.substr(s.size() - bytes_max) : s;
  }

  // SIGKILL (no clean shutdown, like a crash) and reap. No-op if not running.
  void Kill(size_t i) {
    Member& m = members_.at(i);
    if (m.pid <= 0) return;
    ::kill(m.pid, SIGKILL);
    int status = 0;
    ::waitpid(m.pid, &status, 0);
    m.pid = -1;
  }

  // Starts a killed member again on its ports and data directory (etcd then
  // ignores the initial-cluster flags) and waits until it answers.
  bool Restart(size_t i, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    Kill(i);
    if (!Launch(i)) return false;
    return WaitHealthy(i, std::chrono::steady_clock::now() + timeout);
  }

  // The index of the member that is the raft leader now, from the members'
  // /metrics (etcd_server_is_leader); -1 when none claims it.
  int LeaderIndex() const {
    for (size_t i = 0; i < members_.size(); ++i) {
      if (running(i) &&
          HttpGet(members_[i].client_port, "/metrics").find("\netcd_server_is_leader 1") !=
              std::string::npos) {
        return static_cast<int>(i);
      }
    }
    return -1;
  }

  // A client of the whole cluster.
  std::unique_ptr<node::EtcdClient> Client(uint32_t call_timeout_ms = 2'000) const {
    node::EtcdClientOptions o = ClientOptions();
    o.endpoints = endpoints();
    o.call_timeout_ms = call_timeout_ms;
    auto c = node::EtcdClient::Create(o);
    if (!c.ok()) std::abort();  // endpoints() is always well-formed
    return std::move(*c);
  }

 private:
  static constexpr int kStartAttemptsMax = 3;

  struct Member {
    int client_port = 0;
    int peer_port = 0;
    pid_t pid = -1;
  };

  std::string DataDir(size_t i) const { return dir_.Sub("m" + std::to_string(i)); }
  std::string LogPath(size_t i) const { return dir_.Sub("m" + std::to_string(i) + ".log"); }

  // Ports the kernel handed out a moment ago (the ephemeral range, so never
  // etcd's well-known 2379/2380); all sockets stay open until every port is
  // chosen so no two members get the same one.
  void AssignPorts() {
    std::vector<int> fds;
    std::vector<int> ports;
    for (size_t i = 0; i < 2 * members_.size(); ++i) {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        std::abort();
      }
      socklen_t len = sizeof(addr);
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
      fds.push_back(fd);
      ports.push_back(ntohs(addr.sin_port));
    }
    for (int fd : fds) ::close(fd);
    for (size_t i = 0; i < members_.size(); ++i) {
      members_[i].client_port = ports[2 * i];
      members_[i].peer_port = ports[2 * i + 1];
    }
  }

  // The body-and-headers answer to a plain HTTP/1.0 GET on 127.0.0.1:port,
  // empty on any error. Enough for etcd's /metrics; no client library needed.
  static std::string HttpGet(int port, const std::string& path) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return {};
    timeval timeout{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    std::string answer;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
      const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
      if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
        char buf[16384];
        ssize_t n;
        while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0)
          answer.append(buf, static_cast<size_t>(n));
      }
    }
    ::close(fd);
    return answer;
  }

  std::string PeerUrl(size_t i) const {
    return "http://127.0.0.1:" + std::to_string(members_[i].peer_port);
  }

  bool Launch(size_t i) {
    std::string initial_cluster;
    for (size_t j = 0; j < members_.size(); ++j) {
      initial_cluster += (j ? "," : "") + std::string("m") + std::to_string(j) + "=" + PeerUrl(j);
    }
    const bool tls = !options_.cert_file.empty();
    const std::string client_url = (tls ? "https://" : "http://") + endpoint(i);
    std::vector<std::string> args = {
        options_.binary,
        "--name=m" + std::to_string(i),
        "--data-dir=" + DataDir(i),
        "--listen-client-urls=" + client_url,
        "--advertise-client-urls=" + client_url,
        "--listen-peer-urls=" + PeerUrl(i),
        "--initial-advertise-peer-urls=" + PeerUrl(i),
        "--initial-cluster=" + initial_cluster,
        "--initial-cluster-token=" + token_,
        "--initial-cluster-state=new",
        "--heartbeat-interval=" + std::to_string(options_.heartbeat_ms),
        "--election-timeout=" + std::to_string(options_.election_ms),
        "--logger=zap",
        "--log-outputs=stderr",
        "--log-level=warn"};
    if (tls) {
      args.push_back("--cert-file=" + options_.cert_file);
      args.push_back("--key-file=" + options_.key_file);
      if (!options_.ca_file.empty()) {
        args.push_back("--trusted-ca-file=" + options_.ca_file);
        args.push_back("--client-cert-auth");
      }
    }
    // A test process that dies (a crash, a ctest timeout) takes its members
    // along instead of leaving them running. The signal follows the forking
    // thread, so call Start/Restart from a thread that lives as long as the
    // cluster (the test's main thread).
    ::chip::SpawnOptions spawn;
    spawn.new_session = true;
    pid_t pid = ::chip::SpawnWithLog(std::move(args), LogPath(i), spawn);
    if (pid < 0) {
      error_ = "cannot start member " + std::to_string(i) + " (its log or fork failed)";
      return false;
    }
    members_[i].pid = pid;
    return true;
  }

  // True (and forgets the pid) when member i has exited.
  bool Exited(size_t i) {
    Member& m = members_[i];
    if (m.pid <= 0) return true;
    int status = 0;
    if (::waitpid(m.pid, &status, WNOHANG) != m.pid) return false;
    m.pid = -1;
    return true;
  }

  // A quorum read through member i alone: it is up and sees a leader.
  // TLS material for clients of this cluster (the members' own key pair
  // doubles as a client certificate; dev-ca.sh makes it for both uses).
  node::EtcdClientOptions ClientOptions() const {
    node::EtcdClientOptions o;
    if (!options_.ca_file.empty()) {
      auto read = [](const std::string& path) {
        std::ifstream in(path, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
      };
      o.tls_ca_pem = read(options_.ca_file);
      o.tls_cert_pem = read(options_.cert_file);
      o.tls_key_pem = read(options_.key_file);
    }
    return o;
  }

  bool WaitHealthy(size_t i, std::chrono::steady_clock::time_point deadline) {
    node::EtcdClientOptions o = ClientOptions();
    o.endpoints = endpoint(i);
    o.call_timeout_ms = 500;
    auto client = node::EtcdClient::Create(o);
    if (!client.ok()) std::abort();
    Status last;
    while (std::chrono::steady_clock::now() < deadline) {
      if (Exited(i)) {
        error_ = "etcd member " + std::to_string(i) + " exited:\n" + Log(i);
        return false;
      }
      auto r = (*client)->Range("health");
      if (r.ok()) return true;
      last = r.status();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    error_ = "etcd member " + std::to_string(i) + " not healthy in time (" + last.ToString() +
             "):\n" + Log(i);
    return false;
  }

  Options options_;
  TempDir dir_;  // removed after the destructor has killed the members
  std::vector<Member> members_;
  std::string token_;
  std::string error_;
};

}  // namespace chip::test
