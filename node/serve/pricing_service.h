// chipledger.v1.Pricing: read-side prices computed from the chain's genesis
// prior and its recorded price observations (docs/PRICING.md). Floating
// point lives here and in ledger/pricing, never in block application.
#pragma once

#include <mutex>
#include <optional>

#include "chipledger/v1/pricing.grpc.pb.h"
#include "ledger/pricing/catalog.h"
#include "ledger/pricing/fit.h"
#include "node/serve/ledger_service.h"

namespace chip::node {

constexpr uint32_t kObservationsPageMax = 1000;
// A fit needs at least this many observations; below it the prior serves.
constexpr size_t kFitObservationsMin = 5;

class PricingService final : public chipledger::v1::Pricing::Service {
 public:
  explicit PricingService(NodeContext* ctx) : ctx_(ctx) {}

  grpc::Status GetPrice(grpc::ServerContext* context, const chipledger::v1::GetPriceRequest* req,
                        chipledger::v1::GetPriceResponse* resp) override;
  grpc::Status ConvertChipHours(grpc::ServerContext* context,
                                const chipledger::v1::ConvertChipHoursRequest* req,
                                chipledger::v1::ConvertChipHoursResponse* resp) override;
  grpc::Status Quote(grpc::ServerContext* context, const chipledger::v1::QuoteRequest* req,
                     chipledger::v1::QuoteResponse* resp) override;
  grpc::Status ListChips(grpc::ServerContext* context, const chipledger::v1::ListChipsRequest* req,
                         chipledger::v1::ListChipsResponse* resp) override;
  grpc::Status ListObservations(grpc::ServerContext* context,
                                const chipledger::v1::ListObservationsRequest* req,
                                chipledger::v1::ListObservationsResponse* resp) override;

 private:
  // The curve for a basis: the fit of the newest observations when there are
  // enough of them, else the genesis prior. Cached until a block adds
  // observations.
  struct Served {
    chipledger::v1::Curve curve;
    std::vector<StoredObservation> observations;  // newest first
    std::vector<double> usd_per_cu;               // per observation (0 if unconvertible)
    std::vector<bool> far_off;
  };
  Result<Served> CurrentCurve(pricing::Basis basis);

  NodeContext* ctx_;
  std::mutex mu_;
  std::optional<uint64_t> cached_height_;
  std::map<int, Served> cache_;  // by basis
};

// The Pricing service's methods, served by `pricing` (see ParsedRequestService).
std::unique_ptr<ParsedRequestService> PricingMethods(PricingService* pricing, Metrics* metrics);

}  // namespace chip::node
