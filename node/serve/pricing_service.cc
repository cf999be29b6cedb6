#include "node/serve/pricing_service.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "ledger/pricing/curve.h"

namespace chip::node {

namespace pb = ::chipledger::v1;

namespace {

constexpr double kMsPerYear = 365.25 * 24 * 3600 * 1000;

pricing::Basis FromProto(pb::Basis b) {
  return b == pb::BASIS_BF16_BANDWIDTH ? pricing::Basis::kBf16Bandwidth : pricing::Basis::kBf16;
}
pb::Basis ToProto(pricing::Basis b) {
  return b == pricing::Basis::kBf16Bandwidth ? pb::BASIS_BF16_BANDWIDTH : pb::BASIS_BF16;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

pricing::Curve ToCurve(const pb::Curve& c) {
  return pricing::Curve{c.p0_usd_per_cu(), c.t0_ms(), c.halving_years()};
}

}  // namespace

Result<PricingService::Served> PricingService::CurrentCurve(pricing::Basis basis) {
  uint64_t height = ctx_->orderer->Tip().height();
  std::lock_guard<std::mutex> lock(mu_);
  if (cached_height_ != height) {
    cache_.clear();
    cached_height_ = height;
  }
  auto hit = cache_.find(static_cast<int>(basis));
  if (hit != cache_.end()) return hit->second;

  Served s;
  const Genesis& g = ctx_->chain->genesis();
  if (!g.pricing) return Status::FailedPrecondition("this chain's genesis has no pricing section");
  const pricing::Catalog& catalog = pricing::Catalog::Builtin();
  auto obs = ctx_->chain->store()->Observations(pricing::kFitObservationsMax);
  if (!obs.ok()) return obs.status();
  s.observations = std::move(*obs);
  std::vector<pricing::Observation> points;
  std::vector<size_t> point_of;  // index into s.observations
  s.usd_per_cu.assign(s.observations.size(), 0);
  s.far_off.assign(s.observations.size(), false);
  for (size_t i = 0; i < s.observations.size(); ++i) {
    const Observation& o = s.observations[i].observation;
    const pricing::ChipSpec* chip = catalog.Find(o.chip);
    if (chip == nullptr) continue;  // on chain, but unknown to this binary's catalog
    auto cu = pricing::CuPerChipHour(*chip, basis);
    if (!cu.ok() || *cu <= 0) continue;
    double usd = static_cast<double>(o.usd_micros_per_chip_hour) / 1e6 / *cu;
    s.usd_per_cu[i] = usd;
    points.push_back({static_cast<int64_t>(o.observed_at_ms), usd});
    point_of.push_back(i);
  }

  const GenesisPricing& prior = *g.pricing;
  pb::Curve& c = s.curve;
  c.set_source("prior");
  c.set_p0_usd_per_cu(static_cast<double>(prior.prior_usd_micros_per_cu) / 1e6);
  c.set_t0_ms(static_cast<int64_t>(prior.prior_t0_ms));
  double prior_h = static_cast<double>(prior.prior_halving_ms) / kMsPerYear;
  c.set_halving_years(prior_h);
  c.set_halving_low_years(prior_h);
  c.set_halving_high_years(prior_h);
  if (points.size() >= kFitObservationsMin) {
    auto fit = pricing::FitTheilSen(points, static_cast<int64_t>(prior.prior_t0_ms));
    if (fit.ok()) {
      c.set_source("fit");
      c.set_p0_usd_per_cu(fit->curve.p0_usd_per_cu);
      c.set_t0_ms(fit->curve.t0_ms);
      c.set_halving_years(fit->curve.halving_years);
      c.set_halving_low_years(fit->halving_low_years);
      c.set_halving_high_years(fit->halving_high_years);
      c.set_observations_used(static_cast<uint32_t>(fit->n_used));
      c.set_residual_mad_log2(fit->residual_mad_log2);
      for (size_t k : fit->outliers) s.far_off[point_of[k]] = true;
    }
  }
  if (c.source() == "prior") {
    // Against the prior, "far off" means more than a factor of two away.
    for (size_t k = 0; k < points.size(); ++k) {
      double expected = pricing::UsdPerCu(ToCurve(c), points[k].time_ms);
      s.far_off[point_of[k]] = std::fabs(std::log2(points[k].usd_per_cu / expected)) > 1.0;
    }
  }
  cache_[static_cast<int>(basis)] = s;
  return s;
}

std::unique_ptr<ParsedRequestService> PricingMethods(PricingService* pricing, Metrics* metrics) {
  auto s = std::make_unique<ParsedRequestService>(pb::Pricing::service_full_name(), metrics);
  s->AddUnary("GetPrice", pricing, &PricingService::GetPrice);
  s->AddUnary("ConvertChipHours", pricing, &PricingService::ConvertChipHours);
  s->AddUnary("Quote", pricing, &PricingService::Quote);
  s->AddUnary("ListChips", pricing, &PricingService::ListChips);
  s->AddUnary("ListObservations", pricing, &PricingService::ListObservations);
  s->CheckComplete();
  return s;
}

grpc::Status PricingService::GetPrice(grpc::ServerContext*, const pb::GetPriceRequest* req,
                                      pb::GetPriceResponse* resp) {
  return Guard("GetPrice", ctx_->metrics, [&]() -> grpc::Status {
    pricing::Basis basis = FromProto(req->basis());
    auto served = CurrentCurve(basis);
    if (!served.ok()) return ToGrpc(served.status());
    int64_t at = req->at_ms() == 0 ? NowMs() : req->at_ms();
    resp->set_at_ms(at);
    resp->set_usd_per_cu(pricing::UsdPerCu(ToCurve(served->curve), at));
    *resp->mutable_curve() = served->curve;
    resp->set_basis(ToProto(basis));
    return grpc::Status::OK;
  });
}

grpc::Status PricingService::ConvertChipHours(grpc::ServerContext*,
                                              const pb::ConvertChipHoursRequest* req,
                                              pb::ConvertChipHoursResponse* resp) {
  return Guard("ConvertChipHours", ctx_->metrics, [&]() -> grpc::Status {
    if (!std::isfinite(req->hours()) || req->hours() < 0 || req->hours() > 1e9) {
      return InvalidArgument("hours must be a finite number from 0 to 1e9");
    }
    const pricing::ChipSpec* chip = pricing::Catalog::Builtin().Find(req->chip());
    if (chip == nullptr) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          "no chip '" + req->chip() + "' in the catalog (see ListChips)");
    }
    pricing::Basis basis = FromProto(req->basis());
    auto per_hour = pricing::CuPerChipHour(*chip, basis);
    if (!per_hour.ok()) return InvalidArgument(per_hour.status().message());
    double cu = *per_hour * req->hours();
    double ucu = std::floor(cu * 1e6);
    if (ucu >= 1.8e19) return InvalidArgument("amount exceeds the 2^64-1 uCU maximum");
    resp->set_chip_id(chip->id);
    resp->set_cu_per_chip_hour(*per_hour);
    resp->set_cu(cu);
    resp->set_ucu(static_cast<uint64_t>(ucu));
    resp->set_basis(ToProto(basis));
    return grpc::Status::OK;
  });
}

