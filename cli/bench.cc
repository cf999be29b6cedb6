// `chip bench` (see bench.h for the phases and what is measured).
//
// Invariants of a run:
//  - every transaction has a distinct nonce (run base + its index), so no
//    two transactions of a run, nor of two runs, share a hash;
//  - each account is funded with exactly what the planned workload spends
//    (plus a small margin) before the window, so INSUFFICIENT_FUNDS in the
//    window means the node applied something wrongly, not a planning gap;
//  - a compute job's step is sent only after the node acknowledged the
//    previous step as OK;
//  - nothing is signed, derived or allocated per transaction inside the
//    window except moving pre-signed messages into requests.
#include "cli/bench.h"

#include <dirent.h>
#include <netdb.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "chipledger/v1/ledger.grpc.pb.h"
#include "cli/tls.h"
#include "cli/util.h"
#include "cli/verify.h"
#include "ledger/address.h"
#include "ledger/amount.h"
#include "ledger/crypto.h"
#include "ledger/genesis.h"
#include "ledger/tx.h"
#include "support/grpc_names.h"
#include "wallet/keystore.h"

namespace chip::cli {

namespace pb = ::chipledger::v1;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr uint64_t kDefaultTxs = 100'000;
// With --duration and no --txs, enough transactions are signed for this rate
// over the whole duration (the node's target is 40,000/s).
constexpr uint64_t kPresignRatePerSecond = 50'000;
constexpr size_t kFundingBatch = kBenchBatchMax;
constexpr uint32_t kFundingThreadsMax = 4;
// Each account gets what the workload spends plus this, so rounding in a
// future workload cannot starve an account.
constexpr uint64_t kFundingMarginUcu = 1'000;
constexpr uint64_t kTransferUcuMax = 100;  // transfers move 1..100 uCU
// Compute jobs: reserve, kJobSettles metered settles, then a final settle or
// (every kJobReleaseEvery-th job) a release.
constexpr uint32_t kJobSettles = 3;
constexpr uint32_t kJobSteps = kJobSettles + 2;
constexpr uint32_t kJobReleaseEvery = 4;
constexpr uint64_t kJobUnitsMax = 200;  // a job holds (kJobSettles + 2) x 1..200 uCU
constexpr uint64_t kJobTimeoutMs = 3'600'000;
// While the node's mempool is full (RESOURCE_EXHAUSTED) a batch is retried
// with a doubling pause up to this bound, at most this many times.
constexpr uint32_t kBusyRetriesMax = 1'000;
constexpr uint64_t kBusyBackoffMsMax = 50;
// --verify reads every acknowledged transaction up to this many, else an
// evenly spread sample of this many.
constexpr size_t kVerifyAllMax = 100'000;
constexpr uint32_t kVerifyThreadsMax = 8;
constexpr size_t kMetricsResponseBytesMax = 1 << 20;
constexpr uint64_t kMetricsTimeoutMs = 2'000;
constexpr auto kSampleInterval = std::chrono::milliseconds(100);
constexpr int kSamplesPerProgressLine = 10;  // one line a second

// ---- small helpers ----

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Deterministic, portable random numbers (std::uniform_int_distribution is
// not the same across standard libraries, and runs must be reproducible).
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n > 0. The modulo bias is below n / 2^64: nothing at
  // the sizes used here.
  uint64_t Below(uint64_t n) { return Next() % n; }

 private:
  uint64_t state_;
};

std::string WithCommas(uint64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

// Runs fn(i) for i in [0, n) on `threads` threads (the caller is one of them).
template <typename Fn>
void ParallelFor(size_t n, unsigned threads, const Fn& fn) {
  constexpr size_t kChunk = 64;
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (;;) {
      size_t begin = next.fetch_add(kChunk);
      if (begin >= n) return;
      size_t end = std::min(n, begin + kChunk);
      for (size_t i = begin; i < end; ++i) fn(i);
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
}

unsigned SigningThreads() { return std::max(1u, std::thread::hardware_concurrency()); }

// The 1-minute load average of this machine; a benchmark that shares its
// cores with other work says so next to its figures.
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

// ---- the node's CPU and memory ----

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

// The pid of the process listening on a loopback node's TCP port, found
// through /proc/net/tcp{,6} and the processes' socket descriptors; nullopt
// when the node is remote or the process cannot be seen.
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

  ProbeSample Sample() const {
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

 private:
  int64_t pid_ = 0;
  std::string url_;
  std::string source_;
};

// ---- connections ----

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  // A channel of its own subchannel pool opens its own TCP connection, so
  // --connections really means connections (gRPC otherwise shares one
  // connection between channels with equal arguments).
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return NewChannel(target, args);  // with chip's TLS options (cli/tls.h)
}

std::unique_ptr<grpc::ClientContext> Context(uint64_t timeout_ms) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
  return ctx;
}

CliError NodeError(const std::string& target, const grpc::Status& s) {
  int code = s.error_code() == grpc::StatusCode::UNAVAILABLE ||
                     s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED
                 ? kExitUnreachable
                 : kExitError;
  return {code, "node at " + target + ": " + GrpcCodeName(s.error_code()) + ": " +
                    s.error_message() + TlsFailureHint(s.error_message())};
}

// Sends one request (SubmitTx when `single`, else a non-atomic SubmitBatch),
// retrying while the node's mempool is full until `give_up`. On OK, resp
// holds one result per transaction of req.
grpc::Status Exchange(pb::Ledger::Stub* stub, uint64_t timeout_ms, bool single,
                      pb::SubmitBatchRequest* req, pb::SubmitBatchResponse* resp,
                      Clock::time_point give_up, uint64_t* busy_retries) {
  for (uint32_t attempt = 0;; ++attempt) {
    auto ctx = Context(timeout_ms);
    grpc::Status s;
    resp->Clear();
    if (single) {
      pb::SubmitTxRequest one;
      one.mutable_tx()->Swap(req->mutable_txs(0));
      pb::SubmitTxResponse r;
      s = stub->SubmitTx(ctx.get(), one, &r);
      one.mutable_tx()->Swap(req->mutable_txs(0));  // kept for a retry
      if (s.ok()) *resp->add_results() = r.result();
    } else {
      s = stub->SubmitBatch(ctx.get(), *req, resp);
    }
    if (s.ok() && resp->results_size() != req->txs_size()) {
      return grpc::Status(grpc::StatusCode::INTERNAL,
                          "node answered " + std::to_string(resp->results_size()) +
                              " results for " + std::to_string(req->txs_size()) + " transactions");
    }
    if (s.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED || attempt + 1 >= kBusyRetriesMax ||
        Clock::now() >= give_up) {
      return s;
    }
    ++*busy_retries;
    uint64_t pause_ms = std::min<uint64_t>(kBusyBackoffMsMax, uint64_t{1} << std::min(attempt, 6u));
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
  }
}

// ---- the planned workload ----

// What the node answered for one transaction.
struct Ack {
  uint64_t height = 0;  // > 0: recorded in a block
  uint32_t index = 0;
  int32_t code = pb::RESULT_UNSPECIFIED;  // UNSPECIFIED: no answer
  bool already_applied = false;
};

enum class Workload { kUniform, kHot, kJobs, kReads };

// The reads workload's three queries, sent in turn by each client.
enum ReadKind : size_t { kReadAccount = 0, kReadHistory = 1, kReadTx = 2, kReadKinds = 3 };
constexpr const char* kReadNames[kReadKinds] = {"get_account", "list_history", "get_tx"};
constexpr uint32_t kReadHistoryPage = 10;

struct TransferPlan {
  uint32_t from;
  uint32_t to;
  uint64_t amount_ucu;
};

struct JobPlan {
  uint32_t payer;
  uint32_t provider;
  uint64_t unit_ucu;  // each settle pays one unit; the reserve holds kJobSteps units
  bool release;       // ends with a release instead of a final settle
};

// Two distinct accounts among [0, n), n >= 2.
std::pair<uint32_t, uint32_t> Pair(SplitMix64* rng, uint32_t n) {
  auto a = static_cast<uint32_t>(rng->Below(n));
  auto b = static_cast<uint32_t>((a + 1 + rng->Below(n - 1)) % n);
  return {a, b};
}

// ---- counters shared with the progress line ----

struct Live {
  std::atomic<uint64_t> submitted{0};
  std::atomic<uint64_t> answered{0};
  std::atomic<uint64_t> committed{0};
  std::atomic<uint64_t> rejected{0};
  std::atomic<uint64_t> errors{0};
};

// What one submitter saw; merged after the window.
struct ClientStats {
  std::vector<std::pair<uint32_t, uint32_t>> latencies;  // (microseconds, transactions)
  std::map<int32_t, uint64_t> rejected;                  // result code -> count
  std::map<std::string, uint64_t> errors;                // gRPC code -> transactions
  uint64_t busy_retries = 0;
  uint64_t jobs_completed = 0;
  uint64_t jobs_abandoned = 0;  // a step failed, so the later ones were not sent
  uint64_t jobs_open = 0;       // still in progress when the duration ended
  // Reads workload: latencies per ReadKind (transactions = 1), and answers
  // that were NOT_FOUND (an account the seed names that was never funded).
  std::vector<std::pair<uint32_t, uint32_t>> read_latencies[kReadKinds];
  uint64_t not_found = 0;
};

struct LatencySummary {
  double p50_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0, mean_ms = 0;
};

LatencySummary Summarize(std::vector<std::pair<uint32_t, uint32_t>> samples) {
  LatencySummary out;
  std::sort(samples.begin(), samples.end());
  uint64_t total = 0;
  long double sum = 0;
  for (const auto& [us, n] : samples) {
    total += n;
    sum += static_cast<long double>(us) * n;
  }
  if (total == 0) return out;
  auto at = [&](double q) {
    auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total)));
    uint64_t seen = 0;
    for (const auto& [us, n] : samples) {
      seen += n;
      if (seen >= rank) return us / 1000.0;
    }
    return samples.back().first / 1000.0;
  };
  out.p50_ms = at(0.50);
  out.p99_ms = at(0.99);
  out.p999_ms = at(0.999);
  out.max_ms = samples.back().first / 1000.0;
  out.mean_ms = static_cast<double>(sum / total) / 1000.0;
  return out;
}

