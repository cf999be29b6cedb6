#!/usr/bin/env bash
# Configures and builds into build/ (Release with debug info, -Werror).
# Debug info is line tables only (-g1): enough for perf, gdb backtraces and
# sanitizer stacks, with less to generate and link than full -g (the saving is
# not yet measured; docs/ARCHITECTURE.md, "Build"). CHIP_DEBUG_INFO=-g gives
# full debug info.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHIP_WERROR=ON \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 ${CHIP_DEBUG_INFO:--g1} -DNDEBUG" >/dev/null
cmake --build build -j "$jobs"
