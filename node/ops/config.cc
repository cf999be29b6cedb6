#include "node/ops/config.h"

#include <cstdio>
#include <optional>
#include <set>
#include <sstream>

#include "ledger/file_util.h"

#define TOML_EXCEPTIONS 0
#include <toml++/toml.h>

namespace chip::node {
namespace {

constexpr size_t kConfigBytesMax = 64 * 1024;

std::string HostOf(const std::string& host_port) {
  if (!host_port.empty() && host_port[0] == '[') {
    auto end = host_port.find(']');
    return end == std::string::npos ? host_port : host_port.substr(1, end - 1);
  }
  auto colon = host_port.rfind(':');
  return colon == std::string::npos ? host_port : host_port.substr(0, colon);
}

bool HasPort(const std::string& host_port) {
  auto colon = host_port.rfind(':');
  if (colon == std::string::npos || colon + 1 >= host_port.size()) return false;
  for (size_t i = colon + 1; i < host_port.size(); ++i) {
    if (host_port[i] < '0' || host_port[i] > '9') return false;
  }
  return std::stoul(host_port.substr(colon + 1, 6)) <= 65535;
}

}  // namespace

bool IsLoopback(const std::string& host_port) {
  std::string host = HostOf(host_port);
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

Status LoadConfigFile(const std::string& path, NodeConfig* c) {
  auto text = ReadSmallFile(path, kConfigBytesMax);
  if (!text.ok()) return text.status();
  // toml++ 3.3.0 (Debian 12) reaches undefined behaviour on some non-ASCII
  // input (found by fuzz_config; upstream issues 190/295), so anything but
  // ASCII is refused up front. Strings still hold any Unicode text through
  // TOML's \u and \U escapes, which DefaultConfigToml writes.
  for (size_t i = 0; i < text->size(); ++i) {
    if (static_cast<unsigned char>((*text)[i]) >= 0x80) {
      return Status::InvalidArgument(
          path + ": non-ASCII byte at offset " + std::to_string(i) +
          "; the file must be ASCII: write other characters in strings as \\uXXXX or "
          "\\UXXXXXXXX escapes (as `chipd init` does)");
    }
  }
  toml::parse_result parsed = toml::parse(*text, path);
  if (!parsed) {
    std::ostringstream msg;
    msg << path << ": " << parsed.error().description() << " at line "
        << parsed.error().source().begin.line;
    return Status::InvalidArgument(msg.str());
  }
  const toml::table& t = parsed.table();
  static const std::set<std::string> known = {"listen",
                                              "metrics_listen",
                                              "allow_remote",
                                              "block_interval_ms",
                                              "block_tx_max",
                                              "mempool_tx_max",
                                              "signer_pending_tx_max",
                                              "submit_rate_per_client",
                                              "submit_burst_per_client",
                                              "connection_pending_tx_max",
                                              "request_bytes_max",
                                              "submit_batch_tx_max",
                                              "streams_max",
                                              "rpc_threads_max",
                                              "log_level",
                                              "log_file",
                                              "disk_reserve_mb",
                                              "etcd_endpoints",
                                              "advertise",
                                              "etcd_lease_ttl_s",
                                              "etcd_call_timeout_ms",
                                              "etcd_window_blocks",
                                              "cluster_block_bytes_max",
                                              "etcd_defrag_interval_s",
                                              "etcd_tls_ca_file",
                                              "etcd_tls_cert_file",
                                              "etcd_tls_key_file"};
  // Transport security (node/serve/tls.h).
  static const std::set<std::string> known_tls = {"allow_plaintext_remote", "tls_cert_file",
                                                  "tls_key_file", "tls_client_ca_file",
                                                  "tls_require_client_cert"};
  for (const auto& [key, value] : t) {
    (void)value;
    if (known.count(std::string(key.str())) == 0 && known_tls.count(std::string(key.str())) == 0) {
      return Status::InvalidArgument(path + ": unknown key '" + std::string(key.str()) + "'");
    }
  }
  auto str = [&](const char* key, std::string* out) -> Status {
    if (!t.contains(key)) return Status::Ok();
    auto v = t[key].value<std::string>();
    if (!v) return Status::InvalidArgument(path + ": '" + key + "' must be a string");
    *out = *v;
    return Status::Ok();
  };
  auto u32 = [&](const char* key, uint32_t* out) -> Status {
    if (!t.contains(key)) return Status::Ok();
    // Only true integers: toml++ would convert a float (even 1e300) to
    // int64 with undefined behaviour (found by fuzz_config).
    auto v = t[key].is_integer() ? t[key].value<int64_t>() : std::nullopt;
    if (!v || *v < 0 || *v > 0xffffffffLL) {
      return Status::InvalidArgument(path + ": '" + key + "' must be a non-negative integer");
    }
    *out = static_cast<uint32_t>(*v);
    return Status::Ok();
  };
  CHIP_RETURN_IF_ERROR(str("listen", &c->listen));
  CHIP_RETURN_IF_ERROR(str("metrics_listen", &c->metrics_listen));
  CHIP_RETURN_IF_ERROR(str("log_level", &c->log_level));
  CHIP_RETURN_IF_ERROR(str("log_file", &c->log_file));
  if (t.contains("allow_remote")) {
    auto v = t["allow_remote"].value<bool>();
    if (!v) return Status::InvalidArgument(path + ": 'allow_remote' must be true or false");
    c->allow_remote = *v;
  }
  for (auto [key, out] :
       {std::pair<const char*, bool*>{"allow_plaintext_remote", &c->allow_plaintext_remote},
        {"tls_require_client_cert", &c->tls_require_client_cert}}) {
    if (!t.contains(key)) continue;
    // Only true booleans: toml++ would also read an integer as a bool.
    auto v = t[key].is_boolean() ? t[key].value<bool>() : std::nullopt;
    if (!v) return Status::InvalidArgument(path + ": '" + key + "' must be true or false");
    *out = *v;
  }
  CHIP_RETURN_IF_ERROR(str("tls_cert_file", &c->tls_cert_file));
  CHIP_RETURN_IF_ERROR(str("tls_key_file", &c->tls_key_file));
  CHIP_RETURN_IF_ERROR(str("tls_client_ca_file", &c->tls_client_ca_file));
  CHIP_RETURN_IF_ERROR(u32("block_interval_ms", &c->block_interval_ms));
  CHIP_RETURN_IF_ERROR(u32("block_tx_max", &c->block_tx_max));
  CHIP_RETURN_IF_ERROR(u32("mempool_tx_max", &c->mempool_tx_max));
  CHIP_RETURN_IF_ERROR(u32("signer_pending_tx_max", &c->signer_pending_tx_max));
  CHIP_RETURN_IF_ERROR(u32("submit_rate_per_client", &c->submit_rate_per_client));
  CHIP_RETURN_IF_ERROR(u32("submit_burst_per_client", &c->submit_burst_per_client));
  CHIP_RETURN_IF_ERROR(u32("connection_pending_tx_max", &c->connection_pending_tx_max));
  CHIP_RETURN_IF_ERROR(u32("request_bytes_max", &c->request_bytes_max));
  CHIP_RETURN_IF_ERROR(u32("submit_batch_tx_max", &c->submit_batch_tx_max));
  CHIP_RETURN_IF_ERROR(u32("streams_max", &c->streams_max));
  CHIP_RETURN_IF_ERROR(u32("rpc_threads_max", &c->rpc_threads_max));
  CHIP_RETURN_IF_ERROR(u32("disk_reserve_mb", &c->disk_reserve_mb));
  CHIP_RETURN_IF_ERROR(str("etcd_endpoints", &c->etcd_endpoints));
  CHIP_RETURN_IF_ERROR(str("advertise", &c->advertise));
  CHIP_RETURN_IF_ERROR(str("etcd_tls_ca_file", &c->etcd_tls_ca_file));
  CHIP_RETURN_IF_ERROR(str("etcd_tls_cert_file", &c->etcd_tls_cert_file));
  CHIP_RETURN_IF_ERROR(str("etcd_tls_key_file", &c->etcd_tls_key_file));
  CHIP_RETURN_IF_ERROR(u32("etcd_lease_ttl_s", &c->etcd_lease_ttl_s));
  CHIP_RETURN_IF_ERROR(u32("etcd_call_timeout_ms", &c->etcd_call_timeout_ms));
  CHIP_RETURN_IF_ERROR(u32("etcd_window_blocks", &c->etcd_window_blocks));
  CHIP_RETURN_IF_ERROR(u32("cluster_block_bytes_max", &c->cluster_block_bytes_max));
  CHIP_RETURN_IF_ERROR(u32("etcd_defrag_interval_s", &c->etcd_defrag_interval_s));
  return Status::Ok();
}

Status ValidateConfig(const NodeConfig& c) {
  if (!HasPort(c.listen))
    return Status::InvalidArgument("listen must be host:port, got '" + c.listen + "'");
  if (!c.metrics_listen.empty() && !HasPort(c.metrics_listen)) {
    return Status::InvalidArgument("metrics_listen must be host:port, got '" + c.metrics_listen +
                                   "'");
  }
  // node/serve/tls.h MakeServerCredentials applies the same plaintext rule to the
  // gRPC port; checking it here too refuses the start before the store opens.
  bool plaintext_remote = c.allow_plaintext_remote || c.allow_remote;
  if (c.tls_cert_file.empty() != c.tls_key_file.empty()) {
    return Status::InvalidArgument(
        "tls_cert_file and tls_key_file (--tls-cert, --tls-key) go together: set both or neither");
  }
  if (c.tls_cert_file.empty() && (!c.tls_client_ca_file.empty() || c.tls_require_client_cert)) {
    return Status::InvalidArgument(
        "client certificates (--tls-client-ca, --tls-require-client-cert) need TLS: set "
        "--tls-cert and --tls-key (tls_cert_file, tls_key_file) too");
  }
  if (c.tls_require_client_cert && c.tls_client_ca_file.empty()) {
    return Status::InvalidArgument(
        "tls_require_client_cert (--tls-require-client-cert) needs tls_client_ca_file "
        "(--tls-client-ca), the CA that signs client certificates");
  }
  if (c.tls_cert_file.empty() && !plaintext_remote && !IsLoopback(c.listen)) {
    return Status::FailedPrecondition(
        "listen address " + c.listen +
        " is not loopback and no TLS certificate is configured, so traffic would be "
        "plaintext: pass --tls-cert and --tls-key (tls_cert_file, tls_key_file), or "
        "--allow-plaintext-remote (allow_plaintext_remote = true) to accept plaintext");
  }
  if (!plaintext_remote && !c.metrics_listen.empty() && !IsLoopback(c.metrics_listen)) {
    return Status::FailedPrecondition(
        "metrics_listen " + c.metrics_listen +
        " is not loopback and metrics are plain HTTP: pass --allow-plaintext-remote (or "
        "allow_plaintext_remote = true) to accept that");
  }
  if (c.block_interval_ms > 60'000) {
    return Status::InvalidArgument("block_interval_ms must be 0..60000");
  }
  if (c.block_tx_max < 1 || c.block_tx_max > 10'000) {
    return Status::InvalidArgument("block_tx_max must be 1..10000");
  }
  if (c.submit_batch_tx_max < 1 || c.submit_batch_tx_max > c.block_tx_max) {
    return Status::InvalidArgument("submit_batch_tx_max must be 1..block_tx_max");
  }
  if (c.submit_rate_per_client > 10'000'000) {
    return Status::InvalidArgument("submit_rate_per_client must be at most 10000000 (0: off)");
  }
  if (c.submit_burst_per_client == 0 || c.submit_burst_per_client > 10'000'000) {
    return Status::InvalidArgument("submit_burst_per_client must be 1 to 10000000");
  }
  if (c.connection_pending_tx_max == 0) {
    return Status::InvalidArgument("connection_pending_tx_max must be at least 1");
  }
  if (c.signer_pending_tx_max == 0) {
    return Status::InvalidArgument("signer_pending_tx_max must be at least 1");
  }
  if (c.mempool_tx_max < c.block_tx_max) {
    return Status::InvalidArgument("mempool_tx_max must be at least block_tx_max");
  }
  if (c.request_bytes_max < 64 * 1024 || c.request_bytes_max > (64u << 20)) {
    return Status::InvalidArgument("request_bytes_max must be 64 KiB..64 MiB");
  }
  if (c.streams_max < 1 || c.rpc_threads_max < 4) {
    return Status::InvalidArgument("streams_max must be >= 1 and rpc_threads_max >= 4");
  }
  if (!c.advertise.empty() && !HasPort(c.advertise)) {
    return Status::InvalidArgument("advertise must be host:port, got '" + c.advertise + "'");
  }
  if (c.etcd_tls_ca_file.empty() &&
      (!c.etcd_tls_cert_file.empty() || !c.etcd_tls_key_file.empty())) {
    return Status::InvalidArgument(
        "etcd_tls_cert_file and etcd_tls_key_file need etcd_tls_ca_file");
  }
  if (c.etcd_tls_cert_file.empty() != c.etcd_tls_key_file.empty()) {
    return Status::InvalidArgument("etcd_tls_cert_file and etcd_tls_key_file go together");
  }
  if (c.etcd_lease_ttl_s < 1 || c.etcd_lease_ttl_s > 60) {
    return Status::InvalidArgument("etcd_lease_ttl_s must be 1..60");
  }
  if (c.etcd_call_timeout_ms < 100 || c.etcd_call_timeout_ms > 60'000) {
    return Status::InvalidArgument("etcd_call_timeout_ms must be 100..60000");
  }
  if (c.etcd_window_blocks < 2 || c.etcd_window_blocks > 1'000'000) {
    return Status::InvalidArgument("etcd_window_blocks must be 2..1000000");
  }
  if (c.cluster_block_bytes_max < 4 * 1024 || c.cluster_block_bytes_max > (1u << 20)) {
    return Status::InvalidArgument("cluster_block_bytes_max must be 4 KiB..1 MiB");
  }
  static const std::set<std::string> levels = {"trace", "debug", "info", "warn", "error", "off"};
  if (levels.count(c.log_level) == 0) {
    return Status::InvalidArgument("log_level must be trace, debug, info, warn, error or off");
  }
  return Status::Ok();
}

namespace {

// The Unicode scalar value of the UTF-8 sequence at text[*i], advancing *i
// past it; nullopt for bytes that are not one (a stray continuation byte, a
// truncated or overlong sequence, a surrogate, anything above U+10FFFF).
std::optional<uint32_t> NextScalar(const std::string& text, size_t* i) {
  const auto lead = static_cast<unsigned char>(text[*i]);
  if (lead < 0x80) {
    ++*i;
    return lead;
  }
  // The lead byte gives the length, its payload bits and the smallest
  // scalar that needs this many bytes (anything below is overlong).
  size_t length = 0;
  uint32_t cp = 0;
  uint32_t smallest = 0;
  if ((lead & 0xe0) == 0xc0) {
    length = 2;
    cp = lead & 0x1fu;
    smallest = 0x80;
  } else if ((lead & 0xf0) == 0xe0) {
    length = 3;
    cp = lead & 0x0fu;
    smallest = 0x800;
  } else if ((lead & 0xf8) == 0xf0) {
    length = 4;
    cp = lead & 0x07u;
    smallest = 0x10000;
  } else {
    return std::nullopt;
  }
  if (text.size() - *i < length) return std::nullopt;
  for (size_t k = 1; k < length; ++k) {
    const auto next = static_cast<unsigned char>(text[*i + k]);
    if ((next & 0xc0) != 0x80) return std::nullopt;
    cp = (cp << 6) | (next & 0x3fu);
  }
  if (cp < smallest || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return std::nullopt;
  *i += length;
  return cp;
}

// `key = "value"` with the value as a TOML basic string of printable ASCII
// only, because LoadConfigFile reads only ASCII files (see there): quotes and
// backslashes escaped, control characters and every non-ASCII character
// written as \uXXXX or \UXXXXXXXX, which toml++ decodes back to the same
// UTF-8 bytes (the shortest form is the only one NextScalar accepts). So any
// path or address round-trips (found by fuzz_config), except bytes that are
// not UTF-8: no TOML string can hold them.
Result<std::string> TomlKeyValue(const char* key, const std::string& v) {
  std::string out = std::string(key) + " = \"";
  for (size_t i = 0; i < v.size();) {
    const size_t at = i;
    std::optional<uint32_t> cp = NextScalar(v, &i);
    if (!cp) {
      char byte[8];
      std::snprintf(byte, sizeof(byte), "0x%02x", static_cast<unsigned char>(v[at]));
      return Status::InvalidArgument(std::string(key) + " is not valid UTF-8 (byte " + byte +
                                     " at offset " + std::to_string(at) +
                                     "), and config.toml, a TOML file, holds only UTF-8 text");
    }
    if (*cp == '"' || *cp == '\\') {
      out += '\\';
      out += static_cast<char>(*cp);
    } else if (*cp >= 0x20 && *cp < 0x7f) {
      out += static_cast<char>(*cp);
    } else {
      char buf[16];
      std::snprintf(buf, sizeof(buf), *cp <= 0xffff ? "\\u%04X" : "\\U%08X", *cp);
      out += buf;
    }
  }
  return out + "\"";
}

}  // namespace

Result<std::string> DefaultConfigToml(const NodeConfig& c) {
  Status refused;  // the first string value TOML cannot hold
  auto str = [&](const char* key, const std::string& value) {
    Result<std::string> kv = TomlKeyValue(key, value);
    if (kv.ok()) return std::move(*kv);
    if (refused.ok()) refused = kv.status();
    return std::string();
  };
  std::ostringstream o;
  o << "# chipd configuration. Flags given to `chipd start` override these.\n"
    << "# gRPC listen address. Off loopback it needs TLS (tls_cert_file, tls_key_file)\n"
    << "# or allow_plaintext_remote = true.\n"
    << str("listen", c.listen) << "\n"
    << "# Prometheus metrics (HTTP); \"\" turns them off.\n"
    << str("metrics_listen", c.metrics_listen) << "\n"
    << "allow_remote = " << (c.allow_remote ? "true" : "false") << "\n"
    << "# Plaintext gRPC (no TLS) or metrics on a non-loopback address; allow_remote\n"
    << "# is the older name of this key.\n"
    << "allow_plaintext_remote = " << (c.allow_plaintext_remote ? "true" : "false") << "\n"
    << "# TLS for gRPC (docs/OPERATIONS.md, TLS): PEM certificate chain and key; \"\" = off.\n"
    << str("tls_cert_file", c.tls_cert_file) << "\n"
    << str("tls_key_file", c.tls_key_file) << "\n"
    << "# CA of client certificates: clients are asked for one; required if\n"
    << "# tls_require_client_cert.\n"
    << str("tls_client_ca_file", c.tls_client_ca_file) << "\n"
    << "tls_require_client_cert = " << (c.tls_require_client_cert ? "true" : "false") << "\n"
    << "# 0: group commit, a block is cut as soon as the node is not writing one\n"
    << "# (what arrives meanwhile forms the next). N: a block is cut N ms after\n"
    << "# its first transaction arrived. Either way, at once when block_tx_max wait.\n"
    << "block_interval_ms = " << c.block_interval_ms << "\n"
    << "block_tx_max = " << c.block_tx_max << "\n"
    << "# Transactions waiting for a block; beyond it submissions get RESOURCE_EXHAUSTED.\n"
    << "mempool_tx_max = " << c.mempool_tx_max << "\n"
    << "# One signer's admitted, uncommitted transactions; beyond: RESOURCE_EXHAUSTED.\n"
    << "signer_pending_tx_max = " << c.signer_pending_tx_max << "\n"
    << "# Per client (certificate name, else IP address): transactions/s, 0 = no limit,\n"
    << "# and the burst; per connection: transactions waiting for their results.\n"
    << "submit_rate_per_client = " << c.submit_rate_per_client << "\n"
    << "submit_burst_per_client = " << c.submit_burst_per_client << "\n"
    << "connection_pending_tx_max = " << c.connection_pending_tx_max << "\n"
    << "request_bytes_max = " << c.request_bytes_max << "\n"
    << "submit_batch_tx_max = " << c.submit_batch_tx_max << "\n"
    << "streams_max = " << c.streams_max << "\n"
    << "rpc_threads_max = " << c.rpc_threads_max << "\n"
    << "# Free disk space (MiB) kept in reserve: below it writes are refused.\n"
    << "disk_reserve_mb = " << c.disk_reserve_mb << "\n"
    << "# Cluster: etcd members (host:port,...); \"\" runs a single node.\n"
    << str("etcd_endpoints", c.etcd_endpoints) << "\n"
    << "# gRPC address other nodes use to reach this one (\"\" = listen).\n"
    << str("advertise", c.advertise) << "\n"
    << "# TLS to etcd (PEM files): CA of the members, this node's certificate and key.\n"
    << str("etcd_tls_ca_file", c.etcd_tls_ca_file) << "\n"
    << str("etcd_tls_cert_file", c.etcd_tls_cert_file) << "\n"
    << str("etcd_tls_key_file", c.etcd_tls_key_file) << "\n"
    << "etcd_lease_ttl_s = " << c.etcd_lease_ttl_s << "\n"
    << "etcd_call_timeout_ms = " << c.etcd_call_timeout_ms << "\n"
    << "etcd_window_blocks = " << c.etcd_window_blocks << "\n"
    << "cluster_block_bytes_max = " << c.cluster_block_bytes_max << "\n"
    << "# The producer defragments one etcd member in turn this often (0 = never).\n"
    << "etcd_defrag_interval_s = " << c.etcd_defrag_interval_s << "\n"
    << str("log_level", c.log_level) << "\n"
    << str("log_file", c.log_file) << "\n";
  if (!refused.ok()) return refused;
  std::string text = o.str();
  if (text.size() > kConfigBytesMax) {
    return Status::InvalidArgument("config.toml would be " + std::to_string(text.size()) +
                                   " bytes, over the " + std::to_string(kConfigBytesMax) +
                                   " that chipd reads: a value is too long");
  }
  return text;
}

}  // namespace chip::node
