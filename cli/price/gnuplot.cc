#include "cli/price/gnuplot.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>
#include <string_view>
#include <utility>

#include "cli/price/args.h"
#include "cli/price/format.h"
#include "cli/price/price.h"
#include "cli/price/subprocess.h"
#include "ledger/pricing/dates.h"

namespace chip::cli::price_internal {

namespace {

// A gnuplot single-quoted string: no escapes are processed inside, and a
// quote is written twice.
std::string GpQuote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "''";
    else if (c == '\n' || c == '\r')
      out += ' ';
    else
      out += c;
  }
  return out + "'";
}

// A gnuplot double-quoted string, for text that needs a line break.
std::string GpDoubleQuote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string EpochSeconds(int64_t ms) { return std::to_string(ms / 1000); }

// Tick marks for a log price axis: a 1-1.5-2-3-5-7 series per decade, thinned
// when the range spans many decades. gnuplot's own log ticks are only the
// powers of ten, which leaves a $1.5-$8 axis with one label.
std::string LogTicks(double y_min, double y_max) {
  static const std::vector<std::vector<double>> kSeries = {{1, 1.5, 2, 3, 5, 7}, {1, 2, 5}, {1}};
  std::string best;
  for (const auto& mantissas : kSeries) {
    std::vector<double> ticks;
    for (int e = static_cast<int>(std::floor(std::log10(y_min))) - 1;
         e <= static_cast<int>(std::ceil(std::log10(y_max))); ++e) {
      for (double m : mantissas) {
        double v = m * std::pow(10.0, e);
        if (v >= y_min && v <= y_max) ticks.push_back(v);
      }
    }
    std::string list;
    for (double v : ticks) {
      char label[64];
      std::snprintf(label, sizeof(label), v < 1 ? "$%.2f" : "$%g", v);
      if (!list.empty()) list += ", ";
      list += GpQuote(label) + " " + Fixed(v, 6);
    }
    best = list;
    if (ticks.size() <= 12) break;
  }
  return best.empty() ? "" : "set ytics (" + best + ")\n";
}

// Over a long span gnuplot's automatic time ticks fall every half year or so,
// and labelled with the year alone they repeat ("2024 2024 2025"): one tick on
// each 1 January instead.
std::string YearTicks(int64_t x_min_ms, int64_t x_max_ms) {
  int64_t year = 0, last_year = 0;
  int month = 0, day = 0;
  pricing::CivilFromDays(x_min_ms / pricing::kMsPerDay, &year, &month, &day);
  pricing::CivilFromDays(x_max_ms / pricing::kMsPerDay, &last_year, &month, &day);
  std::string list;
  for (++year; year <= last_year; ++year) {
    const int64_t ms = pricing::DaysFromCivil(year, 1, 1) * pricing::kMsPerDay;
    if (!list.empty()) list += ", ";
    list += GpQuote(std::to_string(year)) + " " + GpQuote(EpochSeconds(ms));
  }
  return list.empty() ? "" : "set xtics (" + list + ")\n";
}

}  // namespace

