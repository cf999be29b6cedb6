// Helpers shared by the fuzz targets: one-time crypto set-up, a fixed chain id
// and a failing assertion that prints what it saw. A property a target asserts
// is an invariant, so a violation aborts (libFuzzer records it as a crash).
#pragma once

#include <google/protobuf/stubs/logging.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ledger/bytes.h"
#include "ledger/crypto.h"

namespace chip::fuzz {

[[noreturn]] inline void Fail(const char* file, int line, const char* condition,
                              const std::string& detail) {
  std::fprintf(stderr, "%s:%d: fuzz property failed: %s\n  %s\n", file, line, condition,
               detail.c_str());
  std::abort();
}

// Call first in every LLVMFuzzerTestOneInput; cheap after the first call.
// Also silences protobuf's parse-error log lines, which fuzzing provokes by
// the million (fatal protobuf errors still abort).
inline void InitOnce() {
  static const bool done = [] {
    if (!InitCrypto().ok()) std::abort();
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)done;
}

// Known open bugs are left out of a target's properties so that the short CI
// run stays green; CHIP_FUZZ_STRICT=1 in the environment asserts them too, to
// replay a reproducer from tests/fuzz/regressions/ or to check a fix.
inline bool Strict() {
  static const bool strict = [] {
    const char* v = std::getenv("CHIP_FUZZ_STRICT");
    return v != nullptr && std::string_view(v) == "1";
  }();
  return strict;
}

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

// A key made from a repeated seed byte (as tests/test_util.h's TestKey).
inline const SecretKey& SeedKey(uint8_t n) {
  static SecretKey keys[256];
  static bool made[256] = {};
  if (!made[n]) {
    std::array<uint8_t, 32> seed;
    seed.fill(n);
    keys[n] = KeyFromSeed(seed);
    made[n] = true;
  }
  return keys[n];
}

// The key fuzz_tx signs bodies with (the seeds' bodies name it as account).
inline const SecretKey& TxKey() { return SeedKey(7); }
// The key fuzz_proofs verifies checkpoints with (the seed note is signed by it).
inline const SecretKey& CheckpointKey() { return SeedKey(9); }

// The chain id the stateless targets check against (any fixed value works).
inline Hash32 FixedChainId() {
  Hash32 id;
  for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>(0xc0 + i);
  return id;
}

}  // namespace chip::fuzz

// FUZZ_ASSERT(cond, detail): aborts with file, line, condition and `detail`
// (a std::string expression evaluated only on failure).
#define FUZZ_ASSERT(cond, detail) \
  ((cond) ? static_cast<void>(0) : ::chip::fuzz::Fail(__FILE__, __LINE__, #cond, (detail)))
