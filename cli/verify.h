// `chip verify`: checks what a node says against cryptographic evidence
// instead of taking it on trust.
//  - The node key is pinned per chain in <wallet>/trust/<chain id>.json the
//    first time the wallet meets the chain (trust on first use); a different
//    key later is reported, never silently accepted.
//  - Every verified checkpoint is stored there; a newer one must be proved to
//    extend it (RFC 9162 consistency), so a rewritten or forked history, or
//    one that shrank, is caught.
#pragma once

#include <string>

#include "cli/client.h"

namespace chip::cli {

constexpr int kExitVerifyFailed = 6;  // proofs, signatures or history do not check out

struct VerifyContext {
  NodeClient* client;
  std::string wallet_dir;
  bool json = false;
};

int VerifyTx(const VerifyContext& ctx, const std::string& tx_hash_hex);
int VerifyLog(const VerifyContext& ctx);
int VerifyChain(const VerifyContext& ctx);

}  // namespace chip::cli