// ---- one benchmark run ----

class Bench {
 public:
  Bench(const BenchTarget& target, const BenchOptions& options)
      : t_(target), o_(options), threads_(SigningThreads()) {}

  int Run();

 private:
  int Fail(const CliError& e) {
    std::cerr << "chip bench: " << e.message << "\n";
    if (t_.json) std::cout << json{{"error", e.message}, {"exit_code", e.exit_code}}.dump() << "\n";
    return e.exit_code;
  }
  int Fail(int code, const std::string& message) { return Fail(CliError{code, message}); }
  void Note(const std::string& line) const {
    if (!o_.quiet) std::cerr << line << "\n";
  }
  pb::Ledger::Stub* Stub(size_t client) { return stubs_[client % stubs_.size()].get(); }
  uint64_t Nonce(uint64_t i) const { return nonce_base_ + i; }

  int Validate();
  int Connect();
  void DeriveKeys();
  void Plan();
  int Fund();
  void Sign();
  // CheckTx (parse, hash, Ed25519) of a sample of the signed transactions on
  // every core: the most a node on this machine could verify per second
  // right now, the ceiling the committed rate is compared with.
  void MeasureVerifyCeiling();
  void Window();
  void TransfersClient(size_t client, ClientStats* st);
  void JobsClient(size_t client, ClientStats* st);
  void ReadsClient(size_t client, ClientStats* st);
  int RunReads();
  int ReportReads();
  void Record(const pb::SubmitBatchRequest& req, const pb::SubmitBatchResponse& resp,
              const grpc::Status& s, const std::vector<size_t>& slots, Clock::duration latency,
              ClientStats* st);
  Clock::time_point Pace();
  void Monitor();
  json Verify(bool* ok);
  int Report();

  const BenchTarget t_;
  const BenchOptions o_;
  const unsigned threads_;
  Workload workload_ = Workload::kUniform;
  uint64_t txs_ = 0;  // transactions of the window
  std::optional<uint64_t> duration_ms_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<pb::Ledger::Stub>> stubs_;
  Hash32 chain_id_{};
  uint64_t height_before_ = 0, height_after_ = 0;
  SecretKey funder_;
  std::string funding_mode_;
  uint64_t nonce_base_ = 0;
  std::vector<SecretKey> keys_;
  std::vector<PublicKey> publics_;
  std::vector<TransferPlan> transfers_;
  std::vector<JobPlan> jobs_;
  std::vector<uint64_t> need_ucu_;  // what each account spends in the window

  // Signed transactions of the window, their hashes and the node's answers,
  // indexed alike (a job's steps are kJobSteps consecutive slots).
  std::vector<pb::SignedTx> txs_signed_;
  std::vector<Hash32> hashes_;
  std::vector<Ack> acks_;

  double keys_seconds_ = 0, funding_seconds_ = 0, signing_seconds_ = 0;
  size_t verify_sample_ = 0;
  double verify_seconds_ = 0;
  uint64_t funded_accounts_ = 0;

  // The window.
  Live live_;
  std::atomic<size_t> next_{0};       // next transaction (or job) to hand out
  std::atomic<uint64_t> tickets_{0};  // batches sent so far, for --rate
  Clock::time_point start_, stop_at_, end_;
  bool exhausted_ = false;
  std::vector<ClientStats> stats_;
  NodeProbe probe_ = NodeProbe::None();
  ProbeSample node_start_, node_end_;
  uint64_t node_rss_peak_ = 0;
  double bench_cpu_seconds_ = 0;
  double load_start_ = 0, load_end_ = 0;
  std::mutex monitor_mu_;
  std::condition_variable monitor_cv_;
  bool window_done_ = false;
};

