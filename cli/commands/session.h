// What every chip command shares: the global options, and for the commands
// that use a wallet or a node, a Session holding the keystore, the
// connection and how results and errors are printed (text, or JSON with
// --json).
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "chipledger/v1/ledger.pb.h"
#include "cli/client.h"
#include "cli/tls.h"
#include "cli/util.h"
#include "ledger/bytes.h"
#include "ledger/crypto.h"
#include "ledger/status.h"
#include "wallet/keystore.h"

namespace chip::cli {

constexpr const char* kDefaultNode = "127.0.0.1:7700";

// The global options (main.cc registers them; they may follow a command).
struct Globals {
  std::string node = kDefaultNode;
  std::string wallet;
  std::string passphrase_file;
  bool json = false;
  uint64_t timeout_ms = 30'000;
  TlsOptions tls;
};

// The shared state of one invocation. Commands return their exit code
// (cli/util.h); the Fail* helpers print the error and return its code.
// One thread only.
class Session {
 public:
  explicit Session(const Globals& g);

  const Globals& globals() const { return g_; }
  wallet::Keystore& keystore() { return keystore_; }
  NodeClient& client() { return client_; }
  const PassphraseSource& passphrases() const { return pass_; }

  // The message on stderr ("chip: ..."), and with --json also
  // {"error", "exit_code"} on stdout. Returns e.exit_code.
  int Fail(const CliError& e);
  int Fail(int code, const std::string& message) { return Fail(CliError{code, message}); }
  // A keystore failure: kExitWallet.
  int WalletFail(const Status& s) { return Fail(kExitWallet, s.message()); }
  // A failure to resolve a key name or address (or to build a body from
  // text): a missing key name is kExitWallet, anything else kExitUsage.
  int ResolveFail(const Status& s);
  // `j` with --json, else `human` ending in a newline.
  void Print(const nlohmann::json& j, const std::string& human);

  // Decrypts key `name`, asking for its passphrase when it is protected.
  Result<SecretKey> Unlock(const std::string& name);

  // The node's status, asked for once per invocation (the chain id for
  // signing, the tip time for --valid-for). A failed call leaves an empty
  // response: check status_ok() where the answer matters.
  const chipledger::v1::GetStatusResponse& NodeStatus();
  // After NodeStatus(): true when it answered with a 32-byte chain id.
  bool status_ok() const { return status_ok_; }
  // After NodeStatus(): why it did not (INTERNAL for a missing chain id).
  const grpc::Status& status_error() const { return status_error_; }

  // Signs for `chain_id` from now on, without asking the node: an offline
  // machine's --sign-only (--chain-id, --genesis).
  void SignOffline(const Hash32& chain_id) { offline_chain_id_ = chain_id; }
  bool offline() const { return offline_chain_id_.has_value(); }
  // The chain to sign for: the one SignOffline named, else the node's (asked
  // once). nullopt when the node did not say; status_error() says why.
  std::optional<Hash32> SigningChainId();

 private:
  Globals g_;
  wallet::Keystore keystore_;
  NodeClient client_;
  PassphraseSource pass_;
  bool status_fetched_ = false;
  bool status_ok_ = false;
  grpc::Status status_error_;
  chipledger::v1::GetStatusResponse status_;
  std::optional<Hash32> offline_chain_id_;
};

}  // namespace chip::cli
