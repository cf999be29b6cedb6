#include "wallet/keystore.h"

#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "ledger/address.h"
#include "ledger/file_util.h"

namespace chip::wallet {
namespace {

using json = nlohmann::json;

constexpr uint64_t kFormatVersion = 1;
constexpr char kKdfName[] = "argon2id13";
constexpr char kCipherName[] = "xchacha20poly1305-ietf";
constexpr char kKeysSubdir[] = "keys";
constexpr char kSuffix[] = ".json";
constexpr size_t kNameMax = 64;
constexpr size_t kSeedBytes = 32;
constexpr size_t kSaltBytes = crypto_pwhash_SALTBYTES;
constexpr size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kCipherKeyBytes = crypto_aead_xchacha20poly1305_ietf_KEYBYTES;
constexpr size_t kCiphertextBytes = kSeedBytes + crypto_aead_xchacha20poly1305_ietf_ABYTES;
// A key file is a few hundred bytes; the cap keeps a hostile or mistaken file
// (say, a disk image renamed to .json) from being read into memory whole.
constexpr size_t kFileBytesMax = 64 * 1024;

static_assert(kSaltBytes == 16, "the file format fixes a 16-byte salt");
static_assert(kNonceBytes == 24, "the file format fixes a 24-byte nonce");

// The wipe runs on every path out of a scope, including early error returns.
template <size_t N>
struct Wiped {
  std::array<uint8_t, N> bytes{};
  Wiped() = default;
  Wiped(const Wiped&) = delete;
  Wiped& operator=(const Wiped&) = delete;
  ~Wiped() { sodium_memzero(bytes.data(), bytes.size()); }
  uint8_t* data() { return bytes.data(); }
};

// Closes a file descriptor on scope exit (unless released).
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

std::string Errno(int err) { return std::strerror(err); }

bool LooksLikeAddress(std::string_view s) {
  if (s.size() != kAddressChars) return false;
  for (size_t i = 0; i < kAddressPrefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kAddressPrefix[i]) return false;
  }
  return true;
}

Status CheckCost(uint64_t opslimit, uint64_t memlimit, const std::string& where) {
  const KdfCost lo = KdfCost::Minimum();
  const KdfCost hi = KdfCost::Maximum();
  if (opslimit < lo.opslimit || opslimit > hi.opslimit) {
    return Status::InvalidArgument(where + "opslimit " + std::to_string(opslimit) +
                                   " out of range [" + std::to_string(lo.opslimit) + ", " +
                                   std::to_string(hi.opslimit) + "]");
  }
  if (memlimit < lo.memlimit || memlimit > hi.memlimit) {
    return Status::InvalidArgument(where + "memlimit " + std::to_string(memlimit) +
                                   " out of range [" + std::to_string(lo.memlimit) + ", " +
                                   std::to_string(hi.memlimit) + "]");
  }
  return Status::Ok();
}

// Argon2id of the passphrase into `key`. The cost must already be in bounds.
Status DeriveKey(const std::string& passphrase, const std::array<uint8_t, kSaltBytes>& salt,
                 uint64_t opslimit, uint64_t memlimit, Wiped<kCipherKeyBytes>* key) {
  if (crypto_pwhash(key->data(), kCipherKeyBytes, passphrase.data(), passphrase.size(), salt.data(),
                    opslimit, static_cast<size_t>(memlimit), crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Status::ResourceExhausted("key derivation failed (out of memory for memlimit " +
                                     std::to_string(memlimit) + ")");
  }
  return Status::Ok();
}

// ---- The key file -----------------------------------------------------------

struct KeyFile {
  std::string name;
  std::string address;
  PublicKey key{};
  uint64_t opslimit = 0;
  uint64_t memlimit = 0;
  std::array<uint8_t, kSaltBytes> salt{};
  std::array<uint8_t, kNonceBytes> nonce{};
  std::array<uint8_t, kCiphertextBytes> ciphertext{};
  bool is_protected = true;
};

std::string Serialize(const KeyFile& f) {
  // ordered_json keeps the documented field order, which is kinder to people
  // reading the file; readers do not depend on the order.
  nlohmann::ordered_json root;
  root["version"] = kFormatVersion;
  root["name"] = f.name;
  root["address"] = f.address;
  root["kdf"] = kKdfName;
  root["opslimit"] = f.opslimit;
  root["memlimit"] = f.memlimit;
  root["salt"] = ToHex(f.salt);
  root["cipher"] = kCipherName;
  root["nonce"] = ToHex(f.nonce);
  root["ciphertext"] = ToHex(f.ciphertext);
  root["protected"] = f.is_protected;
  // All strings are ASCII; `replace` only guarantees dump() cannot throw.
  return root.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

// Field readers. `where` is "<path>: " so every message names the file.
Result<const json*> Field(const json& root, const char* name, const std::string& where) {
  auto it = root.find(name);
  if (it == root.end()) {
    return Status::InvalidArgument(where + "missing field '" + name + "'");
  }
  return &*it;
}

Result<std::string> StringField(const json& root, const char* name, const std::string& where) {
  auto v = Field(root, name, where);
  if (!v.ok()) return v.status();
  if (!(*v)->is_string()) {
    return Status::InvalidArgument(where + "field '" + name + "' must be a string");
  }
  return (*v)->get<std::string>();
}

Result<uint64_t> U64Field(const json& root, const char* name, const std::string& where) {
  auto v = Field(root, name, where);
  if (!v.ok()) return v.status();
  if (!(*v)->is_number_unsigned()) {
    return Status::InvalidArgument(where + "field '" + name +
                                   "' must be a non-negative integer below 2^64");
  }
  return (*v)->get<uint64_t>();
}

Result<bool> BoolField(const json& root, const char* name, const std::string& where) {
  auto v = Field(root, name, where);
  if (!v.ok()) return v.status();
  if (!(*v)->is_boolean()) {
    return Status::InvalidArgument(where + "field '" + name + "' must be true or false");
  }
  return (*v)->get<bool>();
}

template <size_t N>
Status HexField(const json& root, const char* name, const std::string& where,
                std::array<uint8_t, N>* out) {
  auto s = StringField(root, name, where);
  if (!s.ok()) return s.status();
  if (s->size() != 2 * N) {
    return Status::InvalidArgument(where + "field '" + name + "' must be " + std::to_string(2 * N) +
                                   " hex characters (" + std::to_string(N) + " bytes), got " +
                                   std::to_string(s->size()));
  }
  auto bytes = FromHex(*s);
  if (!bytes) return Status::InvalidArgument(where + "field '" + name + "' is not valid hex");
  std::memcpy(out->data(), bytes->data(), N);
  return Status::Ok();
}

Status ExpectString(const json& root, const char* name, const char* expected,
                    const std::string& where) {
  auto s = StringField(root, name, where);
  if (!s.ok()) return s.status();
  if (*s != expected) {
    return Status::InvalidArgument(where + "unsupported " + name + " '" + *s + "' (expected '" +
                                   expected + "')");
  }
  return Status::Ok();
}

// Parses and validates everything that can be checked without the
// passphrase, including the KDF cost bounds (checked before any derivation).
Result<KeyFile> ParseKeyFile(std::string_view text, const std::string& path,
                             const std::string& file_name) {
  const std::string where = path + ": ";
  json root = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return Status::InvalidArgument(where + "not valid JSON");
  if (!root.is_object()) return Status::InvalidArgument(where + "expected a JSON object");

  // The version comes first: a future format should be reported as such, not
  // as a list of unexpected fields.
  auto version = U64Field(root, "version", where);
  if (!version.ok()) return version.status();
  if (*version != kFormatVersion) {
    return Status::InvalidArgument(where + "unsupported version " + std::to_string(*version) +
                                   " (this build reads version " + std::to_string(kFormatVersion) +
                                   ")");
  }

  static const std::set<std::string> kKnown = {"version",    "name",      "address", "kdf",
                                               "opslimit",   "memlimit",  "salt",    "nonce",
                                               "ciphertext", "protected", "cipher"};
  for (const auto& item : root.items()) {
    if (kKnown.count(item.key()) == 0) {
      return Status::InvalidArgument(where + "unknown field '" + item.key() + "'");
    }
  }

  KeyFile f;
  auto name = StringField(root, "name", where);
  if (!name.ok()) return name.status();
  // The file name is what List and Resolve go by; a file renamed by hand
  // would otherwise show one name and answer to another.
  if (*name != file_name) {
    return Status::InvalidArgument(where + "field 'name' is '" + *name +
                                   "' but the file is named for '" + file_name + "'");
  }
  f.name = std::move(*name);

  auto address = StringField(root, "address", where);
  if (!address.ok()) return address.status();
  auto key = DecodeAddress(*address);
  if (!key.ok()) {
    return Status::InvalidArgument(where + "field 'address': " + key.status().message());
  }
  f.address = std::move(*address);
  f.key = *key;

  CHIP_RETURN_IF_ERROR(ExpectString(root, "kdf", kKdfName, where));
  auto ops = U64Field(root, "opslimit", where);
  if (!ops.ok()) return ops.status();
  auto mem = U64Field(root, "memlimit", where);
  if (!mem.ok()) return mem.status();
  CHIP_RETURN_IF_ERROR(CheckCost(*ops, *mem, where));
  f.opslimit = *ops;
  f.memlimit = *mem;
  CHIP_RETURN_IF_ERROR(HexField(root, "salt", where, &f.salt));

  CHIP_RETURN_IF_ERROR(ExpectString(root, "cipher", kCipherName, where));
  CHIP_RETURN_IF_ERROR(HexField(root, "nonce", where, &f.nonce));
  CHIP_RETURN_IF_ERROR(HexField(root, "ciphertext", where, &f.ciphertext));

  auto is_protected = BoolField(root, "protected", where);
  if (!is_protected.ok()) return is_protected.status();
  f.is_protected = *is_protected;
  return f;
}

KeyInfo InfoOf(const KeyFile& f, const std::string& path) {
  return KeyInfo{f.name, f.key, f.address, f.is_protected, path};
}

// ---- Files ------------------------------------------------------------------

// Reads a key file. NotFound (with a bare message the caller replaces) when
// it does not exist.
Result<std::string> ReadSmallFile(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    int err = errno;
    if (err == ENOENT) return Status::NotFound(path);
    return Status::IoError(path + ": cannot open: " + Errno(err));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::IoError(path + ": stat: " + Errno(errno));
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(path + ": not a regular file");
  if (static_cast<uint64_t>(st.st_size) > kFileBytesMax) {
    return Status::InvalidArgument(path + ": file too large for a key file (" +
                                   std::to_string(st.st_size) + " bytes)");
  }
  std::string out;
  char buf[4096];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(path + ": read: " + Errno(errno));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    // The file may grow after fstat; the cap still holds.
    if (out.size() > kFileBytesMax) {
      return Status::InvalidArgument(path + ": file too large for a key file");
    }
  }
  return out;
}

// Makes `path` a directory with mode 0700. An existing directory is tightened
// to 0700: it holds (encrypted) secrets and nothing else.
Status EnsurePrivateDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::IoError(path + ": cannot create directory: " + Errno(errno));
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::IoError(path + ": stat: " + Errno(errno));
  if (!S_ISDIR(st.st_mode)) return Status::IoError(path + ": exists and is not a directory");
  // mkdir's mode is filtered by the umask; chmod sets it exactly.
  if ((st.st_mode & 07777) != 0700 && ::chmod(path.c_str(), 0700) != 0) {
    return Status::IoError(path + ": chmod 0700: " + Errno(errno));
  }
  return Status::Ok();
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(path + ": write: " + Errno(errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// Moves `from` to `to` unless `to` exists, atomically: two concurrent creates
// of one name cannot both succeed, and a reader sees no file or a whole one.
// false with errno EEXIST when `to` exists.
bool RenameNoReplace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) {
    return true;
  }
  if (errno != EINVAL && errno != ENOSYS) return false;
  // The file system lacks RENAME_NOREPLACE; link() also refuses to replace.
  if (::link(from.c_str(), to.c_str()) != 0) return false;
  ::unlink(from.c_str());
  return true;
}

// Writes `contents` to `dir`/`file_name` atomically and durably, refusing to
// replace an existing file: temp file (O_EXCL, 0600) in the same directory,
// fsync, rename, fsync of the directory.
Status WriteNewFileAtomic(const std::string& dir, const std::string& file_name,
                          std::string_view contents, const std::string& name_for_errors) {
  std::array<uint8_t, 8> rnd;
  RandomBytes(rnd.data(), rnd.size());
  // A leading dot keeps List from ever reading a half-written temp file.
  const std::string tmp = dir + "/." + file_name + ".tmp-" + ToHex(rnd);
  const std::string final_path = dir + "/" + file_name;

  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) return Status::IoError(tmp + ": cannot create: " + Errno(errno));
  Status st = [&]() -> Status {
    // The umask can only remove bits; fchmod makes the mode exactly 0600.
    if (::fchmod(fd.get(), 0600) != 0) return Status::IoError(tmp + ": fchmod: " + Errno(errno));
    CHIP_RETURN_IF_ERROR(WriteAll(fd.get(), contents, tmp));
    if (::fsync(fd.get()) != 0) return Status::IoError(tmp + ": fsync: " + Errno(errno));
    if (::close(fd.Release()) != 0) return Status::IoError(tmp + ": close: " + Errno(errno));
    if (!RenameNoReplace(tmp, final_path)) {
      if (errno == EEXIST) {
        return Status::AlreadyExists("a key named '" + name_for_errors + "' already exists in " +
                                     dir);
      }
      return Status::IoError(final_path + ": rename: " + Errno(errno));
    }
    return Status::Ok();
  }();
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  // The file is in place; without this the rename may not survive a crash.
  return FsyncDir(dir);
}

}  // namespace