int Bench::Validate() {
  if (o_.workload == "uniform") {
    workload_ = Workload::kUniform;
  } else if (o_.workload == "hot") {
    workload_ = Workload::kHot;
  } else if (o_.workload == "jobs") {
    workload_ = Workload::kJobs;
  } else if (o_.workload == "reads") {
    workload_ = Workload::kReads;
  } else {
    return Fail(kExitUsage, "--workload must be uniform, hot, jobs or reads");
  }
  if (o_.accounts < 2 || o_.accounts > kBenchAccountsMax) {
    return Fail(kExitUsage, "--accounts must be 2.." + std::to_string(kBenchAccountsMax));
  }
  if (o_.clients < 1 || o_.clients > kBenchClientsMax) {
    return Fail(kExitUsage, "--clients must be 1.." + std::to_string(kBenchClientsMax));
  }
  if (o_.batch < 1 || o_.batch > kBenchBatchMax) {
    return Fail(kExitUsage, "--batch must be 1.." + std::to_string(kBenchBatchMax));
  }
  if (o_.connections > o_.clients) {
    return Fail(kExitUsage, "--connections must not exceed --clients");
  }
  if (workload_ == Workload::kHot) {
    if (o_.hot_accounts < 2 || o_.hot_accounts > std::min(o_.accounts, kBenchHotAccountsMax)) {
      return Fail(kExitUsage, "--hot-accounts must be 2..min(--accounts, " +
                                  std::to_string(kBenchHotAccountsMax) + ")");
    }
    if (o_.hot_percent > 100) return Fail(kExitUsage, "--hot-percent must be 0..100");
  }
  if (!o_.duration.empty()) {
    auto ms = ParseDurationMs(o_.duration);
    if (!ms.ok()) return Fail(kExitUsage, "--duration: " + ms.status().message());
    if (*ms == 0 || *ms > kBenchDurationMsMax) {
      return Fail(kExitUsage, "--duration must be 1ms..1h");
    }
    duration_ms_ = *ms;
  }
  txs_ = o_.txs;
  if (txs_ == 0) {
    txs_ = duration_ms_ ? std::max<uint64_t>(1, *duration_ms_ * kPresignRatePerSecond / 1000)
                        : kDefaultTxs;
    txs_ = std::min(txs_, kBenchTxsMax);
  }
  if (txs_ > kBenchTxsMax) {
    return Fail(kExitUsage, "--txs must be at most " + std::to_string(kBenchTxsMax));
  }
  if (workload_ == Workload::kJobs) {
    txs_ = (txs_ + kJobSteps - 1) / kJobSteps * kJobSteps;  // whole jobs
  }
  if (o_.node_pid < 0) return Fail(kExitUsage, "--node-pid must be positive");
  if (o_.rate > kBenchRateMax) {
    return Fail(kExitUsage, "--rate must be at most " + std::to_string(kBenchRateMax));
  }
  return kExitOk;
}

int Bench::Connect() {
  size_t n = o_.connections == 0 ? o_.clients : o_.connections;
  for (size_t i = 0; i < n; ++i) {
    channels_.push_back(MakeChannel(t_.node));
    stubs_.push_back(pb::Ledger::NewStub(channels_.back()));
  }
  // Every connection is opened (and its first call made) before the window,
  // so connection set-up never counts as latency.
  for (size_t i = 0; i < n; ++i) {
    pb::GetStatusResponse st;
    auto ctx = Context(t_.timeout_ms);
    grpc::Status s = stubs_[i]->GetStatus(ctx.get(), pb::GetStatusRequest(), &st);
    if (!s.ok()) return Fail(NodeError(t_.node, s));
    auto id = ToHash32(st.chain_id());
    if (!id) return Fail(kExitError, "node at " + t_.node + " sent no chain id");
    chain_id_ = *id;
    height_before_ = st.height();
    if (i == 0 && workload_ != Workload::kReads) {
      // Mint when the funding key is an issuer of this chain, else transfer.
      funding_mode_ = "transfer";
      auto genesis = ParseGenesis(st.genesis_json());
      if (genesis.ok()) {
        for (const auto& issuer : genesis->issuers) {
          if (issuer.key == funder_.Public()) funding_mode_ = "mint";
        }
      }
    }
  }
  if (o_.node_pid > 0) {
    probe_ = NodeProbe::Pid(o_.node_pid, "--node-pid");
  } else if (!o_.metrics_url.empty()) {
    probe_ = NodeProbe::Metrics(o_.metrics_url);
  } else if (auto pid = FindListeningPid(t_.node)) {
    probe_ = NodeProbe::Pid(*pid, "listening on " + t_.node);
  }
  if (probe_.enabled() && !probe_.Sample().ok) {
    Note("chip bench: cannot read the node's CPU and memory from " + probe_.source());
    probe_ = NodeProbe::None();
  }
  return kExitOk;
}

void Bench::DeriveKeys() {
  auto t0 = Clock::now();
  keys_.resize(o_.accounts);
  publics_.resize(o_.accounts);
  ParallelFor(o_.accounts, threads_, [&](size_t i) {
    // seed_i = SHA-256("chipledger/bench/v1" || seed || i): reproducible
    // accounts, distinct from any wallet's random keys.
    Sha256Builder b;
    b.Update("chipledger/bench/v1");
    std::string tail;
    PutU64(&tail, o_.seed);
    PutU32(&tail, static_cast<uint32_t>(i));
    b.Update(tail);
    keys_[i] = KeyFromSeed(b.Finish());
    publics_[i] = keys_[i].Public();
  });
  keys_seconds_ = Seconds(Clock::now() - t0);
}

void Bench::Plan() {
  SplitMix64 rng(o_.seed * 0x2545f4914f6cdd1dull + 1);
  need_ucu_.assign(o_.accounts, 0);
  if (workload_ == Workload::kJobs) {
    jobs_.resize(txs_ / kJobSteps);
    for (size_t j = 0; j < jobs_.size(); ++j) {
      auto [payer, provider] = Pair(&rng, o_.accounts);
      jobs_[j] = JobPlan{payer, provider, 1 + rng.Below(kJobUnitsMax), j % kJobReleaseEvery == 0};
      need_ucu_[payer] += jobs_[j].unit_ucu * kJobSteps;
    }
    return;
  }
  transfers_.resize(txs_);
  const uint32_t hot = o_.hot_accounts;
  for (auto& t : transfers_) {
    std::pair<uint32_t, uint32_t> p;
    if (workload_ == Workload::kHot && rng.Below(100) < o_.hot_percent) {
      p = Pair(&rng, hot);
    } else {
      p = Pair(&rng, o_.accounts);
    }
    t = TransferPlan{p.first, p.second, 1 + rng.Below(kTransferUcuMax)};
    need_ucu_[t.from] += t.amount_ucu;
  }
}

