// A list of operations signed as multi-operation transactions (`chip send
// --many`, `chip settle --many`): split into transactions of at most
// kTxOperationsMax operations, each all or nothing on its own, signed with
// --from's key, then printed (--sign-only) or sent, with every operation's
// outcome reported against the line of the file it came from.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "chipledger/v1/types.pb.h"
#include "cli/commands/session.h"
#include "cli/commands/transaction.h"

namespace chip::cli {

// One operation of the list and where it came from.
struct ListedOp {
  size_t line = 0;  // 1-based line of the list file
  chipledger::v1::Operation op;
  // The entry as the report shows it (e.g. "to", "amount", a conversion).
  nlohmann::json json = nlohmann::json::object();
};

// Signs `ops` (not empty; checked by the caller) in transactions of at most
// kTxOperationsMax, each with --memo and --valid-for from `flags`, then
// prints one hex line per transaction (--sign-only) or sends them all in
// one non-atomic SubmitBatch and reports each transaction and each
// operation. `noun` names one operation in the report ("transfer").
// Exit code kExitOk when every transaction is OK, kExitRejected when any is
// rejected, else the code of what failed (printed).
int SubmitOperationList(Session* s, const TxFlags& flags, const std::string& file,
                        const std::vector<ListedOp>& ops, const std::string& noun);

}  // namespace chip::cli
