#include "ledger/apply.h"

#include <algorithm>

#include "ledger/amount.h"
#include "ledger/check.h"
#include "ledger/fund.h"
#include "ledger/limits.h"

namespace chip {

bool IsRecorded(pb::ResultCode code) {
  switch (code) {
    case pb::RESULT_OK:
    case pb::RESULT_EXPIRED:
    case pb::RESULT_INSUFFICIENT_FUNDS:
    case pb::RESULT_OVERFLOW:
    case pb::RESULT_NOT_ISSUER:
    case pb::RESULT_CAP_EXCEEDED:
    case pb::RESULT_UNKNOWN_RESERVATION:
    case pb::RESULT_NOT_PROVIDER:
    case pb::RESULT_RESERVATION_CLOSED:
    case pb::RESULT_RESERVATION_EXPIRED:
    case pb::RESULT_SETTLE_EXCEEDS_HELD:
    case pb::RESULT_NOT_ORACLE:
    case pb::RESULT_UNKNOWN_CHIP:
    case pb::RESULT_FUTURE_OBSERVATION:
    case pb::RESULT_NO_FUND:
    case pb::RESULT_NOT_REGISTRAR:
    case pb::RESULT_ALREADY_MEMBER:
    case pb::RESULT_NOT_MEMBER:
    case pb::RESULT_NOTHING_TO_CLAIM:
      return true;
    default:
      return false;
  }
}

std::vector<bool> RecordedMask(const pb::Block& block) {
  std::vector<bool> mask(static_cast<size_t>(block.results_size()));
  for (size_t i = 0; i < mask.size(); ++i) mask[i] = IsRecorded(block.results(static_cast<int>(i)));
  for (const auto& range : block.atomic()) {
    size_t end = std::min<size_t>(mask.size(), size_t{range.first()} + range.count());
    bool failed = false;
    for (size_t i = range.first(); i < end; ++i) {
      failed = failed || block.results(static_cast<int>(i)) != pb::RESULT_OK;
    }
    if (!failed) continue;
    for (size_t i = range.first(); i < end; ++i) mask[i] = false;
  }
  return mask;
}

namespace {

// The account on the other side of one operation from its signer: the
// recipient of a transfer, the provider of a reserve, the recipient of a
// mint, the member of a fund registration or deregistration, the payer of
// the reservation a settle or release acts on (when it exists in `reader`;
// its provider when the payer signed, inside a list); none for a burn, a
// price observation or a claim.
template <typename Op>
std::optional<PublicKey> Counterparty(const Op& op, const PublicKey& signer, const Hash32& tx_hash,
                                      StateReader* reader) {
  if (op.has_transfer()) return ToHash32(op.transfer().to());
  if (op.has_reserve()) return ToHash32(op.reserve().to());
  if (op.has_mint()) return ToHash32(op.mint().to());
  if (op.has_fund_register()) return ToHash32(op.fund_register().member());
  if (op.has_fund_deregister()) return ToHash32(op.fund_deregister().member());
  if (op.has_settle() || op.has_release()) {
    auto id = op.has_settle() ? ReservationOf(op.settle(), tx_hash)
                              : ReservationOf(op.release(), tx_hash);
    if (!id) return std::nullopt;
    auto r = reader->GetReservation(*id);
    if (!r) return std::nullopt;
    // The side that did not sign: the payer for the provider's settle, the
    // provider for a payer's settle inside a list.
    return r->payer == signer ? r->provider : r->payer;
  }
  return std::nullopt;
}

}  // namespace

std::vector<uint32_t> OperationsTouching(const pb::TxBody& body, const Hash32& tx_hash,
                                         const PublicKey& account, StateReader* reader) {
  std::vector<uint32_t> out;
  auto signer = ToHash32(body.account());
  if (!IsMultiOp(body) || !signer) return out;
  const auto& ops = body.operations().ops();
  for (int k = 0; k < ops.size(); ++k) {
    if (*signer == account || Counterparty(ops.Get(k), *signer, tx_hash, reader) == account) {
      out.push_back(static_cast<uint32_t>(k));
    }
  }
  return out;
}

uint64_t FundLevyOf(const pb::TxBody& body, const ChainRules& rules) {
  if (!rules.fund) return 0;
  uint64_t total = 0;
  auto add = [&](const auto& op) {
    uint64_t levy = 0;
    if (op.has_settle())
      levy = BasisPointsOf(op.settle().amount_ucu(), rules.fund->settle_levy_bps);
    if (op.has_mint()) levy = BasisPointsOf(op.mint().amount_ucu(), rules.fund->mint_share_bps);
    total = CheckedAdd(total, levy).value_or(total);  // an OK transaction's levies fit
  };
  if (!IsMultiOp(body)) {
    add(body);
  } else {
    for (const auto& op : body.operations().ops()) add(op);
  }
  return total;
}

namespace {

// Invariant checks that rest on values read from the store: a failed read
// (reported through status()) must discard the block, not abort the node.
#define APPLY_CHECK(reader, cond) CHIP_CHECK(!(reader)->status().ok() || (cond))

// Applies one transaction's effect to `txn`. Every rule is checked before the
// first write, so a non-OK result leaves `txn` unchanged.
class TxApplier {
 public:
  TxApplier(StateTxn* txn, const ChainRules& rules, uint64_t height, uint64_t time_ms)
      : txn_(txn), rules_(rules), height_(height), time_ms_(time_ms) {}

