// Online backups of a node's data directory and restores from them
// (docs/OPERATIONS.md, "Backups and restore").
//
// A backup is a directory:
//   db/            a RocksDB checkpoint of the store: the state at one block
//                  boundary (each block is one write batch)
//   genesis.json, config.toml, node_key.json (0600)   copies of the data dir's
//   BACKUP.json    what the checkpoint holds: chain, height, tip hash, state
//                  digest, history-log size; written last
// It is built under <dir>.partial and renamed to <dir> once complete, so a
// directory named like the backup is always a whole one. A restore copies it
// into a new data directory (again through <dir>.partial), opens the copy and
// checks that its tip is the one BACKUP.json names before renaming it into
// place.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ledger/bytes.h"
#include "ledger/store.h"

namespace chip::node {

// BACKUP.json, the manifest of a backup.
struct BackupManifest {
  std::string chain_name;
  Hash32 chain_id{};
  uint64_t height = 0;
  Hash32 tip_hash{};
  Hash32 state_digest{};
  uint64_t tree_size = 0;  // transactions in the history log at `height`
  uint64_t created_unix_ms = 0;
  std::string node_key;   // address of node_key.json's key
  uint64_t files = 0;     // in db/
  uint64_t db_bytes = 0;  // their total size
};

// The backup format's name and version, the "format" field of BACKUP.json.
inline constexpr const char* kBackupFormat = "chipledger-backup/1";
// The largest BACKUP.json read back (it is a few hundred bytes).
inline constexpr size_t kBackupManifestBytesMax = 64 * 1024;

std::string ManifestJson(const BackupManifest& m);
// Parses BACKUP.json text; InvalidArgument naming the bad field.
Result<BackupManifest> ParseManifest(const std::string& text);

// Writes a backup of `store` (open, possibly committing) and of the files of
// `data_dir` into `to_dir`, which must be absolute and must not exist while
// its parent must. AlreadyExists / NotFound / InvalidArgument for those;
// FailedPrecondition when <to_dir>.partial exists (an interrupted backup:
// remove it); ResourceExhausted when the disk fills. Nothing stays at
// to_dir or <to_dir>.partial on failure.
Result<BackupManifest> WriteBackup(Store* store, const std::string& data_dir,
                                   const std::string& to_dir);

// Makes the data directory `data_dir` (absent or an empty directory) from
// the backup at `backup_dir`, checking the copy against BACKUP.json.
// Corruption when the copy's tip is not the one BACKUP.json names.
Result<BackupManifest> RestoreBackup(const std::string& backup_dir, const std::string& data_dir);

// The admin socket of a data directory: <data_dir>/admin.sock.
std::string AdminSocketPath(const std::string& data_dir);
// A Unix socket path has room for 107 bytes (sun_path).
inline constexpr size_t kUnixSocketPathMax = 107;
// The largest request the admin socket takes (a path and a few fields).
inline constexpr size_t kAdminRequestBytesMax = 64 * 1024;

}  // namespace chip::node
