// Small helpers of the chip CLI: exit codes, durations, passphrases, output.
#pragma once

#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "chipledger/v1/ledger.pb.h"
#include "ledger/status.h"

namespace chip::cli {

// Exit codes (docs/USAGE.md lists them).
constexpr int kExitOk = 0;
constexpr int kExitError = 1;        // any other failure (node error, I/O)
constexpr int kExitUsage = 2;        // bad arguments: flags, address, amount
constexpr int kExitRejected = 3;     // the ledger rejected the transaction
constexpr int kExitUnreachable = 4;  // the node cannot be reached
constexpr int kExitWallet = 5;       // wallet: missing key, wrong passphrase

// A failure with the exit code it maps to.
struct CliError {
  int exit_code = kExitError;
  std::string message;
};

// "90s", "15m", "2h", "3d", "500ms" (a unit is required) -> milliseconds.
Result<uint64_t> ParseDurationMs(const std::string& text);
// "2026-11-27", "2026-11-27T10:00:00Z" or milliseconds since the epoch.
std::string FormatTimeMs(uint64_t ms);

// Where a passphrase comes from, in order: CHIP_PASSPHRASE, the file named by
// --passphrase-file or CHIP_PASSPHRASE_FILE, else a no-echo prompt on the
// terminal. Non-interactive runs without either fail clearly.
struct PassphraseSource {
  std::string file;
  // `confirm` asks twice (new keys).
  Result<std::string> Get(const std::string& prompt, bool confirm) const;
};

// ReadLineWithoutEcho stops reading a line once it holds more than this
// many bytes; the rest of such a line is left unread.
constexpr size_t kTerminalLineBytesMax = 4096;

// Reads one line (without its newline) from the terminal `in` with echo
// off, after writing `prompt` to `out`, then restores the terminal and ends
// the line the user did not see. Echo goes off before the prompt appears,
// so nothing typed after it is shown. For passphrases and secret keys; when
// `in` is not a terminal the line is read as it is.
std::string ReadLineWithoutEcho(FILE* in, FILE* out, const std::string& prompt);

// JSON helpers shared by commands.
nlohmann::json AmountJson(uint64_t ucu);

// JSON text of `j`. Text from the command line or a node may be invalid
// UTF-8; such bytes are replaced rather than aborting.
std::string SafeDump(const nlohmann::json& j);
// "failed_operation" is present when an operation of a list decided the result.
nlohmann::json TxResultJson(const chipledger::v1::TxResult& r);
// One-line human description of a result ("rejected: CODE at operation N"
// when an operation of a list decided it).
std::string DescribeResult(const chipledger::v1::TxResult& r);
// Decodes a body for display: kind and fields, addresses in text form. A
// multi-operation body has "kind": "operations" and an "operations" array,
// each entry its "index" and the fields of that operation (a settle or
// release made inside the list names "reserve_op" instead of "reservation").
nlohmann::json BodyJson(const std::string& body_bytes);
// For an OK multi-operation transaction `r`: adds to each Reserve of
// `body` (BodyJson) the "reservation_id" it created
// (OperationReservationId of the tx hash and the operation's index).
void AddReservationIds(const chipledger::v1::TxResult& r, nlohmann::json* body);

}  // namespace chip::cli
