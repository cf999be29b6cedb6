#!/usr/bin/env bash
# Configures and builds into build/ (Release with debug info, -Werror).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHIP_WERROR=ON >/dev/null
cmake --build build -j "$jobs"