// ---- Public API -------------------------------------------------------------

// The generic crypto_pwhash_* presets are Argon2id's in libsodium >= 1.0.15;
// naming the argon2id ones keeps the numbers tied to the algorithm we store.
KdfCost KdfCost::Interactive() {
  return {crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE, crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE};
}
KdfCost KdfCost::Minimum() {
  return {crypto_pwhash_argon2id_OPSLIMIT_MIN, crypto_pwhash_argon2id_MEMLIMIT_MIN};
}
KdfCost KdfCost::Maximum() {
  return {uint64_t{crypto_pwhash_argon2id_OPSLIMIT_MODERATE} * 4,
          size_t{crypto_pwhash_argon2id_MEMLIMIT_MODERATE} * 4};
}

Status ValidateKeyName(std::string_view name) {
  const std::string quoted = "invalid key name '" + std::string(name) + "': ";
  if (name.empty() || name.size() > kNameMax) {
    return Status::InvalidArgument(quoted + "must be 1 to " + std::to_string(kNameMax) +
                                   " characters");
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return Status::InvalidArgument(quoted + "allowed characters are A-Z a-z 0-9 _ . -");
  }
  // '.' would hide the file (and allow "." and ".."); '-' reads as a flag.
  if (name[0] == '.' || name[0] == '-') {
    return Status::InvalidArgument(quoted + "must not start with '.' or '-'");
  }
  if (LooksLikeAddress(name)) {
    return Status::InvalidArgument(quoted + "looks like an address");
  }
  return Status::Ok();
}

