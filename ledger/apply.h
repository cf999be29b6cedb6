// The deterministic state machine: (committed state, ordered block) ->
// (staged state changes, one result per transaction). It reads committed
// state through a StateReader and the block (its timestamp is the only
// clock); it uses no clock, randomness, floating point or threads.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "chipledger/v1/types.pb.h"
#include "ledger/genesis.h"
#include "ledger/state_txn.h"
#include "ledger/tx.h"

namespace chip {

struct BlockOutcome {
  std::vector<pb::ResultCode> results;  // one per transaction
  std::vector<Hash32> tx_hashes;        // one per transaction (zero if too large to hash)
  std::vector<Hash32> expired;          // reservations released before the transactions
  // Per transaction, the operation of its list that decided its result, if
  // one did; and the same as the block's failed_operations entries.
  std::vector<std::optional<uint32_t>> failed_op;
  std::vector<pb::OperationFailure> failed_operations;
  // Per transaction, the accounts whose history lists it (empty if not recorded).
  std::vector<std::vector<PublicKey>> touched;
  std::unique_ptr<StateTxn> changes;  // the block's state delta
  Hash32 changes_hash{};
};

// Applies block.txs (with block.atomic ranges) at block.header.height and
// block.header.timestamp_ms. `checked` holds CheckTx results for the same
// transactions when the caller verified them already (the node does so on
// all cores); pass nullptr to check here. Header linkage and signatures are
// not apply's concern (see chain.h). Errors: InvalidArgument for a malformed
// atomic range or too many transactions; the reader's I/O status.
Result<BlockOutcome> ExecuteBlock(StateReader* committed, const ChainRules& rules,
                                  const pb::Block& block, const std::vector<CheckedTx>* checked);

// True for codes under which a transaction can be recorded (OK and the
// stateful rule violations). Stateless failures, ATOMIC_BATCH_FAILED and
// ALREADY_APPLIED leave no record, so the transaction can still be submitted.
bool IsRecorded(pb::ResultCode code);

// Which transactions of an applied block were recorded (stored under their
// tx_hash with their position): those with a recordable code outside any
// failed atomic range. No member of a failed atomic range is recorded, since
// its result was computed against state that was rolled back.
std::vector<bool> RecordedMask(const pb::Block& block);

// For a multi-operation body: the indexes of its operations that touch
// `account` (all of them for the signer; otherwise those whose recipient,
// provider or reservation counterparty it is, reservations read from
// `reader`; `tx_hash` resolves in-list reservation references).
// Empty for a single-operation body.
std::vector<uint32_t> OperationsTouching(const pb::TxBody& body, const Hash32& tx_hash,
                                         const PublicKey& account, StateReader* reader);

// What an applied-OK transaction paid the fund: the levy of its settlements
// and the fund's share of its mints (0 on a chain without a fund).
uint64_t FundLevyOf(const pb::TxBody& body, const ChainRules& rules);

}  // namespace chip
