#include "node/ops/metrics.h"

#include <civetweb.h>
#include <dirent.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "ledger/tx.h"

namespace chip::node {

void LatencyHistogram::Observe(uint64_t micros) {
  size_t i = 0;
  while (i < kBoundsSeconds.size() && static_cast<double>(micros) > kBoundsSeconds[i] * 1e6) {
    ++i;
  }
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(micros, std::memory_order_relaxed);
}

void LatencyHistogram::Render(const std::string& name, std::string* out) const {
  std::ostringstream o;
  o << "# HELP " << name << " Submit-to-commit latency of accepted transactions.\n";
  o << "# TYPE " << name << " histogram\n";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kBoundsSeconds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    o << name << "_bucket{le=\"" << kBoundsSeconds[i] << "\"} " << cumulative << "\n";
  }
  cumulative += buckets_[kBoundsSeconds.size()].load(std::memory_order_relaxed);
  o << name << "_bucket{le=\"+Inf\"} " << cumulative << "\n";
  o << name << "_sum " << static_cast<double>(sum_micros_.load()) / 1e6 << "\n";
  o << name << "_count " << count_.load() << "\n";
  *out += o.str();
}

Metrics::Metrics() = default;

void Metrics::CountResult(chipledger::v1::ResultCode code) {
  int c = static_cast<int>(code);
  if (c >= 0 && c < kCodesMax)
    results_[static_cast<size_t>(c)].fetch_add(1, std::memory_order_relaxed);
}

std::string Metrics::Render() const {
  std::ostringstream o;
  auto counter = [&](const char* name, const char* help, uint64_t v) {
    o << "# HELP " << name << " " << help << "\n# TYPE " << name << " counter\n"
      << name << " " << v << "\n";
  };
  counter("chip_blocks_committed_total", "Blocks committed by this node.", blocks_committed.load());
  counter("chip_txs_committed_total", "Transactions recorded in committed blocks.",
          txs_committed.load());
  counter("chip_mempool_rejections_total", "Submissions refused because the mempool was full.",
          mempool_rejections.load());
  counter("chip_block_failures_total", "Blocks that failed to commit (storage errors).",
          block_failures.load());
  counter("chip_admission_refusals_total",
          "Transactions refused before ordering because they could not pass (not recorded).",
          admission_refusals.load());
  counter("chip_rate_limited_total",
          "Submissions refused by the per-client rate limit (submit_rate_per_client).",
          rate_limited.load());
  counter("chip_connection_pending_rejections_total",
          "Submissions refused because their connection had connection_pending_tx_max waiting.",
          connection_pending_rejections.load());
  counter("chip_signer_pending_rejections_total",
          "Submissions refused because their signer had signer_pending_tx_max pending.",
          signer_pending_rejections.load());
  o << "# HELP chip_pending_signers Signers with admitted transactions not yet committed.\n"
    << "# TYPE chip_pending_signers gauge\nchip_pending_signers " << pending_signers.load() << "\n";
  o << "# HELP chip_mempool_depth Transactions waiting for a block.\n"
    << "# TYPE chip_mempool_depth gauge\nchip_mempool_depth " << mempool_depth.load() << "\n";
  o << "# HELP chip_tx_results_total Transaction outcomes by result code.\n"
    << "# TYPE chip_tx_results_total counter\n";
  for (int c = 0; c < kCodesMax; ++c) {
    uint64_t v = results_[static_cast<size_t>(c)].load(std::memory_order_relaxed);
    if (v == 0) continue;
    o << "chip_tx_results_total{code=\"" << ResultName(static_cast<chipledger::v1::ResultCode>(c))
      << "\"} " << v << "\n";
  }
  std::string out = o.str();
  submit_latency.Render("chip_submit_to_commit_seconds", &out);
  if (gauges_) gauges_(&out);
  RenderProcessMetrics(&out);
  return out;
}