Keystore::Keystore(std::string wallet_dir) : dir_(std::move(wallet_dir)) {
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
  if (dir_.empty()) dir_ = ".";
}

std::string Keystore::KeysDir() const {
  return dir_ == "/" ? "/" + std::string(kKeysSubdir) : dir_ + "/" + kKeysSubdir;
}

std::string Keystore::KeyPath(const std::string& name) const {
  return KeysDir() + "/" + name + kSuffix;
}

Result<KeyInfo> Keystore::Create(const std::string& name, const std::string& passphrase,
                                 const KdfCost& cost) {
  SecretKey sk = GenerateKey();
  Wiped<kSeedBytes> seed;
  // Copied straight from the key: Seed() would leave an unwiped temporary.
  std::memcpy(seed.data(), sk.bytes.data(), kSeedBytes);
  return Store(name, seed.bytes, passphrase, !passphrase.empty(), cost);
}

Result<KeyInfo> Keystore::Import(const std::string& name, const std::array<uint8_t, 32>& seed,
                                 const std::string& passphrase, bool is_protected,
                                 const KdfCost& cost) {
  // The flag tells the CLI whether to prompt; a mismatch would make a key
  // that cannot be unlocked without knowing to ignore it.
  if (is_protected && passphrase.empty()) {
    return Status::InvalidArgument("a protected key needs a non-empty passphrase");
  }
  if (!is_protected && !passphrase.empty()) {
    return Status::InvalidArgument("an unprotected (development) key uses the empty passphrase");
  }
  return Store(name, seed, passphrase, is_protected, cost);
}

