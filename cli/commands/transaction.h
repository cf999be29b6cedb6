// What the transaction commands (send, reserve, settle, release, mint,
// burn, price observe, batch) share: their common flags, building a body
// from text, signing, sending and reporting the result.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "chipledger/v1/ledger.pb.h"
#include "cli/commands/session.h"
#include "ledger/status.h"
#include "wallet/keystore.h"

namespace CLI {
class App;
}  // namespace CLI

namespace chip::cli {

// The flags every single-transaction command takes.
struct TxFlags {
  std::string from;  // the signing key
  std::string memo;
  std::string valid_for;  // a duration, e.g. "30s"; empty: no validity window
  bool sign_only = false;
};

// Registers --sign-only, --from, --memo and --valid-for on `cmd`.
void AddTxFlags(CLI::App* cmd, TxFlags* flags);

// One operation as text, from the command line or a `chip batch` file.
struct OpText {
  std::string op;  // send (or transfer), reserve, settle, release, mint, burn
  std::string to;  // a key name or address
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

// With --valid-for, sets the body's validity window; the exit code of a
// malformed duration (printed), else kExitOk.
int ApplyValidFor(Session* s, const TxFlags& flags, chipledger::v1::TxBody* body);

// Builds the body of `op` (--memo from `flags`), adds --valid-for and signs
// and submits it as SignAndSubmit does. Build errors exit as
// Session::ResolveFail says.
int SubmitOp(Session* s, const TxFlags& flags, OpText op, const std::string& what,
             const nlohmann::json& extra = nlohmann::json::object());

// Signs `body` (with a fresh nonce) with --from's key for the node's chain,
// then prints it (--sign-only) or sends it and reports the result.
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
