// The planned workload of a `chip bench` run: what each transaction (or
// read) will be, decided from --seed before the window opens.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "chipledger/v1/types.pb.h"

namespace chip::cli::bench_internal {

enum class Workload { kUniform, kHot, kJobs, kReads };

// Compute jobs: reserve, kJobSettles metered settles, then a final settle or
// (every kJobReleaseEvery-th job, jobs.cc) a release: kJobSteps transactions.
constexpr uint32_t kJobSettles = 3;
constexpr uint32_t kJobSteps = kJobSettles + 2;

// What the node answered for one transaction.
struct Ack {
  uint64_t height = 0;  // > 0: recorded in a block
  uint32_t index = 0;
  int32_t code = chipledger::v1::RESULT_UNSPECIFIED;  // UNSPECIFIED: no answer
  bool already_applied = false;
  // A list refused because of one operation: that operation's index.
  std::optional<uint32_t> failed_operation;
};

// The reads workload's three queries, sent in turn by each client.
enum ReadKind : size_t { kReadAccount = 0, kReadHistory = 1, kReadTx = 2, kReadKinds = 3 };
constexpr const char* kReadNames[kReadKinds] = {"get_account", "list_history", "get_tx"};
constexpr uint32_t kReadHistoryPage = 10;

struct TransferPlan {
  uint32_t from;
  uint32_t to;
  uint64_t amount_ucu;
};

// One chain of kJobSteps transactions: one job, or with --ops N the N jobs
// that each step's list carries (bench.h). Which jobs end with a release is
// decided by their index (jobs.cc).
struct JobPlan {
  uint32_t payer;
  uint32_t provider;
  uint64_t unit_ucu;  // each settle pays one unit; each reserve holds kJobSteps units
};

}  // namespace chip::cli::bench_internal
