// `chipd backup` and `chipd restore` (docs/OPERATIONS.md, "Backups and
// restore"). Both return chipd's exit code: 0 done, 1 refused or failed (the
// message on stderr names why).
#pragma once

#include <string>

namespace chip::node {

// Backs up the data directory `data_dir` into the new directory `to`: through
// the running node's admin socket when one answers, otherwise by opening the
// stopped node's store itself.
int RunBackupCommand(const std::string& data_dir, const std::string& to, bool json);

// Makes the new data directory `data_dir` from the backup `from`.
int RunRestoreCommand(const std::string& from, const std::string& data_dir, bool json);

}  // namespace chip::node
