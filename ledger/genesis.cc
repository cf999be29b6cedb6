#include "ledger/genesis.h"

#include <nlohmann/json.hpp>

#include "ledger/address.h"
#include "ledger/amount.h"
#include "ledger/check.h"
#include "ledger/crypto.h"

namespace chip {
namespace {

using json = nlohmann::json;

Status CheckKeys(const json& obj, const std::set<std::string>& allowed, const std::string& where) {
  for (const auto& [k, v] : obj.items()) {
    (void)v;
    if (allowed.count(k) == 0) {
      return Status::InvalidArgument(where + ": unknown field '" + k + "'");
    }
  }
  return Status::Ok();
}

Result<PublicKey> AddressField(const json& v, const std::string& where) {
  if (!v.is_string()) return Status::InvalidArgument(where + ": expected an address string");
  auto key = DecodeAddress(v.get<std::string>());
  if (!key.ok()) return Status::InvalidArgument(where + ": " + key.status().message());
  return *key;
}

Result<uint64_t> U64Field(const json& v, const std::string& where) {
  if (!v.is_number_unsigned()) {
    return Status::InvalidArgument(where + ": expected a non-negative integer below 2^64");
  }
  return v.get<uint64_t>();
}

Result<const json*> ArrayField(const json& root, const char* name) {
  if (!root.contains(name)) return static_cast<const json*>(nullptr);
  const json& a = root.at(name);
  if (!a.is_array()) return Status::InvalidArgument(std::string(name) + ": expected an array");
  if (a.size() > kGenesisEntriesMax) {
    return Status::InvalidArgument(std::string(name) + ": more than " +
                                   std::to_string(kGenesisEntriesMax) + " entries");
  }
  return &a;
}

Status KeyList(const json& root, const char* name, std::vector<PublicKey>* out) {
  auto arr = ArrayField(root, name);
  if (!arr.ok()) return arr.status();
  if (*arr == nullptr) return Status::Ok();
  std::set<PublicKey> seen;
  for (size_t i = 0; i < (*arr)->size(); ++i) {
    std::string where = std::string(name) + "[" + std::to_string(i) + "]";
    auto key = AddressField((**arr)[i], where);
    if (!key.ok()) return key.status();
    if (!seen.insert(*key).second) return Status::InvalidArgument(where + ": duplicate key");
    out->push_back(*key);
  }
  return Status::Ok();
}

}  // namespace

Result<Genesis> ParseGenesis(std::string_view json_text) {
  if (json_text.size() > kGenesisBytesMax) return Status::InvalidArgument("genesis file too large");
  json root = json::parse(json_text.begin(), json_text.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return Status::InvalidArgument("genesis is not valid JSON");
  if (!root.is_object()) return Status::InvalidArgument("genesis must be a JSON object");
  CHIP_RETURN_IF_ERROR(CheckKeys(root,
                                 {"chain_name", "genesis_time_ms", "issuers", "oracles",
                                  "validators", "balances", "pricing", "fund"},
                                 "genesis"));
  Genesis g;
  if (!root.contains("chain_name") || !root["chain_name"].is_string()) {
    return Status::InvalidArgument("chain_name: required string");
  }
  g.chain_name = root["chain_name"].get<std::string>();
  if (g.chain_name.empty() || g.chain_name.size() > kChainNameBytesMax) {
    return Status::InvalidArgument("chain_name: 1 to 64 characters");
  }
  for (char c : g.chain_name) {
    if (c < 0x21 || c > 0x7e)
      return Status::InvalidArgument("chain_name: printable ASCII, no spaces");
  }
  if (!root.contains("genesis_time_ms"))
    return Status::InvalidArgument("genesis_time_ms: required");
  auto t = U64Field(root["genesis_time_ms"], "genesis_time_ms");
  if (!t.ok()) return t.status();
  g.genesis_time_ms = *t;

  auto issuers = ArrayField(root, "issuers");
  if (!issuers.ok()) return issuers.status();
  if (*issuers != nullptr) {
    std::set<PublicKey> seen;
    for (size_t i = 0; i < (*issuers)->size(); ++i) {
      const json& e = (**issuers)[i];
      std::string where = "issuers[" + std::to_string(i) + "]";
      if (!e.is_object()) return Status::InvalidArgument(where + ": expected an object");
      CHIP_RETURN_IF_ERROR(CheckKeys(e, {"address", "cap_ucu"}, where));
      if (!e.contains("address")) return Status::InvalidArgument(where + ": address required");
      auto key = AddressField(e["address"], where + ".address");
      if (!key.ok()) return key.status();
      if (!seen.insert(*key).second) return Status::InvalidArgument(where + ": duplicate issuer");
      GenesisIssuer is{*key, std::nullopt};
      if (e.contains("cap_ucu")) {
        auto cap = U64Field(e["cap_ucu"], where + ".cap_ucu");
        if (!cap.ok()) return cap.status();
        is.cap_ucu = *cap;
      }
      g.issuers.push_back(is);
    }
  }
  if (root.contains("pricing")) {
    const json& p = root["pricing"];
    if (!p.is_object()) return Status::InvalidArgument("pricing: expected an object");
    CHIP_RETURN_IF_ERROR(CheckKeys(
        p, {"chips", "prior_usd_micros_per_cu", "prior_t0_ms", "prior_halving_ms"}, "pricing"));
    GenesisPricing gp;
    if (!p.contains("chips") || !p["chips"].is_array() || p["chips"].size() > 1000) {
      return Status::InvalidArgument("pricing.chips: required array of at most 1000 chip ids");
    }
    std::set<std::string> seen;
    for (const auto& c : p["chips"]) {
      if (!c.is_string()) return Status::InvalidArgument("pricing.chips: ids are strings");
      std::string id = c.get<std::string>();
      bool ok = !id.empty() && id.size() <= kChipIdBytesMax;
      for (char ch : id)
        ok = ok && ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-');
      if (!ok)
        return Status::InvalidArgument("pricing.chips: '" + id +
                                       "' is not a chip id ([a-z0-9-], 1-32)");
      if (!seen.insert(id).second) return Status::InvalidArgument("pricing.chips: duplicate " + id);
      gp.chips.push_back(id);
    }
    for (auto [key, field] :
         {std::make_pair("prior_usd_micros_per_cu", &gp.prior_usd_micros_per_cu),
          std::make_pair("prior_t0_ms", &gp.prior_t0_ms),
          std::make_pair("prior_halving_ms", &gp.prior_halving_ms)}) {
      if (!p.contains(key))
        return Status::InvalidArgument(std::string("pricing.") + key + ": required");
      auto v = U64Field(p[key], std::string("pricing.") + key);
      if (!v.ok()) return v.status();
      *field = *v;
    }
    if (gp.prior_usd_micros_per_cu == 0 || gp.prior_halving_ms == 0) {
      return Status::InvalidArgument("pricing: prior price and halving time must be positive");
    }
    g.pricing = gp;
  }
  if (root.contains("fund")) {
    const json& f = root["fund"];
    if (!f.is_object()) return Status::InvalidArgument("fund: expected an object");
    CHIP_RETURN_IF_ERROR(
        CheckKeys(f, {"settle_levy_bps", "mint_share_bps", "epoch_ms", "registrars"}, "fund"));
    FundRules fr;
    for (auto [key, field] : {std::make_pair("settle_levy_bps", &fr.settle_levy_bps),
                              std::make_pair("mint_share_bps", &fr.mint_share_bps),
                              std::make_pair("epoch_ms", &fr.epoch_ms)}) {
      if (!f.contains(key))
        return Status::InvalidArgument(std::string("fund.") + key + ": required");
      auto v = U64Field(f[key], std::string("fund.") + key);
      if (!v.ok()) return v.status();
      *field = *v;
    }
    if (fr.settle_levy_bps > kBasisPointsMax || fr.mint_share_bps > kBasisPointsMax) {
      return Status::InvalidArgument("fund: settle_levy_bps and mint_share_bps are 0 to 10000");
    }
    if (fr.epoch_ms == 0) return Status::InvalidArgument("fund.epoch_ms: must be positive");
    if (!CheckedAdd(g.genesis_time_ms, fr.epoch_ms)) {
      return Status::InvalidArgument("fund.epoch_ms: genesis_time_ms + epoch_ms exceeds 2^64-1");
    }
    std::vector<PublicKey> registrars;
    CHIP_RETURN_IF_ERROR(KeyList(f, "registrars", &registrars));
    if (registrars.empty()) {
      return Status::InvalidArgument("fund.registrars: at least one registrar key");
    }
    fr.registrars.insert(registrars.begin(), registrars.end());
    g.fund = fr;
  }
  CHIP_RETURN_IF_ERROR(KeyList(root, "oracles", &g.oracles));
  CHIP_RETURN_IF_ERROR(KeyList(root, "validators", &g.validators));

  auto balances = ArrayField(root, "balances");
  if (!balances.ok()) return balances.status();
  if (*balances != nullptr) {
    std::set<PublicKey> seen;
    uint64_t total = 0;
    for (size_t i = 0; i < (*balances)->size(); ++i) {
      const json& e = (**balances)[i];
      std::string where = "balances[" + std::to_string(i) + "]";
      if (!e.is_object()) return Status::InvalidArgument(where + ": expected an object");
      CHIP_RETURN_IF_ERROR(CheckKeys(e, {"address", "amount_ucu"}, where));
      if (!e.contains("address") || !e.contains("amount_ucu")) {
        return Status::InvalidArgument(where + ": address and amount_ucu required");
      }
      auto key = AddressField(e["address"], where + ".address");
      if (!key.ok()) return key.status();
      auto amount = U64Field(e["amount_ucu"], where + ".amount_ucu");
      if (!amount.ok()) return amount.status();
      if (*amount == 0) return Status::InvalidArgument(where + ": amount_ucu must be positive");
      if (!seen.insert(*key).second) return Status::InvalidArgument(where + ": duplicate account");
      auto sum = CheckedAdd(total, *amount);
      if (!sum) return Status::InvalidArgument("balances: total exceeds 2^64-1 uCU");
      total = *sum;
      g.balances.emplace_back(*key, *amount);
    }
  }
  return g;
}

std::string CanonicalGenesis(const Genesis& g) {
  // nlohmann::json objects are std::map-ordered, so dump() sorts keys
  // byte-wise; with indent -1 it emits no white space.
  json root = json::object();
  root["chain_name"] = g.chain_name;
  root["genesis_time_ms"] = g.genesis_time_ms;
  json issuers = json::array();
  for (const auto& is : g.issuers) {
    json e = {{"address", EncodeAddress(is.key)}};
    if (is.cap_ucu) e["cap_ucu"] = *is.cap_ucu;
    issuers.push_back(e);
  }
  root["issuers"] = issuers;
  json oracles = json::array();
  for (const auto& k : g.oracles) oracles.push_back(EncodeAddress(k));
  root["oracles"] = oracles;
  json validators = json::array();
  for (const auto& k : g.validators) validators.push_back(EncodeAddress(k));
  root["validators"] = validators;
  json balances = json::array();
  for (const auto& [k, v] : g.balances) {
    balances.push_back({{"address", EncodeAddress(k)}, {"amount_ucu", v}});
  }
  root["balances"] = balances;
  if (g.pricing) {
    json chips = json::array();
    for (const auto& c : g.pricing->chips) chips.push_back(c);
    root["pricing"] = {{"chips", chips},
                       {"prior_usd_micros_per_cu", g.pricing->prior_usd_micros_per_cu},
                       {"prior_t0_ms", g.pricing->prior_t0_ms},
                       {"prior_halving_ms", g.pricing->prior_halving_ms}};
  }
  if (g.fund) {
    json registrars = json::array();
    for (const auto& k : g.fund->registrars) registrars.push_back(EncodeAddress(k));
    root["fund"] = {{"settle_levy_bps", g.fund->settle_levy_bps},
                    {"mint_share_bps", g.fund->mint_share_bps},
                    {"epoch_ms", g.fund->epoch_ms},
                    {"registrars", registrars}};
  }
  return root.dump();
}

Hash32 ChainId(const Genesis& g) { return Sha256(CanonicalGenesis(g)); }

ChainRules RulesFromGenesis(const Genesis& g) {
  ChainRules r;
  r.chain_id = ChainId(g);
  for (const auto& is : g.issuers) r.issuer_caps[is.key] = is.cap_ucu;
  r.oracles.insert(g.oracles.begin(), g.oracles.end());
  r.validators.insert(g.validators.begin(), g.validators.end());
  if (g.pricing) r.chips.insert(g.pricing->chips.begin(), g.pricing->chips.end());
  r.fund = g.fund;
  return r;
}

void StageGenesisState(const Genesis& g, StateTxn* txn) {
  Supply s;
  for (const auto& [k, v] : g.balances) {
    Account a;
    a.balance_ucu = v;
    txn->PutAccount(k, a);
    auto sum = CheckedAdd(s.minted_ucu, v);
    CHIP_CHECK(sum.has_value());  // ParseGenesis checked the total
    s.minted_ucu = *sum;
  }
  txn->PutSupply(s);
  if (g.fund) {
    FundState f;
    f.next_boundary_ms = *CheckedAdd(g.genesis_time_ms, g.fund->epoch_ms);  // ParseGenesis checked
    txn->PutFund(f);
  }
}

}  // namespace chip
