#include "node/ops/backup.h"

#include <dirent.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "ledger/address.h"
#include "ledger/block.h"
#include "ledger/chain.h"
#include "ledger/file_util.h"

namespace chip::node {

namespace {

constexpr const char* kManifestName = "BACKUP.json";
constexpr const char* kPartialSuffix = ".partial";
// The files of a data directory a backup keeps beside db/, with the mode
// each gets: the node key stays private.
struct DataFile {
  const char* name;
  unsigned mode;
};
constexpr DataFile kDataFiles[] = {
    {"genesis.json", 0644}, {"config.toml", 0644}, {"node_key.json", 0600}};
// Copy buffer; files are RocksDB tables of up to tens of megabytes.
constexpr size_t kCopyChunkBytes = 1 << 20;
// The longest backup or data directory path taken.
constexpr size_t kPathBytesMax = 4096;

std::string ErrnoText(const std::string& what) { return what + ": " + std::strerror(errno); }

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string StripSlashes(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

std::string Parent(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status WriteError(const std::string& what) {
  if (errno == ENOSPC || errno == EDQUOT) return Status::ResourceExhausted(ErrnoText(what));
  return Status::IoError(ErrnoText(what));
}

// Copies a regular file to a new file `to` (never over an existing one) and
// syncs it.
Status CopyFileDurable(const std::string& from, const std::string& to, unsigned mode) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return Status::IoError(ErrnoText("open " + from));
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (out < 0) {
    Status s = WriteError("create " + to);
    ::close(in);
    return s;
  }
  Status s;
  std::vector<char> buf(kCopyChunkBytes);
  while (s.ok()) {
    ssize_t n = ::read(in, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      s = Status::IoError(ErrnoText("read " + from));
      break;
    }
    if (n == 0) break;
    for (ssize_t done = 0; done < n && s.ok();) {
      ssize_t w = ::write(out, buf.data() + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) s = WriteError("write " + to);
      if (w > 0) done += w;
    }
  }
  if (s.ok() && ::fchmod(out, mode) != 0) s = Status::IoError(ErrnoText("chmod " + to));
  if (s.ok() && ::fsync(out) != 0) s = WriteError("fsync " + to);
  ::close(in);
  if (::close(out) != 0 && s.ok()) s = WriteError("close " + to);
  return s;
}

// The regular files of `dir` (RocksDB keeps its files in one flat directory).
Result<std::vector<std::string>> ListFiles(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return Status::IoError(ErrnoText("opendir " + dir));
  std::vector<std::string> names;
  Status s;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    if (::lstat((dir + "/" + name).c_str(), &st) != 0) {
      s = Status::IoError(ErrnoText("stat " + dir + "/" + name));
      break;
    }
    if (!S_ISREG(st.st_mode)) {
      s = Status::InvalidArgument(dir + "/" + name + " is not a regular file");
      break;
    }
    names.push_back(name);
  }
  ::closedir(d);
  if (!s.ok()) return s;
  return names;
}

Status CopyDirDurable(const std::string& from, const std::string& to) {
  auto names = ListFiles(from);
  if (!names.ok()) return names.status();
  if (::mkdir(to.c_str(), 0700) != 0) return WriteError("mkdir " + to);
  for (const auto& name : *names) {
    CHIP_RETURN_IF_ERROR(CopyFileDurable(from + "/" + name, to + "/" + name, 0644));
  }
  return FsyncDir(to);
}

void RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) spdlog::warn("could not remove {}: {}", path, ec.message());
}

// Opens the store at `db` (a checkpoint or a restored copy) and reads what
// its tip is.
Status ReadTip(const std::string& db, BackupManifest* m) {
  auto chain = Chain::Open(db);
  if (!chain.ok()) return chain.status();
  const auto& tip = (*chain)->tip();
  m->chain_name = (*chain)->genesis().chain_name;
  m->chain_id = (*chain)->chain_id();
  m->height = tip.height();
  m->tip_hash = BlockHash(tip);
  auto digest = ToHash32(tip.state_digest());
  if (!digest) return Status::Corruption(db + ": the tip's state digest is not 32 bytes");
  m->state_digest = *digest;
  m->tree_size = tip.tree_size();
  return Status::Ok();
}

