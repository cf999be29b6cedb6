// `chip price observe`: the body of a PriceObservation transaction (signed
// and sent by cli/commands/price.cc like every other transaction).
#include "cli/price/args.h"
#include "cli/price/price.h"
#include "ledger/pricing/catalog.h"

namespace chip::cli {

namespace pb = ::chipledger::v1;
using price_internal::ParseAtMs;
using price_internal::Trim;

namespace {

// Time between a wallet's "now" and the observation time it signs by default.
// A price that moves over years does not care about a minute, while a wallet
// clock a little ahead of the node's would otherwise turn a current
// observation into FUTURE_OBSERVATION.
constexpr uint64_t kObserveNowBackoffMs = 60'000;

}  // namespace

Result<pb::TxBody> BuildObserveBody(const std::string& chip, const std::string& usd_per_hour,
                                    const std::string& at, const std::string& source,
                                    uint64_t now_ms) {
  if (Trim(chip).empty()) return Status::InvalidArgument("a chip is required, e.g. h100-sxm");
  Result<uint64_t> micros = ParseUsdMicros(usd_per_hour);
  if (!micros.ok()) return micros.status();
  uint64_t observed_at_ms = now_ms > kObserveNowBackoffMs ? now_ms - kObserveNowBackoffMs : 0;
  if (!at.empty()) {
    Result<int64_t> ms = ParseAtMs(at);
    if (!ms.ok()) return Status::InvalidArgument("--at: " + ms.status().message());
    observed_at_ms = static_cast<uint64_t>(*ms);
  }
  const pricing::ChipSpec* spec = pricing::Catalog::Builtin().Find(chip);
  pb::TxBody body;
  auto* o = body.mutable_observe_price();
  o->set_chip(spec != nullptr ? spec->id : chip);
  o->set_usd_micros_per_chip_hour(*micros);
  o->set_observed_at_ms(observed_at_ms);
  o->set_source(source);
  return body;
}

}  // namespace chip::cli