bool RenderChart(const ChartInput& in, const std::string& out_path, CliError* error) {
  const std::string gnuplot = FindOnPath("gnuplot");
  if (gnuplot.empty()) {
    *error = {kExitError,
              "gnuplot not found on PATH: `chip price chart` draws with gnuplot (Debian: "
              "apt-get install gnuplot-nox)"};
    return false;
  }
  ScratchDir dir;
  if (!dir.ok()) {
    *error = {kExitError, "cannot create a temporary directory for the chart"};
    return false;
  }

  // The x range: every observation, t0, and (from a node) a year past now.
  int64_t x_min = in.curve.t0_ms, x_max = in.curve.t0_ms;
  for (const ChartPoint& p : in.points) {
    x_min = std::min(x_min, p.time_ms);
    x_max = std::max(x_max, p.time_ms);
  }
  if (in.now_ms) {
    x_min = std::min(x_min, *in.now_ms - static_cast<int64_t>(pricing::kMsPerYear));
    x_max = std::max(x_max, *in.now_ms + static_cast<int64_t>(pricing::kMsPerYear));
  }
  const int64_t year_ms = static_cast<int64_t>(pricing::kMsPerYear);
  if (x_max - x_min < year_ms) {
    const int64_t pad = (year_ms - (x_max - x_min)) / 2;
    x_min -= pad;
    x_max += pad;
  }
  const int64_t margin = (x_max - x_min) / 25;
  x_min -= margin;
  x_max += margin;

  // Curve and band samples; the band is the curve with H at each end of its
  // interval, through the same (t0, P0), so it widens away from t0.
  const bool band = std::isfinite(in.curve.p0_usd_per_cu) && in.halving_low_years != 0 &&
                    in.halving_high_years != 0 && !std::isnan(in.halving_low_years) &&
                    !std::isnan(in.halving_high_years);
  std::ostringstream curve_dat;
  double y_min = std::numeric_limits<double>::infinity(), y_max = 0;
  constexpr int kSamples = 240;
  for (int i = 0; i <= kSamples; ++i) {
    const int64_t t = x_min + (x_max - x_min) / kSamples * i;
    const double price = pricing::UsdPerCu(in.curve, t);
    pricing::Curve lo = in.curve, hi = in.curve;
    lo.halving_years = in.halving_low_years;
    hi.halving_years = in.halving_high_years;
    double a = band ? pricing::UsdPerCu(lo, t) : price;
    double b = band ? pricing::UsdPerCu(hi, t) : price;
    if (a > b) std::swap(a, b);
    curve_dat << EpochSeconds(t) << ' ' << price << ' ' << a << ' ' << b;
    for (const pricing::Preset* ref : in.references) {
      pricing::Curve r = in.curve;
      r.halving_years = ref->halving_years;
      curve_dat << ' ' << pricing::UsdPerCu(r, t);
    }
    curve_dat << '\n';
    y_min = std::min(y_min, price);
    y_max = std::max(y_max, price);
  }
  std::ostringstream obs_dat, flagged_dat;
  for (const ChartPoint& p : in.points) {
    obs_dat << EpochSeconds(p.time_ms) << ' ' << p.usd_per_cu << '\n';
    y_min = std::min(y_min, p.usd_per_cu);
    y_max = std::max(y_max, p.usd_per_cu);
  }
  for (const ChartPoint& p : in.flagged) {
    flagged_dat << EpochSeconds(p.time_ms) << ' ' << p.usd_per_cu << '\n';
  }
  if (!(y_min > 0) || !std::isfinite(y_max)) {
    *error = {kExitError, "nothing to chart: the curve has no positive finite price"};
    return false;
  }
  // The band is drawn clipped to the data's range: far from t0 a wide
  // interval spans decades and would flatten everything else.
  // Headroom at the top keeps the legend (top right, where a falling curve
  // leaves room) clear of the data.
  y_min /= 1.5;
  y_max *= 2.5;

  const std::string curve_file = dir.File("curve.dat");
  const std::string obs_file = dir.File("observations.dat");
  const std::string flagged_file = dir.File("flagged.dat");
  const std::string script_file = dir.File("chart.gp");
  const std::string log_file = dir.File("gnuplot.log");

  const bool long_span = x_max - x_min > 4 * year_ms;
  std::ostringstream gp;
  gp << "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
     << "  set terminal pngcairo noenhanced size 1200,700 font 'Sans,11'\n"
     << "} else {\n"
     << "  set terminal png noenhanced size 1200,700\n"
     << "}\n"
     << "set output " << GpQuote(out_path) << "\n"
     << "set title " << GpDoubleQuote(in.title) << "\n"
     << "set xdata time\n"
     << "set timefmt '%s'\n"
     << "set format x '%Y-%m'\n"
     << (long_span ? YearTicks(x_min, x_max) : "") << "set xrange [" << GpQuote(EpochSeconds(x_min))
     << ":" << GpQuote(EpochSeconds(x_max)) << "]\n"
     << "set xlabel 'date (UTC)'\n"
     << "set ylabel 'USD per CU (one H100 SXM hour), log scale'\n"
     << "set logscale y\n"
     << "set yrange [" << y_min << ":" << y_max << "]\n"
     << LogTicks(y_min, y_max) << "set grid xtics ytics lc rgb '#dddddd'\n"
     << "set key inside top right vertical box opaque samplen 3 width 1\n"
     << "set arrow from " << GpQuote(EpochSeconds(in.curve.t0_ms)) << ", graph 0 to "
     << GpQuote(EpochSeconds(in.curve.t0_ms)) << ", graph 1 nohead dt 3 lc rgb '#777777'\n"
     << "set label 't0' at " << GpQuote(EpochSeconds(in.curve.t0_ms))
     << ", graph 0.03 offset 0.6,0 tc rgb '#555555'\n";
  std::vector<std::string> plots;
  if (band) {
    plots.push_back(GpQuote(curve_file) +
                    " using 1:3:4 with filledcurves fc rgb '#c6dbef' fs solid 0.7 noborder title " +
                    GpQuote("95% interval of H (through P0 at t0)"));
  }
  plots.push_back(GpQuote(curve_file) + " using 1:2 with lines lw 2.5 lc rgb '#08519c' title " +
                  GpQuote("curve: P0 at t0, halving every H years"));
  static const char* kReferenceColors[] = {"#31a354", "#756bb1", "#636363", "#d6616b"};
  for (size_t i = 0; i < in.references.size(); ++i) {
    const pricing::Preset* ref = in.references[i];
    plots.push_back(GpQuote(curve_file) + " using 1:" + std::to_string(5 + i) +
                    " with lines lw 1.5 dt 2 lc rgb '" + kReferenceColors[i % 4] + "' title " +
                    GpQuote(std::string("reference: ") + ref->name +
                            ", H = " + Fixed(ref->halving_years, 2) + " years (through P0 at t0)"));
  }
  if (!in.points.empty()) {
    plots.push_back(GpQuote(obs_file) +
                    " using 1:2 with points pt 7 ps 1.1 lc rgb '#e6550d' title " +
                    GpQuote("observations"));
  }
  if (!in.flagged.empty()) {
    plots.push_back(GpQuote(flagged_file) +
                    " using 1:2 with points pt 6 ps 2.2 lw 1.5 lc rgb '#a50f15' title " +
                    GpQuote("outliers (beyond 3 robust standard deviations)"));
  }
  gp << "plot ";
  for (size_t i = 0; i < plots.size(); ++i) gp << (i ? ", \\\n     " : "") << plots[i];
  gp << "\n";

  if (!WriteText(curve_file, curve_dat.str()) || !WriteText(obs_file, obs_dat.str()) ||
      !WriteText(flagged_file, flagged_dat.str()) || !WriteText(script_file, gp.str())) {
    *error = {kExitError, "cannot write the chart's temporary files"};
    return false;
  }
  const int code = RunProgram(gnuplot, script_file, log_file, kGnuplotTimeoutMs);
  if (code != 0) {
    bool ok = false, too_large = false;
    std::string log = ReadBounded(log_file, 1 << 20, &ok, &too_large);
    if (log.size() > 2000) log = log.substr(0, 2000) + "...";
    *error = {kExitError, gnuplot +
                              (code < 0 ? " failed or timed out"
                                        : " exited with code " + std::to_string(code)) +
                              (log.empty() ? "" : ":\n" + log)};
    return false;
  }
  struct stat st;
  if (::stat(out_path.c_str(), &st) != 0 || st.st_size == 0) {
    *error = {kExitError, gnuplot + " wrote no image to " + out_path};
    return false;
  }
  return true;
}

}  // namespace chip::cli::price_internal
