// Ledger state records, their fixed binary encodings (hashed into the state
// digest, so any implementation can reproduce it) and the read interface the
// state machine uses.
//
// Invariants (checked by CheckInvariants in invariants.h, and locally by apply):
//   supply.minted - supply.burned == sum over accounts of (balance + held_as_payer)
//     + fund.balance + fund.unclaimed (on a chain with a fund, ledger/fund.h)
//   sum over open reservations of held == sum over accounts of held_as_payer
//                                       == sum over accounts of held_as_provider
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "ledger/bytes.h"
#include "ledger/fund.h"
#include "ledger/status.h"

namespace chip {

struct Account {
  uint64_t balance_ucu = 0;           // available
  uint64_t held_as_payer_ucu = 0;     // in open reservations this account pays
  uint64_t held_as_provider_ucu = 0;  // in open reservations held for this account
  bool operator==(const Account& o) const {
    return balance_ucu == o.balance_ucu && held_as_payer_ucu == o.held_as_payer_ucu &&
           held_as_provider_ucu == o.held_as_provider_ucu;
  }
};

enum class ReservationStatus : uint8_t {
  kOpen = 1,
  kSettled = 2,   // closed by a final settle
  kReleased = 3,  // closed by the provider's release
  kExpired = 4,   // closed automatically at its expiry
};

struct Reservation {
  PublicKey payer{};
  PublicKey provider{};
  uint64_t amount_ucu = 0;   // reserved at creation
  uint64_t held_ucu = 0;     // still held (0 once closed)
  uint64_t settled_ucu = 0;  // paid to the provider so far
  uint64_t created_height = 0;
  uint64_t expires_at_ms = 0;
  ReservationStatus status = ReservationStatus::kOpen;
};

struct Supply {
  uint64_t minted_ucu = 0;  // genesis balances included
  uint64_t burned_ucu = 0;
};

// A recorded price observation (read-side pricing input).
struct Observation {
  PublicKey oracle{};
  std::string chip;
  uint64_t usd_micros_per_chip_hour = 0;
  uint64_t observed_at_ms = 0;
  std::string source;
};

// Where an observation was recorded: its transaction's block and index, and
// for an operation of a list, the operation's index. Encoded as
// height(8) || index(4), followed by op(4) for an operation of a list.
struct ObservationKey {
  uint64_t height = 0;
  uint32_t index = 0;
  std::optional<uint32_t> op;
  bool operator<(const ObservationKey& o) const {
    return std::tie(height, index, op) < std::tie(o.height, o.index, o.op);
  }
};
std::string EncodeObservationKey(const ObservationKey& k);
std::optional<ObservationKey> DecodeObservationKey(std::string_view v);

// Where and how a transaction was applied.
struct TxLocation {
  uint64_t height = 0;
  uint32_t index = 0;
  int32_t code = 0;  // pb::ResultCode
};

std::string EncodeAccount(const Account& a);
std::optional<Account> DecodeAccount(std::string_view v);
std::string EncodeReservation(const Reservation& r);
std::optional<Reservation> DecodeReservation(std::string_view v);
std::string EncodeSupply(const Supply& s);
std::optional<Supply> DecodeSupply(std::string_view v);
std::string EncodeObservation(const Observation& o);
std::optional<Observation> DecodeObservation(std::string_view v);
std::string EncodeTxLocation(const TxLocation& l);
std::optional<TxLocation> DecodeTxLocation(std::string_view v);

// Committed state as seen by the state machine. Reads never fail in the
// interface: an implementation backed by storage records its first I/O or
// corruption error and reports it from status(); apply then discards the block.
class StateReader {
 public:
  virtual ~StateReader() = default;
  virtual std::optional<Account> GetAccount(const PublicKey& key) = 0;
  virtual std::optional<Reservation> GetReservation(const Hash32& id) = 0;
  virtual std::optional<TxLocation> GetTxLocation(const Hash32& tx_hash) = 0;
  virtual uint64_t GetIssuerMinted(const PublicKey& issuer) = 0;
  virtual Supply GetSupply() = 0;
  // The fund's record; nullopt on a chain without a fund.
  virtual std::optional<FundState> GetFund() = 0;
  virtual std::optional<FundMember> GetFundMember(const PublicKey& key) = 0;
  // Open reservations with expires_at_ms <= time_ms, in (expiry, id) order, at
  // most `max` of them.
  virtual std::vector<std::pair<uint64_t, Hash32>> ExpiredUpTo(uint64_t time_ms, size_t max) = 0;
  virtual Status status() const = 0;
};

}  // namespace chip
