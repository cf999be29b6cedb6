// `chip price [at|convert|quote|chips|observe|fit|chart]`: the wiring of
// cli/price/price.h. `price observe` signs a PriceObservation and is sent
// like every other transaction (cli/commands/transaction.h).
#include "cli/price/price.h"

#include <CLI/CLI.hpp>
#include <chrono>
#include <memory>
#include <vector>

#include "cli/commands/commands.h"
#include "cli/commands/transaction.h"
#include "ledger/amount.h"
#include "ledger/limits.h"

namespace chip::cli {

namespace {

struct PriceFlags {
  std::string basis;
  std::string at, date, amount, chip, usd, source, csv, out, t0;
  std::vector<std::string> presets;
  TxFlags tx;
  CLI::App* at_cmd = nullptr;
  CLI::App* convert = nullptr;
  CLI::App* quote = nullptr;
  CLI::App* chips = nullptr;
  CLI::App* observe = nullptr;
  CLI::App* fit = nullptr;
  CLI::App* chart = nullptr;
};

int RunObserve(Session* s, const PriceFlags& f) {
  const uint64_t now_ms =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count());
  auto body = BuildObserveBody(f.chip, f.usd, f.at, f.source, now_ms);
  if (!body.ok()) return s->Fail(kExitUsage, body.status().message());
  if (f.tx.memo.size() > kMemoBytesMax) return s->Fail(kExitUsage, "memo longer than 256 bytes");
  body->set_memo(f.tx.memo);
  if (int code = ApplyValidFor(s, f.tx, &*body); code != kExitOk) return code;
  const auto& o = body->observe_price();
  nlohmann::json extra = {{"observation",
                           {{"chip", o.chip()},
                            {"usd_micros_per_chip_hour", o.usd_micros_per_chip_hour()},
                            {"observed_at_ms", o.observed_at_ms()},
                            {"source", o.source()}}}};
  std::string what = "observed " + o.chip() + " at $" + FormatCu(o.usd_micros_per_chip_hour()) +
                     " per chip-hour on " + FormatTimeMs(o.observed_at_ms()) +
                     (o.source().empty() ? "" : " (" + o.source() + ")");
  return SignAndSubmit(s, f.tx, std::move(*body), what, extra);
}

int RunPrice(const Globals& g, const PriceFlags& f) {
  if (*f.observe) {
    Session s(g);
    if (int code = UseOfflineChain(&s, f.tx); code != kExitOk) return code;
    return RunObserve(&s, f);
  }
  PriceCommands prices(g.node, g.timeout_ms, g.json);
  if (*f.at_cmd) return prices.Show(f.date, f.basis);
  if (*f.convert) return prices.Convert(f.amount, f.chip, f.basis);
  if (*f.quote) return prices.Quote(f.amount, f.at, f.basis);
  if (*f.chips) return prices.Chips(f.basis);
  if (*f.fit) return prices.Fit(f.csv, f.basis, f.t0);
  if (*f.chart) return prices.Chart(f.out, f.csv, f.basis, f.t0, f.presets);
  return prices.Show("", f.basis);
}

}  // namespace

Command PriceCommand(CLI::App* app, const std::string& default_from) {
  auto f = std::make_shared<PriceFlags>();
  f->tx.from = default_from;
  CLI::App* price = app->add_subcommand(
      "price", "the price of compute: USD per CU now, the curve and its halving time");
  price->require_subcommand(0, 1);
  price->add_option("--basis", f->basis, "chip-hour conversion: bf16 (default), bf16-bandwidth");
  f->at_cmd = price->add_subcommand("at", "USD per CU at a date");
  f->at_cmd->add_option("date", f->date, "YYYY-MM-DD or RFC 3339 UTC")->required();
  f->convert = price->add_subcommand("convert", "chip time on a chip in CU");
  f->convert->add_option("hours", f->amount, "chip time: 3h, 90m, 2d")->required();
  f->convert->add_option("--chip", f->chip, "chip id, name or alias, e.g. B200")->required();
  f->quote = price->add_subcommand("quote", "CU to USD (25CU) or USD to CU ('$100')");
  f->quote->add_option("amount", f->amount, "25CU, 2500000uCU, '$100' or 100USD")->required();
  f->quote->add_option("--at", f->at, "at this date (default now)");
  f->chips = price->add_subcommand("chips", "the chip catalog: CU per hour, accepted on chain");
  f->observe = price->add_subcommand(
      "observe", "oracle: sign a market price of one chip-hour (a PriceObservation)");
  f->observe->add_option("chip", f->chip, "chip id, name or alias")->required();
  f->observe->add_option("usd_per_hour", f->usd, "USD per chip-hour, e.g. 2.10")->required();
  f->observe->add_option("--at", f->at, "when it was observed (default now)");
  f->observe->add_option("--source", f->source, "where the price comes from (at most 64 bytes)");
  AddTxFlags(f->observe, &f->tx);
  f->fit = price->add_subcommand("fit", "offline Theil-Sen fit of an observations CSV");
  f->fit->add_option("--csv", f->csv, "observations: date, usd_per_hour[, chip, source]")
      ->required();
  f->fit->add_option("--t0", f->t0, "date of P0 (default the median observation's day)");
  f->chart =
      price->add_subcommand("chart", "draw the curve, its interval and observations (gnuplot)");
  f->chart->add_option("--out", f->out, "PNG file to write")->required();
  f->chart->add_option("--csv", f->csv, "fit this CSV instead of asking the node");
  f->chart->add_option("--t0", f->t0, "with --csv: date of P0");
  f->chart->add_option("--preset", f->presets,
                       "also draw a published halving time through P0 at t0 (repeatable): "
                       "moore, epoch-all-gpus, epoch-ml-gpus, epoch-top-gpus, epoch-fp16, "
                       "epoch-ml-hardware, cotra-2020, ai-impacts-2019, koomey-post-2000");
  return {price, [f](const Globals& g) { return RunPrice(g, *f); }};
}

}  // namespace chip::cli
