// Tests of the wallet keystore (wallet/keystore.h): round trips, file modes,
// tamper detection and the handling of malformed or hostile key files.
#include "wallet/keystore.h"

#include <sodium.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "ledger/address.h"
#include "tests/test_util.h"

namespace chip::wallet {
namespace {

using json = nlohmann::json;
using chip::test::TempDir;

// RFC 8032, section 7.1, TEST 1.
constexpr char kRfcSeedHex[] = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr char kRfcPublicHex[] = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

const KdfCost kFast = KdfCost::Minimum();

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  REQUIRE(out.good());
}

json ReadJson(const std::string& path) {
  json j = json::parse(ReadText(path), nullptr, /*allow_exceptions=*/false);
  REQUIRE(j.is_object());
  return j;
}

void WriteJson(const std::string& path, const json& j) { WriteText(path, j.dump(2)); }

// Flips the last hex digit of a string field (a bit change, length kept).
void FlipHexField(const std::string& path, const char* field) {
  json j = ReadJson(path);
  std::string s = j[field].get<std::string>();
  s.back() = s.back() == '0' ? '1' : '0';
  j[field] = s;
  WriteJson(path, j);
}

std::array<uint8_t, 32> Seed(uint8_t n) {
  std::array<uint8_t, 32> s;
  s.fill(n);
  return s;
}

int ModeOf(const std::string& path) {
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<int>(st.st_mode & 07777);
}

// Expects an InvalidArgument whose message names `path` and contains `what`.
void RequireFileError(const Status& s, const std::string& path, const std::string& what) {
  INFO(s.ToString());
  REQUIRE(s.code() == Status::Code::kInvalidArgument);
  CHECK(s.message().find(path) != std::string::npos);
  CHECK(s.message().find(what) != std::string::npos);
}

TEST_CASE("create then unlock round trips", "[wallet]") {
  TempDir tmp;
  Keystore ks(tmp.Sub("wallet"));  // does not exist yet: Create makes it
  auto created = ks.Create("alice", "correct horse", kFast);
  REQUIRE(created.ok());
  CHECK(created->name == "alice");
  CHECK(created->is_protected);
  CHECK(created->address == EncodeAddress(created->key));
  CHECK(created->path == tmp.Sub("wallet") + "/keys/alice.json");

  auto list = ks.List();
  REQUIRE(list.ok());
  REQUIRE(list->size() == 1);
  CHECK((*list)[0].name == "alice");
  CHECK((*list)[0].key == created->key);

  auto sk = ks.Unlock("alice", "correct horse");
  REQUIRE(sk.ok());
  CHECK(sk->Public() == (*list)[0].key);
  // The key really signs for the listed account.
  CHECK(Verify((*list)[0].key, "msg", Sign(*sk, "msg")));

  auto info = ks.Info("alice");
  REQUIRE(info.ok());
  CHECK(info->key == created->key);
  CHECK(info->address == created->address);

  // The file carries the documented fields, and no plaintext seed.
  json j = ReadJson(created->path);
  CHECK(j["version"] == 1);
  CHECK(j["name"] == "alice");
  CHECK(j["address"] == created->address);
  CHECK(j["kdf"] == "argon2id13");
  CHECK(j["cipher"] == "xchacha20poly1305-ietf");
  CHECK(j["opslimit"] == kFast.opslimit);
  CHECK(j["memlimit"] == kFast.memlimit);
  CHECK(j["salt"].get<std::string>().size() == 32);
  CHECK(j["nonce"].get<std::string>().size() == 48);
  CHECK(j["ciphertext"].get<std::string>().size() == 96);
  CHECK(j["protected"] == true);
  CHECK(ReadText(created->path).find(ToHex(sk->Seed())) == std::string::npos);
}

TEST_CASE("two keys under one passphrase get distinct salts and nonces", "[wallet]") {
  TempDir tmp;
  Keystore ks(tmp.path());
  REQUIRE(ks.Create("a", "pw", kFast).ok());
  REQUIRE(ks.Create("b", "pw", kFast).ok());
  json a = ReadJson(tmp.Sub("keys/a.json"));
  json b = ReadJson(tmp.Sub("keys/b.json"));
  CHECK(a["salt"] != b["salt"]);
  CHECK(a["nonce"] != b["nonce"]);
  CHECK(a["address"] != b["address"]);
}

TEST_CASE("wrong passphrase gives the exact message", "[wallet]") {
  TempDir tmp;
  Keystore ks(tmp.path());
  REQUIRE(ks.Create("alice", "right", kFast).ok());
  auto sk = ks.Unlock("alice", "wrong");
  REQUIRE_FALSE(sk.ok());
  CHECK(sk.status().code() == Status::Code::kInvalidArgument);
  CHECK(sk.status().message() == "wrong passphrase for key 'alice'");
  CHECK_FALSE(ks.Unlock("alice", "").ok());
  CHECK(ks.Unlock("alice", "right").ok());
}

TEST_CASE("key files are 0600 and keys/ is 0700, whatever the umask", "[wallet]") {
  TempDir tmp;
  mode_t old = ::umask(0);  // the most permissive umask
  Keystore ks(tmp.Sub("w"));
  auto created = ks.Create("alice", "pw", kFast);
  ::umask(old);
  REQUIRE(created.ok());
  CHECK(ModeOf(created->path) == 0600);
  CHECK(ModeOf(tmp.Sub("w/keys")) == 0700);
  CHECK(ModeOf(tmp.Sub("w")) == 0700);

  // An existing, too open keys/ is tightened on the next write.
  REQUIRE(::chmod(tmp.Sub("w/keys").c_str(), 0755) == 0);
  REQUIRE(ks.Create("bob", "pw", kFast).ok());
  CHECK(ModeOf(tmp.Sub("w/keys")) == 0700);
  CHECK(ModeOf(tmp.Sub("w/keys/bob.json")) == 0600);

  // No temp file is left behind.
  auto list = ks.List();
  REQUIRE(list.ok());
  size_t entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(tmp.Sub("w/keys"))) {
    (void)e;
    ++entries;
  }
  CHECK(entries == 2);
}