Result<KeyInfo> Keystore::Store(const std::string& name, const std::array<uint8_t, 32>& seed,
                                const std::string& passphrase, bool is_protected,
                                const KdfCost& cost) {
  CHIP_RETURN_IF_ERROR(ValidateKeyName(name));
  CHIP_RETURN_IF_ERROR(CheckCost(cost.opslimit, cost.memlimit, "KDF cost: "));
  const std::string keys_dir = KeysDir();
  const std::string path = KeyPath(name);
  // A cheap early answer; the rename below is what actually guarantees it.
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    return Status::AlreadyExists("a key named '" + name + "' already exists in " + keys_dir);
  }

  // mkdir -p for the wallet directory itself, then a private keys/.
  struct stat dst;
  if (::stat(dir_.c_str(), &dst) != 0) {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) return Status::IoError(dir_ + ": cannot create directory: " + ec.message());
    if (::chmod(dir_.c_str(), 0700) != 0) {
      return Status::IoError(dir_ + ": chmod 0700: " + Errno(errno));
    }
  }
  CHIP_RETURN_IF_ERROR(EnsurePrivateDir(keys_dir));

  SecretKey sk = KeyFromSeed(seed);
  KeyFile f;
  f.name = name;
  f.key = sk.Public();
  f.address = EncodeAddress(f.key);
  f.opslimit = cost.opslimit;
  f.memlimit = cost.memlimit;
  f.is_protected = is_protected;
  RandomBytes(f.salt.data(), f.salt.size());
  RandomBytes(f.nonce.data(), f.nonce.size());

  Wiped<kCipherKeyBytes> key;
  CHIP_RETURN_IF_ERROR(DeriveKey(passphrase, f.salt, f.opslimit, f.memlimit, &key));
  unsigned long long clen = 0;
  // The address is the additional data: changing it in the file breaks the tag.
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      f.ciphertext.data(), &clen, seed.data(), seed.size(),
      reinterpret_cast<const unsigned char*>(f.address.data()), f.address.size(), nullptr,
      f.nonce.data(), key.data());
  if (clen != kCiphertextBytes) return Status::Internal("unexpected ciphertext length");

  CHIP_RETURN_IF_ERROR(WriteNewFileAtomic(keys_dir, name + kSuffix, Serialize(f), name));
  return InfoOf(f, path);
}