  // Applies a single-operation transaction.
  pb::ResultCode Apply(const CheckedTx& tx) {
    if (Expired(tx.body)) return pb::RESULT_EXPIRED;
    CreditDividend(tx.signer);
    return ApplyOperation(tx.signer, tx.body, tx.hash, tx.hash, /*in_list=*/false);
  }

  // Applies the operations of a multi-operation transaction in order into
  // this applier's scope, stopping at the first that fails: returns its code
  // and sets *failed_op. The caller runs this in a child scope that it drops
  // unless the result is OK, so a failure leaves no trace of earlier ones.
  pb::ResultCode ApplyList(const CheckedTx& tx, std::optional<uint32_t>* failed_op) {
    if (Expired(tx.body)) return pb::RESULT_EXPIRED;
    CreditDividend(tx.signer);
    const auto& ops = tx.body.operations().ops();
    for (int k = 0; k < ops.size(); ++k) {
      const uint32_t op_index = static_cast<uint32_t>(k);
      op_ = op_index;
      pb::ResultCode code =
          ApplyOperation(tx.signer, ops.Get(k), tx.hash, OperationReservationId(tx.hash, op_index),
                         /*in_list=*/true);
      if (code != pb::RESULT_OK) {
        *failed_op = op_index;
        return code;
      }
    }
    return pb::RESULT_OK;
  }

  // Returns the reservation's remaining hold to its payer and closes it.
  void Close(const Hash32& id, Reservation r, ReservationStatus status) {
    CHIP_CHECK(r.status == ReservationStatus::kOpen);
    Account payer = txn_->GetAccount(r.payer).value_or(Account{});
    Account provider = txn_->GetAccount(r.provider).value_or(Account{});
    APPLY_CHECK(txn_, payer.held_as_payer_ucu >= r.held_ucu);
    APPLY_CHECK(txn_, provider.held_as_provider_ucu >= r.held_ucu);
    if (!txn_->status().ok()) return;  // the block is discarded
    auto refunded = CheckedAdd(payer.balance_ucu, r.held_ucu);
    CHIP_CHECK(refunded.has_value());  // balances never exceed the supply
    payer.balance_ucu = *refunded;
    payer.held_as_payer_ucu -= r.held_ucu;
    provider.held_as_provider_ucu -= r.held_ucu;
    r.held_ucu = 0;
    r.status = status;
    txn_->PutAccount(r.payer, payer);
    txn_->PutAccount(r.provider, provider);
    txn_->PutReservation(id, r);
    txn_->SetExpiry(r.expires_at_ms, id, false);
    txn_->SetOpenIndex(r.payer, id, std::nullopt);
    txn_->SetOpenIndex(r.provider, id, std::nullopt);
  }

