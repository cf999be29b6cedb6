#include "cli/price.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>
#include <optional>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include "cli/tls.h"
#include "ledger/amount.h"
#include "ledger/pricing/catalog.h"
#include "ledger/pricing/curve.h"
#include "ledger/pricing/dates.h"
#include "ledger/pricing/fit.h"
#include "ledger/pricing/observations_csv.h"

namespace chip::cli {

namespace pb = ::chipledger::v1;
using nlohmann::json;

namespace {

// 1.4826 x MAD estimates one standard deviation of normal residuals: the
// factor pricing::FitTheilSen uses for outliers, used here to print the spread.
constexpr double kMadToSigma = 1.4826;

// Time between a wallet's "now" and the observation time it signs by default.
// A price that moves over years does not care about a minute, while a wallet
// clock a little ahead of the node's would otherwise turn a current
// observation into FUTURE_OBSERVATION.
constexpr uint64_t kObserveNowBackoffMs = 60'000;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EndsWithNoCase(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  for (size_t i = 0; i < suffix.size(); ++i) {
    char c = s[s.size() - suffix.size() + i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != suffix[i]) return false;
  }
  return true;
}

// JSON has no infinity: an unbounded interval end (or a flat curve's halving
// time) is null. Every finite value stays a number.
json Num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

std::string Fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

std::string Usd(double v) { return "$" + Fixed(v, v >= 100 ? 2 : 4); }

std::string Bound(double years) {
  if (std::isinf(years)) return years > 0 ? "inf" : "-inf";
  return Fixed(years, 2);
}

std::string HalvingText(double years) {
  if (std::isinf(years)) return "none (a flat price)";
  if (years < 0) return "none: the price rises, doubling every " + Fixed(-years, 2) + " years";
  return Fixed(years, 2) + " years";
}

std::string IntervalText(double low, double high) {
  // A genesis prior is one published number; the node reports it as its own
  // bounds rather than inventing an interval.
  if (low == high) return "no interval (a single value)";
  return "95% interval [" + Bound(low) + ", " + Bound(high) + "] years";
}

Result<pricing::Basis> ParseBasisArg(const std::string& text) {
  if (text.empty()) return pricing::Basis::kBf16;
  return pricing::ParseBasis(text);
}

pb::Basis ToProto(pricing::Basis basis) {
  return basis == pricing::Basis::kBf16Bandwidth ? pb::BASIS_BF16_BANDWIDTH : pb::BASIS_BF16;
}

std::string ProtoBasisName(pb::Basis basis) {
  return basis == pb::BASIS_BF16_BANDWIDTH ? "bf16-bandwidth" : "bf16";
}

// A date flag: empty is 0 (the node's "now"); YYYY-MM-DD or RFC 3339 UTC.
Result<int64_t> ParseAtMs(const std::string& text) {
  if (text.empty()) return int64_t{0};
  Result<int64_t> ms = pricing::ParseDateMs(text);
  if (!ms.ok()) return ms.status();
  if (*ms <= 0) return Status::InvalidArgument("dates before 1970 are not supported: " + text);
  return ms;
}

bool IsUsdAmount(std::string_view text) {
  text = Trim(text);
  return (!text.empty() && text.front() == '$') || EndsWithNoCase(text, "usd");
}

std::string ChipName(const std::string& id) {
  const pricing::ChipSpec* spec = pricing::Catalog::Builtin().Find(id);
  return spec != nullptr ? spec->name : "";
}

json CurveJson(const pb::Curve& c) {
  return {{"p0_usd_per_cu", c.p0_usd_per_cu()},
          {"t0_ms", c.t0_ms()},
          {"t0", pricing::FormatDateTime(c.t0_ms())},
          {"halving_years", Num(c.halving_years())},
          {"halving_low_years", Num(c.halving_low_years())},
          {"halving_high_years", Num(c.halving_high_years())},
          {"source", c.source()},
          {"observations_used", c.observations_used()},
          {"residual_mad_log2", c.residual_mad_log2()}};
}

