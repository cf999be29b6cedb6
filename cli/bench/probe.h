// The node's CPU time and memory as `chip bench` measures them: from
// /proc when the node runs on this machine (--node-pid, or the process that
// listens on a loopback --node), else from its Prometheus metrics over HTTP
// (--metrics); and the bench process's own CPU time and the host's load.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace chip::cli::bench_internal {

struct ProbeSample {
  bool ok = false;
  double cpu_seconds = 0;
  uint64_t rss_bytes = 0;
};

// Reads the node's cumulative CPU time and resident memory, from /proc when
// the node runs here, else from its metrics endpoint.
class NodeProbe {
 public:
  static NodeProbe None() { return NodeProbe(); }
  static NodeProbe Pid(int64_t pid, std::string how) {
    NodeProbe p;
    p.pid_ = pid;
    p.source_ = "pid " + std::to_string(pid) + " (" + how + ")";
    return p;
  }
  static NodeProbe Metrics(std::string url) {
    NodeProbe p;
    p.url_ = std::move(url);
    p.source_ = p.url_;
    return p;
  }
  bool enabled() const { return pid_ > 0 || !url_.empty(); }
  const std::string& source() const { return source_; }

  // The cumulative CPU time and resident memory now; ok = false when they
  // cannot be read.
  ProbeSample Sample() const;

 private:
  int64_t pid_ = 0;
  std::string url_;
  std::string source_;
};

// The pid of the process listening on a loopback node's TCP port, found
// through /proc/net/tcp{,6} and the processes' socket descriptors; nullopt
// when the node is remote or the process cannot be seen.
std::optional<int64_t> FindListeningPid(const std::string& target);

// The 1-minute load average of this machine; a benchmark that shares its
// cores with other work says so next to its figures.
double LoadAverage();

// CPU seconds (user and system) this process has used so far.
double ProcessCpuSeconds();

}  // namespace chip::cli::bench_internal