 private:
  bool Expired(const pb::TxBody& body) const {
    return body.valid_until_ms() != 0 && time_ms_ > body.valid_until_ms();
  }

  // One operation: a TxBody's own or an Operation of a list (same kinds
  // under the same field numbers). `reservation_id` is the id a Reserve
  // creates; `tx_hash` resolves a settle's or release's in-list reference.
  template <typename Op>
  pb::ResultCode ApplyOperation(const PublicKey& signer, const Op& op, const Hash32& tx_hash,
                                const Hash32& reservation_id, bool in_list) {
    if (op.has_transfer()) return Transfer(signer, op.transfer());
    if (op.has_reserve()) return Reserve(signer, reservation_id, op.reserve());
    if (op.has_settle()) {
      return Settle(signer, *ReservationOf(op.settle(), tx_hash), op.settle(), in_list);
    }
    if (op.has_release()) return Release(signer, *ReservationOf(op.release(), tx_hash));
    if (op.has_mint()) return Mint(signer, op.mint());
    if (op.has_burn()) return Burn(signer, op.burn());
    if (op.has_observe_price()) return ObservePrice(signer, op.observe_price());
    if (op.has_fund_register()) return FundRegister(signer, *ToHash32(op.fund_register().member()));
    if (op.has_fund_deregister()) {
      return FundDeregister(signer, *ToHash32(op.fund_deregister().member()));
    }
    if (op.has_fund_claim()) return FundClaim();
    CHIP_CHECK(false && "CheckTx passed an operation without a kind");
    return pb::RESULT_MALFORMED;
  }

  pb::ResultCode Transfer(const PublicKey& from_key, const pb::Transfer& t) {
    PublicKey to_key = *ToHash32(t.to());
    Account from = txn_->GetAccount(from_key).value_or(Account{});
    if (from.balance_ucu < t.amount_ucu()) return pb::RESULT_INSUFFICIENT_FUNDS;
    Account to = txn_->GetAccount(to_key).value_or(Account{});
    auto credited = CheckedAdd(to.balance_ucu, t.amount_ucu());
    if (!credited) return pb::RESULT_OVERFLOW;
    from.balance_ucu -= t.amount_ucu();
    to.balance_ucu = *credited;
    txn_->PutAccount(from_key, from);
    txn_->PutAccount(to_key, to);
    return pb::RESULT_OK;
  }

  pb::ResultCode Reserve(const PublicKey& payer_key, const Hash32& id, const pb::Reserve& r) {
    PublicKey provider_key = *ToHash32(r.to());
    Account payer = txn_->GetAccount(payer_key).value_or(Account{});
    if (payer.balance_ucu < r.amount_ucu()) return pb::RESULT_INSUFFICIENT_FUNDS;
    Account provider = txn_->GetAccount(provider_key).value_or(Account{});
    auto expires = CheckedAdd(time_ms_, r.timeout_ms());
    auto payer_held = CheckedAdd(payer.held_as_payer_ucu, r.amount_ucu());
    auto provider_held = CheckedAdd(provider.held_as_provider_ucu, r.amount_ucu());
    if (!expires || !payer_held || !provider_held) return pb::RESULT_OVERFLOW;
    payer.balance_ucu -= r.amount_ucu();
    payer.held_as_payer_ucu = *payer_held;
    provider.held_as_provider_ucu = *provider_held;
    Reservation res;
    res.payer = payer_key;
    res.provider = provider_key;
    res.amount_ucu = r.amount_ucu();
    res.held_ucu = r.amount_ucu();
    res.created_height = height_;
    res.expires_at_ms = *expires;
    res.status = ReservationStatus::kOpen;
    txn_->PutAccount(payer_key, payer);
    txn_->PutAccount(provider_key, provider);
    txn_->PutReservation(id, res);
    txn_->SetExpiry(res.expires_at_ms, id, true);
    txn_->SetOpenIndex(payer_key, id, ReservationRole::kPayer);
    txn_->SetOpenIndex(provider_key, id, ReservationRole::kProvider);
    return pb::RESULT_OK;
  }