std::string ReadBounded(const std::string& path, size_t max_bytes, bool* ok, bool* too_large) {
  *ok = false;
  *too_large = false;
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::string text;
  char buf[1 << 16];
  while (in) {
    in.read(buf, sizeof(buf));
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > max_bytes) {
      *too_large = true;
      return "";
    }
  }
  *ok = !in.bad();
  return text;
}

// ---- offline fits ----

struct OfflineFit {
  std::string path;
  pricing::Basis basis = pricing::Basis::kBf16;
  std::vector<pricing::PriceObservation> rows;
  pricing::FitResult fit;
  bool t0_is_median = true;
  int64_t first_ms = 0, last_ms = 0;
};

// log2(observed / curve): positive above the curve.
double ResidualLog2(const pricing::Curve& curve, int64_t t_ms, double usd_per_cu) {
  return std::log2(usd_per_cu) - std::log2(pricing::UsdPerCu(curve, t_ms));
}

bool LoadOfflineFit(const std::string& path, const std::string& basis_text,
                    const std::string& t0_text, OfflineFit* out, CliError* error) {
  Result<pricing::Basis> basis = ParseBasisArg(basis_text);
  if (!basis.ok()) {
    *error = {kExitUsage, basis.status().message()};
    return false;
  }
  bool ok = false, too_large = false;
  std::string csv = ReadBounded(path, kPriceCsvBytesMax, &ok, &too_large);
  if (too_large) {
    *error = {kExitUsage, path + " is larger than " + std::to_string(kPriceCsvBytesMax) + " bytes"};
    return false;
  }
  if (!ok) {
    *error = {kExitUsage, "cannot read " + path};
    return false;
  }
  auto rows = pricing::ParseObservationsCsv(csv, pricing::Catalog::Builtin(), *basis);
  if (!rows.ok()) {
    *error = {kExitUsage, path + ": " + rows.status().message()};
    return false;
  }
  if (rows->empty()) {
    *error = {kExitError, path + " has no observations to fit"};
    return false;
  }
  std::vector<int64_t> times;
  for (const auto& r : *rows) times.push_back(r.time_ms);
  std::sort(times.begin(), times.end());
  int64_t t0_ms = 0;
  if (t0_text.empty()) {
    // The median day: the intercept of a line fit is best determined near the
    // middle of the data, so P0 there carries the least extrapolation.
    const int64_t median = times[times.size() / 2];
    t0_ms = median - ((median % pricing::kMsPerDay) + pricing::kMsPerDay) % pricing::kMsPerDay;
  } else {
    Result<int64_t> t0 = pricing::ParseDateMs(t0_text);
    if (!t0.ok()) {
      *error = {kExitUsage, "--t0: " + t0.status().message()};
      return false;
    }
    t0_ms = *t0;
    out->t0_is_median = false;
  }
  auto fit = pricing::FitTheilSen(pricing::ToObservations(*rows), t0_ms);
  if (!fit.ok()) {
    *error = {kExitError, path + ": cannot fit: " + fit.status().message()};
    return false;
  }
  out->path = path;
  out->basis = *basis;
  out->rows = std::move(*rows);
  out->fit = std::move(*fit);
  out->first_ms = times.front();
  out->last_ms = times.back();
  return true;
}

// ---- charts ----

struct ChartPoint {
  int64_t time_ms;
  double usd_per_cu;
};

struct ChartInput {
  pricing::Curve curve;
  double halving_low_years = 0, halving_high_years = 0;
  std::vector<ChartPoint> points;   // plotted as observations
  std::vector<ChartPoint> flagged;  // drawn again, circled: outliers / far off the curve
  std::optional<int64_t> now_ms;    // extends the x range to show the curve ahead
  std::string title;
  // Published halving times drawn through the same (t0, P0) for comparison.
  std::vector<const pricing::Preset*> references;
};

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

// The first executable `name` on PATH, or "" when there is none.
std::string FindOnPath(const std::string& name) {
  const char* env = std::getenv("PATH");
  std::string path = env != nullptr ? env : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    struct stat st;
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    start = end + 1;
  }
  return "";
}