grpc::Status PricingService::Quote(grpc::ServerContext*, const pb::QuoteRequest* req,
                                   pb::QuoteResponse* resp) {
  return Guard("Quote", ctx_->metrics, [&]() -> grpc::Status {
    auto served = CurrentCurve(FromProto(req->basis()));
    if (!served.ok()) return ToGrpc(served.status());
    int64_t at = req->at_ms() == 0 ? NowMs() : req->at_ms();
    double price = pricing::UsdPerCu(ToCurve(served->curve), at);
    if (!std::isfinite(price) || price <= 0) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "no finite price at that time");
    }
    resp->set_usd_per_cu(price);
    resp->set_at_ms(at);
    if (req->amount_case() == pb::QuoteRequest::kUcu) {
      resp->set_ucu(req->ucu());
      resp->set_usd(static_cast<double>(req->ucu()) / 1e6 * price);
    } else if (req->amount_case() == pb::QuoteRequest::kUsd) {
      if (!std::isfinite(req->usd()) || req->usd() < 0)
        return InvalidArgument("usd must be a finite, non-negative number");
      double ucu = std::floor(req->usd() / price * 1e6);
      if (ucu >= 1.8e19) return InvalidArgument("amount exceeds the 2^64-1 uCU maximum");
      resp->set_usd(req->usd());
      resp->set_ucu(static_cast<uint64_t>(ucu));
    } else {
      return InvalidArgument("give ucu or usd");
    }
    return grpc::Status::OK;
  });
}