namespace {

void RenderMallocMetrics(std::ostringstream* o) {
  // glibc's view of the heap, to tell what RocksDB holds from what malloc
  // keeps: in use, free but kept inside the arenas (fragmentation, or not
  // yet trimmed), and mapped directly. mallinfo2 sums every arena; it takes
  // each arena's lock briefly, which is fine at scrape rate.
  struct mallinfo2 mi = mallinfo2();
  auto gauge = [&](const char* name, const char* help, uint64_t v) {
    *o << "# HELP " << name << " " << help << "\n# TYPE " << name << " gauge\n"
       << name << " " << v << "\n";
  };
  gauge("chip_malloc_arena_bytes", "Bytes glibc malloc took from the system for its arenas.",
        mi.arena);
  gauge("chip_malloc_mmap_bytes", "Bytes in chunks glibc malloc mapped on their own.", mi.hblkhd);
  gauge("chip_malloc_in_use_bytes", "Bytes allocated from the arenas and not freed.", mi.uordblks);
  gauge("chip_malloc_free_bytes", "Bytes free inside the arenas (kept, not returned).",
        mi.fordblks);
  // The number of arenas is only in malloc_info's XML: one <heap> per arena.
  char* xml = nullptr;
  size_t xml_size = 0;
  if (FILE* f = open_memstream(&xml, &xml_size)) {
    int rc = malloc_info(0, f);
    std::fclose(f);
    if (rc == 0 && xml != nullptr) {
      uint64_t heaps = 0;
      for (const char* p = xml; (p = std::strstr(p, "<heap nr=")) != nullptr; ++p) ++heaps;
      gauge("chip_malloc_arenas",
            "glibc malloc arenas (the main one and one per thread, up to a bound).", heaps);
    }
    std::free(xml);
  }
}

}  // namespace

void RenderProcessMetrics(std::string* out) {
  std::ostringstream o;
  long page = sysconf(_SC_PAGESIZE);
  std::ifstream statm("/proc/self/statm");
  uint64_t size_pages = 0, rss_pages = 0;
  if (statm >> size_pages >> rss_pages) {
    o << "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes "
      << rss_pages * static_cast<uint64_t>(page) << "\n";
    o << "# TYPE process_virtual_memory_bytes gauge\nprocess_virtual_memory_bytes "
      << size_pages * static_cast<uint64_t>(page) << "\n";
  }
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) == 0) {
    double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    o << "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total " << cpu << "\n";
  }
  if (DIR* d = opendir("/proc/self/fd")) {
    int n = 0;
    while (readdir(d) != nullptr) ++n;
    closedir(d);
    o << "# TYPE process_open_fds gauge\nprocess_open_fds " << (n - 2) << "\n";
  }
  RenderMallocMetrics(&o);
  *out += o.str();
}

MetricsServer::~MetricsServer() { Stop(); }

int MetricsServer::Handle(::mg_connection* conn, void* self) {
  auto* server = static_cast<MetricsServer*>(self);
  std::string body = server->metrics_->Render();
  mg_printf(conn,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            "Content-Length: %zu\r\nConnection: close\r\n\r\n",
            body.size());
  mg_write(conn, body.data(), body.size());
  return 200;
}

Status MetricsServer::Start(const std::string& host_port) {
  static bool initialised = (mg_init_library(0), true);
  (void)initialised;
  // civetweb takes IPv4 "a.b.c.d:port" or IPv6 "[::1]:port" (with a '+'
  // marker for dual stack, which we do not use).
  const char* options[] = {"listening_ports",
                           host_port.c_str(),
                           "num_threads",
                           "2",
                           "request_timeout_ms",
                           "5000",
                           nullptr};
  mg_callbacks callbacks{};
  ctx_ = mg_start(&callbacks, nullptr, options);
  if (ctx_ == nullptr) {
    return Status::Unavailable("cannot serve metrics on " + host_port + " (port in use?)");
  }
  mg_set_request_handler(ctx_, "/metrics", &MetricsServer::Handle, this);
  return Status::Ok();
}

void MetricsServer::Stop() {
  if (ctx_ != nullptr) {
    mg_stop(ctx_);
    ctx_ = nullptr;
  }
}

}  // namespace chip::node