// A private temporary directory for gnuplot's script and data, removed with
// everything in it when this goes out of scope.
class ScratchDir {
 public:
  ScratchDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr && *tmp ? tmp : "/tmp") + "/chip-chart-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) != nullptr) path_ = buf.data();
  }
  ~ScratchDir() {
    if (path_.empty()) return;
    for (const std::string& f : files_) ::unlink(f.c_str());
    ::rmdir(path_.c_str());
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  bool ok() const { return !path_.empty(); }
  // The path of a file in the directory; it is removed with the directory.
  std::string File(const std::string& name) {
    files_.push_back(path_ + "/" + name);
    return files_.back();
  }

 private:
  std::string path_;
  std::vector<std::string> files_;
};

bool WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  return static_cast<bool>(out);
}

// Runs `program script` with output to `log_path`; the exit code, or -1 when
// it could not run or was killed at the deadline.
int RunProgram(const std::string& program, const std::string& script, const std::string& log_path,
               int timeout_ms) {
  pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int in = ::open("/dev/null", O_RDONLY);
    int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in >= 0) ::dup2(in, 0);
    if (log >= 0) {
      ::dup2(log, 1);
      ::dup2(log, 2);
    }
    const char* argv[] = {program.c_str(), script.c_str(), nullptr};
    ::execv(program.c_str(), const_cast<char* const*>(argv));
    ::_exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int status = 0;
  while (true) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0) return -1;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

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

}  // namespace

// ---- parsing ----

Result<double> ParseChipHours(std::string_view text) {
  std::string_view s = Trim(text);
  if (s.empty()) return Status::InvalidArgument("empty chip time");
  double per_unit_hours = 0;
  switch (s.back()) {
    case 'h':
    case 'H':
      per_unit_hours = 1;
      break;
    case 'm':
    case 'M':
      per_unit_hours = 1.0 / 60;
      break;
    case 'd':
    case 'D':
      per_unit_hours = 24;
      break;
    default:
      return Status::InvalidArgument("chip time needs a unit h, m or d (e.g. 3h, 90m): '" +
                                     std::string(text) + "'");
  }
  std::string_view number = Trim(s.substr(0, s.size() - 1));
  // Plain decimals only: from_chars alone would also take "inf", "1e9" or hex.
  size_t dots = 0, digits = 0;
  for (char c : number) {
    if (c == '.') {
      ++dots;
    } else if (c >= '0' && c <= '9') {
      ++digits;
    } else {
      digits = 0;
      break;
    }
  }
  if (digits == 0 || dots > 1 || number.front() == '.' || number.back() == '.') {
    return Status::InvalidArgument("chip time must be a plain number with a unit: '" +
                                   std::string(text) + "'");
  }
  double value = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc() || end != number.data() + number.size()) {
    return Status::InvalidArgument("cannot read chip time '" + std::string(text) + "'");
  }
  const double hours = value * per_unit_hours;
  if (!std::isfinite(hours) || hours > kChipHoursMax) {
    return Status::InvalidArgument("chip time too large: '" + std::string(text) + "'");
  }
  return hours;
}

bool LooksLikeChipTime(std::string_view text) {
  std::string_view s = Trim(text);
  if (s.empty()) return false;
  return s.back() == 'h' || s.back() == 'H' || ParseChipHours(s).ok();
}

Result<uint64_t> ParseUsdMicros(std::string_view text) {
  std::string_view s = Trim(text);
  if (!s.empty() && s.front() == '$') s = Trim(s.substr(1));
  if (EndsWithNoCase(s, "usd")) s = Trim(s.substr(0, s.size() - 3));
  const std::string what = "'" + std::string(text) + "'";
  if (s.empty()) return Status::InvalidArgument("no price in " + what);
  uint64_t micros = 0;
  size_t i = 0, int_digits = 0, frac_digits = 0;
  auto push = [&micros](int digit) {
    return !__builtin_mul_overflow(micros, uint64_t{10}, &micros) &&
           !__builtin_add_overflow(micros, static_cast<uint64_t>(digit), &micros);
  };
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, ++int_digits) {
    if (!push(s[i] - '0')) return Status::InvalidArgument("price too large: " + what);
  }
  if (int_digits == 0) return Status::InvalidArgument("a price is a plain number: " + what);
  if (i < s.size() && s[i] == '.') {
    for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, ++frac_digits) {
      if (frac_digits == 6) return Status::InvalidArgument("at most six decimals: " + what);
      if (!push(s[i] - '0')) return Status::InvalidArgument("price too large: " + what);
    }
    if (frac_digits == 0) return Status::InvalidArgument("a price is a plain number: " + what);
  }
  if (i != s.size()) {
    return Status::InvalidArgument("a price is a number of USD, e.g. 2.10 or '$2.10': " + what);
  }
  for (; frac_digits < 6; ++frac_digits) {
    if (!push(0)) return Status::InvalidArgument("price too large: " + what);
  }
  return micros;
}

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