grpc::Status PricingService::ListChips(grpc::ServerContext*, const pb::ListChipsRequest* req,
                                       pb::ListChipsResponse* resp) {
  return Guard("ListChips", ctx_->metrics, [&]() -> grpc::Status {
    pricing::Basis basis = FromProto(req->basis());
    const auto& on_chain = ctx_->chain->rules().chips;
    for (const auto& chip : pricing::Catalog::Builtin().chips()) {
      pb::ChipInfo* info = resp->add_chips();
      info->set_id(chip.id);
      info->set_name(chip.name);
      info->set_vendor(chip.vendor);
      info->set_release(chip.release);
      info->set_bf16_tflops(chip.bf16_tflops);
      info->set_mem_bw_tbps(chip.mem_bw_tbps.value_or(0));
      info->set_memory_gb(chip.memory_gb.value_or(0));
      auto cu = pricing::CuPerChipHour(chip, basis);
      info->set_cu_per_chip_hour(cu.ok() ? *cu : 0);
      info->set_sources(chip.sources);
      info->set_accepted_on_chain(on_chain.count(chip.id) == 1);
    }
    return grpc::Status::OK;
  });
}

grpc::Status PricingService::ListObservations(grpc::ServerContext*,
                                              const pb::ListObservationsRequest* req,
                                              pb::ListObservationsResponse* resp) {
  return Guard("ListObservations", ctx_->metrics, [&]() -> grpc::Status {
    uint32_t page = req->page_size() == 0 ? 100 : req->page_size();
    if (page > kObservationsPageMax) {
      return InvalidArgument("page_size must be 1.." + std::to_string(kObservationsPageMax));
    }
    auto served = CurrentCurve(FromProto(req->basis()));
    if (!served.ok()) return ToGrpc(served.status());
    resp->set_total(served->observations.size());
    for (size_t i = 0; i < served->observations.size() && i < page; ++i) {
      const StoredObservation& s = served->observations[i];
      pb::ObservationInfo* o = resp->add_observations();
      o->set_height(s.height);
      o->set_oracle(AsString(s.observation.oracle));
      o->set_chip(s.observation.chip);
      o->set_usd_micros_per_chip_hour(s.observation.usd_micros_per_chip_hour);
      o->set_observed_at_ms(static_cast<int64_t>(s.observation.observed_at_ms));
      o->set_source(s.observation.source);
      o->set_usd_per_cu(served->usd_per_cu[i]);
      o->set_far_off_curve(served->far_off[i]);
      auto block = ctx_->chain->store()->GetBlock(s.height);
      if (block.ok() && block->has_value() &&
          s.index < static_cast<uint32_t>((*block)->txs_size())) {
        o->set_tx_hash(AsString(
            TxHash(ctx_->chain->chain_id(), (*block)->txs(static_cast<int>(s.index)).body())));
      }
    }
    return grpc::Status::OK;
  });
}

}  // namespace chip::node