  // Shared rule checks of settle and release; OK when `signer` may act on an
  // open, unexpired reservation.
  // `payer_may_act`: a settle inside a list that is not final, which the
  // reservation's payer may also sign (a payment it approves from its own
  // hold; it cannot close the reservation and take the rest back).
  pb::ResultCode CheckProviderAction(const PublicKey& signer, const std::optional<Reservation>& r,
                                     bool payer_may_act = false) {
    if (!r) return pb::RESULT_UNKNOWN_RESERVATION;
    if (r->provider != signer && !(payer_may_act && r->payer == signer)) {
      return pb::RESULT_NOT_PROVIDER;
    }
    if (r->status == ReservationStatus::kExpired) return pb::RESULT_RESERVATION_EXPIRED;
    if (r->status != ReservationStatus::kOpen) return pb::RESULT_RESERVATION_CLOSED;
    // An expiry not yet processed (more than kBlockExpiriesMax were due) is
    // still an expiry.
    if (r->expires_at_ms <= time_ms_) return pb::RESULT_RESERVATION_EXPIRED;
    return pb::RESULT_OK;
  }

  pb::ResultCode Settle(const PublicKey& signer, const Hash32& id, const pb::Settle& s,
                        bool in_list) {
    std::optional<Reservation> r = txn_->GetReservation(id);
    pb::ResultCode rule = CheckProviderAction(signer, r, in_list && !s.final());
    if (rule != pb::RESULT_OK) return rule;
    if (s.amount_ucu() > r->held_ucu) return pb::RESULT_SETTLE_EXCEEDS_HELD;
    Account provider = txn_->GetAccount(r->provider).value_or(Account{});
    Account payer = txn_->GetAccount(r->payer).value_or(Account{});
    // The fund's levy on the returns of compute sold: floor(amount x bps /
    // 10000) goes to the fund, the rest to the provider.
    std::optional<FundState> fund;
    uint64_t levy = 0;
    if (rules_.fund) {
      fund = txn_->GetFund();
      APPLY_CHECK(txn_, fund.has_value());    // staged at genesis
      if (!fund) return pb::RESULT_OVERFLOW;  // the block is discarded
      levy = BasisPointsOf(s.amount_ucu(), rules_.fund->settle_levy_bps);
    }
    auto paid = CheckedAdd(provider.balance_ucu, s.amount_ucu() - levy);
    auto settled = CheckedAdd(r->settled_ucu, s.amount_ucu());
    auto levied = CheckedAdd(fund ? fund->balance_ucu : 0, levy);
    if (!paid || !settled || !levied) return pb::RESULT_OVERFLOW;
    APPLY_CHECK(txn_, provider.held_as_provider_ucu >= s.amount_ucu());
    APPLY_CHECK(txn_, payer.held_as_payer_ucu >= s.amount_ucu());
    if (!txn_->status().ok()) return pb::RESULT_OVERFLOW;  // the block is discarded
    provider.balance_ucu = *paid;
    provider.held_as_provider_ucu -= s.amount_ucu();
    payer.held_as_payer_ucu -= s.amount_ucu();
    r->held_ucu -= s.amount_ucu();
    r->settled_ucu = *settled;
    if (levy > 0) {
      fund->balance_ucu = *levied;
      txn_->PutFund(*fund);
    }
    txn_->PutAccount(r->provider, provider);
    txn_->PutAccount(r->payer, payer);
    txn_->PutReservation(id, *r);
    // A fully consumed reservation is closed as settled, like a final settle.
    if (s.final() || r->held_ucu == 0) Close(id, *r, ReservationStatus::kSettled);
    return pb::RESULT_OK;
  }

  pb::ResultCode Release(const PublicKey& signer, const Hash32& id) {
    std::optional<Reservation> r = txn_->GetReservation(id);
    pb::ResultCode rule = CheckProviderAction(signer, r);
    if (rule != pb::RESULT_OK) return rule;
    Close(id, *r, ReservationStatus::kReleased);
    return pb::RESULT_OK;
  }

