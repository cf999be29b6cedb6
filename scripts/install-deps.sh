#!/usr/bin/env bash
# Installs the Debian 12 packages Chipledger builds and tests with, skipping
# those already present. Idempotent; needs root (apt-get).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config clang-format
  librocksdb-dev libsodium-dev
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
  catch2 libcli11-dev libspdlog-dev nlohmann-json3-dev libcivetweb-dev
  curl
  openssl  # scripts/dev-ca.sh makes development TLS certificates with the openssl command
  gnuplot-nox  # `chip price chart` draws with it; its test needs it
  etcd-server  # multi-node ordering; the etcd tests start real members
  clang-14 libclang-rt-14-dev llvm-14  # scripts/fuzz.sh: libFuzzer, sanitizers, coverage tools
  libtomlplusplus-dev  # node/ops/config.cc (toml++, header-only)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: run as root (apt-get needs it)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