Status CountFiles(const std::string& dir, BackupManifest* m) {
  auto names = ListFiles(dir);
  if (!names.ok()) return names.status();
  m->files = names->size();
  m->db_bytes = 0;
  for (const auto& name : *names) {
    struct stat st;
    if (::stat((dir + "/" + name).c_str(), &st) == 0)
      m->db_bytes += static_cast<uint64_t>(st.st_size);
  }
  return Status::Ok();
}

// The "address" of a node key file (node/node.cc writes them), checked to be
// an address; the secret is not read.
Result<std::string> NodeKeyAddress(const std::string& path) {
  auto text = ReadSmallFile(path, 4096);
  if (!text.ok()) return text.status();
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("address") || !j["address"].is_string() ||
      !DecodeAddress(j["address"].get<std::string>()).ok()) {
    return Status::InvalidArgument(path + ": expected a node key file with an \"address\"");
  }
  return j["address"].get<std::string>();
}

Status CheckPath(const std::string& path, const char* what) {
  if (path.empty()) return Status::InvalidArgument(std::string(what) + " is empty");
  if (path.size() > kPathBytesMax) {
    return Status::InvalidArgument(std::string(what) + " is longer than " +
                                   std::to_string(kPathBytesMax) + " bytes");
  }
  if (path.find('\0') != std::string::npos) {
    return Status::InvalidArgument(std::string(what) + " holds a NUL byte");
  }
  return Status::Ok();
}

Result<Hash32> HashField(const nlohmann::json& j, const char* name) {
  if (!j.contains(name) || !j[name].is_string()) {
    return Status::InvalidArgument(std::string("BACKUP.json: '") + name +
                                   "' must be 64 hex digits");
  }
  auto h = Hash32FromHex(j[name].get<std::string>());
  if (!h) {
    return Status::InvalidArgument(std::string("BACKUP.json: '") + name +
                                   "' must be 64 hex digits");
  }
  return *h;
}

Result<uint64_t> UintField(const nlohmann::json& j, const char* name) {
  if (!j.contains(name) || !j[name].is_number_unsigned()) {
    return Status::InvalidArgument(std::string("BACKUP.json: '") + name +
                                   "' must be a non-negative integer");
  }
  return j[name].get<uint64_t>();
}

}  // namespace

std::string AdminSocketPath(const std::string& data_dir) {
  return StripSlashes(data_dir) + "/admin.sock";
}

std::string ManifestJson(const BackupManifest& m) {
  nlohmann::json j = {{"format", kBackupFormat},
                      {"chain_name", m.chain_name},
                      {"chain_id", ToHex(m.chain_id.data(), m.chain_id.size())},
                      {"height", m.height},
                      {"tip_hash", ToHex(m.tip_hash.data(), m.tip_hash.size())},
                      {"state_digest", ToHex(m.state_digest.data(), m.state_digest.size())},
                      {"tree_size", m.tree_size},
                      {"created_unix_ms", m.created_unix_ms},
                      {"node_key", m.node_key},
                      {"files", m.files},
                      {"db_bytes", m.db_bytes}};
  return j.dump(2) + "\n";
}

