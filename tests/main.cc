#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "ledger/crypto.h"

int main(int argc, char* argv[]) {
  if (!chip::InitCrypto().ok()) return 2;
  return Catch::Session().run(argc, argv);
}