Result<std::vector<KeyInfo>> Keystore::List() const {
  const std::string keys_dir = KeysDir();
  DIR* d = ::opendir(keys_dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return std::vector<KeyInfo>{};  // no key created yet
    return Status::IoError(keys_dir + ": cannot list: " + Errno(errno));
  }
  std::vector<std::string> names;
  const std::string_view suffix = kSuffix;
  while (true) {
    errno = 0;
    struct dirent* e = ::readdir(d);
    if (e == nullptr) {
      int err = errno;
      ::closedir(d);
      if (err != 0) return Status::IoError(keys_dir + ": cannot list: " + Errno(err));
      break;
    }
    std::string_view file = e->d_name;
    if (file.empty() || file[0] == '.') continue;
    if (file.size() <= suffix.size() || file.substr(file.size() - suffix.size()) != suffix) {
      continue;
    }
    names.emplace_back(file.substr(0, file.size() - suffix.size()));
  }
  std::sort(names.begin(), names.end());

  std::vector<KeyInfo> out;
  for (const std::string& name : names) {
    Status valid = ValidateKeyName(name);
    if (!valid.ok()) return Status::InvalidArgument(KeyPath(name) + ": " + valid.message());
    auto info = Info(name);
    // A key deleted since readdir is simply no longer listed.
    if (!info.ok() && info.status().code() == Status::Code::kNotFound) continue;
    if (!info.ok()) return info.status();
    out.push_back(std::move(*info));
  }
  return out;
}

