#include "cli/util.h"

#include <termios.h>
#include <unistd.h>

#include <cctype>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>

#include "ledger/address.h"
#include "ledger/amount.h"
#include "ledger/tx.h"

namespace chip::cli {

namespace pb = ::chipledger::v1;

Result<uint64_t> ParseDurationMs(const std::string& text) {
  size_t i = 0;
  uint64_t value = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    uint64_t next;
    if (__builtin_mul_overflow(value, uint64_t{10}, &next) ||
        __builtin_add_overflow(next, static_cast<uint64_t>(text[i] - '0'), &next)) {
      return Status::InvalidArgument("duration too large: " + text);
    }
    value = next;
    ++i;
  }
  if (i == 0) return Status::InvalidArgument("duration must start with a number: '" + text + "'");
  std::string unit = text.substr(i);
  uint64_t scale = 0;
  if (unit == "ms")
    scale = 1;
  else if (unit == "s")
    scale = 1000;
  else if (unit == "m")
    scale = 60'000;
  else if (unit == "h")
    scale = 3'600'000;
  else if (unit == "d")
    scale = 86'400'000;
  else
    return Status::InvalidArgument("duration needs a unit ms, s, m, h or d: '" + text + "'");
  uint64_t ms;
  if (__builtin_mul_overflow(value, scale, &ms))
    return Status::InvalidArgument("duration too large: " + text);
  return ms;
}

std::string FormatTimeMs(uint64_t ms) {
  time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<unsigned>(ms % 1000));
  return buf;
}

namespace {

// The terminal a no-echo prompt turned echo off on, for the signal handler:
// Ctrl-C (or a SIGTERM/SIGHUP) at the prompt must not leave the user's
// shell without echo. tcsetattr and write are async-signal-safe.
volatile sig_atomic_t g_prompt_fd = -1;
struct termios g_prompt_tio;

extern "C" void RestoreEchoAndDie(int sig) {
  if (g_prompt_fd >= 0) {
    tcsetattr(g_prompt_fd, TCSAFLUSH, &g_prompt_tio);
    (void)!::write(g_prompt_fd, "\n", 1);
  }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

constexpr int kPromptSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

}  // namespace

std::string ReadLineWithoutEcho(FILE* in, FILE* out, const std::string& prompt) {
  const int fd = fileno(in);
  struct termios old_tio;
  const bool have_tio = tcgetattr(fd, &old_tio) == 0;
  struct sigaction previous[std::size(kPromptSignals)];
  if (have_tio) {
    g_prompt_tio = old_tio;
    g_prompt_fd = fd;
    struct sigaction sa {};
    sa.sa_handler = RestoreEchoAndDie;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < std::size(kPromptSignals); ++i) {
      sigaction(kPromptSignals[i], &sa, &previous[i]);
    }
    struct termios tio = old_tio;
    tio.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(fd, TCSAFLUSH, &tio);
  }
  std::fprintf(out, "%s", prompt.c_str());
  std::fflush(out);
  std::string line;
  int c;
  while ((c = std::fgetc(in)) != EOF && c != '\n') {
    line.push_back(static_cast<char>(c));
    if (line.size() > kTerminalLineBytesMax) break;
  }
  if (have_tio) {
    tcsetattr(fd, TCSAFLUSH, &old_tio);
    g_prompt_fd = -1;
    for (size_t i = 0; i < std::size(kPromptSignals); ++i) {
      sigaction(kPromptSignals[i], &previous[i], nullptr);
    }
  }
  std::fprintf(out, "\n");
  std::fflush(out);
  return line;
}

namespace {

Result<std::string> Prompt(const std::string& prompt) {
  FILE* tty = std::fopen("/dev/tty", "r+");
  if (tty == nullptr) {
    return Status::InvalidArgument(
        "no passphrase: set CHIP_PASSPHRASE or --passphrase-file (no terminal to prompt on)");
  }
  std::string line = ReadLineWithoutEcho(tty, tty, prompt);
  std::fclose(tty);
  return line;
}

}  // namespace

Result<std::string> PassphraseSource::Get(const std::string& prompt, bool confirm) const {
  if (const char* env = std::getenv("CHIP_PASSPHRASE"); env != nullptr) return std::string(env);
  std::string path = file;
  if (path.empty()) {
    if (const char* f = std::getenv("CHIP_PASSPHRASE_FILE"); f != nullptr) path = f;
  }
  if (!path.empty()) {
    std::ifstream in(path);
    if (!in) return Status::NotFound("cannot read passphrase file " + path);
    std::string line;
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
  }
  auto first = Prompt(prompt);
  if (!first.ok() || !confirm) return first;
  auto second = Prompt("Repeat passphrase: ");
  if (!second.ok()) return second;
  if (*first != *second) return Status::InvalidArgument("passphrases do not match");
  return first;
}

nlohmann::json AmountJson(uint64_t ucu) { return {{"ucu", ucu}, {"cu", FormatCu(ucu)}}; }

std::string SafeDump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json TxResultJson(const pb::TxResult& r) {
  nlohmann::json j = {{"tx_hash", ToHex(r.tx_hash())},
                      {"code", ResultName(r.code())},
                      {"ok", r.code() == pb::RESULT_OK},
                      {"already_applied", r.already_applied()}};
  if (r.height() != 0) {
    j["height"] = r.height();
    j["index"] = r.index();
    j["block_time_ms"] = r.block_time_ms();
  }
  if (r.has_failed_operation()) j["failed_operation"] = r.failed_operation();
  return j;
}