  pb::ResultCode Mint(const PublicKey& signer, const pb::Mint& m) {
    auto issuer = rules_.issuer_caps.find(signer);
    if (issuer == rules_.issuer_caps.end()) return pb::RESULT_NOT_ISSUER;
    uint64_t minted = txn_->GetIssuerMinted(signer);
    auto new_minted = CheckedAdd(minted, m.amount_ucu());
    const std::optional<uint64_t>& cap = issuer->second;
    if (cap && (!new_minted || *new_minted > *cap)) return pb::RESULT_CAP_EXCEEDED;
    Supply supply = txn_->GetSupply();
    auto new_supply = CheckedAdd(supply.minted_ucu, m.amount_ucu());
    PublicKey to_key = *ToHash32(m.to());
    Account to = txn_->GetAccount(to_key).value_or(Account{});
    // The fund's share of new CU: floor(amount x bps / 10000) is minted into
    // the fund, the rest to the recipient.
    std::optional<FundState> fund;
    uint64_t share = 0;
    if (rules_.fund) {
      fund = txn_->GetFund();
      APPLY_CHECK(txn_, fund.has_value());
      if (!fund) return pb::RESULT_OVERFLOW;  // the block is discarded
      share = BasisPointsOf(m.amount_ucu(), rules_.fund->mint_share_bps);
    }
    auto credited = CheckedAdd(to.balance_ucu, m.amount_ucu() - share);
    auto funded = CheckedAdd(fund ? fund->balance_ucu : 0, share);
    if (!new_minted || !new_supply || !credited || !funded) return pb::RESULT_OVERFLOW;
    to.balance_ucu = *credited;
    if (share > 0) {
      fund->balance_ucu = *funded;
      txn_->PutFund(*fund);
    }
    supply.minted_ucu = *new_supply;
    txn_->PutIssuerMinted(signer, *new_minted);
    txn_->PutSupply(supply);
    txn_->PutAccount(to_key, to);
    return pb::RESULT_OK;
  }

  pb::ResultCode Burn(const PublicKey& signer, const pb::Burn& b) {
    Account a = txn_->GetAccount(signer).value_or(Account{});
    if (a.balance_ucu < b.amount_ucu()) return pb::RESULT_INSUFFICIENT_FUNDS;
    Supply supply = txn_->GetSupply();
    auto burned = CheckedAdd(supply.burned_ucu, b.amount_ucu());
    if (!burned) return pb::RESULT_OVERFLOW;
    a.balance_ucu -= b.amount_ucu();
    supply.burned_ucu = *burned;
    APPLY_CHECK(txn_, supply.burned_ucu <= supply.minted_ucu);
    txn_->PutAccount(signer, a);
    txn_->PutSupply(supply);
    return pb::RESULT_OK;
  }

  // Credits the signer's unclaimed dividend, if it has one, to its available
  // balance: every transaction a member signs does this before its
  // operations (docs/FUND.md, "Claiming").
  void CreditDividend(const PublicKey& signer) {
    if (!rules_.fund) return;
    std::optional<FundMember> m = txn_->GetFundMember(signer);
    if (!m) return;
    std::optional<FundState> fund = txn_->GetFund();
    APPLY_CHECK(txn_, fund.has_value());
    if (!fund) return;  // the block is discarded
    const uint64_t owed = UnclaimedDividend(*fund, *m);
    if (owed == 0) return;
    APPLY_CHECK(txn_, fund->unclaimed_ucu >= owed);
    Account a = txn_->GetAccount(signer).value_or(Account{});
    auto credited = CheckedAdd(a.balance_ucu, owed);
    CHIP_CHECK(credited.has_value());  // balances never exceed the supply
    if (!txn_->status().ok()) return;
    a.balance_ucu = *credited;
    fund->unclaimed_ucu -= owed;
    m->banked_ucu = 0;
    m->checkpoint_acc_ucu = fund->acc_ucu;
    txn_->PutAccount(signer, a);
    txn_->PutFund(*fund);
    txn_->PutFundMember(signer, m->registered ? m : std::nullopt);
    credited_ucu_ += owed;
  }

