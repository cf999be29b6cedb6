// fuzz_config: the node's TOML configuration reader (node/ops/config.h), compiled
// into this target with toml++ (header-only) rather than linking chip_node.
// LoadConfigFile reads a path, so each input is written to one temporary file
// that the process reuses.
//
// Properties, on every input:
//  1. As a config file: LoadConfigFile never crashes and fails only with
//     InvalidArgument; ValidateConfig never crashes on what it accepted; and
//     the TOML that DefaultConfigToml writes for an accepted config (what
//     `chipd init` writes) is ASCII and reads back to the same config.
//  2. As a string value (what `chipd init --log-file BYTES` and the other
//     string flags put into a config): DefaultConfigToml refuses it exactly
//     when it is not UTF-8 (or the text would outgrow the reader's limit),
//     and otherwise writes ASCII TOML that LoadConfigFile reads back to the
//     same config, that value included byte for byte.
// Regression inputs of the bugs it found (toml++ undefined behaviour on
// non-ASCII input; unescaped strings in that TOML; floats cast to int64
// unchecked; non-ASCII strings written raw, so that start refused what init
// wrote) are in tests/fuzz/regressions/fuzz_config-*.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <tuple>

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

// Every field DefaultConfigToml writes (all but data_dir).
auto Fields(const NodeConfig& c) {
  return std::tie(c.listen, c.metrics_listen, c.allow_plaintext_remote, c.allow_remote,
                  c.tls_cert_file, c.tls_key_file, c.tls_client_ca_file, c.tls_require_client_cert,
                  c.block_interval_ms, c.block_tx_max, c.mempool_tx_max, c.request_bytes_max,
                  c.submit_batch_tx_max, c.streams_max, c.rpc_threads_max, c.disk_reserve_mb,
                  c.etcd_endpoints, c.advertise, c.etcd_tls_ca_file, c.etcd_tls_cert_file,
                  c.etcd_tls_key_file, c.etcd_lease_ttl_s, c.etcd_call_timeout_ms,
                  c.etcd_window_blocks, c.etcd_defrag_interval_s, c.cluster_block_bytes_max,
                  c.log_level, c.log_file);
}

bool IsAscii(const std::string& text) {
  for (char ch : text) {
    if (static_cast<unsigned char>(ch) >= 0x80) return false;
  }
  return true;
}

// UTF-8 as RFC 3629 section 4 tabulates it (restated here independently of
// node/ops/config.cc's decoder): well-formed sequences of scalar values only.
bool IsUtf8(const std::string& text) {
  const auto at = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const auto in = [&](size_t i, unsigned lo, unsigned hi) {
    return i < text.size() && at(i) >= lo && at(i) <= hi;
  };
  for (size_t i = 0; i < text.size();) {
    const unsigned b = at(i);
    size_t n = 0;
    if (b <= 0x7f) {
      n = 1;
    } else if (b >= 0xc2 && b <= 0xdf) {
      n = in(i + 1, 0x80, 0xbf) ? 2 : 0;
    } else if (b == 0xe0) {
      n = in(i + 1, 0xa0, 0xbf) && in(i + 2, 0x80, 0xbf) ? 3 : 0;
    } else if ((b >= 0xe1 && b <= 0xec) || b == 0xee || b == 0xef) {
      n = in(i + 1, 0x80, 0xbf) && in(i + 2, 0x80, 0xbf) ? 3 : 0;
    } else if (b == 0xed) {
      n = in(i + 1, 0x80, 0x9f) && in(i + 2, 0x80, 0xbf) ? 3 : 0;
    } else if (b == 0xf0) {
      n = in(i + 1, 0x90, 0xbf) && in(i + 2, 0x80, 0xbf) && in(i + 3, 0x80, 0xbf) ? 4 : 0;
    } else if (b >= 0xf1 && b <= 0xf3) {
      n = in(i + 1, 0x80, 0xbf) && in(i + 2, 0x80, 0xbf) && in(i + 3, 0x80, 0xbf) ? 4 : 0;
    } else if (b == 0xf4) {
      n = in(i + 1, 0x80, 0x8f) && in(i + 2, 0x80, 0xbf) && in(i + 3, 0x80, 0xbf) ? 4 : 0;
    }
    if (n == 0) return false;
    i += n;
  }
  return true;
}