TEST_CASE("tampering is detected, never yielding a different key", "[wallet]") {
  TempDir tmp;
  Keystore ks(tmp.path());
  auto created = ks.Create("alice", "pw", kFast);
  REQUIRE(created.ok());
  const std::string path = created->path;
  const std::string original = ReadText(path);

  for (const char* field : {"ciphertext", "nonce", "salt"}) {
    SECTION(std::string("altered ") + field) {
      FlipHexField(path, field);
      auto sk = ks.Unlock("alice", "pw");
      REQUIRE_FALSE(sk.ok());
      CHECK(sk.status().message() == "wrong passphrase for key 'alice'");
    }
  }

  SECTION("address swapped for another valid address") {
    json j = ReadJson(path);
    j["address"] = EncodeAddress(chip::test::TestKey(7).Public());
    WriteJson(path, j);
    // Info has no way to know (no passphrase), but Unlock must refuse.
    auto sk = ks.Unlock("alice", "pw");
    REQUIRE_FALSE(sk.ok());
    CHECK(sk.status().code() == Status::Code::kInvalidArgument);
  }

  SECTION("address with a broken checksum") {
    json j = ReadJson(path);
    std::string a = j["address"].get<std::string>();
    a[10] = a[10] == 'a' ? 'b' : 'a';
    j["address"] = a;
    WriteJson(path, j);
    RequireFileError(ks.Unlock("alice", "pw").status(), path, "address");
    RequireFileError(ks.Info("alice").status(), path, "address");
  }

  SECTION("restored file works again") {
    FlipHexField(path, "ciphertext");
    WriteText(path, original);
    CHECK(ks.Unlock("alice", "pw").ok());
  }
}