  pb::ResultCode FundRegister(const PublicKey& signer, const PublicKey& member) {
    if (!rules_.fund) return pb::RESULT_NO_FUND;
    if (rules_.fund->registrars.count(signer) == 0) return pb::RESULT_NOT_REGISTRAR;
    std::optional<FundMember> m = txn_->GetFundMember(member);
    if (m && m->registered) return pb::RESULT_ALREADY_MEMBER;
    std::optional<FundState> fund = txn_->GetFund();
    APPLY_CHECK(txn_, fund.has_value());
    if (!fund) return pb::RESULT_OVERFLOW;  // the block is discarded
    auto members = CheckedAdd(fund->members, 1);
    if (!members) return pb::RESULT_OVERFLOW;
    FundMember rec = m.value_or(FundMember{});  // keeps what it was owed before
    rec.registered = true;
    rec.checkpoint_acc_ucu = fund->acc_ucu;  // nothing from boundaries already crossed
    fund->members = *members;
    txn_->PutFund(*fund);
    txn_->PutFundMember(member, rec);
    return pb::RESULT_OK;
  }

  pb::ResultCode FundDeregister(const PublicKey& signer, const PublicKey& member) {
    if (!rules_.fund) return pb::RESULT_NO_FUND;
    if (signer != member && rules_.fund->registrars.count(signer) == 0) {
      return pb::RESULT_NOT_REGISTRAR;
    }
    std::optional<FundMember> m = txn_->GetFundMember(member);
    if (!m || !m->registered) return pb::RESULT_NOT_MEMBER;
    std::optional<FundState> fund = txn_->GetFund();
    APPLY_CHECK(txn_, fund.has_value() && fund->members > 0);
    if (!txn_->status().ok()) return pb::RESULT_OVERFLOW;  // the block is discarded
    // Bank what it is owed: a deregistered member keeps it, claimable.
    m->banked_ucu = UnclaimedDividend(*fund, *m);
    m->registered = false;
    m->checkpoint_acc_ucu = 0;
    fund->members -= 1;
    txn_->PutFund(*fund);
    txn_->PutFundMember(member, m->banked_ucu > 0 ? m : std::nullopt);
    return pb::RESULT_OK;
  }

  // The dividend was credited when the transaction began (CreditDividend):
  // a claim is OK when this transaction credited something. Nothing an
  // earlier operation of a list does can make the signer owed more (a
  // boundary is crossed only before the block's transactions, a registration
  // starts at the accumulator, and a self-deregistration banks what the
  // start of the transaction left: nothing), so a claim credits nothing new.
  pb::ResultCode FundClaim() const {
    if (!rules_.fund) return pb::RESULT_NO_FUND;
    return credited_ucu_ > 0 ? pb::RESULT_OK : pb::RESULT_NOTHING_TO_CLAIM;
  }

  pb::ResultCode ObservePrice(const PublicKey& signer, const pb::PriceObservation& o) {
    if (rules_.oracles.count(signer) == 0) return pb::RESULT_NOT_ORACLE;
    if (rules_.chips.count(o.chip()) == 0) return pb::RESULT_UNKNOWN_CHIP;
    if (o.observed_at_ms() > time_ms_) return pb::RESULT_FUTURE_OBSERVATION;
    Observation rec;
    rec.oracle = signer;
    rec.chip = o.chip();
    rec.usd_micros_per_chip_hour = o.usd_micros_per_chip_hour();
    rec.observed_at_ms = o.observed_at_ms();
    rec.source = o.source();
    txn_->PutObservation(ObservationKey{height_, index_, op_}, rec);
    return pb::RESULT_OK;
  }

 public:
  void set_index(uint32_t index) { index_ = index; }

