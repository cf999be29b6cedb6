// The bytes of data/chips.csv, compiled into the library by CMake
// (catalog_data.cc.in -> <build>/ledger/pricing/catalog_data.cc) so that the
// binaries carry their catalog and need no data directory at run time.
#pragma once

#include <string_view>

namespace chip::pricing {

std::string_view BuiltinChipsCsv();

}  // namespace chip::pricing
