// Helpers shared by the .cc files of EtcdOrderer (etcd_orderer.cc,
// producer.cc, election.cc, forwarding.cc): the text forms of heights in etcd
// keys and of member records, and the driver's retry pause. Not for use
// outside node/cluster/.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ledger/crypto.h"

namespace chip::node {

// Retry pause of the driver when etcd or the disk refuses.
inline constexpr std::chrono::milliseconds kRetryPause{250};
// Size of a member record accepted from etcd.
inline constexpr size_t kMemberValueBytesMax = 1'024;

// A height as etcd keys hold it: 20 decimal digits, zero-padded, so that
// etcd's byte order of keys is height order.
std::string Pad20(uint64_t v);

// The inverse of Pad20 (any 1-20 digits); nullopt when not a decimal uint64.
std::optional<uint64_t> ParseHeight(std::string_view text);

// A member record under <prefix>nodes/: {"node": "<address>", "grpc": "<host:port>"}.
struct MemberRecord {
  PublicKey key{};
  std::string grpc;
};

// nullopt when the value is larger than kMemberValueBytesMax or malformed.
std::optional<MemberRecord> ParseMember(const std::string& value);

}  // namespace chip::node
