#include "ledger/checkpoint.h"

#include <sodium.h>

#include <cstring>

#include "ledger/address.h"

namespace chip {
namespace {

constexpr std::string_view kSignaturePrefix = "\xe2\x80\x94 ";  // em dash, space
constexpr uint8_t kEd25519NoteType = 0x01;
constexpr size_t kNoteBytesMax = 16 * 1024;

bool ParseDecimal(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 20 || (s.size() > 1 && s[0] == '0')) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    uint64_t next;
    if (__builtin_mul_overflow(v, uint64_t{10}, &next) ||
        __builtin_add_overflow(next, static_cast<uint64_t>(c - '0'), &next)) {
      return false;
    }
    v = next;
  }
  *out = v;
  return true;
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  // libsodium 1.0.18 reads bytes 0x80-0xff as '/', so check the alphabet
  // first: only canonical base64 text is accepted (found by fuzz_proofs).
  for (char c : text) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/' || c == '=';
    if (!ok) return std::nullopt;
  }
  std::string out(text.size(), '\0');
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return std::nullopt;
  }
  out.resize(len);
  return out;
}

std::string CheckpointOrigin(std::string_view chain_name, const Hash32& chain_id) {
  return "chipledger/" + std::string(chain_name) + "/" + ToHex(chain_id);
}

std::string CheckpointText(const Checkpoint& c) {
  return c.origin + "\n" + std::to_string(c.tree_size) + "\n" + Base64Encode(AsView(c.root)) + "\n";
}

std::array<uint8_t, 4> NoteKeyId(std::string_view key_name, const PublicKey& key) {
  std::string msg(key_name);
  msg.push_back('\n');
  msg.push_back(static_cast<char>(kEd25519NoteType));
  PutHash(&msg, key);
  Hash32 h = Sha256(msg);
  return {h[0], h[1], h[2], h[3]};
}

std::string NoteVerifierKey(std::string_view key_name, const PublicKey& key) {
  auto id = NoteKeyId(key_name, key);
  std::string typed(1, static_cast<char>(kEd25519NoteType));
  PutHash(&typed, key);
  return std::string(key_name) + "+" + ToHex(id.data(), id.size()) + "+" + Base64Encode(typed);
}

std::string SignCheckpoint(const Checkpoint& c, const SecretKey& key) {
  std::string text = CheckpointText(c);
  PublicKey pk = key.Public();
  std::string name = EncodeAddress(pk);
  auto id = NoteKeyId(name, pk);
  Signature sig = Sign(key, text);
  std::string blob(reinterpret_cast<const char*>(id.data()), id.size());
  blob.append(reinterpret_cast<const char*>(sig.data()), sig.size());
  return text + "\n" + std::string(kSignaturePrefix) + name + " " + Base64Encode(blob) + "\n";
}

Result<Checkpoint> VerifyCheckpoint(std::string_view note, const PublicKey& key) {
  if (note.size() > kNoteBytesMax) return Status::InvalidArgument("checkpoint note too large");
  size_t split = note.find("\n\n");
  if (split == std::string_view::npos) {
    return Status::InvalidArgument("checkpoint note has no blank line before its signatures");
  }
  std::string_view text = note.substr(0, split + 1);
  std::string_view sigs = note.substr(split + 2);
  std::string name = EncodeAddress(key);
  auto want_id = NoteKeyId(name, key);
  bool found = false, verified = false;
  while (!sigs.empty()) {
    size_t nl = sigs.find('\n');
    if (nl == std::string_view::npos) {
      return Status::InvalidArgument("checkpoint signature line not terminated");
    }
    std::string_view line = sigs.substr(0, nl);
    sigs.remove_prefix(nl + 1);
    if (line.substr(0, kSignaturePrefix.size()) != kSignaturePrefix) {
      return Status::InvalidArgument("malformed checkpoint signature line");
    }
    line.remove_prefix(kSignaturePrefix.size());
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos) return Status::InvalidArgument("malformed signature line");
    if (line.substr(0, sp) != name) continue;  // another signer's line
    auto blob = Base64Decode(line.substr(sp + 1));
    if (!blob || blob->size() != 4 + kSignatureBytes) continue;
    if (std::memcmp(blob->data(), want_id.data(), 4) != 0) continue;
    found = true;
    verified = Verify(AsView(key), text, std::string_view(*blob).substr(4));
    if (verified) break;
  }
  if (!found) return Status::InvalidArgument("checkpoint carries no signature by " + name);
  if (!verified) return Status::InvalidArgument("checkpoint signature does not verify");

  // Body: origin, size, root, then optional extension lines.
  Checkpoint c;
  std::string_view rest = text;
  auto next_line = [&](std::string_view* line) {
    size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) return false;
    *line = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
    return true;
  };
  std::string_view origin, size, root;
  if (!next_line(&origin) || !next_line(&size) || !next_line(&root) || origin.empty()) {
    return Status::InvalidArgument("checkpoint body needs origin, size and root lines");
  }
  c.origin = std::string(origin);
  if (!ParseDecimal(size, &c.tree_size)) return Status::InvalidArgument("checkpoint size");
  auto root_bytes = Base64Decode(root);
  auto root_hash = root_bytes ? ToHash32(*root_bytes) : std::nullopt;
  if (!root_hash) return Status::InvalidArgument("checkpoint root is not a base64 32-byte hash");
  c.root = *root_hash;
  return c;
}

}  // namespace chip