json ChipAmount::Json() const {
  return {{"text", text},   {"chip_id", chip_id},
          {"hours", hours}, {"cu_per_chip_hour", cu_per_chip_hour},
          {"ucu", ucu},     {"cu", static_cast<double>(ucu) / static_cast<double>(kUcuPerCu)},
          {"basis", basis}};
}

std::string ChipAmount::Describe() const {
  return text + " on " + chip_id + " = " + FormatCu(ucu) + " CU (" + Fixed(cu_per_chip_hour, 6) +
         " CU per chip-hour, " + basis + ")";
}

// ---- commands ----

PriceCommands::PriceCommands(const std::string& node, uint64_t timeout_ms, bool json_output)
    : client_(node, timeout_ms), json_(json_output) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  pricing_ = pb::Pricing::NewStub(NewChannel(node, args));  // chip's TLS options
}

int PriceCommands::Fail(const CliError& e) const {
  std::cerr << "chip: " << e.message << "\n";
  if (json_) std::cout << json{{"error", e.message}, {"exit_code", e.exit_code}}.dump() << "\n";
  return e.exit_code;
}

void PriceCommands::Print(const json& j, const std::string& human) const {
  if (json_) {
    std::cout << j.dump() << "\n";
  } else {
    std::cout << human;
    if (!human.empty() && human.back() != '\n') std::cout << "\n";
  }
}

CliError PriceCommands::RpcError(const grpc::Status& s) const {
  if (s.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    return {kExitError, "the node at " + client_.target() +
                            " does not serve chipledger.v1.Pricing (a chipd without pricing?)"};
  }
  return client_.Error(s);
}

int PriceCommands::Show(const std::string& at, const std::string& basis_text) {
  Result<int64_t> at_ms = ParseAtMs(at);
  if (!at_ms.ok()) return Fail(kExitUsage, at_ms.status().message());
  Result<pricing::Basis> basis = ParseBasisArg(basis_text);
  if (!basis.ok()) return Fail(kExitUsage, basis.status().message());
  pb::GetPriceRequest req;
  req.set_at_ms(*at_ms);
  req.set_basis(ToProto(*basis));
  pb::GetPriceResponse resp;
  auto ctx = client_.Context();
  grpc::Status s = pricing_->GetPrice(ctx.get(), req, &resp);
  if (!s.ok()) return Fail(RpcError(s));
  const pb::Curve& c = resp.curve();
  json j = {{"at_ms", resp.at_ms()},
            {"at", pricing::FormatDateTime(resp.at_ms())},
            {"usd_per_cu", resp.usd_per_cu()},
            {"basis", ProtoBasisName(resp.basis())},
            {"curve", CurveJson(c)}};
  std::string source = c.source() == "fit"
                           ? "fit (Theil-Sen) of " + std::to_string(c.observations_used()) +
                                 " on-ledger observations, residual spread (MAD) " +
                                 Fixed(c.residual_mad_log2(), 3) + " log2"
                           : c.source() + (c.source() == "prior" ? " (genesis)" : "") + ", " +
                                 std::to_string(c.observations_used()) + " observations used";
  std::string human =
      "USD per CU    " + Usd(resp.usd_per_cu()) + " at " + pricing::FormatDateTime(resp.at_ms()) +
      "\nhalving time  " + HalvingText(c.halving_years()) + ", " +
      IntervalText(c.halving_low_years(), c.halving_high_years()) + "\ncurve         " +
      Usd(c.p0_usd_per_cu()) + " per CU at t0 " + pricing::FormatDateTime(c.t0_ms()) +
      "\nsource        " + source + "\nbasis         " + ProtoBasisName(resp.basis()) +
      " (1 CU = one H100 SXM hour, about 3.56e18 dense BF16 FLOP)\n";
  Print(j, human);
  return kExitOk;
}

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

