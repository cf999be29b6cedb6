#include "ledger/status.h"

#include <cstdio>
#include <cstdlib>

#include "ledger/check.h"

namespace chip {

std::string Status::ToString() const {
  const char* name = "OK";
  switch (code_) {
    case Code::kOk:
      return "OK";
    case Code::kInvalidArgument:
      name = "invalid argument";
      break;
    case Code::kNotFound:
      name = "not found";
      break;
    case Code::kAlreadyExists:
      name = "already exists";
      break;
    case Code::kCorruption:
      name = "corruption";
      break;
    case Code::kIoError:
      name = "I/O error";
      break;
    case Code::kFailedPrecondition:
      name = "failed precondition";
      break;
    case Code::kResourceExhausted:
      name = "resource exhausted";
      break;
    case Code::kUnavailable:
      name = "unavailable";
      break;
    case Code::kInternal:
      name = "internal";
      break;
  }
  return std::string(name) + ": " + message_;
}

void CheckFailed(const char* file, int line, const char* condition) {
  std::fprintf(stderr, "chipledger invariant failed at %s:%d: %s\n", file, line, condition);
  std::fflush(stderr);
  std::abort();
}

}  // namespace chip