Result<BackupManifest> ParseManifest(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument("BACKUP.json is not a JSON object");
  }
  if (!j.contains("format") || !j["format"].is_string() ||
      j["format"].get<std::string>() != kBackupFormat) {
    return Status::InvalidArgument(std::string("BACKUP.json: 'format' is not \"") + kBackupFormat +
                                   "\" (a backup of another version, or not a backup)");
  }
  BackupManifest m;
  if (!j.contains("chain_name") || !j["chain_name"].is_string()) {
    return Status::InvalidArgument("BACKUP.json: 'chain_name' must be a string");
  }
  m.chain_name = j["chain_name"].get<std::string>();
  if (j.contains("node_key") && j["node_key"].is_string()) {
    m.node_key = j["node_key"].get<std::string>();
  }
  auto chain_id = HashField(j, "chain_id");
  auto tip = HashField(j, "tip_hash");
  auto digest = HashField(j, "state_digest");
  auto height = UintField(j, "height");
  auto tree = UintField(j, "tree_size");
  for (const Status* s :
       {&chain_id.status(), &tip.status(), &digest.status(), &height.status(), &tree.status()}) {
    if (!s->ok()) return *s;
  }
  m.chain_id = *chain_id;
  m.tip_hash = *tip;
  m.state_digest = *digest;
  m.height = *height;
  m.tree_size = *tree;
  for (auto [name, field] :
       {std::pair<const char*, uint64_t*>{"created_unix_ms", &m.created_unix_ms},
        {"files", &m.files},
        {"db_bytes", &m.db_bytes}}) {
    if (j.contains(name) && j[name].is_number_unsigned()) *field = j[name].get<uint64_t>();
  }
  return m;
}

Result<BackupManifest> WriteBackup(Store* store, const std::string& data_dir,
                                   const std::string& to_dir_in) {
  CHIP_RETURN_IF_ERROR(CheckPath(to_dir_in, "the backup directory"));
  const std::string to_dir = StripSlashes(to_dir_in);
  if (to_dir.front() != '/') {
    return Status::InvalidArgument("the backup directory must be an absolute path: " + to_dir);
  }
  if (Exists(to_dir)) {
    return Status::AlreadyExists(to_dir + " exists: a backup goes into a new directory");
  }
  const std::string parent = Parent(to_dir);
  if (!IsDirectory(parent))
    return Status::NotFound(parent + " does not exist or is not a directory");
  const std::string partial = to_dir + kPartialSuffix;
  if (Exists(partial)) {
    return Status::FailedPrecondition(partial +
                                      " exists, left by an interrupted backup: remove it first");
  }
  auto started = std::chrono::steady_clock::now();
  if (::mkdir(partial.c_str(), 0700) != 0) return WriteError("mkdir " + partial);
  BackupManifest m;
  auto build = [&]() -> Status {
    CHIP_RETURN_IF_ERROR(store->CreateCheckpoint(partial + "/db"));
    for (const auto& f : kDataFiles) {
      const std::string from = StripSlashes(data_dir) + "/" + f.name;
      if (Exists(from)) CHIP_RETURN_IF_ERROR(CopyFileDurable(from, partial + "/" + f.name, f.mode));
    }
    CHIP_RETURN_IF_ERROR(ReadTip(partial + "/db", &m));
    CHIP_RETURN_IF_ERROR(CountFiles(partial + "/db", &m));
    CHIP_RETURN_IF_ERROR(FsyncDir(partial + "/db"));
    if (Exists(partial + "/node_key.json")) {
      auto address = NodeKeyAddress(partial + "/node_key.json");
      if (!address.ok()) return address.status();
      m.node_key = *address;
    }
    m.created_unix_ms =
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count());
    CHIP_RETURN_IF_ERROR(WriteFileAtomic(partial + "/" + kManifestName, ManifestJson(m), 0644));
    CHIP_RETURN_IF_ERROR(FsyncDir(partial));
    if (::rename(partial.c_str(), to_dir.c_str()) != 0) {
      return Status::IoError(ErrnoText("rename " + partial + " to " + to_dir));
    }
    return FsyncDir(parent);
  };
  Status s = build();
  if (!s.ok()) {
    RemoveTree(partial);
    return s;
  }
  spdlog::info("backup of height {} written to {} ({} files, {} bytes, {} ms)", m.height, to_dir,
               m.files, m.db_bytes,
               std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - started)
                   .count());
  return m;
}