std::string DescribeResult(const pb::TxResult& r) {
  std::string s;
  if (r.code() == pb::RESULT_OK) {
    s = "OK";
  } else {
    s = std::string("rejected: ") + ResultName(r.code());
    if (r.has_failed_operation()) {
      s += " at operation " + std::to_string(r.failed_operation()) +
           " (none of the transaction's operations applied)";
    }
  }
  s += "  tx " + ToHex(r.tx_hash());
  if (r.height() != 0) {
    s += "  block " + std::to_string(r.height()) + " index " + std::to_string(r.index());
  } else if (r.code() != pb::RESULT_OK) {
    s += "  (refused before ordering: not recorded)";
  }
  if (r.already_applied()) s += "  (already applied earlier: nothing changed now)";
  return s;
}

namespace {

std::string AddressText(const std::string& raw) {
  auto k = ToHash32(raw);
  return k ? EncodeAddress(*k) : std::string("(invalid)");
}

// The reservation a settle or release names: its id, or inside an operation
// list the index of the Reserve that made it (reserve_op).
template <typename M>
void ReservationRefJson(const M& m, nlohmann::json* j) {
  if (m.has_reserve_op()) {
    (*j)["reserve_op"] = m.reserve_op();
  } else {
    (*j)["reservation"] = ToHex(m.reservation());
  }
}

// The fields of one operation, for a TxBody's single operation and for an
// Operation of a list alike: both carry the same messages under the same
// names, so one template reads either.
template <typename M>
void OperationJson(const M& m, nlohmann::json* out) {
  nlohmann::json& j = *out;
  if (m.has_transfer()) {
    j["kind"] = "transfer";
    j["to"] = AddressText(m.transfer().to());
    j["amount"] = AmountJson(m.transfer().amount_ucu());
  } else if (m.has_reserve()) {
    j["kind"] = "reserve";
    j["to"] = AddressText(m.reserve().to());
    j["amount"] = AmountJson(m.reserve().amount_ucu());
    j["timeout_ms"] = m.reserve().timeout_ms();
  } else if (m.has_settle()) {
    j["kind"] = "settle";
    ReservationRefJson(m.settle(), &j);
    j["amount"] = AmountJson(m.settle().amount_ucu());
    j["final"] = m.settle().final();
  } else if (m.has_release()) {
    j["kind"] = "release";
    ReservationRefJson(m.release(), &j);
  } else if (m.has_mint()) {
    j["kind"] = "mint";
    j["to"] = AddressText(m.mint().to());
    j["amount"] = AmountJson(m.mint().amount_ucu());
  } else if (m.has_burn()) {
    j["kind"] = "burn";
    j["amount"] = AmountJson(m.burn().amount_ucu());
  } else if (m.has_observe_price()) {
    j["kind"] = "observe_price";
    j["chip"] = m.observe_price().chip();
    j["usd_micros_per_chip_hour"] = m.observe_price().usd_micros_per_chip_hour();
    j["observed_at_ms"] = m.observe_price().observed_at_ms();
    j["source"] = m.observe_price().source();
  } else if (m.has_fund_register()) {
    j["kind"] = "fund_register";
    j["member"] = AddressText(m.fund_register().member());
  } else if (m.has_fund_deregister()) {
    j["kind"] = "fund_deregister";
    j["member"] = AddressText(m.fund_deregister().member());
  } else if (m.has_fund_claim()) {
    j["kind"] = "fund_claim";
  } else {
    j["kind"] = "none";
  }
}

}  // namespace

nlohmann::json BodyJson(const std::string& body_bytes) {
  pb::TxBody b;
  if (!b.ParseFromString(body_bytes)) return {{"kind", "unparseable"}};
  nlohmann::json j;
  j["from"] = AddressText(b.account());
  j["nonce"] = b.nonce();
  if (b.valid_until_ms() != 0) j["valid_until_ms"] = b.valid_until_ms();
  if (!b.memo().empty()) {
    bool printable = true;
    for (unsigned char c : b.memo()) printable = printable && c >= 0x20 && c < 0x7f;
    j["memo"] = printable ? b.memo() : "hex:" + ToHex(b.memo());
  }
  if (IsMultiOp(b)) {
    // A body with both a list and a kind never verifies (OPERATIONS_WITH_KIND)
    // and so is never recorded; the list is what such a body is shown as.
    j["kind"] = "operations";
    nlohmann::json ops = nlohmann::json::array();
    for (int k = 0; k < b.operations().ops_size(); ++k) {
      nlohmann::json op = {{"index", k}};
      OperationJson(b.operations().ops(k), &op);
      ops.push_back(std::move(op));
    }
    j["operations"] = std::move(ops);
    return j;
  }
  OperationJson(b, &j);
  return j;
}

void AddReservationIds(const pb::TxResult& r, nlohmann::json* body) {
  if (r.code() != pb::RESULT_OK || !body->contains("operations")) return;
  auto tx_hash = ToHash32(r.tx_hash());
  if (!tx_hash) return;
  for (auto& op : (*body)["operations"]) {
    if (op.value("kind", "") != "reserve") continue;
    op["reservation_id"] = ToHex(OperationReservationId(*tx_hash, op["index"].get<uint32_t>()));
  }
}

}  // namespace chip::cli
