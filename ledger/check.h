// Always-on invariant assertions. A failed CHIP_CHECK is a bug in Chipledger,
// never a client mistake: it prints file, line and the condition and aborts, in
// release builds too, because continuing on a broken ledger invariant could
// commit wrong balances.
#pragma once

namespace chip {
[[noreturn]] void CheckFailed(const char* file, int line, const char* condition);
}  // namespace chip

#define CHIP_CHECK(cond) \
  ((cond) ? static_cast<void>(0) : ::chip::CheckFailed(__FILE__, __LINE__, #cond))