TEST_CASE("a seed that does not match the address is Corruption", "[wallet]") {
  // Built by hand as a faulty writer would: seed of key 2, address of key 1,
  // encrypted correctly (so the tag verifies).
  TempDir tmp;
  Keystore ks(tmp.path());
  REQUIRE(ks.Create("seed", "pw", kFast).ok());  // creates keys/
  const std::string address = EncodeAddress(KeyFromSeed(Seed(1)).Public());
  std::array<uint8_t, 32> seed = Seed(2);
  std::array<uint8_t, 16> salt;
  std::array<uint8_t, 24> nonce;
  salt.fill(3);
  nonce.fill(4);
  std::array<uint8_t, 32> key;
  REQUIRE(crypto_pwhash(key.data(), key.size(), "pw", 2, salt.data(), kFast.opslimit,
                        kFast.memlimit, crypto_pwhash_ALG_ARGON2ID13) == 0);
  std::array<uint8_t, 48> ct;
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(ct.data(), &clen, seed.data(), seed.size(),
                                             reinterpret_cast<const unsigned char*>(address.data()),
                                             address.size(), nullptr, nonce.data(), key.data());
  REQUIRE(clen == 48);
  json j = {{"version", 1},
            {"name", "bad"},
            {"address", address},
            {"kdf", "argon2id13"},
            {"opslimit", kFast.opslimit},
            {"memlimit", kFast.memlimit},
            {"salt", ToHex(salt)},
            {"cipher", "xchacha20poly1305-ietf"},
            {"nonce", ToHex(nonce)},
            {"ciphertext", ToHex(ct)},
            {"protected", true}};
  WriteJson(tmp.Sub("keys/bad.json"), j);

  auto info = ks.Info("bad");
  REQUIRE(info.ok());  // well formed: only decryption can tell
  auto sk = ks.Unlock("bad", "pw");
  REQUIRE_FALSE(sk.ok());
  CHECK(sk.status().code() == Status::Code::kCorruption);
  CHECK(sk.status().message().find("does not match address") != std::string::npos);
}

TEST_CASE("hostile or out-of-range KDF costs are refused before derivation", "[wallet]") {
  TempDir tmp;
  Keystore ks(tmp.path());
  auto created = ks.Create("alice", "pw", kFast);
  REQUIRE(created.ok());
  const std::string path = created->path;
  const json good = ReadJson(path);

  struct Case {
    const char* field;
    uint64_t value;
  };
  const KdfCost hi = KdfCost::Maximum();
  for (Case c :
       {Case{"memlimit", uint64_t{1} << 40}, Case{"memlimit", hi.memlimit + 1},
        Case{"memlimit", kFast.memlimit - 1}, Case{"memlimit", 0},
        Case{"opslimit", hi.opslimit + 1}, Case{"opslimit", 0}, Case{"opslimit", ~uint64_t{0}}}) {
    json j = good;
    j[c.field] = c.value;
    WriteJson(path, j);
    INFO(c.field << " = " << c.value);
    RequireFileError(ks.Unlock("alice", "pw").status(), path, c.field);
    RequireFileError(ks.Info("alice").status(), path, "out of range");
  }

  // The bounds hold on creation too: we never write a file we would refuse.
  CHECK(ks.Create("x", "pw", KdfCost{0, kFast.memlimit}).status().code() ==
        Status::Code::kInvalidArgument);
  CHECK(ks.Create("x", "pw", KdfCost{kFast.opslimit, hi.memlimit * 2}).status().code() ==
        Status::Code::kInvalidArgument);
  CHECK(ks.Info("x").status().code() == Status::Code::kNotFound);
}

