#include "ledger/state.h"

namespace chip {

std::string EncodeAccount(const Account& a) {
  std::string out;
  PutU64(&out, a.balance_ucu);
  PutU64(&out, a.held_as_payer_ucu);
  PutU64(&out, a.held_as_provider_ucu);
  return out;
}

std::optional<Account> DecodeAccount(std::string_view v) {
  Account a;
  if (!GetU64(&v, &a.balance_ucu) || !GetU64(&v, &a.held_as_payer_ucu) ||
      !GetU64(&v, &a.held_as_provider_ucu) || !v.empty()) {
    return std::nullopt;
  }
  return a;
}

std::string EncodeReservation(const Reservation& r) {
  std::string out;
  PutHash(&out, r.payer);
  PutHash(&out, r.provider);
  PutU64(&out, r.amount_ucu);
  PutU64(&out, r.held_ucu);
  PutU64(&out, r.settled_ucu);
  PutU64(&out, r.created_height);
  PutU64(&out, r.expires_at_ms);
  PutU8(&out, static_cast<uint8_t>(r.status));
  return out;
}

std::optional<Reservation> DecodeReservation(std::string_view v) {
  Reservation r;
  uint8_t status = 0;
  if (!GetHash(&v, &r.payer) || !GetHash(&v, &r.provider) || !GetU64(&v, &r.amount_ucu) ||
      !GetU64(&v, &r.held_ucu) || !GetU64(&v, &r.settled_ucu) || !GetU64(&v, &r.created_height) ||
      !GetU64(&v, &r.expires_at_ms) || !GetU8(&v, &status) || !v.empty() || status < 1 ||
      status > 4) {
    return std::nullopt;
  }
  r.status = static_cast<ReservationStatus>(status);
  return r;
}

std::string EncodeSupply(const Supply& s) {
  std::string out;
  PutU64(&out, s.minted_ucu);
  PutU64(&out, s.burned_ucu);
  return out;
}

std::optional<Supply> DecodeSupply(std::string_view v) {
  Supply s;
  if (!GetU64(&v, &s.minted_ucu) || !GetU64(&v, &s.burned_ucu) || !v.empty()) return std::nullopt;
  return s;
}

std::string EncodeObservationKey(const ObservationKey& k) {
  std::string out;
  PutU64(&out, k.height);
  PutU32(&out, k.index);
  if (k.op) PutU32(&out, *k.op);
  return out;
}

std::optional<ObservationKey> DecodeObservationKey(std::string_view v) {
  ObservationKey k;
  if (!GetU64(&v, &k.height) || !GetU32(&v, &k.index)) return std::nullopt;
  if (!v.empty()) {
    uint32_t op = 0;
    if (!GetU32(&v, &op) || !v.empty()) return std::nullopt;
    k.op = op;
  }
  return k;
}

std::string EncodeObservation(const Observation& o) {
  std::string out;
  PutHash(&out, o.oracle);
  PutU64(&out, o.usd_micros_per_chip_hour);
  PutU64(&out, o.observed_at_ms);
  PutU8(&out, static_cast<uint8_t>(o.chip.size()));
  PutBytes(&out, o.chip);
  PutU8(&out, static_cast<uint8_t>(o.source.size()));
  PutBytes(&out, o.source);
  return out;
}

std::optional<Observation> DecodeObservation(std::string_view v) {
  Observation o;
  uint8_t chip_len = 0, source_len = 0;
  if (!GetHash(&v, &o.oracle) || !GetU64(&v, &o.usd_micros_per_chip_hour) ||
      !GetU64(&v, &o.observed_at_ms) || !GetU8(&v, &chip_len) || v.size() < chip_len) {
    return std::nullopt;
  }
  o.chip = std::string(v.substr(0, chip_len));
  v.remove_prefix(chip_len);
  if (!GetU8(&v, &source_len) || v.size() != source_len) return std::nullopt;
  o.source = std::string(v);
  return o;
}

std::string EncodeTxLocation(const TxLocation& l) {
  std::string out;
  PutU64(&out, l.height);
  PutU32(&out, l.index);
  PutU32(&out, static_cast<uint32_t>(l.code));
  return out;
}

std::optional<TxLocation> DecodeTxLocation(std::string_view v) {
  TxLocation l;
  uint32_t code = 0;
  if (!GetU64(&v, &l.height) || !GetU32(&v, &l.index) || !GetU32(&v, &code) || !v.empty()) {
    return std::nullopt;
  }
  l.code = static_cast<int32_t>(code);
  return l;
}

}  // namespace chip
