#include "ledger/state_txn.h"

#include "ledger/crypto.h"

namespace chip {

std::optional<Account> StateTxn::GetAccount(const PublicKey& key) {
  auto it = accounts_.find(key);
  if (it != accounts_.end()) return it->second;
  return parent_->GetAccount(key);
}

std::optional<Reservation> StateTxn::GetReservation(const Hash32& id) {
  auto it = reservations_.find(id);
  if (it != reservations_.end()) return it->second;
  return parent_->GetReservation(id);
}

std::optional<TxLocation> StateTxn::GetTxLocation(const Hash32& tx_hash) {
  auto it = txs_.find(tx_hash);
  if (it != txs_.end()) return it->second;
  return parent_->GetTxLocation(tx_hash);
}

uint64_t StateTxn::GetIssuerMinted(const PublicKey& issuer) {
  auto it = issuers_.find(issuer);
  if (it != issuers_.end()) return it->second;
  return parent_->GetIssuerMinted(issuer);
}

Supply StateTxn::GetSupply() {
  if (supply_) return *supply_;
  return parent_->GetSupply();
}

std::optional<FundState> StateTxn::GetFund() {
  if (fund_) return fund_;
  return parent_->GetFund();
}

std::optional<FundMember> StateTxn::GetFundMember(const PublicKey& key) {
  auto it = members_.find(key);
  if (it != members_.end()) return it->second;
  return parent_->GetFundMember(key);
}

void StateTxn::CommitTo(StateTxn* parent) {
  for (auto& [k, v] : accounts_) parent->accounts_[k] = v;
  for (auto& [k, v] : reservations_) parent->reservations_[k] = v;
  for (auto& [k, v] : expiries_) parent->expiries_[k] = v;
  for (auto& [k, v] : open_index_) parent->open_index_[k] = v;
  for (auto& [k, v] : issuers_) parent->issuers_[k] = v;
  if (supply_) parent->supply_ = supply_;
  for (auto& [k, v] : txs_) parent->txs_[k] = v;
  for (auto& [k, v] : observations_) parent->observations_[k] = v;
  if (fund_) parent->fund_ = fund_;
  for (auto& [k, v] : members_) parent->members_[k] = v;
}

namespace {

// Each change is: table tag (1 byte) || key || u32 value length || value;
// a deletion has length 0xFFFFFFFF and no value.
constexpr uint32_t kDeleted = 0xFFFFFFFF;

void PutChange(std::string* out, uint8_t tag, std::string_view key,
               const std::optional<std::string>& value) {
  PutU8(out, tag);
  PutBytes(out, key);
  if (value) {
    PutU32(out, static_cast<uint32_t>(value->size()));
    PutBytes(out, *value);
  } else {
    PutU32(out, kDeleted);
  }
}

}  // namespace

Hash32 StateTxn::ChangesHash() const {
  Sha256Builder h;
  h.Update("chipledger/state/v1");
  std::string buf;
  auto flush = [&] {
    h.Update(buf);
    buf.clear();
  };
  for (const auto& [k, v] : accounts_) PutChange(&buf, 'a', AsView(k), EncodeAccount(v));
  flush();
  for (const auto& [k, v] : reservations_) PutChange(&buf, 'r', AsView(k), EncodeReservation(v));
  flush();
  for (const auto& [k, present] : expiries_) {
    std::string key;
    PutU64(&key, k.first);
    PutHash(&key, k.second);
    PutChange(&buf, 'e', key, present ? std::optional<std::string>("") : std::nullopt);
  }
  flush();
  for (const auto& [k, role] : open_index_) {
    std::string key = AsString(k.first) + AsString(k.second);
    std::optional<std::string> v;
    if (role) v = std::string(1, static_cast<char>(*role));
    PutChange(&buf, 'o', key, v);
  }
  flush();
  for (const auto& [k, v] : issuers_) {
    std::string val;
    PutU64(&val, v);
    PutChange(&buf, 'i', AsView(k), val);
  }
  if (supply_) PutChange(&buf, 's', "", EncodeSupply(*supply_));
  flush();
  for (const auto& [k, v] : txs_) PutChange(&buf, 't', AsView(k), EncodeTxLocation(v));
  flush();
  for (const auto& [k, v] : observations_) PutChange(&buf, 'p', EncodeObservationKey(k), v);
  flush();
  // Fund tables: present only on a chain with a fund, so every other chain's
  // digest is what it was before the fund existed.
  if (fund_) PutChange(&buf, 'f', "", EncodeFundState(*fund_));
  for (const auto& [k, m] : members_) {
    PutChange(&buf, 'm', AsView(k),
              m ? std::optional<std::string>(EncodeFundMember(*m)) : std::nullopt);
  }
  flush();
  return h.Finish();
}

}  // namespace chip