int PriceCommands::Chips(const std::string& basis_text) {
  Result<pricing::Basis> basis = ParseBasisArg(basis_text);
  if (!basis.ok()) return Fail(kExitUsage, basis.status().message());
  pb::ListChipsRequest req;
  req.set_basis(ToProto(*basis));
  pb::ListChipsResponse resp;
  auto ctx = client_.Context();
  grpc::Status s = pricing_->ListChips(ctx.get(), req, &resp);
  if (!s.ok()) return Fail(RpcError(s));
  json arr = json::array();
  char line[256];
  std::snprintf(line, sizeof(line), "%-16s %-36s %8s %8s  %s\n", "id", "name", "TFLOP/s", "CU/h",
                "on chain");
  std::string human = line;
  for (const pb::ChipInfo& c : resp.chips()) {
    arr.push_back({{"id", c.id()},
                   {"name", c.name()},
                   {"vendor", c.vendor()},
                   {"release", c.release()},
                   {"bf16_tflops", c.bf16_tflops()},
                   {"mem_bw_tbps", c.mem_bw_tbps()},
                   {"memory_gb", c.memory_gb()},
                   {"cu_per_chip_hour", c.cu_per_chip_hour()},
                   {"accepted_on_chain", c.accepted_on_chain()},
                   {"sources", c.sources()}});
    std::string name = c.name().size() > 36 ? c.name().substr(0, 35) + "~" : c.name();
    std::snprintf(line, sizeof(line), "%-16s %-36s %8.1f %8.4f  %s\n", c.id().c_str(), name.c_str(),
                  c.bf16_tflops(), c.cu_per_chip_hour(), c.accepted_on_chain() ? "yes" : "no");
    human += line;
  }
  human += "CU/h: CU per chip-hour under basis " + std::string(pricing::BasisName(*basis)) +
           " (1 CU = one H100 SXM hour)\n";
  Print(arr, human);
  return kExitOk;
}