// Writes `config` as `chipd init` does and reads it back: the text is ASCII
// and every field comes back equal.
void AssertRoundTrip(const NodeConfig& config, const std::string& toml) {
  FUZZ_ASSERT(IsAscii(toml), toml);
  File().Write(reinterpret_cast<const uint8_t*>(toml.data()), toml.size());
  NodeConfig again;
  chip::Status back = chip::node::LoadConfigFile(File().path(), &again);
  FUZZ_ASSERT(back.ok(), toml + "\n" + back.ToString());
  FUZZ_ASSERT(Fields(config) == Fields(again), toml);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chip;
  fuzz::InitOnce();
  const std::string input(reinterpret_cast<const char*>(data), size);

  // 1. The input as a config file. Any bytes: LoadConfigFile refuses
  // non-ASCII files before toml++ 3.3.0 sees them, because toml++ reaches
  // TOML_UNREACHABLE (undefined behaviour) on many non-ASCII code points
  // (upstream marzer/tomlplusplus#190, #295). Reproducer:
  // tests/fuzz/regressions/fuzz_config-toml-unreachable.
  File().Write(data, size);
  NodeConfig config;
  Status s = node::LoadConfigFile(File().path(), &config);
  if (s.ok()) {
    (void)node::ValidateConfig(config);
    (void)node::IsLoopback(config.listen);
    (void)node::IsLoopback(config.metrics_listen);
    // toml++ gives only UTF-8 strings (escapes included: "\u00e9" is the
    // reproducer fuzz_config-escaped-non-ascii-string), so only the size
    // limit can refuse them: an input of 64 KiB whose strings grow when
    // escaped.
    Result<std::string> toml = node::DefaultConfigToml(config);
    if (toml.ok()) {
      AssertRoundTrip(config, *toml);
    } else {
      FUZZ_ASSERT(toml.status().message().rfind("config.toml would be ", 0) == 0,
                  toml.status().ToString());
    }
  } else {
    FUZZ_ASSERT(s.code() == Status::Code::kInvalidArgument, s.ToString());
  }

  // 2. The input as the value of one string key (which one depends on the
  // size), as a flag of `chipd init` sets it. Reproducer of raw UTF-8 in the
  // written file: tests/fuzz/regressions/fuzz_config-init-utf8-value.
  NodeConfig flags;
  std::string* const keys[] = {&flags.listen,
                               &flags.metrics_listen,
                               &flags.tls_cert_file,
                               &flags.tls_key_file,
                               &flags.tls_client_ca_file,
                               &flags.etcd_endpoints,
                               &flags.advertise,
                               &flags.etcd_tls_ca_file,
                               &flags.etcd_tls_cert_file,
                               &flags.etcd_tls_key_file,
                               &flags.log_level,
                               &flags.log_file};
  *keys[size % (sizeof(keys) / sizeof(keys[0]))] = input;
  Result<std::string> toml = node::DefaultConfigToml(flags);
  if (!toml.ok()) {
    FUZZ_ASSERT(toml.status().code() == Status::Code::kInvalidArgument, toml.status().ToString());
    // At most 6 bytes per input byte (\u0001) beside about 2.5 KiB of keys
    // and comments: within the 64 KiB limit up to 10,000 bytes.
    FUZZ_ASSERT(!IsUtf8(input) || size > 10'000, toml.status().ToString());
    return 0;
  }
  FUZZ_ASSERT(IsUtf8(input), *toml);
  AssertRoundTrip(flags, *toml);
  return 0;
}
