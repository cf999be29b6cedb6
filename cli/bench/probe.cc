#include "cli/bench/probe.h"

#include <dirent.h>
#include <netdb.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <vector>

#include "ledger/status.h"

namespace chip::cli::bench_internal {

namespace {

constexpr size_t kMetricsResponseBytesMax = 1 << 20;
constexpr uint64_t kMetricsTimeoutMs = 2'000;

struct HostPort {
  std::string host;
  std::string port;
};

std::optional<HostPort> SplitHostPort(const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) return std::nullopt;
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return HostPort{host, text.substr(colon + 1)};
}

bool IsLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// One HTTP/1.0 GET over a plain TCP socket: enough for a Prometheus endpoint,
// without a dependency on an HTTP library.
Result<std::string> HttpGet(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) return Status::InvalidArgument("metrics URL must be http://...");
  std::string rest = url.substr(scheme.size());
  size_t slash = rest.find('/');
  std::string host_port = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? "/metrics" : rest.substr(slash);
  auto hp = SplitHostPort(host_port);
  if (!hp) return Status::InvalidArgument("metrics URL needs host:port: " + url);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(hp->host.c_str(), hp->port.c_str(), &hints, &found) != 0 || !found) {
    return Status::Unavailable("cannot resolve " + host_port);
  }
  int fd = -1;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(kMetricsTimeoutMs / 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(found);
  if (fd < 0) return Status::Unavailable("cannot connect to " + host_port);
  std::string request =
      "GET " + path + " HTTP/1.0\r\nHost: " + host_port + "\r\nConnection: close\r\n\r\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return Status::Unavailable("cannot send to " + host_port);
  }
  std::string response;
  char buf[16384];
  for (;;) {
    ssize_t got = ::recv(fd, buf, sizeof(buf), 0);
    if (got <= 0) break;
    response.append(buf, static_cast<size_t>(got));
    if (response.size() > kMetricsResponseBytesMax) break;
  }
  ::close(fd);
  if (response.rfind("HTTP/1.", 0) != 0 || response.find(" 200") == std::string::npos ||
      response.find(" 200") > response.find('\n')) {
    return Status::Unavailable("unexpected answer from " + url);
  }
  size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? std::string() : response.substr(body + 4);
}

// The value of an unlabelled sample `name value` in Prometheus text.
std::optional<double> MetricValue(const std::string& text, const std::string& name) {
  size_t pos = 0;
  while ((pos = text.find(name + " ", pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') {
      return std::strtod(text.c_str() + pos + name.size() + 1, nullptr);
    }
    pos += name.size();
  }
  return std::nullopt;
}

}  // namespace

std::optional<int64_t> FindListeningPid(const std::string& target) {
  auto hp = SplitHostPort(target);
  if (!hp || !IsLoopbackHost(hp->host)) return std::nullopt;
  char* end = nullptr;
  unsigned long port = std::strtoul(hp->port.c_str(), &end, 10);
  if (end == nullptr || *end != '\0' || port == 0 || port > 65535) return std::nullopt;
  char port_hex[8];
  std::snprintf(port_hex, sizeof(port_hex), ":%04lX", port);
  std::vector<std::string> inodes;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string sl, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      fields >> sl >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
          timeout >> inode;
      if (state == "0A" && local.size() > 5 && local.compare(local.size() - 5, 5, port_hex) == 0) {
        inodes.push_back("socket:[" + inode + "]");
      }
    }
  }
  if (inodes.empty()) return std::nullopt;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return std::nullopt;
  std::optional<int64_t> pid;
  const int64_t self = ::getpid();
  while (dirent* e = ::readdir(proc)) {
    char* digits_end = nullptr;
    long long candidate = std::strtoll(e->d_name, &digits_end, 10);
    if (*digits_end != '\0' || candidate <= 0 || candidate == self) continue;
    std::string fd_dir = std::string("/proc/") + e->d_name + "/fd";
    DIR* fds = ::opendir(fd_dir.c_str());
    if (fds == nullptr) continue;
    while (dirent* f = ::readdir(fds)) {
      char link[64];
      std::string path = fd_dir + "/" + f->d_name;
      ssize_t n = ::readlink(path.c_str(), link, sizeof(link) - 1);
      if (n <= 0) continue;
      link[n] = '\0';
      if (std::find(inodes.begin(), inodes.end(), link) != inodes.end()) {
        pid = candidate;
        break;
      }
    }
    ::closedir(fds);
    if (pid) break;
  }
  ::closedir(proc);
  return pid;
}

double LoadAverage() {
  std::ifstream in("/proc/loadavg");
  double load = -1;
  in >> load;
  return load;
}

double ProcessCpuSeconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto tv = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return tv(ru.ru_utime) + tv(ru.ru_stime);
}

ProbeSample NodeProbe::Sample() const {
  ProbeSample s;
  if (pid_ > 0) {
    std::ifstream stat("/proc/" + std::to_string(pid_) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // Fields after the parenthesised command name: state is field 3,
    // utime and stime are fields 14 and 15.
    size_t close = text.rfind(')');
    if (close == std::string::npos) return s;
    std::istringstream fields(text.substr(close + 2));
    std::string skip;
    for (int i = 3; i < 14; ++i) fields >> skip;
    unsigned long long utime = 0, stime = 0;
    fields >> utime >> stime;
    if (!fields) return s;
    s.cpu_seconds =
        static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
    std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("VmRSS:", 0) == 0) {
        s.rss_bytes = std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
      }
    }
    s.ok = true;
    return s;
  }
  if (!url_.empty()) {
    auto body = HttpGet(url_);
    if (!body.ok()) return s;
    auto cpu = MetricValue(*body, "process_cpu_seconds_total");
    auto rss = MetricValue(*body, "process_resident_memory_bytes");
    if (!cpu || !rss) return s;
    s.cpu_seconds = *cpu;
    s.rss_bytes = static_cast<uint64_t>(*rss);
    s.ok = true;
  }
  return s;
}

}  // namespace chip::cli::bench_internal