int Bench::Fund() {
  auto t0 = Clock::now();
  const bool mint = funding_mode_ == "mint";
  std::vector<pb::SignedTx> txs(o_.accounts);
  uint64_t total_ucu = 0;
  for (uint64_t need : need_ucu_) total_ucu += need + kFundingMarginUcu;
  if (!mint) {
    pb::GetAccountRequest req;
    req.set_account(AsString(funder_.Public()));
    pb::GetAccountResponse acct;
    auto ctx = Context(t_.timeout_ms);
    grpc::Status s = Stub(0)->GetAccount(ctx.get(), req, &acct);
    if (!s.ok() && s.error_code() != grpc::StatusCode::NOT_FOUND) {
      return Fail(NodeError(t_.node, s));
    }
    if (acct.balance_ucu() < total_ucu) {
      return Fail(kExitRejected, "funding the accounts needs " + FormatCu(total_ucu) +
                                     " CU, but '" + o_.from + "' holds " +
                                     FormatCu(acct.balance_ucu()) +
                                     " CU and is not an issuer (use fewer --txs or --accounts)");
    }
  }
  // Funding nonces follow the window's, so they never collide with them.
  ParallelFor(o_.accounts, threads_, [&](size_t i) {
    pb::TxBody body;
    body.set_nonce(Nonce(txs_ + i));
    uint64_t amount = need_ucu_[i] + kFundingMarginUcu;
    if (mint) {
      body.mutable_mint()->set_to(AsString(publics_[i]));
      body.mutable_mint()->set_amount_ucu(amount);
    } else {
      body.mutable_transfer()->set_to(AsString(publics_[i]));
      body.mutable_transfer()->set_amount_ucu(amount);
    }
    txs[i] = SignTx(funder_, chain_id_, std::move(body));
  });
  const size_t batches = (txs.size() + kFundingBatch - 1) / kFundingBatch;
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::map<std::string, uint64_t> failures;  // result or gRPC code -> count
  std::string first_error;
  auto worker = [&](size_t client) {
    pb::SubmitBatchRequest req;
    pb::SubmitBatchResponse resp;
    uint64_t retries = 0;
    for (;;) {
      size_t b = next.fetch_add(1);
      if (b >= batches) return;
      req.Clear();
      for (size_t i = b * kFundingBatch; i < std::min(txs.size(), (b + 1) * kFundingBatch); ++i) {
        req.add_txs()->Swap(&txs[i]);
      }
      grpc::Status s = Exchange(Stub(client), t_.timeout_ms, false, &req, &resp,
                                Clock::now() + std::chrono::milliseconds(t_.timeout_ms), &retries);
      std::lock_guard<std::mutex> lock(mu);
      if (!s.ok()) {
        failures[GrpcCodeName(s.error_code())] += static_cast<uint64_t>(req.txs_size());
        if (first_error.empty()) first_error = s.error_message();
        continue;
      }
      for (const auto& r : resp.results()) {
        if (r.code() != pb::RESULT_OK) ++failures[ResultName(r.code())];
      }
    }
  };
  std::vector<std::thread> pool;
  size_t workers = std::min<size_t>({batches, stubs_.size(), kFundingThreadsMax});
  for (size_t c = 0; c < workers; ++c) pool.emplace_back(worker, c);
  for (auto& th : pool) th.join();
  funding_seconds_ = Seconds(Clock::now() - t0);
  if (!failures.empty()) {
    std::string what;
    for (const auto& [code, n] : failures) what += " " + std::to_string(n) + " " + code;
    if (!first_error.empty()) what += " (" + first_error + ")";
    return Fail(kExitRejected, "funding the accounts from '" + o_.from + "' (" + funding_mode_ +
                                   ") failed:" + what);
  }
  funded_accounts_ = o_.accounts;
  return kExitOk;
}

void Bench::Sign() {
  auto t0 = Clock::now();
  txs_signed_.resize(txs_);
  hashes_.resize(txs_);
  acks_.assign(txs_, Ack{});
  auto seal = [&](size_t slot, const SecretKey& key, pb::TxBody body) {
    body.set_nonce(Nonce(slot));
    txs_signed_[slot] = SignTx(key, chain_id_, std::move(body));
    hashes_[slot] = TxHash(chain_id_, txs_signed_[slot].body());
  };
  if (workload_ == Workload::kJobs) {
    ParallelFor(jobs_.size(), threads_, [&](size_t j) {
      const JobPlan& job = jobs_[j];
      const size_t first = j * kJobSteps;
      pb::TxBody reserve;
      reserve.mutable_reserve()->set_to(AsString(publics_[job.provider]));
      reserve.mutable_reserve()->set_amount_ucu(job.unit_ucu * kJobSteps);
      reserve.mutable_reserve()->set_timeout_ms(kJobTimeoutMs);
      seal(first, keys_[job.payer], std::move(reserve));
      // The reservation id is the reserve's hash, known before it is sent.
      const std::string id = AsString(hashes_[first]);
      for (uint32_t k = 1; k <= kJobSettles; ++k) {
        pb::TxBody settle;
        settle.mutable_settle()->set_reservation(id);
        settle.mutable_settle()->set_amount_ucu(job.unit_ucu);
        seal(first + k, keys_[job.provider], std::move(settle));
      }
      pb::TxBody last;
      if (job.release) {
        last.mutable_release()->set_reservation(id);
      } else {
        last.mutable_settle()->set_reservation(id);
        last.mutable_settle()->set_amount_ucu(job.unit_ucu);
        last.mutable_settle()->set_final(true);
      }
      seal(first + kJobSteps - 1, keys_[job.provider], std::move(last));
    });
  } else {
    ParallelFor(txs_, threads_, [&](size_t i) {
      const TransferPlan& p = transfers_[i];
      pb::TxBody body;
      body.mutable_transfer()->set_to(AsString(publics_[p.to]));
      body.mutable_transfer()->set_amount_ucu(p.amount_ucu);
      seal(i, keys_[p.from], std::move(body));
    });
  }
  signing_seconds_ = Seconds(Clock::now() - t0);
}

void Bench::MeasureVerifyCeiling() {
  constexpr size_t kVerifySampleMax = 20'000;
  verify_sample_ = std::min(txs_, kVerifySampleMax);
  std::atomic<size_t> bad{0};
  auto t0 = Clock::now();
  ParallelFor(verify_sample_, threads_, [&](size_t i) {
    if (CheckTx(txs_signed_[i], chain_id_).code != pb::RESULT_OK) bad.fetch_add(1);
  });
  verify_seconds_ = Seconds(Clock::now() - t0);
  if (bad.load() != 0) Note(std::to_string(bad.load()) + " pre-signed transactions fail CheckTx");
}

void Bench::Record(const pb::SubmitBatchRequest& req, const pb::SubmitBatchResponse& resp,
                   const grpc::Status& s, const std::vector<size_t>& slots, Clock::duration latency,
                   ClientStats* st) {
  const auto n = static_cast<uint64_t>(req.txs_size());
  live_.answered.fetch_add(n, std::memory_order_relaxed);
  if (!s.ok()) {
    st->errors[GrpcCodeName(s.error_code())] += n;
    live_.errors.fetch_add(n, std::memory_order_relaxed);
    return;
  }
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(latency).count();
  st->latencies.emplace_back(static_cast<uint32_t>(std::min<int64_t>(us, UINT32_MAX)),
                             static_cast<uint32_t>(n));
  uint64_t ok = 0;
  for (size_t k = 0; k < slots.size(); ++k) {
    const pb::TxResult& r = resp.results(static_cast<int>(k));
    Ack& a = acks_[slots[k]];
    a.code = r.code();
    a.height = r.height();
    a.index = r.index();
    a.already_applied = r.already_applied();
    if (r.code() == pb::RESULT_OK && !r.already_applied()) {
      ++ok;
    } else {
      ++st->rejected[r.already_applied() ? pb::RESULT_ALREADY_APPLIED : r.code()];
    }
  }
  live_.committed.fetch_add(ok, std::memory_order_relaxed);
  live_.rejected.fetch_add(n - ok, std::memory_order_relaxed);
}

// The moment the next request is due. Without --rate: now. With it, the
// run's requests are spaced batch / rate apart and the caller waits for its
// slot; a client that falls behind sends at once but its latency still counts
// from the due time, so a slow node cannot hide its queueing by slowing the
// load down (coordinated omission).
Clock::time_point Bench::Pace() {
  if (o_.rate == 0) return Clock::now();
  const uint64_t k = tickets_.fetch_add(1);
  const double at_s = static_cast<double>(k) * o_.batch / static_cast<double>(o_.rate);
  const auto due =
      start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(at_s));
  // A slot past the end of the window is not waited for: the caller stops.
  if (!duration_ms_ || due < stop_at_) std::this_thread::sleep_until(due);
  return due;
}

