// What the transaction commands (send, reserve, settle, release, mint,
// burn, price observe, batch) share: their common flags, building a body
// from text, signing, sending and reporting the result.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "chipledger/v1/ledger.pb.h"
#include "cli/commands/commands.h"
#include "cli/commands/session.h"
#include "ledger/status.h"
#include "wallet/keystore.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace chip::cli {

// The flags every single-transaction command takes.
struct TxFlags {
  std::string from;  // the signing key
  std::string memo;
  std::string valid_for;  // a duration, e.g. "30s"; empty: no validity window
  bool sign_only = false;
  // With --sign-only, the chain to sign for without asking a node: its id
  // in hex, or the genesis file it was made from.
  std::string chain_id_hex;
  std::string genesis_file;
  CLI::Option* chain_id_option = nullptr;
  CLI::Option* genesis_option = nullptr;
};

// Registers --sign-only, --from, --memo, --valid-for, --chain-id and
// --genesis on `cmd`.
void AddTxFlags(CLI::App* cmd, TxFlags* flags);

// --chain-id or --genesis: makes `s` sign for that chain without asking the
// node (Session::SignOffline). The chain id of a genesis file is computed as
// the node computes it (ChainId of the parsed file, ledger/genesis.h).
// Exit code kExitUsage (printed) when both are given, either without
// --sign-only, a chain id that is not 64 hex digits, or a genesis file that
// cannot be read or is not valid; else kExitOk.
int UseOfflineChain(Session* s, const TxFlags& flags);

// SessionCommand for a command with transaction flags (`flags->tx`): runs
// UseOfflineChain before `run`.
template <typename Flags>
Command TxSessionCommand(CLI::App* app, std::shared_ptr<Flags> flags,
                         int (*run)(Session*, const Flags&)) {
  return {app, [flags, run](const Globals& g) {
            Session s(g);
            if (int code = UseOfflineChain(&s, flags->tx); code != kExitOk) return code;
            return run(&s, *flags);
          }};
}

// One operation as text, from the command line or a `chip batch` file.
struct OpText {
  // send (or transfer), reserve, settle, release, mint, burn, fund-register,
  // fund-deregister, fund-claim
  std::string op;
  std::string to;  // a key name or address; the member for fund-(de)register
  std::string amount;
  std::string timeout;      // reserve
  std::string reservation;  // settle, release: the id in hex
  bool is_final = false;    // settle --final
  std::string memo;
};

// The transaction body `op` describes (without nonce or validity window).
// Usage errors are InvalidArgument; a `to` key name missing from the wallet
// is NotFound (Session::ResolveFail tells them apart).
Result<chipledger::v1::TxBody> BuildBody(const wallet::Keystore& keystore, const OpText& op);

// With --valid-for, sets the body's validity window from the node's tip time
// or the local clock, whichever is later (only the local clock when signing
// offline); the exit code of a malformed duration (printed), else kExitOk.
int ApplyValidFor(Session* s, const TxFlags& flags, chipledger::v1::TxBody* body);

// Builds the body of `op` (--memo from `flags`), adds --valid-for and signs
// and submits it as SignAndSubmit does. Build errors exit as
// Session::ResolveFail says.
int SubmitOp(Session* s, const TxFlags& flags, OpText op, const std::string& what,
             const nlohmann::json& extra = nlohmann::json::object());

// Signs `body` (with a fresh nonce) with --from's key for the session's
// chain (Session::SigningChainId), then prints it (--sign-only) or sends it
// and reports the result.
// `what` is the line printed above an OK result; `extra` fields are added to
// the result's JSON (what was signed, as the user wrote it).
int SignAndSubmit(Session* s, const TxFlags& flags, chipledger::v1::TxBody body,
                  const std::string& what, const nlohmann::json& extra = nlohmann::json::object());

// Sends a signed transaction and reports its result: exit code kExitOk for
// OK, kExitRejected for a ledger rejection. `what` empty: described from
// its body.
int SendSigned(Session* s, const chipledger::v1::SubmitTxRequest& req, const std::string& what,
               const nlohmann::json& extra = nlohmann::json::object());

// `body` with a random non-zero nonce, so that signing the same operation
// twice makes two transactions.
chipledger::v1::TxBody WithNonce(chipledger::v1::TxBody body);

}  // namespace chip::cli