TEST_CASE("malformed key files give an error naming the file and the problem", "[wallet]") {
  TempDir tmp;
  Keystore ks(tmp.path());
  auto created = ks.Create("alice", "pw", kFast);
  REQUIRE(created.ok());
  const std::string path = created->path;
  const json good = ReadJson(path);

  auto expect = [&](const std::string& what) {
    RequireFileError(ks.Info("alice").status(), path, what);
    RequireFileError(ks.Unlock("alice", "pw").status(), path, what);
    // List does not skip it silently.
    RequireFileError(ks.List().status(), path, what);
    // Resolve by name reports it too.
    RequireFileError(ks.Resolve("alice").status(), path, what);
  };

  SECTION("not JSON") {
    for (const char* text : {"", "{", "not json", "{\"version\":1,}", "\xff\xfe"}) {
      WriteText(path, text);
      expect("not valid JSON");
    }
  }
  SECTION("not an object") {
    for (const char* text : {"[]", "1", "\"x\"", "null"}) {
      WriteText(path, text);
      expect("expected a JSON object");
    }
  }
  SECTION("missing fields") {
    for (const auto& item : good.items()) {
      json j = good;
      j.erase(item.key());
      WriteJson(path, j);
      expect("missing field '" + item.key() + "'");
    }
  }
  SECTION("wrong field types") {
    struct Case {
      const char* field;
      json value;
      const char* what;
    };
    const std::vector<Case> cases = {
        {"version", "1", "field 'version' must be a non-negative integer"},
        {"version", 1.0, "field 'version' must be a non-negative integer"},
        {"version", -1, "field 'version' must be a non-negative integer"},
        {"name", 5, "field 'name' must be a string"},
        {"address", json::array(), "field 'address' must be a string"},
        {"kdf", nullptr, "field 'kdf' must be a string"},
        {"opslimit", "2", "field 'opslimit' must be a non-negative integer"},
        {"memlimit", 8192.5, "field 'memlimit' must be a non-negative integer"},
        {"salt", 16, "field 'salt' must be a string"},
        {"cipher", true, "field 'cipher' must be a string"},
        {"nonce", json::object(), "field 'nonce' must be a string"},
        {"ciphertext", nullptr, "field 'ciphertext' must be a string"},
        {"protected", "true", "field 'protected' must be true or false"},
        {"protected", 1, "field 'protected' must be true or false"},
    };
    for (const Case& c : cases) {
      json j = good;
      j[c.field] = c.value;
      WriteJson(path, j);
      INFO(c.field << " = " << c.value.dump());
      expect(c.what);
    }
  }
  SECTION("wrong hex lengths and bad hex") {
    struct Case {
      const char* field;
      std::string value;
      const char* what;
    };
    const std::string salt = good["salt"].get<std::string>();
    const std::string nonce = good["nonce"].get<std::string>();
    const std::string ct = good["ciphertext"].get<std::string>();
    const std::vector<Case> cases = {
        {"salt", salt.substr(2), "field 'salt' must be 32 hex characters (16 bytes), got 30"},
        {"salt", salt + "00", "field 'salt' must be 32 hex characters"},
        {"salt", "", "field 'salt' must be 32 hex characters"},
        {"nonce", nonce.substr(2), "field 'nonce' must be 48 hex characters (24 bytes), got 46"},
        {"nonce", nonce + "0", "field 'nonce' must be 48 hex characters"},
        {"ciphertext", ct.substr(2), "field 'ciphertext' must be 96 hex characters"},
        {"ciphertext", ct + ct, "field 'ciphertext' must be 96 hex characters"},
        {"salt", "zz" + salt.substr(2), "field 'salt' is not valid hex"},
        {"nonce", nonce.substr(2) + "g0", "field 'nonce' is not valid hex"},
    };
    for (const Case& c : cases) {
      json j = good;
      j[c.field] = c.value;
      WriteJson(path, j);
      INFO(c.field << " = " << c.value);
      expect(c.what);
    }
  }
  SECTION("unsupported values and unknown fields") {
    struct Case {
      const char* field;
      json value;
      const char* what;
    };
    const std::vector<Case> cases = {
        {"version", 2, "unsupported version 2"},
        {"kdf", "scrypt", "unsupported kdf 'scrypt'"},
        {"cipher", "aes256gcm", "unsupported cipher 'aes256gcm'"},
        {"name", "bob", "field 'name' is 'bob'"},
        {"extra", 1, "unknown field 'extra'"},
        {"address", "chip", "field 'address'"},
    };
    for (const Case& c : cases) {
      json j = good;
      j[c.field] = c.value;
      WriteJson(path, j);
      INFO(c.field << " = " << c.value.dump());
      expect(c.what);
    }
  }
  SECTION("oversized file") {
    WriteText(path, std::string(100 * 1024, ' '));
    expect("too large");
  }
  SECTION("a directory where a key file should be") {
    std::filesystem::remove(path);
    std::filesystem::create_directory(path);
    expect("not a regular file");
  }
}

TEST_CASE("creating over an existing name is refused", "[wallet]") {
  TempDir tmp;
  Keystore ks(tmp.path());
  auto first = ks.Create("alice", "pw1", kFast);
  REQUIRE(first.ok());
  auto again = ks.Create("alice", "pw2", kFast);
  REQUIRE_FALSE(again.ok());
  CHECK(again.status().code() == Status::Code::kAlreadyExists);
  CHECK(again.status().message().find("'alice'") != std::string::npos);
  auto imported = ks.Import("alice", Seed(9), "pw3", true, kFast);
  CHECK(imported.status().code() == Status::Code::kAlreadyExists);
  // The original is untouched.
  auto sk = ks.Unlock("alice", "pw1");
  REQUIRE(sk.ok());
  CHECK(sk->Public() == first->key);
}