Result<BackupManifest> RestoreBackup(const std::string& backup_dir_in,
                                     const std::string& data_dir_in) {
  CHIP_RETURN_IF_ERROR(CheckPath(backup_dir_in, "the backup directory"));
  CHIP_RETURN_IF_ERROR(CheckPath(data_dir_in, "the data directory"));
  const std::string backup_dir = StripSlashes(backup_dir_in);
  const std::string data_dir = StripSlashes(data_dir_in);
  if (!IsDirectory(backup_dir)) return Status::NotFound(backup_dir + " does not exist");
  const std::string manifest_path = backup_dir + "/" + kManifestName;
  if (!Exists(manifest_path)) {
    return Status::NotFound(backup_dir + " is not a backup: it has no " + kManifestName +
                            " (an interrupted backup is left as *" + kPartialSuffix + ")");
  }
  auto text = ReadSmallFile(manifest_path, kBackupManifestBytesMax);
  if (!text.ok()) return text.status();
  auto parsed = ParseManifest(*text);
  if (!parsed.ok()) return Status::InvalidArgument(backup_dir + "/" + parsed.status().message());
  const BackupManifest& want = *parsed;
  if (!IsDirectory(backup_dir + "/db")) {
    return Status::InvalidArgument(backup_dir + " is not a backup: it has no db/ directory");
  }
  bool existing_empty_dir = false;
  if (Exists(data_dir)) {
    if (!IsDirectory(data_dir))
      return Status::AlreadyExists(data_dir + " exists and is not a directory");
    std::error_code ec;
    if (!std::filesystem::is_empty(data_dir, ec) || ec) {
      return Status::AlreadyExists(data_dir + " is not empty: restore into a new directory");
    }
    existing_empty_dir = true;
  }
  const std::string partial = data_dir + kPartialSuffix;
  if (Exists(partial)) {
    return Status::FailedPrecondition(partial +
                                      " exists, left by an interrupted restore: remove it first");
  }
  if (::mkdir(partial.c_str(), 0700) != 0) return WriteError("mkdir " + partial);
  BackupManifest got;
  auto build = [&]() -> Status {
    CHIP_RETURN_IF_ERROR(CopyDirDurable(backup_dir + "/db", partial + "/db"));
    for (const auto& f : kDataFiles) {
      const std::string from = backup_dir + "/" + f.name;
      if (Exists(from)) CHIP_RETURN_IF_ERROR(CopyFileDurable(from, partial + "/" + f.name, f.mode));
    }
    CHIP_RETURN_IF_ERROR(ReadTip(partial + "/db", &got));
    if (got.chain_id != want.chain_id || got.height != want.height ||
        got.tip_hash != want.tip_hash || got.state_digest != want.state_digest ||
        got.tree_size != want.tree_size) {
      return Status::Corruption(
          backup_dir + ": its store holds height " + std::to_string(got.height) + " with tip " +
          ToHex(got.tip_hash.data(), got.tip_hash.size()).substr(0, 16) + "..., but " +
          kManifestName + " names height " + std::to_string(want.height) + " with tip " +
          ToHex(want.tip_hash.data(), want.tip_hash.size()).substr(0, 16) +
          "... (chain, state digest and log size are compared too): the backup is damaged");
    }
    CHIP_RETURN_IF_ERROR(FsyncDir(partial));
    if (existing_empty_dir && ::rmdir(data_dir.c_str()) != 0) {
      return Status::IoError(ErrnoText("rmdir " + data_dir));
    }
    if (::rename(partial.c_str(), data_dir.c_str()) != 0) {
      return Status::IoError(ErrnoText("rename " + partial + " to " + data_dir));
    }
    return FsyncDir(Parent(data_dir));
  };
  Status s = build();
  if (!s.ok()) {
    RemoveTree(partial);
    return s;
  }
  got.created_unix_ms = want.created_unix_ms;
  got.node_key = want.node_key;
  got.files = want.files;
  got.db_bytes = want.db_bytes;
  return got;
}

}  // namespace chip::node
