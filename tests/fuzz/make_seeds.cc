// make_fuzz_seeds: writes the seed corpora of tests/fuzz/corpus/ from the code
// itself (real signed transactions and bodies, a genesis, the default node
// config, a signed checkpoint, catalog and price CSV rows), so that they
// follow the schema when it changes. Usage:
//   build-fuzz/tests/fuzz/make_fuzz_seeds tests/fuzz/corpus
// It overwrites the files it writes and leaves others alone.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ledger/address.h"
#include "ledger/checkpoint.h"
#include "ledger/genesis.h"
#include "ledger/tx.h"
#include "node/ops/config.h"
#include "tests/fuzz/fuzz_util.h"

namespace chip {
namespace {

std::string root_dir;

void Write(const std::string& target, const std::string& name, const std::string& bytes) {
  std::filesystem::create_directories(root_dir + "/" + target);
  std::ofstream out(root_dir + "/" + target + "/" + name, std::ios::binary | std::ios::trunc);
  out << bytes;
  if (!out) {
    std::fprintf(stderr, "cannot write %s/%s\n", target.c_str(), name.c_str());
    std::exit(1);
  }
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The first `n` lines of `text`, newlines included.
std::string Lines(const std::string& text, size_t n) {
  size_t at = 0;
  for (size_t i = 0; i < n && at != std::string::npos; ++i) {
    at = text.find('\n', at);
    if (at != std::string::npos) ++at;
  }
  return at == std::string::npos ? text : text.substr(0, at);
}

std::string Key(uint8_t n) { return AsString(fuzz::SeedKey(n).Public()); }

void TxSeeds() {
  std::vector<std::pair<std::string, pb::TxBody>> bodies;
  pb::TxBody b;
  b.mutable_transfer()->set_to(Key(1));
  b.mutable_transfer()->set_amount_ucu(2'500'000);
  bodies.emplace_back("transfer", b);
  b.Clear();
  b.mutable_reserve()->set_to(Key(2));
  b.mutable_reserve()->set_amount_ucu(1'000'000);
  b.mutable_reserve()->set_timeout_ms(3'600'000);
  b.set_memo("job 42");
  bodies.emplace_back("reserve", b);
  b.Clear();
  b.mutable_settle()->set_reservation(std::string(32, '\x11'));
  b.mutable_settle()->set_amount_ucu(400'000);
  b.mutable_settle()->set_final(true);
  bodies.emplace_back("settle", b);
  b.Clear();
  b.mutable_release()->set_reservation(std::string(32, '\x22'));
  bodies.emplace_back("release", b);
  b.Clear();
  b.mutable_mint()->set_to(Key(3));
  b.mutable_mint()->set_amount_ucu(18'446'744'073'709'551'615ull);
  b.set_valid_until_ms(1'700'000'000'000);
  bodies.emplace_back("mint", b);
  b.Clear();
  b.mutable_burn()->set_amount_ucu(1);
  bodies.emplace_back("burn", b);
  b.Clear();
  auto* o = b.mutable_observe_price();
  o->set_chip("h100-sxm");
  o->set_usd_micros_per_chip_hour(2'190'000);
  o->set_observed_at_ms(1'700'000'000'000);
  o->set_source("lambda-on-demand");
  bodies.emplace_back("observe", b);
  // An operation list: transfers, a Reserve, and a settle and a release that
  // name it by its index in the list.
  b.Clear();
  auto* ops = b.mutable_operations();
  for (uint8_t k = 4; k < 7; ++k) {
    auto* t = ops->add_ops()->mutable_transfer();
    t->set_to(Key(k));
    t->set_amount_ucu(1'000 * k);
  }
  auto* r = ops->add_ops()->mutable_reserve();
  r->set_to(Key(7));
  r->set_amount_ucu(5'000);
  r->set_timeout_ms(60'000);
  auto* st = ops->add_ops()->mutable_settle();
  st->set_reserve_op(3);
  st->set_amount_ucu(2'000);
  ops->add_ops()->mutable_release()->set_reserve_op(3);
  bodies.emplace_back("operations", b);

  uint64_t nonce = 1;
  for (auto& [name, body] : bodies) {
    body.set_nonce(nonce++);
    pb::SignedTx tx = SignTx(fuzz::TxKey(), fuzz::FixedChainId(), body);
    Write("fuzz_tx", "signed-" + name, tx.SerializeAsString());
    Write("fuzz_tx", "body-" + name, tx.body());
  }
}

void AddressAmountSeeds() {
  const std::string addr = EncodeAddress(fuzz::SeedKey(1).Public());
  Write("fuzz_address_amount", "address", addr);
  std::string upper = addr;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  Write("fuzz_address_amount", "address-upper", upper);
  Write("fuzz_address_amount", "amount-cu", "2.5");
  Write("fuzz_address_amount", "amount-unit", " 12.000001 CU ");
  Write("fuzz_address_amount", "amount-ucu", "2500000uCU");
  Write("fuzz_address_amount", "amount-max", "18446744073709.551615");
  Write("fuzz_address_amount", "hex", ToHex(fuzz::FixedChainId()));
}

Genesis SampleGenesis() {
  Genesis g;
  g.chain_name = "fuzz-seed";
  g.genesis_time_ms = 1'700'000'000'000;
  g.issuers.push_back({fuzz::SeedKey(201).Public(), std::nullopt});
  g.issuers.push_back({fuzz::SeedKey(202).Public(), 10'000'000});
  g.oracles.push_back(fuzz::SeedKey(203).Public());
  g.validators.push_back(fuzz::SeedKey(200).Public());
  g.balances.emplace_back(fuzz::SeedKey(1).Public(), 100'000'000);
  g.balances.emplace_back(fuzz::SeedKey(2).Public(), 18'446'744'073'609'551'615ull);
  GenesisPricing p;
  p.chips = {"h100-sxm", "b200"};
  p.prior_usd_micros_per_cu = 2'970'000;
  p.prior_t0_ms = 1'700'000'000'000;
  p.prior_halving_ms = 77'630'000'000;
  g.pricing = p;
  return g;
}

void GenesisSeeds() {
  Genesis g = SampleGenesis();
  Write("fuzz_genesis", "full", CanonicalGenesis(g));
  Genesis minimal;
  minimal.chain_name = "dev";
  minimal.validators.push_back(fuzz::SeedKey(200).Public());
  Write("fuzz_genesis", "minimal", CanonicalGenesis(minimal));
  // Hand-written form: white space, key order and upper-case address.
  std::string addr = EncodeAddress(fuzz::SeedKey(1).Public());
  for (char& c : addr) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  Write("fuzz_genesis", "pretty",
        "{\n  \"genesis_time_ms\": 0,\n  \"chain_name\": \"pretty\",\n  \"balances\": [\n"
        "    {\"amount_ucu\": 5, \"address\": \"" +
            addr + "\"}\n  ]\n}\n");
}

void ConfigSeeds() {
  node::NodeConfig c;
  Write("fuzz_config", "default", node::DefaultConfigToml(c).value());
  Write("fuzz_config", "small", "listen = \"127.0.0.1:9000\"\nblock_tx_max = 100\n");
  Write("fuzz_config", "remote",
        "# comment\nlisten = \"0.0.0.0:7700\"\nallow_remote = true\nmetrics_listen = \"\"\n"
        "log_level = 'debug'\nlog_file = \"/var/log/chipd.log\"\n");
  // A path as `chipd init --log-file` passes it (the target also tries every
  // input as a string value), and the same path escaped in an ASCII file.
  Write("fuzz_config", "utf8-path", "/tmp/d\xc3\xa4t\xc3\xa4-\xe7\x9b\xae\xe5\xbd\x95/chipd.log");
  Write("fuzz_config", "escaped-path",
        "log_file = \"/tmp/d\\u00e4t\\u00e4-\\u76ee\\u5f55/chipd.log\"\n");
}

void ProofSeeds() {
  Checkpoint c;
  c.origin = CheckpointOrigin("fuzz-seed", fuzz::FixedChainId());
  c.tree_size = 1234;
  c.root = Sha256("root");
  const std::string note = SignCheckpoint(c, fuzz::CheckpointKey());
  // Byte 0 picks the mode (even: real tree, odd: arbitrary proofs); the rest
  // is both the mode's parameters and the checkpoint / base64 text.
  Write("fuzz_proofs", "checkpoint-real-tree", "\x02" + note);
  Write("fuzz_proofs", "checkpoint-arbitrary", "\x03" + note);
  Write("fuzz_proofs", "base64", "\x04" + Base64Encode(AsView(Sha256("x"))));
  std::string proof = "\x01";
  for (int i = 0; i < 4; ++i) proof += AsString(Sha256(std::to_string(i)));
  proof += std::string("\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x03", 16);
  Write("fuzz_proofs", "arbitrary-proof", proof);
}

void PricingSeeds(const std::string& data_dir) {
  const std::string chips = ReadFile(data_dir + "/chips.csv");
  const std::string prices = ReadFile(data_dir + "/h100_rental_prices.csv");
  if (chips.empty() || prices.empty()) {
    std::fprintf(stderr, "cannot read %s/*.csv\n", data_dir.c_str());
    std::exit(1);
  }
  // The catalog must keep its reference chip (h100-sxm) to parse.
  std::string catalog = Lines(chips, 1);
  std::istringstream rows(chips);
  std::string line;
  while (std::getline(rows, line)) {
    if (line.rfind("h100-sxm,", 0) == 0 || line.rfind("b200,", 0) == 0) catalog += line + "\n";
  }
  Write("fuzz_pricing_csv", "catalog", std::string(1, '\0') + catalog);
  Write("fuzz_pricing_csv", "observations", "\x01" + Lines(prices, 6));
  Write("fuzz_pricing_csv", "observations-chips",
        "\x02"
        "date,usd_per_hour,chip,source\n"
        "2024-03,2.10,H100 SXM,\"a, quoted \"\"source\"\"\"\n"
        "2025-01-15T12:00:00Z,5.5,b200,x\r\n"
        "2025-06-01,1.2,a100,\n");
}

void ApplySeeds() {
  // fuzz_apply reads its input as operations (see fuzz_apply.cc); any bytes
  // are a program, so its seeds are fixed pseudo-random programs of a few
  // lengths (xorshift, reproducible).
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (size_t len : {48, 96, 160, 256, 400, 640}) {
    std::string bytes;
    for (size_t i = 0; i < len; ++i) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      bytes.push_back(static_cast<char>(x >> 56));
    }
    Write("fuzz_apply", "program-" + std::to_string(len), bytes);
  }
}

}  // namespace
}  // namespace chip

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
    return 2;
  }
  chip::fuzz::InitOnce();
  chip::root_dir = argv[1];
  chip::TxSeeds();
  chip::AddressAmountSeeds();
  chip::GenesisSeeds();
  chip::ConfigSeeds();
  chip::ProofSeeds();
  chip::PricingSeeds(CHIP_DATA_DIR);
  chip::ApplySeeds();
  return 0;
}