TEST_CASE("key names are validated", "[wallet]") {
  TempDir tmp;
  Keystore ks(tmp.path());
  const std::string address_shaped = "chip" + std::string(58, 'a');
  REQUIRE(address_shaped.size() == kAddressChars);
  for (const std::string& bad :
       {std::string(), std::string(65, 'a'), std::string(".hidden"), std::string("-flag"),
        std::string("."), std::string(".."), std::string("a/b"), std::string("../x"),
        std::string("a b"), std::string("a\nb"), std::string("é"), std::string("a:b"),
        std::string("a\0b", 3), address_shaped, std::string("CHIP") + std::string(58, 'a')}) {
    INFO("name '" << bad << "'");
    auto r = ks.Create(bad, "pw", kFast);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Status::Code::kInvalidArgument);
    CHECK(r.status().message().find("invalid key name") != std::string::npos);
    CHECK(ks.Info(bad).status().code() == Status::Code::kInvalidArgument);
    CHECK(ks.Unlock(bad, "pw").status().code() == Status::Code::kInvalidArgument);
  }
  // Nothing was written for them.
  auto list = ks.List();
  REQUIRE(list.ok());
  CHECK(list->empty());

  for (const std::string& good :
       {std::string("a"), std::string(64, 'z'), std::string("a.b-c_D9"), std::string("chip"),
        std::string("x-"), std::string("9"), "chip" + std::string(57, 'a'),
        "chip" + std::string(59, 'a'), "chap" + std::string(58, 'a')}) {
    INFO("name '" << good << "'");
    CHECK(ValidateKeyName(good).ok());
    CHECK(ks.Create(good, "pw", kFast).ok());
  }
}

TEST_CASE("List is sorted by name and ignores unrelated files", "[wallet]") {
  TempDir tmp;
  Keystore ks(tmp.path() + "///");  // trailing slashes are dropped
  CHECK(ks.dir() == tmp.path());
  auto empty = ks.List();  // no keys/ directory yet
  REQUIRE(empty.ok());
  CHECK(empty->empty());

  for (const char* name : {"zeta", "alpha", "Mid", "beta.2", "beta"}) {
    REQUIRE(ks.Create(name, "pw", kFast).ok());
  }
  WriteText(tmp.Sub("keys/README"), "not a key");
  WriteText(tmp.Sub("keys/.alpha.json.tmp-0011223344556677"), "partial");
  WriteText(tmp.Sub("keys/zeta.json~"), "editor backup");

  auto list = ks.List();
  REQUIRE(list.ok());
  std::vector<std::string> names;
  for (const KeyInfo& k : *list) names.push_back(k.name);
  CHECK(names == std::vector<std::string>{"Mid", "alpha", "beta", "beta.2", "zeta"});
  for (const KeyInfo& k : *list) {
    CHECK(k.path == tmp.Sub("keys/" + k.name + ".json"));
    CHECK(k.address == EncodeAddress(k.key));
  }

  // A .json file whose name is not a valid key name is reported, not skipped.
  WriteText(tmp.Sub("keys/-bad.json"), "{}");
  auto bad = ks.List();
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("-bad.json") != std::string::npos);
}

TEST_CASE("Resolve accepts names and addresses and rejects mistyped addresses", "[wallet]") {
  TempDir tmp;
  Keystore ks(tmp.path());
  auto alice = ks.Create("alice", "pw", kFast);
  REQUIRE(alice.ok());

  auto by_name = ks.Resolve("alice");
  REQUIRE(by_name.ok());
  CHECK(*by_name == alice->key);

  // An address need not be in the wallet.
  const PublicKey other = chip::test::TestKey(5).Public();
  const std::string address = EncodeAddress(other);
  auto by_address = ks.Resolve(address);
  REQUIRE(by_address.ok());
  CHECK(*by_address == other);
  std::string upper = address;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto by_upper = ks.Resolve(upper);
  REQUIRE(by_upper.ok());
  CHECK(*by_upper == other);

  // One character changed: the checksum catches it, and it is not looked up
  // as a name.
  std::string typo = address;
  typo[20] = typo[20] == 'q' ? 'r' : 'q';
  auto bad = ks.Resolve(typo);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == Status::Code::kInvalidArgument);
  CHECK(bad.status().message().find("not a valid address") != std::string::npos);

  auto missing = ks.Resolve("bob");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == Status::Code::kNotFound);
  CHECK(missing.status().message() == "no key named 'bob' in " + tmp.path() + "/keys");

  CHECK(ks.Resolve("").status().code() == Status::Code::kInvalidArgument);
  CHECK(ks.Resolve("a/b").status().code() == Status::Code::kInvalidArgument);
}

