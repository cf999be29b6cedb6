// `chip submit HEX|@FILE`: sends a transaction signed elsewhere (--sign-only
// or another client). No key is needed.
#include <CLI/CLI.hpp>
#include <cctype>
#include <fstream>
#include <memory>

#include "cli/commands/commands.h"
#include "cli/commands/transaction.h"
#include "ledger/limits.h"

namespace chip::cli {

namespace pb = ::chipledger::v1;

namespace {

int RunSubmit(Session* s, const std::string& hex_or_file) {
  std::string hex = hex_or_file;
  if (!hex.empty() && hex[0] == '@') {
    std::ifstream in(hex.substr(1));
    if (!in) return s->Fail(kExitUsage, "cannot read " + hex.substr(1));
    std::getline(in, hex);
  }
  while (!hex.empty() && std::isspace(static_cast<unsigned char>(hex.back()))) hex.pop_back();
  // The largest a SignedTx may be (a multi-operation one): a smaller
  // transaction that is still over its own limit is the node's to refuse,
  // with its result code (TX_TOO_LARGE).
  if (hex.size() > 2 * kMultiOpSignedTxBytesMax) {
    return s->Fail(kExitUsage, "signed transaction too large: " + std::to_string(hex.size() / 2) +
                                   " bytes, over " + std::to_string(kMultiOpSignedTxBytesMax));
  }
  auto raw = FromHex(hex);
  pb::SubmitTxRequest req;
  if (!raw || !req.mutable_tx()->ParseFromString(*raw)) {
    return s->Fail(kExitUsage,
                   "expected the hex of a serialized SignedTx (chip send ... --sign-only)");
  }
  return SendSigned(s, req, "");
}

}  // namespace

Command SubmitCommand(CLI::App* app) {
  auto signed_hex = std::make_shared<std::string>();
  CLI::App* cmd = app->add_subcommand("submit", "send a transaction signed with --sign-only");
  cmd->add_option("signed", *signed_hex, "hex of the SignedTx, or @FILE")->required();
  return SessionCommand(cmd, signed_hex, RunSubmit);
}

}  // namespace chip::cli