int PriceCommands::Fit(const std::string& csv_path, const std::string& basis,
                       const std::string& t0) {
  OfflineFit f;
  CliError error;
  if (!LoadOfflineFit(csv_path, basis, t0, &f, &error)) return Fail(error);
  const pricing::FitResult& fit = f.fit;
  json outliers = json::array();
  std::string outlier_lines;
  for (size_t i : fit.outliers) {
    const pricing::PriceObservation& r = f.rows[i];
    const double residual = ResidualLog2(fit.curve, r.time_ms, r.usd_per_cu);
    outliers.push_back({{"line", r.line},
                        {"date", pricing::FormatDate(r.time_ms)},
                        {"chip", r.chip_id},
                        {"usd_per_hour", r.usd_per_hour},
                        {"usd_per_cu", r.usd_per_cu},
                        {"residual_log2", residual},
                        {"source", r.source}});
    std::string src = r.source.size() > 70 ? r.source.substr(0, 69) + "~" : r.source;
    char buf[512];
    std::snprintf(buf, sizeof(buf), "  line %-4zu %s  $%.2f/h  %s/CU  %+.2f log2 (x%.2f)  %s\n",
                  r.line, pricing::FormatDate(r.time_ms).c_str(), r.usd_per_hour,
                  Usd(r.usd_per_cu).c_str(), residual, std::exp2(residual), src.c_str());
    outlier_lines += buf;
  }
  const double sigma_factor = std::exp2(kMadToSigma * fit.residual_mad_log2);
  const double last_price = pricing::UsdPerCu(fit.curve, f.last_ms);
  json j = {{"csv", f.path},
            {"basis", pricing::BasisName(f.basis)},
            {"n", fit.n_used},
            {"pairs_used", fit.pairs_used},
            {"first_ms", f.first_ms},
            {"last_ms", f.last_ms},
            {"t0_ms", fit.curve.t0_ms},
            {"t0", pricing::FormatDate(fit.curve.t0_ms)},
            {"p0_usd_per_cu", fit.curve.p0_usd_per_cu},
            {"halving_years", Num(fit.curve.halving_years)},
            {"halving_low_years", Num(fit.halving_low_years)},
            {"halving_high_years", Num(fit.halving_high_years)},
            {"slope_log2_per_year", fit.slope_log2_per_year},
            {"slope_low_log2_per_year", fit.slope_low_log2_per_year},
            {"slope_high_log2_per_year", fit.slope_high_log2_per_year},
            {"yearly_price_factor", std::exp2(fit.slope_log2_per_year)},
            {"residual_mad_log2", fit.residual_mad_log2},
            {"usd_per_cu_at_last", last_price},
            {"outliers", outliers}};
  std::string human =
      "fit of " + std::to_string(fit.n_used) + " observations in " + f.path + " (" +
      pricing::FormatDate(f.first_ms) + " to " + pricing::FormatDate(f.last_ms) + "), basis " +
      std::string(pricing::BasisName(f.basis)) + ", Theil-Sen over " +
      std::to_string(fit.pairs_used) + " pairs\n" + "P0            " +
      Usd(fit.curve.p0_usd_per_cu) + " per CU at t0 " + pricing::FormatDate(fit.curve.t0_ms) +
      (f.t0_is_median ? " (the median observation's day)" : "") + "\nhalving time  " +
      HalvingText(fit.curve.halving_years) + ", " +
      IntervalText(fit.halving_low_years, fit.halving_high_years) + "\nslope         " +
      Fixed(fit.slope_log2_per_year, 3) + " log2 per year [" +
      Fixed(fit.slope_low_log2_per_year, 3) + ", " + Fixed(fit.slope_high_log2_per_year, 3) +
      "]: the price is multiplied by " + Fixed(std::exp2(fit.slope_log2_per_year), 3) +
      " each year\nspread        residual MAD " + Fixed(fit.residual_mad_log2, 3) +
      " log2: one robust standard deviation is a factor of " + Fixed(sigma_factor, 2) +
      "\nlast          " + Usd(last_price) + " per CU on the curve at " +
      pricing::FormatDate(f.last_ms) + "\noutliers      " + std::to_string(fit.outliers.size()) +
      " beyond 3 robust standard deviations (they are used, only weigh less)\n" + outlier_lines;
  Print(j, human);
  return kExitOk;
}