TEST_CASE("Info and Unlock of a missing key are NotFound", "[wallet]") {
  TempDir tmp;
  Keystore ks(tmp.path());
  const std::string expected = "no key named 'ghost' in " + tmp.path() + "/keys";
  auto info = ks.Info("ghost");
  CHECK(info.status().code() == Status::Code::kNotFound);
  CHECK(info.status().message() == expected);
  auto sk = ks.Unlock("ghost", "pw");
  CHECK(sk.status().code() == Status::Code::kNotFound);
  CHECK(sk.status().message() == expected);
}

TEST_CASE("Import of the RFC 8032 test-1 seed gives its address", "[wallet]") {
  TempDir tmp;
  Keystore ks(tmp.path());
  auto seed = ParseSeedHex(kRfcSeedHex);
  REQUIRE(seed.ok());
  auto expected_key = Hash32FromHex(kRfcPublicHex);
  REQUIRE(expected_key.has_value());

  auto imported = ks.Import("rfc", *seed, "pw", true, kFast);
  REQUIRE(imported.ok());
  CHECK(imported->key == *expected_key);
  CHECK(imported->address == EncodeAddress(*expected_key));
  CHECK(imported->is_protected);

  auto sk = ks.Unlock("rfc", "pw");
  REQUIRE(sk.ok());
  CHECK(sk->Seed() == *seed);
  CHECK(sk->Public() == *expected_key);
}

TEST_CASE("development keys use the empty passphrase", "[wallet]") {
  TempDir tmp;
  Keystore ks(tmp.path());
  auto dev = ks.Import("dev", Seed(1), "", /*is_protected=*/false, kFast);
  REQUIRE(dev.ok());
  CHECK_FALSE(dev->is_protected);
  CHECK(ReadJson(dev->path)["protected"] == false);
  auto info = ks.Info("dev");
  REQUIRE(info.ok());
  CHECK_FALSE(info->is_protected);
  // Still encrypted: the seed does not appear in the file.
  CHECK(ReadText(dev->path).find(ToHex(Seed(1))) == std::string::npos);
  auto sk = ks.Unlock("dev", "");
  REQUIRE(sk.ok());
  CHECK(sk->Public() == KeyFromSeed(Seed(1)).Public());
  CHECK(ks.Unlock("dev", "x").status().message() == "wrong passphrase for key 'dev'");

  // The flag and the passphrase must agree.
  CHECK(ks.Import("p", Seed(2), "", true, kFast).status().code() == Status::Code::kInvalidArgument);
  CHECK(ks.Import("q", Seed(2), "pw", false, kFast).status().code() ==
        Status::Code::kInvalidArgument);

  // Create with the empty passphrase makes an unprotected key.
  auto created = ks.Create("dev2", "", kFast);
  REQUIRE(created.ok());
  CHECK_FALSE(created->is_protected);
  CHECK(ks.Unlock("dev2", "").ok());
}

TEST_CASE("ParseSeedHex", "[wallet]") {
  auto ok = ParseSeedHex(kRfcSeedHex);
  REQUIRE(ok.ok());
  CHECK(ToHex(*ok) == kRfcSeedHex);

  std::string upper = kRfcSeedHex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto up = ParseSeedHex(upper);
  REQUIRE(up.ok());
  CHECK(*up == *ok);

  auto padded = ParseSeedHex(std::string("  ") + kRfcSeedHex + "\n");
  REQUIRE(padded.ok());
  CHECK(*padded == *ok);

  const std::string secret = kRfcSeedHex;
  for (const std::string& bad :
       {std::string(), secret.substr(1), secret + "0", secret + secret, "0x" + secret.substr(2),
        secret.substr(0, 63) + "g", "z" + secret.substr(1),
        secret.substr(0, 30) + " " + secret.substr(31)}) {
    auto r = ParseSeedHex(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Status::Code::kInvalidArgument);
    // The input is a secret: it must not be echoed back.
    CHECK(r.status().message().find(secret.substr(2, 16)) == std::string::npos);
  }
  CHECK(ParseSeedHex(secret.substr(1)).status().message().find("64 hex characters") !=
        std::string::npos);
}

}  // namespace
}  // namespace chip::wallet
