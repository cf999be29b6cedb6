#include "node/ops/backup_command.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "chipledger/v1/admin.grpc.pb.h"
#include "ledger/chain.h"
#include "node/ops/backup.h"

namespace chip::node {

namespace {

// How long `chipd backup` waits for the admin socket to accept a connection
// before it treats the node as stopped.
constexpr auto kAdminConnectTimeout = std::chrono::seconds(2);
// How long it waits for an online backup (a checkpoint of a large store
// copied to another filesystem takes a while).
constexpr auto kBackupDeadline = std::chrono::hours(1);

std::string Absolute(const std::string& path) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(path, ec);
  if (ec) return path;
  return abs.lexically_normal().string();
}

std::string Hex(const Hash32& h) { return ToHex(h.data(), h.size()); }

int Failed(const std::string& message) {
  std::cerr << "chipd: " << message << "\n";
  return 1;
}

void Print(const BackupManifest& m, const std::string& dir, bool online, bool json, bool restored) {
  if (json) {
    auto j = nlohmann::json::parse(ManifestJson(m));
    j[restored ? "data_dir" : "dir"] = dir;
    if (!restored) j["online"] = online;
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return;
  }
  if (restored) {
    std::printf("restored chain %s (%s...) at height %llu into %s\n", m.chain_name.c_str(),
                Hex(m.chain_id).substr(0, 16).c_str(), static_cast<unsigned long long>(m.height),
                dir.c_str());
  } else {
    std::printf("backup of chain %s (%s...) at height %llu written to %s%s\n", m.chain_name.c_str(),
                Hex(m.chain_id).substr(0, 16).c_str(), static_cast<unsigned long long>(m.height),
                dir.c_str(), online ? " (the node kept running)" : " (the node was stopped)");
  }
  std::printf("  tip       %s\n  state     %s\n  log size  %llu transactions\n",
              Hex(m.tip_hash).c_str(), Hex(m.state_digest).c_str(),
              static_cast<unsigned long long>(m.tree_size));
  if (restored) {
    if (!m.node_key.empty()) {
      std::printf(
          "  node key  %s, the backed-up node's:\n"
          "            never run both at once (they would sign different blocks at one height)\n",
          m.node_key.c_str());
    }
    std::printf("start it with: chipd start --data-dir %s\n", dir.c_str());
  } else {
    std::printf(
        "  files     %llu in db/, %llu bytes\nrestore with: chipd restore --from %s "
        "--data-dir NEW_DIR\n",
        static_cast<unsigned long long>(m.files), static_cast<unsigned long long>(m.db_bytes),
        dir.c_str());
  }
}

// Stdout carries the command's answer (text or --json); the library's log
// lines (warnings only) go to stderr.
void LogToStderr() {
  auto logger = spdlog::stderr_color_mt("chipd-cmd");
  logger->set_level(spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

}  // namespace

int RunBackupCommand(const std::string& data_dir_in, const std::string& to_in, bool json) {
  LogToStderr();
  const std::string data_dir = Absolute(data_dir_in);
  const std::string to = Absolute(to_in);
  struct stat st;
  if (::stat((data_dir + "/db").c_str(), &st) != 0) {
    return Failed(data_dir + " is not a data directory (it has no db/)");
  }
  const std::string socket = AdminSocketPath(data_dir);
  if (::lstat(socket.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) &&
      socket.size() <= kUnixSocketPathMax) {
    auto channel = grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials());
    if (channel->WaitForConnected(std::chrono::system_clock::now() + kAdminConnectTimeout)) {
      auto stub = chipledger::v1::NodeAdmin::NewStub(channel);
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + kBackupDeadline);
      chipledger::v1::BackupRequest request;
      request.set_to_dir(to);
      chipledger::v1::BackupResponse response;
      grpc::Status s = stub->Backup(&ctx, request, &response);
      if (!s.ok()) return Failed("backup failed: " + s.error_message());
      auto m = ParseManifest(response.manifest_json());
      if (!m.ok()) return Failed("the node answered a bad manifest: " + m.status().message());
      Print(*m, to, /*online=*/true, json, /*restored=*/false);
      return 0;
    }
    // A socket nobody answers on: left by a node that did not stop cleanly.
  }
  // No running node (or one without an admin socket: the store's lock says).
  auto chain = Chain::Open(data_dir + "/db");
  if (!chain.ok()) {
    return Failed(
        "cannot open the store of " + data_dir +
        " (a node running there without an admin socket holds it): " + chain.status().message());
  }
  auto m = WriteBackup((*chain)->store(), data_dir, to);
  if (!m.ok()) return Failed("backup failed: " + m.status().message());
  Print(*m, to, /*online=*/false, json, /*restored=*/false);
  return 0;
}

int RunRestoreCommand(const std::string& from_in, const std::string& data_dir_in, bool json) {
  LogToStderr();
  const std::string from = Absolute(from_in);
  const std::string data_dir = Absolute(data_dir_in);
  auto m = RestoreBackup(from, data_dir);
  if (!m.ok()) return Failed("restore failed: " + m.status().message());
  Print(*m, data_dir, /*online=*/false, json, /*restored=*/true);
  return 0;
}

}  // namespace chip::node