 private:
  StateTxn* txn_;
  const ChainRules& rules_;
  uint32_t index_ = 0;
  std::optional<uint32_t> op_;  // the operation being applied, in a list
  uint64_t credited_ucu_ = 0;   // dividend credited to the signer by this transaction
  uint64_t height_;
  uint64_t time_ms_;
};

Status CheckAtomicRanges(const pb::Block& block) {
  uint64_t next_free = 0;
  for (const auto& range : block.atomic()) {
    if (range.count() == 0) return Status::InvalidArgument("empty atomic range");
    if (range.first() < next_free)
      return Status::InvalidArgument("atomic ranges overlap or are unsorted");
    uint64_t end = uint64_t{range.first()} + range.count();
    if (end > static_cast<uint64_t>(block.txs_size())) {
      return Status::InvalidArgument("atomic range beyond the block's transactions");
    }
    next_free = end;
  }
  return Status::Ok();
}

}  // namespace

Result<BlockOutcome> ExecuteBlock(StateReader* committed, const ChainRules& rules,
                                  const pb::Block& block, const std::vector<CheckedTx>* checked) {
  const uint64_t height = block.header().height();
  const uint64_t time_ms = block.header().timestamp_ms();
  const size_t n = static_cast<size_t>(block.txs_size());
  if (n > kBlockTxCountMax) return Status::InvalidArgument("block has too many transactions");

  CHIP_RETURN_IF_ERROR(CheckAtomicRanges(block));
  if (checked != nullptr && checked->size() != n) {
    return Status::InvalidArgument("prechecked list does not match the block");
  }

  std::vector<CheckedTx> local;
  if (checked == nullptr) {
    local.reserve(n);
    for (const auto& tx : block.txs()) local.push_back(CheckTx(tx, rules.chain_id));
    checked = &local;
  }
  // Operations that will run: a transaction that passed its stateless checks
  // counts its list's length, or one.
  size_t ops = 0;
  for (const CheckedTx& tx : *checked)
    ops += tx.code == pb::RESULT_OK ? OperationCount(tx.body) : 1;
  if (ops > kBlockOperationsMax) return Status::InvalidArgument("block has too many operations");

  BlockOutcome out;
  out.changes = std::make_unique<StateTxn>(committed);
  StateTxn* root = out.changes.get();
  TxApplier root_applier(root, rules, height, time_ms);

  // 0. Fund epochs whose boundary is at or before the block's time, before
  // anything of the block: members registered by its transactions come
  // after the boundary and get nothing from it.
  if (rules.fund) {
    std::optional<FundState> fund = root->GetFund();
    CHIP_RETURN_IF_ERROR(committed->status());
    CHIP_CHECK(fund.has_value());  // staged at genesis
    if (CrossEpochs(&*fund, rules.fund->epoch_ms, time_ms) > 0) root->PutFund(*fund);
  }

  // 1. Automatic expiries, in (expiry time, id) order.
  for (const auto& [expires_at_ms, id] : committed->ExpiredUpTo(time_ms, kBlockExpiriesMax)) {
    std::optional<Reservation> r = root->GetReservation(id);
    CHIP_RETURN_IF_ERROR(committed->status());
    CHIP_CHECK(r.has_value());  // the expiry index only lists open reservations
    CHIP_CHECK(r->expires_at_ms == expires_at_ms);
    root_applier.Close(id, *r, ReservationStatus::kExpired);
    out.expired.push_back(id);
  }

  // 2. Transactions in order; an atomic range runs in a child scope.
  out.results.assign(n, pb::RESULT_UNSPECIFIED);
  out.tx_hashes.resize(n);
  for (size_t i = 0; i < n; ++i) out.tx_hashes[i] = (*checked)[i].hash;

  out.touched.resize(n);
  out.failed_op.assign(n, std::nullopt);
  // The accounts whose history lists transaction i: the signer and the other
  // side of each operation (for a settle or release, the reservation's payer).
  auto record = [&](StateTxn* txn, size_t i) {
    if (!IsRecorded(out.results[i])) return;
    const CheckedTx& tx = (*checked)[i];
    txn->PutTxLocation(tx.hash, TxLocation{height, static_cast<uint32_t>(i), out.results[i]});
    std::vector<PublicKey>& touched = out.touched[i];
    touched.push_back(tx.signer);
    auto add_other = [&](const auto& op) {
      std::optional<PublicKey> other = Counterparty(op, tx.signer, tx.hash, txn);
      if (other && *other != tx.signer) touched.push_back(*other);
    };
    if (!IsMultiOp(tx.body)) {
      add_other(tx.body);
      return;
    }
    for (const auto& op : tx.body.operations().ops()) add_other(op);
    std::sort(touched.begin() + 1, touched.end());
    touched.erase(std::unique(touched.begin() + 1, touched.end()), touched.end());
  };
  // Applies tx i into txn and stores its result; returns true when OK.
  auto apply_one = [&](StateTxn* txn, size_t i) {
    const CheckedTx& tx = (*checked)[i];
    if (tx.code != pb::RESULT_OK) {
      out.results[i] = tx.code;
      out.failed_op[i] = tx.failed_op;
      return false;
    }
    if (txn->GetTxLocation(tx.hash)) {
      out.results[i] = pb::RESULT_ALREADY_APPLIED;
      return false;
    }
    if (!IsMultiOp(tx.body) && !rules.fund) {
      TxApplier applier(txn, rules, height, time_ms);
      applier.set_index(static_cast<uint32_t>(i));
      out.results[i] = applier.Apply(tx);
    } else {
      // All or nothing: the operations run in a child scope kept only when
      // every one succeeds; the transaction is recorded either way. On a
      // chain with a fund a single operation runs the same way, since the
      // signer's dividend is credited before it (and kept only with it).
      StateTxn ops_scope(txn);
      TxApplier applier(&ops_scope, rules, height, time_ms);
      applier.set_index(static_cast<uint32_t>(i));
      out.results[i] =
          IsMultiOp(tx.body) ? applier.ApplyList(tx, &out.failed_op[i]) : applier.Apply(tx);
      if (out.results[i] == pb::RESULT_OK) ops_scope.CommitTo(txn);
    }
    record(txn, i);
    return out.results[i] == pb::RESULT_OK;
  };

  size_t next_range = 0;
  for (size_t i = 0; i < n;) {
    if (next_range < static_cast<size_t>(block.atomic_size()) &&
        block.atomic(static_cast<int>(next_range)).first() == i) {
      const auto& range = block.atomic(static_cast<int>(next_range++));
      size_t end = i + range.count();
      StateTxn child(root);
      bool all_ok = true;
      for (size_t j = i; j < end; ++j) {
        if (!all_ok) {
          // After the first failure the rest is not applied; its own checks
          // still decide between a stateless code and ATOMIC_BATCH_FAILED.
          const CheckedTx& tx = (*checked)[j];
          out.results[j] = tx.code != pb::RESULT_OK ? tx.code : pb::RESULT_ATOMIC_BATCH_FAILED;
          if (tx.code != pb::RESULT_OK) out.failed_op[j] = tx.failed_op;
          continue;
        }
        all_ok = apply_one(&child, j);
      }
      if (all_ok) {
        child.CommitTo(root);
      } else {
        // Roll back everything, records included: the failing member keeps
        // its code for the client, the others become ATOMIC_BATCH_FAILED, and
        // none is recorded, so each stays submittable (see RecordedMask).
        for (size_t j = i; j < end; ++j) {
          if (out.results[j] == pb::RESULT_OK) out.results[j] = pb::RESULT_ATOMIC_BATCH_FAILED;
          out.touched[j].clear();
        }
      }
      i = end;
    } else {
      apply_one(root, i);
      ++i;
    }
  }

  CHIP_RETURN_IF_ERROR(committed->status());
  out.changes_hash = root->ChangesHash();
  for (size_t i = 0; i < n; ++i) {
    if (!out.failed_op[i]) continue;
    pb::OperationFailure f;
    f.set_tx(static_cast<uint32_t>(i));
    f.set_op(*out.failed_op[i]);
    out.failed_operations.push_back(f);
  }
  return out;
}

}  // namespace chip