// Uniform and hot workloads: each client takes the next B pre-signed
// transactions until they run out or the duration passes.
void Bench::TransfersClient(size_t client, ClientStats* st) {
  pb::SubmitBatchRequest req;
  pb::SubmitBatchResponse resp;
  std::vector<size_t> slots;
  const bool single = o_.batch == 1;
  for (;;) {
    if (duration_ms_ && Clock::now() >= stop_at_) return;
    size_t first = next_.fetch_add(o_.batch);
    if (first >= txs_) return;
    size_t n = std::min<size_t>(o_.batch, txs_ - first);
    // Clear keeps the emptied messages for reuse; Swap moves without copying.
    req.mutable_txs()->Clear();
    slots.clear();
    for (size_t i = first; i < first + n; ++i) {
      req.add_txs()->Swap(&txs_signed_[i]);
      slots.push_back(i);
    }
    auto t0 = Pace();
    if (duration_ms_ && t0 >= stop_at_) return;
    live_.submitted.fetch_add(n, std::memory_order_relaxed);
    grpc::Status s =
        Exchange(Stub(client), t_.timeout_ms, single, &req, &resp,
                 duration_ms_ ? stop_at_ : Clock::time_point::max(), &st->busy_retries);
    Record(req, resp, s, slots, Clock::now() - t0, st);
  }
}

// Jobs workload: each client keeps up to B jobs in flight and sends one step
// of each per batch; a job's next step goes out only after the node answered
// OK for the previous one. Finished jobs are replaced from the shared supply,
// so a batch mixes reserves, metered settles and final steps.
void Bench::JobsClient(size_t client, ClientStats* st) {
  struct Active {
    size_t job;
    uint32_t step;
  };
  std::vector<Active> active;
  pb::SubmitBatchRequest req;
  pb::SubmitBatchResponse resp;
  std::vector<size_t> slots;
  const bool single = o_.batch == 1;
  for (;;) {
    const bool over = duration_ms_ && Clock::now() >= stop_at_;
    if (over) {
      st->jobs_open += active.size();  // left open; they expire on the node
      return;
    }
    while (active.size() < o_.batch) {
      size_t j = next_.fetch_add(1);
      if (j >= jobs_.size()) break;
      active.push_back(Active{j, 0});
    }
    if (active.empty()) return;
    req.mutable_txs()->Clear();
    slots.clear();
    for (const Active& a : active) {
      size_t slot = a.job * kJobSteps + a.step;
      req.add_txs()->Swap(&txs_signed_[slot]);
      slots.push_back(slot);
    }
    auto t0 = Pace();
    if (duration_ms_ && t0 >= stop_at_) {
      st->jobs_open += active.size();
      return;
    }
    live_.submitted.fetch_add(slots.size(), std::memory_order_relaxed);
    grpc::Status s =
        Exchange(Stub(client), t_.timeout_ms, single, &req, &resp,
                 duration_ms_ ? stop_at_ : Clock::time_point::max(), &st->busy_retries);
    Record(req, resp, s, slots, Clock::now() - t0, st);
    std::vector<Active> still;
    for (size_t k = 0; k < active.size(); ++k) {
      Active a = active[k];
      const Ack& ack = acks_[slots[k]];
      if (!s.ok() || ack.code != pb::RESULT_OK || ack.already_applied) {
        ++st->jobs_abandoned;  // its later steps depend on this one
        continue;
      }
      if (++a.step == kJobSteps) {
        ++st->jobs_completed;
      } else {
        still.push_back(a);
      }
    }
    active.swap(still);
  }
}

// Samples the node every kSampleInterval for its peak RSS and prints the
// progress line once a second until the window closes.
void Bench::Monitor() {
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  uint64_t last_committed = 0;
  int tick = 0;
  double cpu_last = node_start_.cpu_seconds;
  std::unique_lock<std::mutex> lock(monitor_mu_);
  while (!monitor_cv_.wait_for(lock, kSampleInterval, [&] { return window_done_; })) {
    ProbeSample sample;
    if (probe_.enabled()) {
      sample = probe_.Sample();
      if (sample.ok) node_rss_peak_ = std::max(node_rss_peak_, sample.rss_bytes);
    }
    if (++tick % kSamplesPerProgressLine != 0 || o_.quiet) continue;
    uint64_t committed = live_.committed.load();
    std::string line = "[" + std::to_string(tick / kSamplesPerProgressLine) + "s] sent " +
                       WithCommas(live_.submitted.load()) + "  committed " + WithCommas(committed) +
                       " (" + WithCommas(committed - last_committed) + "/s)  in flight " +
                       WithCommas(live_.submitted.load() - live_.answered.load()) + "  rejected " +
                       WithCommas(live_.rejected.load()) + "  errors " +
                       WithCommas(live_.errors.load());
    if (sample.ok) {
      line += "  node " + Fixed(sample.cpu_seconds - cpu_last, 2) + " cores, " +
              WithCommas(sample.rss_bytes >> 20) + " MiB";
      cpu_last = sample.cpu_seconds;
    }
    last_committed = committed;
    if (tty) {
      std::cerr << "\r\033[K" << line << std::flush;
    } else {
      std::cerr << line << "\n";
    }
  }
  if (tty && !o_.quiet && tick >= kSamplesPerProgressLine) std::cerr << "\n";
}

void Bench::Window() {
  stats_.resize(o_.clients);
  if (probe_.enabled()) {
    node_start_ = probe_.Sample();
    node_rss_peak_ = node_start_.rss_bytes;
  }
  const double cpu0 = ProcessCpuSeconds();
  load_start_ = LoadAverage();
  std::thread monitor([this] { Monitor(); });
  start_ = Clock::now();
  stop_at_ =
      duration_ms_ ? start_ + std::chrono::milliseconds(*duration_ms_) : Clock::time_point::max();
  std::vector<std::thread> clients;
  for (size_t c = 0; c < o_.clients; ++c) {
    clients.emplace_back([this, c] {
      if (workload_ == Workload::kJobs) {
        JobsClient(c, &stats_[c]);
      } else if (workload_ == Workload::kReads) {
        ReadsClient(c, &stats_[c]);
      } else {
        TransfersClient(c, &stats_[c]);
      }
    });
  }
  for (auto& th : clients) th.join();
  end_ = Clock::now();
  bench_cpu_seconds_ = ProcessCpuSeconds() - cpu0;
  load_end_ = LoadAverage();
  {
    std::lock_guard<std::mutex> lock(monitor_mu_);
    window_done_ = true;
  }
  monitor_cv_.notify_all();
  monitor.join();
  if (probe_.enabled()) {
    node_end_ = probe_.Sample();
    if (node_end_.ok) node_rss_peak_ = std::max(node_rss_peak_, node_end_.rss_bytes);
  }
  const size_t handed_out = next_.load();
  const size_t supply = workload_ == Workload::kJobs ? jobs_.size() : txs_;
  exhausted_ = duration_ms_ && handed_out >= supply && end_ < stop_at_;
}

