#include "node/ops/devnet.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "node/cluster/etcd_client.h"
#include "support/child_process.h"

namespace chip::node {

namespace {

using Clock = std::chrono::steady_clock;

// How long members and nodes get to stop on SIGTERM before SIGKILL.
constexpr std::chrono::seconds kStopGrace{20};
constexpr std::chrono::seconds kEtcdStartTimeout{30};

struct Child {
  std::string name;
  pid_t pid = -1;
};

std::string EtcdClientUrl(const DevnetOptions& o, size_t j) {
  return "http://127.0.0.1:" + std::to_string(o.etcd_base_port + 2 * j);
}
std::string EtcdPeerUrl(const DevnetOptions& o, size_t j) {
  return "http://127.0.0.1:" + std::to_string(o.etcd_base_port + 2 * j + 1);
}

// A child of the supervisor: its own process group, so that a Ctrl-C in
// the terminal reaches only the supervisor, which stops nodes before etcd.
pid_t Spawn(std::vector<std::string> args, const std::string& log_path) {
  SpawnOptions options;
  options.new_process_group = true;
  return SpawnWithLog(std::move(args), log_path, options);
}

// True (and forgets the pid) once the child has exited.
bool Reaped(Child* c, int* status) {
  if (c->pid <= 0) return true;
  if (::waitpid(c->pid, status, WNOHANG) != c->pid) return false;
  c->pid = -1;
  return true;
}

void StopAll(std::vector<Child>* children) {
  for (auto& c : *children) {
    if (c.pid > 0) ::kill(c.pid, SIGTERM);
  }
  auto deadline = Clock::now() + kStopGrace;
  for (auto& c : *children) {
    int status = 0;
    while (!Reaped(&c, &status) && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (c.pid > 0) {
      std::fprintf(stderr, "chipd devnet: %s did not stop in time; killing it\n", c.name.c_str());
      ::kill(c.pid, SIGKILL);
      ::waitpid(c.pid, &status, 0);
      c.pid = -1;
    }
  }
}

bool WaitEtcdHealthy(const DevnetOptions& o, std::string* error) {
  EtcdClientOptions eo;
  eo.endpoints = DevnetEtcdEndpoints(o);
  eo.call_timeout_ms = 1'000;
  auto client = EtcdClient::Create(eo);
  if (!client.ok()) {
    *error = client.status().message();
    return false;
  }
  auto deadline = Clock::now() + kEtcdStartTimeout;
  Status last;
  while (Clock::now() < deadline) {
    auto r = (*client)->Range("/chipledger-devnet-health");
    if (r.ok()) return true;
    last = r.status();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  *error = "etcd did not become healthy: " + last.ToString();
  return false;
}

}  // namespace

std::string DevnetEtcdEndpoints(const DevnetOptions& o) {
  std::string all;
  for (size_t j = 0; j < kDevnetEtcdMembers; ++j) {
    all += (j ? "," : "") + std::string("127.0.0.1:") + std::to_string(o.etcd_base_port + 2 * j);
  }
  return all;
}

std::string DevnetNodeDir(const DevnetOptions& o, size_t i) {
  return o.dir + "/node" + std::to_string(i);
}
std::string DevnetNodeAddress(const DevnetOptions& o, size_t i) {
  return "127.0.0.1:" + std::to_string(o.base_port + 2 * i);
}
std::string DevnetMetricsAddress(const DevnetOptions& o, size_t i) {
  return "127.0.0.1:" + std::to_string(o.base_port + 2 * i + 1);
}

int RunDevnet(const DevnetOptions& o, const sigset_t& signals) {
  if (::access(o.etcd_path.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "chipd devnet: %s not found: install etcd-server\n", o.etcd_path.c_str());
    return 1;
  }
  ::mkdir((o.dir + "/etcd").c_str(), 0700);
  std::string initial_cluster;
  for (size_t j = 0; j < kDevnetEtcdMembers; ++j) {
    initial_cluster +=
        (j ? "," : "") + std::string("m") + std::to_string(j) + "=" + EtcdPeerUrl(o, j);
  }
  std::vector<Child> etcd, nodes;
  for (size_t j = 0; j < kDevnetEtcdMembers; ++j) {
    const std::string name = "m" + std::to_string(j);
    // A member that has data already rejoins with it (etcd then ignores
    // the initial-cluster flags).
    pid_t pid =
        Spawn({o.etcd_path, "--name=" + name, "--data-dir=" + o.dir + "/etcd/" + name,
               "--listen-client-urls=" + EtcdClientUrl(o, j),
               "--advertise-client-urls=" + EtcdClientUrl(o, j),
               "--listen-peer-urls=" + EtcdPeerUrl(o, j),
               "--initial-advertise-peer-urls=" + EtcdPeerUrl(o, j),
               "--initial-cluster=" + initial_cluster, "--initial-cluster-token=chipledger-devnet",
               "--initial-cluster-state=new", "--heartbeat-interval=50", "--election-timeout=500",
               "--logger=zap", "--log-outputs=stderr", "--log-level=warn"},
              o.dir + "/etcd/" + name + ".log");
    if (pid < 0) {
      std::fprintf(stderr, "chipd devnet: cannot start etcd member %s\n", name.c_str());
      StopAll(&etcd);
      return 1;
    }
    etcd.push_back({"etcd " + name, pid});
  }
  std::string error;
  if (!WaitEtcdHealthy(o, &error)) {
    std::fprintf(stderr, "chipd devnet: %s (see %s/etcd/m*.log; ports %u..%u in use?)\n",
                 error.c_str(), o.dir.c_str(), o.etcd_base_port,
                 static_cast<unsigned>(o.etcd_base_port + 2 * kDevnetEtcdMembers - 1));
    StopAll(&etcd);
    return 1;
  }
  for (size_t i = 0; i < o.nodes; ++i) {
    std::vector<std::string> args = {o.chipd_path,       "start",
                                     "--data-dir",       DevnetNodeDir(o, i),
                                     "--etcd",           DevnetEtcdEndpoints(o),
                                     "--listen",         DevnetNodeAddress(o, i),
                                     "--metrics-listen", DevnetMetricsAddress(o, i),
                                     "--log-level",      o.log_level};
    args.insert(args.end(), o.node_flags.begin(), o.node_flags.end());
    pid_t pid = Spawn(args, DevnetNodeDir(o, i) + "/chipd.log");
    if (pid < 0) {
      std::fprintf(stderr, "chipd devnet: cannot start node %zu\n", i);
      StopAll(&nodes);
      StopAll(&etcd);
      return 1;
    }
    nodes.push_back({"node" + std::to_string(i), pid});
  }
  std::printf(
      "\nchipd devnet is running: %zu nodes ordering one chain through a %zu-member etcd.\n",
      o.nodes, kDevnetEtcdMembers);
  std::printf("  etcd       %s (data and logs in %s/etcd)\n", DevnetEtcdEndpoints(o).c_str(),
              o.dir.c_str());
  for (size_t i = 0; i < o.nodes; ++i) {
    std::printf("  node%zu      gRPC %s  metrics http://%s/metrics  log %s/chipd.log\n", i,
                DevnetNodeAddress(o, i).c_str(), DevnetMetricsAddress(o, i).c_str(),
                DevnetNodeDir(o, i).c_str());
  }
  std::printf(
      "  wallet     %s (key 'dev': issuer, funded with 1,000,000 CU, no passphrase)\n\n"
      "Any node takes any command, e.g.\n"
      "  chip --node %s status      # producer, heights and digests of all nodes\n"
      "  chip keys new alice\n"
      "  chip --node %s send alice 1 --from dev\n\n"
      "Ctrl-C stops everything; `chipd devnet` again resumes the same chain.\n\n",
      o.wallet_dir.c_str(), DevnetNodeAddress(o, 0).c_str(),
      DevnetNodeAddress(o, o.nodes - 1).c_str());
  std::fflush(stdout);

  // Wait for a signal, reporting children that exit on their own (a node
  // killed by hand in a failover experiment, say) without stopping the rest.
  for (;;) {
    timespec period{0, 200'000'000};
    int sig = ::sigtimedwait(&signals, nullptr, &period);
    if (sig > 0) break;
    for (auto* group : {&nodes, &etcd}) {
      for (auto& c : *group) {
        int status = 0;
        if (c.pid > 0 && Reaped(&c, &status)) {
          std::fprintf(stderr, "chipd devnet: %s exited (%s %d)\n", c.name.c_str(),
                       WIFSIGNALED(status) ? "signal" : "code",
                       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        }
      }
    }
  }
  std::printf("stopping the nodes, then etcd\n");
  std::fflush(stdout);
  StopAll(&nodes);
  StopAll(&etcd);
  std::printf("chipd devnet stopped\n");
  return 0;
}

}  // namespace chip::node