Result<KeyInfo> Keystore::Info(const std::string& name) const {
  CHIP_RETURN_IF_ERROR(ValidateKeyName(name));
  const std::string path = KeyPath(name);
  auto text = ReadSmallFile(path);
  if (!text.ok()) {
    if (text.status().code() == Status::Code::kNotFound) {
      return Status::NotFound("no key named '" + name + "' in " + KeysDir());
    }
    return text.status();
  }
  auto f = ParseKeyFile(*text, path, name);
  if (!f.ok()) return f.status();
  return InfoOf(*f, path);
}

Result<SecretKey> Keystore::Unlock(const std::string& name, const std::string& passphrase) const {
  CHIP_RETURN_IF_ERROR(ValidateKeyName(name));
  const std::string path = KeyPath(name);
  auto text = ReadSmallFile(path);
  if (!text.ok()) {
    if (text.status().code() == Status::Code::kNotFound) {
      return Status::NotFound("no key named '" + name + "' in " + KeysDir());
    }
    return text.status();
  }
  auto f = ParseKeyFile(*text, path, name);
  if (!f.ok()) return f.status();

  Wiped<kCipherKeyBytes> key;
  CHIP_RETURN_IF_ERROR(DeriveKey(passphrase, f->salt, f->opslimit, f->memlimit, &key));
  Wiped<kSeedBytes> seed;
  unsigned long long mlen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          seed.data(), &mlen, nullptr, f->ciphertext.data(), f->ciphertext.size(),
          reinterpret_cast<const unsigned char*>(f->address.data()), f->address.size(),
          f->nonce.data(), key.data()) != 0 ||
      mlen != kSeedBytes) {
    // A wrong passphrase and an altered file look the same to the AEAD.
    return Status::InvalidArgument("wrong passphrase for key '" + name + "'");
  }
  SecretKey sk = KeyFromSeed(seed.bytes);
  // Only a faulty writer can get here (the tag covers the address), but a key
  // that signs for an account other than the one displayed must never be used.
  if (sk.Public() != f->key) {
    return Status::Corruption(path + ": decrypted key does not match address " + f->address);
  }
  return sk;
}

Result<PublicKey> Keystore::Resolve(const std::string& name_or_address) const {
  // Key names can never look like an address, so this test is unambiguous and
  // a mistyped address is reported as such rather than as a missing key.
  if (LooksLikeAddress(name_or_address)) {
    auto key = DecodeAddress(name_or_address);
    if (!key.ok()) {
      return Status::InvalidArgument("'" + name_or_address +
                                     "' is not a valid address: " + key.status().message());
    }
    return *key;
  }
  auto info = Info(name_or_address);
  if (!info.ok()) return info.status();
  return info->key;
}

Result<std::array<uint8_t, 32>> ParseSeedHex(std::string_view hex) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!hex.empty() && is_space(hex.front())) hex.remove_prefix(1);
  while (!hex.empty() && is_space(hex.back())) hex.remove_suffix(1);
  if (hex.size() != 2 * kSeedBytes) {
    return Status::InvalidArgument("secret key must be " + std::to_string(2 * kSeedBytes) +
                                   " hex characters (a 32-byte seed), got " +
                                   std::to_string(hex.size()));
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  // Decoded in place rather than through FromHex, whose std::string result
  // could not be wiped.
  Wiped<kSeedBytes> seed;
  for (size_t i = 0; i < kSeedBytes; ++i) {
    int hi = nibble(hex[2 * i]);
    int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return Status::InvalidArgument("secret key is not valid hex (bad character at position " +
                                     std::to_string(hi < 0 ? 2 * i + 1 : 2 * i + 2) + ")");
    }
    seed.bytes[i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return seed.bytes;
}

}  // namespace chip::wallet
