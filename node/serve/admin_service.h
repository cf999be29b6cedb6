// NodeAdmin (proto/chipledger/v1/admin.proto), served only on the node's admin
// socket <data-dir>/admin.sock (node/node.cc): online backups
// (node/ops/backup.h), one at a time.
#pragma once

#include <mutex>
#include <string>

#include "chipledger/v1/admin.grpc.pb.h"
#include "ledger/store.h"

namespace chip::node {

class AdminService final : public chipledger::v1::NodeAdmin::Service {
 public:
  AdminService(Store* store, std::string data_dir)
      : store_(store), data_dir_(std::move(data_dir)) {}
  grpc::Status Backup(grpc::ServerContext* context, const chipledger::v1::BackupRequest* request,
                      chipledger::v1::BackupResponse* response) override;

 private:
  Store* store_;
  std::string data_dir_;
  std::mutex backup_mu_;  // held while a backup runs
};

}  // namespace chip::node
