// Conversions: `chip price convert` (chip time to CU, also behind
// `send`/`reserve --chip`) and `chip price quote` (CU to USD and back).
#include "cli/price/args.h"
#include "cli/price/format.h"
#include "cli/price/price.h"
#include "ledger/amount.h"
#include "ledger/pricing/dates.h"

namespace chip::cli {

namespace pb = ::chipledger::v1;
using nlohmann::json;
using price_internal::ChipName;
using price_internal::Fixed;
using price_internal::IsUsdAmount;
using price_internal::ParseAtMs;
using price_internal::ParseBasisArg;
using price_internal::ProtoBasisName;
using price_internal::ToProto;
using price_internal::Trim;
using price_internal::Usd;

bool PriceCommands::ConvertAmount(const std::string& amount, const std::string& chip,
                                  const std::string& basis_text, ChipAmount* out, CliError* error) {
  Result<double> hours = ParseChipHours(amount);
  if (!hours.ok()) {
    *error = {kExitUsage, hours.status().message()};
    return false;
  }
  Result<pricing::Basis> basis = ParseBasisArg(basis_text);
  if (!basis.ok()) {
    *error = {kExitUsage, basis.status().message()};
    return false;
  }
  if (Trim(chip).empty()) {
    *error = {kExitUsage, "--chip is required, e.g. --chip B200"};
    return false;
  }
  // Chip names and ids are printable ASCII; anything else could not even be
  // sent (a proto string must be UTF-8) and would come back as a parse error.
  for (unsigned char c : chip) {
    if (c < 0x20 || c > 0x7e) {
      *error = {kExitUsage, "--chip must be a chip name or id in printable ASCII, e.g. B200"};
      return false;
    }
  }
  pb::ConvertChipHoursRequest req;
  req.set_chip(chip);
  req.set_hours(*hours);
  req.set_basis(ToProto(*basis));
  pb::ConvertChipHoursResponse resp;
  auto ctx = client_.Context();
  grpc::Status s = pricing_->ConvertChipHours(ctx.get(), req, &resp);
  if (!s.ok()) {
    *error = RpcError(s);
    // An unknown chip is a mistyped argument, as an unknown key name is.
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
      *error = {kExitUsage, "node: " + s.error_message()};
    }
    return false;
  }
  out->text = std::string(Trim(amount));
  out->chip_id = resp.chip_id();
  out->hours = *hours;
  out->cu_per_chip_hour = resp.cu_per_chip_hour();
  out->ucu = resp.ucu();
  out->basis = ProtoBasisName(resp.basis());
  return true;
}

int PriceCommands::Convert(const std::string& amount, const std::string& chip,
                           const std::string& basis) {
  ChipAmount a;
  CliError error;
  if (!ConvertAmount(amount, chip, basis, &a, &error)) return Fail(error);
  const std::string name = ChipName(a.chip_id);
  json j = {{"chip_id", a.chip_id},
            {"chip_name", name},
            {"hours", a.hours},
            {"cu_per_chip_hour", a.cu_per_chip_hour},
            {"cu", static_cast<double>(a.ucu) / static_cast<double>(kUcuPerCu)},
            {"ucu", a.ucu},
            {"basis", a.basis}};
  Print(j, a.text + " on " + (name.empty() ? a.chip_id : name + " (" + a.chip_id + ")") + " = " +
               FormatCu(a.ucu) + " CU (" + std::to_string(a.ucu) + " uCU)\n  " +
               Fixed(a.cu_per_chip_hour, 6) + " CU per chip-hour under basis " + a.basis + "\n");
  return kExitOk;
}

int PriceCommands::Quote(const std::string& amount, const std::string& at,
                         const std::string& basis_text) {
  Result<int64_t> at_ms = ParseAtMs(at);
  if (!at_ms.ok()) return Fail(kExitUsage, at_ms.status().message());
  Result<pricing::Basis> basis = ParseBasisArg(basis_text);
  if (!basis.ok()) return Fail(kExitUsage, basis.status().message());
  pb::QuoteRequest req;
  req.set_at_ms(*at_ms);
  req.set_basis(ToProto(*basis));
  const bool from_usd = IsUsdAmount(amount);
  if (from_usd) {
    Result<uint64_t> micros = ParseUsdMicros(amount);
    if (!micros.ok()) return Fail(kExitUsage, micros.status().message());
    req.set_usd(static_cast<double>(*micros) / 1e6);
  } else {
    Result<uint64_t> ucu = ParseAmount(amount);
    if (!ucu.ok()) {
      return Fail(kExitUsage, ucu.status().message() +
                                  " (quote takes CU, e.g. 25CU, or USD, e.g. "
                                  "'$100' or 100USD)");
    }
    req.set_ucu(*ucu);
  }
  // Zero is never what was meant, and the likeliest cause is a shell: an
  // unquoted $100 reaches us as "00".
  if ((from_usd && req.usd() == 0) || (!from_usd && req.ucu() == 0)) {
    return Fail(kExitUsage,
                "quote of zero: for dollars write '$100' in single quotes (the shell "
                "turns an unquoted $100 into 00) or 100USD");
  }
  pb::QuoteResponse resp;
  auto ctx = client_.Context();
  grpc::Status s = pricing_->Quote(ctx.get(), req, &resp);
  if (!s.ok()) return Fail(RpcError(s));
  json j = {{"direction", from_usd ? "usd_to_cu" : "cu_to_usd"},
            {"usd", resp.usd()},
            {"ucu", resp.ucu()},
            {"cu", static_cast<double>(resp.ucu()) / static_cast<double>(kUcuPerCu)},
            {"usd_per_cu", resp.usd_per_cu()},
            {"at_ms", resp.at_ms()},
            {"at", pricing::FormatDateTime(resp.at_ms())}};
  const std::string cu = FormatCu(resp.ucu()) + " CU";
  const std::string usd = "$" + Fixed(resp.usd(), 2);
  Print(j, (from_usd ? usd + " = " + cu + " (" + std::to_string(resp.ucu()) + " uCU)"
                     : cu + " = " + usd) +
               "\n  at " + Usd(resp.usd_per_cu()) + " per CU on " +
               pricing::FormatDateTime(resp.at_ms()) + "\n");
  return kExitOk;
}

}  // namespace chip::cli