int PriceCommands::Chart(const std::string& out_path, const std::string& csv_path,
                         const std::string& basis_text, const std::string& t0,
                         const std::vector<std::string>& presets) {
  if (out_path.empty()) return Fail(kExitUsage, "--out FILE.png is required");
  ChartInput in;
  if (presets.size() > kChartReferencesMax) {
    return Fail(kExitUsage, "at most " + std::to_string(kChartReferencesMax) + " --preset lines");
  }
  for (const std::string& name : presets) {
    const pricing::Preset* preset = pricing::FindPreset(name);
    if (preset == nullptr) {
      std::string names;
      for (const pricing::Preset& p : pricing::Presets()) names += std::string(" ") + p.name;
      return Fail(kExitUsage, "unknown preset '" + name + "'; presets:" + names);
    }
    in.references.push_back(preset);
  }
  json j = {{"out", out_path}};
  if (!csv_path.empty()) {
    OfflineFit f;
    CliError error;
    if (!LoadOfflineFit(csv_path, basis_text, t0, &f, &error)) return Fail(error);
    in.curve = f.fit.curve;
    in.halving_low_years = f.fit.halving_low_years;
    in.halving_high_years = f.fit.halving_high_years;
    for (const auto& r : f.rows) in.points.push_back({r.time_ms, r.usd_per_cu});
    for (size_t i : f.fit.outliers) in.flagged.push_back({f.rows[i].time_ms, f.rows[i].usd_per_cu});
    std::string name = csv_path.substr(csv_path.find_last_of('/') + 1);
    in.title = "Price of compute: Theil-Sen fit of " + name +
               " (n = " + std::to_string(f.fit.n_used) + ", basis " +
               std::string(pricing::BasisName(f.basis)) +
               ")\nP0 = " + Usd(f.fit.curve.p0_usd_per_cu) +
               " per CU at t0 = " + pricing::FormatDate(f.fit.curve.t0_ms) +
               ", H = " + Bound(f.fit.curve.halving_years) + " years, 95% interval [" +
               Bound(f.fit.halving_low_years) + ", " + Bound(f.fit.halving_high_years) + "]";
    j["source"] = "csv";
    j["csv"] = csv_path;
    j["basis"] = pricing::BasisName(f.basis);
  } else {
    if (!t0.empty()) return Fail(kExitUsage, "--t0 applies to --csv fits only");
    Result<pricing::Basis> basis = ParseBasisArg(basis_text);
    if (!basis.ok()) return Fail(kExitUsage, basis.status().message());
    pb::GetPriceRequest preq;
    preq.set_basis(ToProto(*basis));
    pb::GetPriceResponse price;
    auto ctx = client_.Context();
    grpc::Status s = pricing_->GetPrice(ctx.get(), preq, &price);
    if (!s.ok()) return Fail(RpcError(s));
    pb::ListObservationsRequest oreq;
    oreq.set_page_size(kChartObservationsMax);
    oreq.set_basis(ToProto(*basis));
    pb::ListObservationsResponse obs;
    auto octx = client_.Context();
    s = pricing_->ListObservations(octx.get(), oreq, &obs);
    if (!s.ok()) return Fail(RpcError(s));
    const pb::Curve& c = price.curve();
    in.curve = {c.p0_usd_per_cu(), c.t0_ms(), c.halving_years()};
    in.halving_low_years = c.halving_low_years();
    in.halving_high_years = c.halving_high_years();
    in.now_ms = price.at_ms();
    for (const pb::ObservationInfo& o : obs.observations()) {
      if (!(o.usd_per_cu() > 0)) continue;  // a chip the basis cannot convert
      in.points.push_back({o.observed_at_ms(), o.usd_per_cu()});
      if (o.far_off_curve()) in.flagged.push_back({o.observed_at_ms(), o.usd_per_cu()});
    }
    in.title = "Price of compute served by " + client_.target() + ": curve from " + c.source() +
               " (" + std::to_string(c.observations_used()) + " observations, basis " +
               ProtoBasisName(price.basis()) + ")\nP0 = " + Usd(c.p0_usd_per_cu()) +
               " per CU at t0 = " + pricing::FormatDate(c.t0_ms()) +
               ", H = " + Bound(c.halving_years()) + " years, 95% interval [" +
               Bound(c.halving_low_years()) + ", " + Bound(c.halving_high_years()) + "]";
    if (obs.total() > static_cast<uint64_t>(obs.observations_size())) {
      in.title += " (newest " + std::to_string(obs.observations_size()) + " of " +
                  std::to_string(obs.total()) + " observations shown)";
    }
    j["source"] = "node";
    j["basis"] = ProtoBasisName(price.basis());
  }
  CliError error;
  if (!RenderChart(in, out_path, &error)) return Fail(error);
  struct stat st;
  const uint64_t bytes = ::stat(out_path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  j["bytes"] = bytes;
  j["observations"] = in.points.size();
  j["flagged"] = in.flagged.size();
  j["curve"] = {{"p0_usd_per_cu", in.curve.p0_usd_per_cu},
                {"t0_ms", in.curve.t0_ms},
                {"halving_years", Num(in.curve.halving_years)},
                {"halving_low_years", Num(in.halving_low_years)},
                {"halving_high_years", Num(in.halving_high_years)}};
  Print(j, "wrote " + out_path + " (" + std::to_string(bytes) + " bytes, " +
               std::to_string(in.points.size()) + " observations, " +
               std::to_string(in.flagged.size()) + " flagged)\n");
  return kExitOk;
}

}  // namespace chip::cli
