// Small file helpers shared by the node and the wallet (configuration, keys,
// pinned checkpoints). Not used by block application.
#pragma once

#include <string>

#include "ledger/status.h"

namespace chip {

// Writes `text` to `path` atomically: a temp file in the same directory with
// `mode`, fsync, rename over `path`, fsync of the directory.
Status WriteFileAtomic(const std::string& path, const std::string& text, unsigned mode);
// fsync of a directory, so that entries created or renamed in it are durable.
Status FsyncDir(const std::string& dir);
// Reads a whole file of at most `max_bytes`. NotFound when it cannot be
// opened, InvalidArgument when it is larger.
Result<std::string> ReadSmallFile(const std::string& path, size_t max_bytes);

}  // namespace chip
