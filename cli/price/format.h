// Number formatting and JSON shared by the `chip price` commands.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "chipledger/v1/pricing.pb.h"

namespace chip::cli::price_internal {

// JSON has no infinity: an unbounded interval end (or a flat curve's halving
// time) is null. Every finite value stays a number.
nlohmann::json Num(double v);

// `v` with `decimals` decimals.
std::string Fixed(double v, int decimals);

// "$2.7603"; two decimals from $100 up.
std::string Usd(double v);

// An interval end in years: "2.46", "inf" or "-inf".
std::string Bound(double years);

// A halving time for people: "2.46 years", or what a flat or rising price means.
std::string HalvingText(double years);

// The 95% interval of a halving time, or that there is none.
std::string IntervalText(double low, double high);

// The built-in catalog's name of chip `id`, or "".
std::string ChipName(const std::string& id);

// A node's curve as JSON.
nlohmann::json CurveJson(const chipledger::v1::Curve& c);

}  // namespace chip::cli::price_internal