// Reads acknowledged transactions back (all, or an even sample of
// kVerifyAllMax) and compares code and position with what the node answered.
json Bench::Verify(bool* ok) {
  std::vector<size_t> acked;
  uint64_t already_applied = 0;
  for (size_t i = 0; i < acks_.size(); ++i) {
    if (acks_[i].already_applied || acks_[i].code == pb::RESULT_ALREADY_APPLIED) ++already_applied;
    if (acks_[i].height > 0) acked.push_back(i);
  }
  std::vector<size_t> check;
  if (acked.size() <= kVerifyAllMax) {
    check = acked;
  } else {
    for (size_t k = 0; k < kVerifyAllMax; ++k)
      check.push_back(acked[k * acked.size() / kVerifyAllMax]);
  }
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> missing{0}, mismatched{0}, errors{0};
  std::mutex mu;
  std::vector<std::string> examples;
  constexpr size_t kExamplesMax = 5;
  auto worker = [&](size_t client) {
    for (;;) {
      size_t k = next.fetch_add(1);
      if (k >= check.size()) return;
      size_t slot = check[k];
      pb::GetTxRequest req;
      req.set_tx_hash(AsString(hashes_[slot]));
      pb::GetTxResponse resp;
      auto ctx = Context(t_.timeout_ms);
      grpc::Status s = Stub(client)->GetTx(ctx.get(), req, &resp);
      std::string problem;
      if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
        ++missing;
        problem = "missing";
      } else if (!s.ok()) {
        ++errors;
        problem = std::string("GetTx ") + GrpcCodeName(s.error_code());
      } else if (resp.result().code() != acks_[slot].code ||
                 resp.result().height() != acks_[slot].height ||
                 resp.result().index() != acks_[slot].index) {
        ++mismatched;
        problem = "recorded at " + std::to_string(resp.result().height()) + ":" +
                  std::to_string(resp.result().index()) + " " + ResultName(resp.result().code()) +
                  ", acknowledged at " + std::to_string(acks_[slot].height) + ":" +
                  std::to_string(acks_[slot].index);
      }
      if (!problem.empty()) {
        std::lock_guard<std::mutex> lock(mu);
        if (examples.size() < kExamplesMax)
          examples.push_back(ToHex(hashes_[slot]) + " " + problem);
      }
    }
  };
  std::vector<std::thread> pool;
  size_t workers =
      std::min<size_t>({stubs_.size(), kVerifyThreadsMax, std::max<size_t>(1, check.size())});
  for (size_t c = 0; c < workers; ++c) pool.emplace_back(worker, c);
  for (auto& th : pool) th.join();
  *ok = missing == 0 && mismatched == 0 && errors == 0 && already_applied == 0;
  return json{{"acknowledged", acked.size()},
              {"checked", check.size()},
              {"sampled", check.size() < acked.size()},
              {"missing", missing.load()},
              {"mismatched", mismatched.load()},
              {"errors", errors.load()},
              {"already_applied", already_applied},
              {"examples", examples},
              {"ok", *ok}};
}

