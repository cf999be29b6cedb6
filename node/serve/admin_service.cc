#include "node/serve/admin_service.h"

#include <spdlog/spdlog.h>

#include "node/ops/backup.h"
#include "node/serve/ledger_service.h"

namespace chip::node {

namespace {
// How much of a refused path a log line repeats.
constexpr size_t kLoggedPathBytesMax = 256;
}  // namespace

grpc::Status AdminService::Backup(grpc::ServerContext* context,
                                  const chipledger::v1::BackupRequest* request,
                                  chipledger::v1::BackupResponse* response) {
  (void)context;
  std::unique_lock<std::mutex> lock(backup_mu_, std::try_to_lock);
  if (!lock.owns_lock()) {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        "a backup of this node is already running; try again when it ends");
  }
  auto m = WriteBackup(store_, data_dir_, request->to_dir());
  if (!m.ok()) {
    spdlog::warn("backup to {} failed: {}", request->to_dir().substr(0, kLoggedPathBytesMax),
                 m.status().ToString());
    return ToGrpc(m.status());
  }
  response->set_manifest_json(ManifestJson(*m));
  return grpc::Status::OK;
}

}  // namespace chip::node
