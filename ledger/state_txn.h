// Staged writes over a StateReader (after stellar-core's LedgerTxn): reads see
// this scope's writes first, then the parent's. A child scope is merged into
// its parent by Commit() and simply dropped otherwise, which is how an atomic
// batch rolls back. The root scope of a block becomes the block's state delta.
#pragma once

#include <map>
#include <optional>
#include <utility>

#include "ledger/state.h"

namespace chip {

// Which side of a reservation an account is on, in the open-reservation index.
enum class ReservationRole : uint8_t { kPayer = 0, kProvider = 1 };

class StateTxn final : public StateReader {
 public:
  explicit StateTxn(StateReader* parent) : parent_(parent) {}
  StateTxn(const StateTxn&) = delete;
  StateTxn& operator=(const StateTxn&) = delete;

  std::optional<Account> GetAccount(const PublicKey& key) override;
  std::optional<Reservation> GetReservation(const Hash32& id) override;
  std::optional<TxLocation> GetTxLocation(const Hash32& tx_hash) override;
  uint64_t GetIssuerMinted(const PublicKey& issuer) override;
  Supply GetSupply() override;
  std::optional<FundState> GetFund() override;
  std::optional<FundMember> GetFundMember(const PublicKey& key) override;
  // Expiries come from committed state only: apply processes them before any
  // transaction of the block stages a write.
  std::vector<std::pair<uint64_t, Hash32>> ExpiredUpTo(uint64_t time_ms, size_t max) override {
    return parent_->ExpiredUpTo(time_ms, max);
  }
  Status status() const override { return parent_->status(); }

  void PutAccount(const PublicKey& key, const Account& a) { accounts_[key] = a; }
  void PutReservation(const Hash32& id, const Reservation& r) { reservations_[id] = r; }
  void SetExpiry(uint64_t expires_at_ms, const Hash32& id, bool present) {
    expiries_[{expires_at_ms, id}] = present;
  }
  void SetOpenIndex(const PublicKey& account, const Hash32& id,
                    std::optional<ReservationRole> role) {
    open_index_[{account, id}] = role;
  }
  void PutIssuerMinted(const PublicKey& issuer, uint64_t minted_ucu) {
    issuers_[issuer] = minted_ucu;
  }
  void PutSupply(const Supply& s) { supply_ = s; }
  void PutFund(const FundState& f) { fund_ = f; }
  // nullopt deletes the member's record.
  void PutFundMember(const PublicKey& key, const std::optional<FundMember>& m) {
    members_[key] = m;
  }
  void PutTxLocation(const Hash32& tx_hash, const TxLocation& l) { txs_[tx_hash] = l; }
  void PutObservation(const ObservationKey& key, const Observation& o) {
    observations_[key] = EncodeObservation(o);
  }

  // Merges every staged write into the parent, which must be a StateTxn.
  void CommitTo(StateTxn* parent);

  // SHA-256 over the canonical encoding of every staged change, in table and
  // key order (docs/PROTOCOL.md, "State digest").
  Hash32 ChangesHash() const;

  // The staged tables, for the store to write.
  const std::map<PublicKey, Account>& accounts() const { return accounts_; }
  const std::map<Hash32, Reservation>& reservations() const { return reservations_; }
  const std::map<std::pair<uint64_t, Hash32>, bool>& expiries() const { return expiries_; }
  const std::map<std::pair<PublicKey, Hash32>, std::optional<ReservationRole>>& open_index() const {
    return open_index_;
  }
  const std::map<PublicKey, uint64_t>& issuers() const { return issuers_; }
  const std::optional<Supply>& supply() const { return supply_; }
  const std::map<Hash32, TxLocation>& txs() const { return txs_; }
  const std::optional<FundState>& fund() const { return fund_; }
  const std::map<PublicKey, std::optional<FundMember>>& fund_members() const { return members_; }
  const std::map<ObservationKey, std::string>& observations() const { return observations_; }

 private:
  StateReader* parent_;
  std::map<PublicKey, Account> accounts_;
  std::map<Hash32, Reservation> reservations_;
  std::map<std::pair<uint64_t, Hash32>, bool> expiries_;
  std::map<std::pair<PublicKey, Hash32>, std::optional<ReservationRole>> open_index_;
  std::map<PublicKey, uint64_t> issuers_;
  std::optional<Supply> supply_;
  std::map<Hash32, TxLocation> txs_;
  std::map<ObservationKey, std::string> observations_;  // encoded
  std::optional<FundState> fund_;
  std::map<PublicKey, std::optional<FundMember>> members_;  // nullopt = deleted
};

}  // namespace chip