// Reads workload: each client sends GetAccount, ListHistory (a page of
// kReadHistoryPage) and GetTx (of a transaction from its last history page)
// in turn, for random accounts among those --seed names: pass the seed and
// --accounts of an earlier write run to read what it wrote.
void Bench::ReadsClient(size_t client, ClientStats* st) {
  SplitMix64 rng(o_.seed * 0x9e3779b97f4a7c15ull + client + 1);
  std::string last_tx;  // a transaction hash from this client's last history page
  for (uint64_t k = 0;; ++k) {
    if (duration_ms_ && Clock::now() >= stop_at_) return;
    if (next_.fetch_add(1) >= txs_) return;
    const std::string account = AsString(publics_[rng.Below(o_.accounts)]);
    ReadKind kind = static_cast<ReadKind>(k % kReadKinds);
    if (kind == kReadTx && last_tx.empty()) kind = kReadAccount;
    auto ctx = Context(t_.timeout_ms);
    live_.submitted.fetch_add(1, std::memory_order_relaxed);
    const auto t0 = Clock::now();
    grpc::Status s;
    if (kind == kReadAccount) {
      pb::GetAccountRequest req;
      req.set_account(account);
      pb::GetAccountResponse resp;
      s = Stub(client)->GetAccount(ctx.get(), req, &resp);
    } else if (kind == kReadHistory) {
      pb::ListHistoryRequest req;
      req.set_account(account);
      req.set_page_size(kReadHistoryPage);
      pb::ListHistoryResponse resp;
      s = Stub(client)->ListHistory(ctx.get(), req, &resp);
      if (s.ok() && resp.items_size() > 0) {
        last_tx = resp.items(static_cast<int>(rng.Below(resp.items_size()))).tx_hash();
      }
    } else {
      pb::GetTxRequest req;
      req.set_tx_hash(last_tx);
      pb::GetTxResponse resp;
      s = Stub(client)->GetTx(ctx.get(), req, &resp);
    }
    const auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
    live_.answered.fetch_add(1, std::memory_order_relaxed);
    if (s.ok() || s.error_code() == grpc::StatusCode::NOT_FOUND) {
      if (!s.ok()) ++st->not_found;
      st->read_latencies[kind].emplace_back(
          static_cast<uint32_t>(std::min<int64_t>(us, UINT32_MAX)), 1);
      live_.committed.fetch_add(1, std::memory_order_relaxed);
    } else {
      ++st->errors[GrpcCodeName(s.error_code())];
      live_.errors.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

int Bench::RunReads() {
  if (int c = Connect(); c != kExitOk) return c;
  Note("chip bench: reads, " + WithCommas(o_.accounts) + " accounts of seed " +
       std::to_string(o_.seed) + ", " + WithCommas(txs_) + " requests" +
       (duration_ms_ ? " (at most), " + o_.duration : std::string()) + ", " +
       std::to_string(o_.clients) + " clients, node " + t_.node);
  DeriveKeys();
  Note("running");
  Window();
  return ReportReads();
}

int Bench::ReportReads() {
  ClientStats all;
  for (auto& s : stats_) {
    for (size_t k = 0; k < kReadKinds; ++k) {
      all.read_latencies[k].insert(all.read_latencies[k].end(), s.read_latencies[k].begin(),
                                   s.read_latencies[k].end());
    }
    for (const auto& [code, n] : s.errors) all.errors[code] += n;
    all.not_found += s.not_found;
  }
  const double window_s = Seconds(end_ - start_);
  uint64_t answered = 0, errors_total = 0;
  json kinds = json::object();
  std::ostringstream text;
  for (size_t k = 0; k < kReadKinds; ++k) {
    const uint64_t n = all.read_latencies[k].size();
    answered += n;
    LatencySummary lat = Summarize(std::move(all.read_latencies[k]));
    kinds[kReadNames[k]] = {{"requests", n},        {"p50_ms", lat.p50_ms},
                            {"p99_ms", lat.p99_ms}, {"p999_ms", lat.p999_ms},
                            {"max_ms", lat.max_ms}, {"mean_ms", lat.mean_ms}};
    text << kReadNames[k] << std::string(13 - std::string(kReadNames[k]).size(), ' ')
         << WithCommas(n) << " requests  p50 " << Fixed(lat.p50_ms, 2) << " ms  p99 "
         << Fixed(lat.p99_ms, 2) << " ms  p999 " << Fixed(lat.p999_ms, 2) << " ms  max "
         << Fixed(lat.max_ms, 1) << " ms\n";
  }
  json errors = json::object();
  for (const auto& [code, n] : all.errors) {
    errors[code] = n;
    errors_total += n;
  }
  const double per_s = window_s > 0 ? static_cast<double>(answered) / window_s : 0;
  json j = {{"workload", "reads"},
            {"node", t_.node},
            {"accounts", o_.accounts},
            {"seed", o_.seed},
            {"clients", o_.clients},
            {"history_page", kReadHistoryPage},
            {"height", height_before_},
            {"window_seconds", window_s},
            {"requests_per_second", per_s},
            {"not_found", all.not_found},
            {"errors_total", errors_total},
            {"errors", errors},
            {"reads", kinds},
            {"bench_cpu_seconds", bench_cpu_seconds_},
            {"host",
             {{"cores", std::thread::hardware_concurrency()},
              {"load_average_start", load_start_},
              {"load_average_end", load_end_}}}};
  if (probe_.enabled() && node_end_.ok && node_start_.ok) {
    const double node_cpu = node_end_.cpu_seconds - node_start_.cpu_seconds;
    j["node_process"] = {
        {"source", probe_.source()},
        {"cpu_seconds", node_cpu},
        {"cpu_us_per_request", answered > 0 ? node_cpu * 1e6 / static_cast<double>(answered) : 0},
        {"rss_bytes", node_end_.rss_bytes}};
  }
  if (t_.json) {
    std::cout << j.dump() << "\n";
  } else {
    std::cout << "reads       " << WithCommas(answered) << " in " << Fixed(window_s, 2)
              << " s = " << WithCommas(static_cast<uint64_t>(per_s)) << "/s at height "
              << WithCommas(height_before_) << " (" << WithCommas(all.not_found) << " not found, "
              << WithCommas(errors_total) << " errors)\n"
              << text.str();
  }
  return errors_total == 0 ? kExitOk : kExitError;
}

int Bench::Run() {
  if (int v = Validate(); v != kExitOk) return v;
  if (workload_ == Workload::kReads) return RunReads();
  // The funding key, from the wallet (dev keys have no passphrase).
  wallet::Keystore keystore(t_.wallet);
  auto info = keystore.Info(o_.from);
  if (!info.ok()) return Fail(kExitWallet, info.status().message());
  std::string pass;
  if (info->is_protected) {
    auto p =
        PassphraseSource{t_.passphrase_file}.Get("Passphrase for key '" + o_.from + "': ", false);
    if (!p.ok()) return Fail(kExitWallet, p.status().message());
    pass = *p;
  }
  auto key = keystore.Unlock(o_.from, pass);
  if (!key.ok()) return Fail(kExitWallet, key.status().message());
  funder_ = *key;
  RandomBytes(reinterpret_cast<uint8_t*>(&nonce_base_), sizeof(nonce_base_));

  if (int c = Connect(); c != kExitOk) return c;
  Note("chip bench: " + o_.workload + ", " + WithCommas(o_.accounts) + " accounts, " +
       WithCommas(txs_) + " transactions" +
       (duration_ms_ ? " (at most), " + o_.duration : std::string()) + ", " +
       std::to_string(o_.clients) + " clients, batch " + std::to_string(o_.batch) + ", node " +
       t_.node);
  DeriveKeys();
  Plan();
  Note("funding " + WithCommas(o_.accounts) + " accounts (" + funding_mode_ + " from '" + o_.from +
       "')");
  if (int f = Fund(); f != kExitOk) return f;
  Note("signing " + WithCommas(txs_) + " transactions on " + std::to_string(threads_) + " threads");
  Sign();
  if (workload_ != Workload::kReads) MeasureVerifyCeiling();
  Note("running");
  Window();

  pb::GetStatusResponse st;
  auto ctx = Context(t_.timeout_ms);
  if (Stub(0)->GetStatus(ctx.get(), pb::GetStatusRequest(), &st).ok()) height_after_ = st.height();
  return Report();
}

int Bench::Report() {
  ClientStats all;
  for (auto& s : stats_) {
    all.latencies.insert(all.latencies.end(), s.latencies.begin(), s.latencies.end());
    for (const auto& [code, n] : s.rejected) all.rejected[code] += n;
    for (const auto& [code, n] : s.errors) all.errors[code] += n;
    all.busy_retries += s.busy_retries;
    all.jobs_completed += s.jobs_completed;
    all.jobs_abandoned += s.jobs_abandoned;
    all.jobs_open += s.jobs_open;
  }
  uint64_t acknowledged = 0;
  for (const Ack& a : acks_) acknowledged += a.height > 0 ? 1 : 0;
  const uint64_t committed = live_.committed.load();
  const uint64_t submitted = live_.submitted.load();
  const double window_s = Seconds(end_ - start_);
  const double tps = window_s > 0 ? static_cast<double>(committed) / window_s : 0;
  LatencySummary lat = Summarize(std::move(all.latencies));

  json rejected = json::object();
  uint64_t rejected_total = 0;
  for (const auto& [code, n] : all.rejected) {
    rejected[ResultName(static_cast<pb::ResultCode>(code))] = n;
    rejected_total += n;
  }
  json errors = json::object();
  uint64_t errors_total = 0;
  for (const auto& [code, n] : all.errors) {
    errors[code] = n;
    errors_total += n;
  }
  const double signing_rate =
      signing_seconds_ > 0 ? static_cast<double>(txs_) / signing_seconds_ : 0;
  const double verify_rate =
      verify_seconds_ > 0 ? static_cast<double>(verify_sample_) / verify_seconds_ : 0;
  json j = {{"workload", o_.workload},
            {"node", t_.node},
            {"accounts", o_.accounts},
            {"clients", o_.clients},
            {"batch", o_.batch},
            {"connections", stubs_.size()},
            {"txs_planned", txs_},
            {"duration_ms", duration_ms_ ? json(*duration_ms_) : json(nullptr)},
            {"exhausted", exhausted_},
            {"rate", o_.rate == 0 ? json(nullptr) : json(o_.rate)},
            {"setup",
             {{"keys_seconds", keys_seconds_},
              {"funding_mode", funding_mode_},
              {"funded_accounts", funded_accounts_},
              {"funding_seconds", funding_seconds_}}},
            {"signing",
             {{"txs", txs_},
              {"threads", threads_},
              {"seconds", signing_seconds_},
              {"per_second", signing_rate}}},
            {"verify_ceiling",
             {{"txs", verify_sample_},
              {"threads", threads_},
              {"seconds", verify_seconds_},
              {"per_second", verify_rate},
              {"committed_ratio", verify_rate > 0 ? tps / verify_rate : 0}}},
            {"submitted", submitted},
            {"acknowledged", acknowledged},
            {"committed", committed},
            {"rejected_total", rejected_total},
            {"rejected", rejected},
            {"errors_total", errors_total},
            {"errors", errors},
            {"busy_retries", all.busy_retries},
            {"window_seconds", window_s},
            {"committed_per_second", tps},
            {"latency_ms",
             {{"p50", lat.p50_ms},
              {"p99", lat.p99_ms},
              {"p999", lat.p999_ms},
              {"max", lat.max_ms},
              {"mean", lat.mean_ms}}},
            {"height_before", height_before_},
            {"height_after", height_after_},
            {"bench_cpu_seconds", bench_cpu_seconds_},
            {"host",
             {{"cores", std::thread::hardware_concurrency()},
              {"load_average_start", load_start_},
              {"load_average_end", load_end_}}}};
  if (workload_ == Workload::kHot) {
    j["hot_accounts"] = o_.hot_accounts;
    j["hot_percent"] = o_.hot_percent;
  }
  if (workload_ == Workload::kJobs) {
    j["jobs"] = {{"planned", jobs_.size()},
                 {"completed", all.jobs_completed},
                 {"abandoned", all.jobs_abandoned},
                 {"open_at_end", all.jobs_open},
                 {"steps", kJobSteps}};
  }
  const bool node_ok = probe_.enabled() && node_start_.ok && node_end_.ok;
  const double node_cpu = node_ok ? node_end_.cpu_seconds - node_start_.cpu_seconds : 0;
  if (node_ok) {
    j["node_process"] = {{"source", probe_.source()},
                         {"cpu_seconds", node_cpu},
                         {"cpu_cores", window_s > 0 ? node_cpu / window_s : 0},
                         {"cpu_us_per_committed_tx",
                          committed > 0 ? node_cpu * 1e6 / static_cast<double>(committed) : 0},
                         {"peak_rss_bytes", node_rss_peak_}};
  } else {
    j["node_process"] = nullptr;
  }
  bool verified = true;
  if (o_.verify) j["verify"] = Verify(&verified);

  if (t_.json) {
    std::cout << j.dump() << "\n";
  } else {
    std::ostringstream out;
    out << "workload    " << o_.workload;
    if (workload_ == Workload::kHot) {
      out << " (" << o_.hot_percent << "% among " << o_.hot_accounts << " hot accounts)";
    }
    out << ", " << WithCommas(o_.accounts) << " accounts, " << o_.clients << " clients, batch "
        << o_.batch << ", " << stubs_.size() << " connections\n";
    out << "setup       keys " << Fixed(keys_seconds_, 2) << " s, funding (" << funding_mode_
        << ") " << Fixed(funding_seconds_, 2) << " s\n";
    out << "signing     " << WithCommas(txs_) << " txs in " << Fixed(signing_seconds_, 2)
        << " s on " << threads_ << " threads: " << WithCommas(static_cast<uint64_t>(signing_rate))
        << " signatures/s (before the window)\n";
    if (verify_rate > 0) {
      out << "ceiling     CheckTx of " << WithCommas(verify_sample_) << " txs on " << threads_
          << " threads: " << WithCommas(static_cast<uint64_t>(verify_rate))
          << " tx/s; committed / ceiling = " << Fixed(tps / verify_rate, 2) << "\n";
    }
    out << "window      " << Fixed(window_s, 2) << " s, " << WithCommas(submitted) << " submitted"
        << (o_.rate > 0 ? " at an offered " + WithCommas(o_.rate) + " tx/s" : std::string())
        << (exhausted_ ? " (ran out of pre-signed transactions: raise --txs)" : "") << "\n";
    out << "committed   " << WithCommas(committed) << "  " << WithCommas(static_cast<uint64_t>(tps))
        << " tx/s\n";
    out << "latency     p50 " << Fixed(lat.p50_ms, 1) << " ms  p99 " << Fixed(lat.p99_ms, 1)
        << " ms  p999 " << Fixed(lat.p999_ms, 1) << " ms  max " << Fixed(lat.max_ms, 1)
        << " ms  (submit to commit)\n";
    out << "rejected    " << WithCommas(rejected_total);
    for (const auto& [name, n] : rejected.items()) out << "  " << name << " " << n;
    out << "\nerrors      " << WithCommas(errors_total);
    for (const auto& [name, n] : errors.items()) out << "  " << name << " " << n;
    if (all.busy_retries > 0) out << "  (mempool full, retried " << all.busy_retries << "x)";
    out << "\n";
    if (workload_ == Workload::kJobs) {
      out << "jobs        " << WithCommas(all.jobs_completed) << " completed, "
          << WithCommas(all.jobs_abandoned) << " abandoned after a failed step, "
          << WithCommas(all.jobs_open) << " open at the end, of " << WithCommas(jobs_.size())
          << "\n";
    }
    out << "blocks      " << height_before_ << " -> " << height_after_ << "\n";
    if (node_ok) {
      out << "node        cpu " << Fixed(node_cpu, 2) << " s ("
          << Fixed(window_s > 0 ? node_cpu / window_s : 0, 2) << " cores, "
          << Fixed(committed > 0 ? node_cpu * 1e6 / static_cast<double>(committed) : 0, 1)
          << " us per tx), peak rss " << (node_rss_peak_ >> 20) << " MiB  [" << probe_.source()
          << "]\n";
    } else {
      out << "node        cpu and memory unknown (pass --node-pid or --metrics)\n";
    }
    out << "bench       cpu " << Fixed(bench_cpu_seconds_, 2) << " s in the window\n";
    const double cores = std::thread::hardware_concurrency();
    out << "host        " << cores << " cores, load average " << Fixed(load_start_, 2) << " -> "
        << Fixed(load_end_, 2)
        // Signing just before the window loads every core itself, so only a
        // load well above the core count points at other work.
        << (load_start_ > 1.5 * cores
                ? " (busy: other work shared the cores, so these figures are low)"
                : "")
        << "\n";
    if (o_.verify) {
      const json& v = j["verify"];
      out << "verify      " << (verified ? "ok: " : "FAILED: ") << WithCommas(v["checked"])
          << " of " << WithCommas(v["acknowledged"]) << " acknowledged read back"
          << (v["sampled"].get<bool>() ? " (sample)" : "") << ", missing " << v["missing"]
          << ", mismatched " << v["mismatched"] << ", errors " << v["errors"]
          << ", ALREADY_APPLIED " << v["already_applied"] << "\n";
      for (const auto& e : v["examples"]) out << "  " << e.get<std::string>() << "\n";
    }
    std::cout << out.str();
  }
  if (!verified) {
    std::cerr << "chip bench: verification failed\n";
    return kExitVerifyFailed;
  }
  return kExitOk;
}

}  // namespace

CLI::App* AddBenchCommand(CLI::App* app, BenchOptions* o) {
  CLI::App* cmd = app->add_subcommand(
      "bench", "load-test a node: fund accounts, pre-sign, submit concurrently, report");
  cmd->add_option("--accounts", o->accounts, "accounts to create and fund")
      ->check(CLI::Range(2u, kBenchAccountsMax));
  cmd->add_option("--txs", o->txs,
                  "transactions to sign and send (default 100000; with --duration, the most "
                  "sent)");
  cmd->add_option("--duration", o->duration, "run for this long, e.g. 10s");
  cmd->add_option("--clients", o->clients, "concurrent submitters")
      ->check(CLI::Range(1u, kBenchClientsMax));
  cmd->add_option("--batch", o->batch, "transactions per request (1 = SubmitTx)")
      ->check(CLI::Range(1u, kBenchBatchMax));
  cmd->add_option("--workload", o->workload,
                  "uniform | hot | jobs | reads (GetAccount, ListHistory, GetTx of the accounts "
                  "--seed names; --txs counts requests)")
      ->check(CLI::IsMember({"uniform", "hot", "jobs", "reads"}));
  cmd->add_option("--hot-accounts", o->hot_accounts, "hot workload: the handful of hot accounts");
  cmd->add_option("--hot-percent", o->hot_percent,
                  "hot workload: percent of transfers between hot accounts (default 90)")
      ->check(CLI::Range(0u, 100u));
  cmd->add_option("--from", o->from, "funding key in the wallet (default 'dev')");
  cmd->add_option("--seed", o->seed, "seed of the accounts and the workload");
  cmd->add_option("--connections", o->connections,
                  "gRPC connections shared by the clients (default one per client)");
  cmd->add_flag("--verify", o->verify,
                "read acknowledged transactions back with GetTx; fail if any is missing");
  cmd->add_option("--node-pid", o->node_pid, "read the node's CPU and RSS from /proc/PID");
  cmd->add_option("--metrics", o->metrics_url,
                  "or from its metrics, e.g. http://127.0.0.1:7701/metrics");
  cmd->add_option("--rate", o->rate,
                  "offered load in transactions/s (default: as fast as the clients go); "
                  "latency then counts from each request's due time");
  cmd->add_flag("--quiet", o->quiet, "no progress line");
  return cmd;
}

int RunBench(const BenchTarget& target, const BenchOptions& options) {
  Bench bench(target, options);
  return bench.Run();
}

}  // namespace chip::cli
