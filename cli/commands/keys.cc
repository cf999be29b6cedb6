// `chip keys new|list|show|import|export`: the keys in the wallet.
#include <sodium.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <fstream>
#include <iostream>
#include <memory>

#include "cli/commands/commands.h"
#include "ledger/address.h"

namespace chip::cli {

using nlohmann::json;

namespace {

struct KeysFlags {
  std::string name;
  std::string secret_file;
  CLI::App* create = nullptr;
  CLI::App* list = nullptr;
  CLI::App* show = nullptr;
  CLI::App* import = nullptr;
  CLI::App* exprt = nullptr;
};

json KeyJson(const wallet::KeyInfo& k) {
  return {{"name", k.name},
          {"address", k.address},
          {"public_key", ToHex(k.key)},
          {"protected", k.is_protected},
          {"file", k.path}};
}

int KeysNew(Session* s, const std::string& name) {
  Status valid = wallet::ValidateKeyName(name);
  if (!valid.ok()) return s->Fail(kExitUsage, valid.message());
  auto pass = s->passphrases().Get("Passphrase for new key '" + name + "': ", /*confirm=*/true);
  if (!pass.ok()) return s->WalletFail(pass.status());
  if (pass->empty()) return s->Fail(kExitUsage, "an empty passphrase is only for development keys");
  auto info = s->keystore().Create(name, *pass);
  if (!info.ok()) return s->WalletFail(info.status());
  s->Print(KeyJson(*info),
           "created key '" + name + "'\n  address " + info->address + "\n  file    " + info->path);
  return kExitOk;
}

int KeysList(Session* s) {
  auto keys = s->keystore().List();
  if (!keys.ok()) return s->WalletFail(keys.status());
  json arr = json::array();
  std::string human;
  for (const auto& k : *keys) {
    arr.push_back(KeyJson(k));
    human += k.name + std::string(k.name.size() < 16 ? 16 - k.name.size() : 1, ' ') + k.address +
             (k.is_protected ? "" : "  (dev, no passphrase)") + "\n";
  }
  if (keys->empty())
    human = "no keys in " + s->keystore().dir() + " (create one: chip keys new NAME)\n";
  s->Print(arr, human);
  return kExitOk;
}

int KeysShow(Session* s, const std::string& name) {
  auto info = s->keystore().Info(name);
  if (!info.ok()) return s->WalletFail(info.status());
  s->Print(KeyJson(*info),
           "name     " + info->name + "\naddress  " + info->address + "\npublic   " +
               ToHex(info->key) + "\nfile     " + info->path +
               (info->is_protected ? "" : "\nnote     development key, no passphrase"));
  return kExitOk;
}

int KeysImport(Session* s, const std::string& name, const std::string& secret_file) {
  Status valid = wallet::ValidateKeyName(name);
  if (!valid.ok()) return s->Fail(kExitUsage, valid.message());
  std::string secret;
  if (!secret_file.empty()) {
    std::ifstream in(secret_file);
    if (!in) return s->Fail(kExitUsage, "cannot read " + secret_file);
    std::getline(in, secret);
  } else if (isatty(STDIN_FILENO)) {
    // Typed (or pasted) on a terminal: not echoed, so the secret is neither
    // shown nor left in the terminal's scrollback.
    secret = ReadLineWithoutEcho(stdin, stderr, "Secret key (64 hex digits): ");
  } else {
    std::getline(std::cin, secret);
  }
  auto seed = wallet::ParseSeedHex(secret);
  // The secret's text and bytes are wiped when no longer needed, so they do
  // not linger in freed memory (or a core dump) after the import.
  sodium_memzero(secret.data(), secret.size());
  if (!seed.ok()) return s->Fail(kExitUsage, seed.status().message());
  struct WipeSeed {
    std::array<uint8_t, 32>* seed;
    ~WipeSeed() { sodium_memzero(seed->data(), seed->size()); }
  } wipe{&*seed};
  auto pass = s->passphrases().Get("Passphrase for imported key '" + name + "': ", true);
  if (!pass.ok()) return s->WalletFail(pass.status());
  if (pass->empty()) return s->Fail(kExitUsage, "an empty passphrase is only for development keys");
  auto info = s->keystore().Import(name, *seed, *pass);
  if (!info.ok()) return s->WalletFail(info.status());
  s->Print(KeyJson(*info), "imported key '" + name + "' " + info->address);
  return kExitOk;
}

int KeysExport(Session* s, const std::string& name) {
  auto key = s->Unlock(name);
  if (!key.ok()) return s->WalletFail(key.status());
  auto seed = key->Seed();
  std::string hex = ToHex(seed.data(), seed.size());
  s->Print(json{{"name", name}, {"address", EncodeAddress(key->Public())}, {"secret_key_hex", hex}},
           hex);
  sodium_memzero(seed.data(), seed.size());
  sodium_memzero(hex.data(), hex.size());
  return kExitOk;
}

int RunKeys(Session* s, const KeysFlags& f) {
  if (*f.create) return KeysNew(s, f.name);
  if (*f.list) return KeysList(s);
  if (*f.show) return KeysShow(s, f.name);
  if (*f.import) return KeysImport(s, f.name, f.secret_file);
  if (*f.exprt) return KeysExport(s, f.name);
  return kExitUsage;
}

}  // namespace

Command KeysCommand(CLI::App* app) {
  auto f = std::make_shared<KeysFlags>();
  CLI::App* keys = app->add_subcommand("keys", "manage keys in the wallet");
  keys->require_subcommand(1);
  f->create = keys->add_subcommand("new", "create a key (asks for a passphrase)");
  f->create->add_option("name", f->name, "key name")->required();
  f->list = keys->add_subcommand("list", "list keys");
  f->show = keys->add_subcommand("show", "show a key's address");
  f->show->add_option("name", f->name, "key name")->required();
  f->import = keys->add_subcommand("import", "import a secret key (64 hex digits)");
  f->import->add_option("name", f->name, "key name")->required();
  f->import->add_option("--secret-file", f->secret_file,
                        "read the secret from this file (else stdin)");
  f->exprt = keys->add_subcommand("export", "print a key's secret (64 hex digits)");
  f->exprt->add_option("name", f->name, "key name")->required();
  return SessionCommand(keys, f, RunKeys);
}

}  // namespace chip::cli
