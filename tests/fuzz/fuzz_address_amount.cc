// fuzz_address_amount: the text forms of keys and amounts (ledger/address.h,
// ledger/amount.h) and hex (ledger/bytes.h).
//
// Properties, on the input as text:
//   DecodeAddress OK  => EncodeAddress(key) == the input lower-cased
//   ParseAmount OK    => ParseAmount(FormatCu(x)) == x and
//                        ParseAmount(to_string(x) + "uCU") == x
//   FromHex OK        => ToHex(bytes) == the input lower-cased
// and on the input's first bytes as a value:
//   DecodeAddress(EncodeAddress(key)) == key (and upper case decodes too)
//   ParseAmount(FormatCu(x)) == x for any uint64 x; FormatCu has six decimals
#include <cctype>
#include <cstdint>
#include <cstring>
#include <string>

#include "ledger/address.h"
#include "ledger/amount.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

void CheckAmountRoundTrip(uint64_t x, std::string_view from) {
  using chip::ParseAmount;
  const std::string cu = chip::FormatCu(x);
  const std::string detail = "x=" + std::to_string(x) + " from '" + std::string(from) + "'";
  FUZZ_ASSERT(cu.size() >= 8 && cu[cu.size() - 7] == '.', detail + " formatted " + cu);
  auto back = ParseAmount(cu);
  FUZZ_ASSERT(back.ok(), detail + ": " + back.status().ToString());
  FUZZ_ASSERT(*back == x, detail + " came back as " + std::to_string(*back));
  auto with_unit = ParseAmount(cu + " CU");
  FUZZ_ASSERT(with_unit.ok() && *with_unit == x, detail);
  auto micro = ParseAmount(std::to_string(x) + "uCU");
  FUZZ_ASSERT(micro.ok() && *micro == x, detail);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chip;
  fuzz::InitOnce();
  const std::string_view text = fuzz::AsText(data, size);

  auto key = DecodeAddress(text);
  if (key.ok()) {
    FUZZ_ASSERT(text.size() == kAddressChars, std::string(text));
    FUZZ_ASSERT(EncodeAddress(*key) == Lower(text), std::string(text));
  }

  auto amount = ParseAmount(text);
  if (amount.ok()) CheckAmountRoundTrip(*amount, text);

  auto bytes = FromHex(text);
  if (bytes) FUZZ_ASSERT(ToHex(*bytes) == Lower(text), std::string(text));

  if (size >= 32) {
    PublicKey k;
    std::memcpy(k.data(), data, 32);
    const std::string addr = EncodeAddress(k);
    FUZZ_ASSERT(addr.size() == kAddressChars, addr);
    auto back = DecodeAddress(addr);
    FUZZ_ASSERT(back.ok() && *back == k, addr);
    auto upper = DecodeAddress(Upper(addr));
    FUZZ_ASSERT(upper.ok() && *upper == k, addr);
    // One changed character is caught (checksum or canonical-form rule).
    std::string typo = addr;
    size_t at = kAddressPrefix.size() + data[0] % (kAddressChars - kAddressPrefix.size());
    typo[at] = typo[at] == 'a' ? 'b' : 'a';
    auto mistyped = DecodeAddress(typo);
    FUZZ_ASSERT(!mistyped.ok() || *mistyped != k, typo);
  }
  if (size >= 8) {
    uint64_t x;
    std::memcpy(&x, data, 8);
    CheckAmountRoundTrip(x, "raw bytes");
  }
  return 0;
}
