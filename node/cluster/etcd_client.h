// A small synchronous client for etcd v3 (Debian's etcd-server 3.4), the
// ordering and leader-election service of a multi-node cluster. It speaks
// etcd's gRPC API through our own minimal protos (proto/etcd/) and returns
// Status / Result<T>; it never throws.
//
// How the orderer is meant to use it (the orderer itself lives elsewhere).
// Keys, under /chipledger/<chain id hex>/:
//   leader                 the producer's election key, bound to its lease;
//                          value: the producer's node key.
//   tip                    the height of the last ordered block, 20 decimal
//                          digits.
//   blocks/<height>        one serialized block; the height is zero-padded to
//                          20 digits so key order is height order and a range
//                          read returns blocks in order.
// Election: grant a lease (LeaseGrant), keep it alive (EtcdLeaseKeeper), and
// campaign with Txn{leader CreateRevisionIs(0) -> Put(leader, id, lease);
// else get leader}. The winning txn's revision is the leader key's
// create_revision: the producer's fencing token. The others watch `leader`
// and campaign when they see it deleted (lease expired or revoked).
// Append: block n goes in with one Txn{tip ValueIs(n-1) and leader
// CreateRevisionIs(token) -> Put(blocks/n), Put(tip, n); else get tip,
// leader}. A failed compare means the tip moved or the election was lost:
// step down. A failed call with *ambiguous set may still have committed:
// read blocks/n back before doing anything else.
// Follow: every node applies blocks in etcd's order only: Range blocks from
// its applied height + 1 (paged with `limit`), then EtcdWatch the blocks
// prefix from that range's revision + 1; on any EtcdWatchEnd go back to
// range reads.
// Retention: etcd holds only a window of recent blocks: the producer deletes
// old blocks and Compacts at a revision older than the window, so a node
// further behind catches up from a peer instead.
//
// Threads: EtcdClient is thread-safe and must outlive every EtcdWatch and
// EtcdLeaseKeeper made with it. Every call has a deadline of call_timeout_ms
// (retries included) and never blocks longer.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ledger/status.h"

namespace grpc {
class ClientContext;
}  // namespace grpc

namespace chip::node {

// etcd's default --max-txn-ops: operations per txn branch, and compares.
inline constexpr size_t kEtcdTxnOpsMax = 128;
// Endpoints in one client's list.
inline constexpr size_t kEtcdEndpointsMax = 16;

struct EtcdClientOptions {
  // Comma-separated host:port list of the members' client URLs, e.g.
  // "127.0.0.1:2379,127.0.0.1:22379". An "http://" or "https://" prefix is
  // accepted (https needs tls_ca_pem). Host names are resolved (IPv4) once,
  // at Create.
  std::string endpoints;
  // TLS to etcd (its --cert-file/--key-file): with tls_ca_pem set, every
  // member's certificate is verified against it, and tls_cert_pem +
  // tls_key_pem (optional) are presented as the client certificate (etcd's
  // --client-cert-auth; with etcd auth enabled its CN is the etcd user).
  // PEM text, not file names. tls_server_name is the name checked in the
  // members' certificates; empty: the host of the first endpoint.
  std::string tls_ca_pem, tls_cert_pem, tls_key_pem, tls_server_name;
  // Deadline of each call, its retries included.
  uint32_t call_timeout_ms = 3'000;
  // Largest response accepted (a Range without a limit can be large). A
  // larger one fails with ResourceExhausted.
  size_t response_bytes_max = 32u << 20;
  // Largest request sent; etcd refuses requests over its --max-request-bytes
  // (1.5 MiB by default) on its own.
  size_t request_bytes_max = 2u << 20;
  // gRPC keepalive pings on open streams, so a watch on a member that died
  // silently breaks instead of waiting forever. etcd refuses pings more
  // often than every 5 s by default.
  uint32_t keepalive_time_ms = 10'000;
  uint32_t keepalive_timeout_ms = 5'000;
};

struct EtcdKeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;  // 0 only for a key that does not exist
  int64_t mod_revision = 0;
  int64_t version = 0;
  int64_t lease_id = 0;  // 0: not bound to a lease
};

// A read of one key or of the range [key, range_end).
struct EtcdRange {
  std::string key;        // must not be empty
  std::string range_end;  // empty: the single key `key`
  int64_t revision = 0;   // 0: the latest
  int64_t limit = 0;      // most keys returned; 0: no limit
  // true: the member's local state, no quorum read (a member without a
  // leader still refuses: every call requires one).
  bool serializable = false;
  bool count_only = false;

  static EtcdRange Key(std::string key);
  // Every key that starts with `prefix`.
  static EtcdRange Prefix(std::string prefix);
};

struct EtcdRangeResult {
  int64_t revision = 0;  // the store revision the read saw
  std::vector<EtcdKeyValue> kvs;
  bool more = false;  // the range holds more keys than `limit` returned
  int64_t count = 0;  // keys in the range
};

struct EtcdDeleteResult {
  int64_t revision = 0;
  int64_t deleted = 0;
};

// One equality condition of a Txn (the fencing pattern needs no other).
struct EtcdCompare {
  enum class Target { kVersion, kCreateRevision, kModRevision, kValue };
  std::string key;
  Target target = Target::kVersion;
  int64_t number = 0;  // for every target but kValue
  std::string value;   // for kValue

  // create_revision 0 / version 0 mean "the key does not exist".
  static EtcdCompare CreateRevisionIs(std::string key, int64_t create_revision);
  static EtcdCompare ModRevisionIs(std::string key, int64_t mod_revision);
  static EtcdCompare VersionIs(std::string key, int64_t version);
  static EtcdCompare ValueIs(std::string key, std::string value);
};

// One write of a Txn's success branch.
struct EtcdOp {
  enum class Kind { kPut, kDelete };
  Kind kind = Kind::kPut;
  std::string key;
  std::string value;      // kPut
  int64_t lease_id = 0;   // kPut: bind the key to this lease
  std::string range_end;  // kDelete: empty deletes the single key

  static EtcdOp Put(std::string key, std::string value, int64_t lease_id = 0);
  static EtcdOp Delete(std::string key, std::string range_end = {});
};

// "If every compare holds, apply then_ops; else read else_gets", in one etcd
// revision. Each list holds at most kEtcdTxnOpsMax entries.
struct EtcdTxn {
  std::vector<EtcdCompare> compares;
  std::vector<EtcdOp> then_ops;
  std::vector<std::string> else_gets;  // single keys, read when a compare fails
};

struct EtcdTxnResult {
  bool succeeded = false;  // every compare held and then_ops were applied
  int64_t revision = 0;    // the store revision after the txn
  // When !succeeded: one entry per else_gets key, nullopt for a missing key.
  std::vector<std::optional<EtcdKeyValue>> else_values;
};

struct EtcdLease {
  int64_t id = 0;
  int64_t ttl_s = 0;
  // A local, conservative estimate of when etcd may expire the lease: the
  // time the request was sent plus the TTL etcd answered.
  std::chrono::steady_clock::time_point valid_until;
};

class EtcdClient {
 public:
  // InvalidArgument for a malformed endpoint list or option. Connects lazily:
  // a cluster that is down fails the first calls, not Create.
  static Result<std::unique_ptr<EtcdClient>> Create(const EtcdClientOptions& options);
  ~EtcdClient();
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  // Error mapping, for every call: Unavailable when no member with a leader
  // answered before the deadline (a member without a leader refuses at
  // once); InvalidArgument / NotFound / FailedPrecondition (e.g. a compacted
  // or future revision) / ResourceExhausted when etcd answered so; Internal
  // otherwise. Reads, and writes that certainly did not reach etcd, are
  // retried until the deadline.
  //
  // Writes take `ambiguous` (may be null): set to true when the call failed
  // after the request may have reached etcd (deadline exceeded, connection
  // lost, raft proposal timed out), so the write may or may not have been
  // applied and the caller must read back to know; false otherwise.

  // Linearizable read of one key (kvs empty when it does not exist).
  Result<EtcdRangeResult> Range(std::string_view key);
  Result<EtcdRangeResult> Range(const EtcdRange& range);
  // Returns the revision of the put.
  Result<int64_t> Put(std::string_view key, std::string_view value, int64_t lease_id = 0,
                      bool* ambiguous = nullptr);
  // Deletes `key`, or [key, range_end) when range_end is not empty.
  Result<EtcdDeleteResult> DeleteRange(std::string_view key, std::string_view range_end = {},
                                       bool* ambiguous = nullptr);
  Result<EtcdTxnResult> Txn(const EtcdTxn& txn, bool* ambiguous = nullptr);
  // Discards history before `revision`; with `physical` answers only once
  // the compaction is applied. FailedPrecondition when `revision` is already
  // compacted (possibly by an earlier attempt of this same call) or is in
  // the future.
  Status Compact(int64_t revision, bool physical = false);
  // Gives the member's freed space back to the filesystem (after Compact).
  // It applies to the one member that answers, which blocks meanwhile: use
  // a client of a single endpoint, and one member at a time.
  Status Defragment();

  // A new lease of ttl_s seconds (etcd may raise a very short TTL to its
  // minimum). A failed grant may leave an orphan lease; it expires unused.
  Result<EtcdLease> LeaseGrant(int64_t ttl_s);
  // Renews the lease once. NotFound when it expired or was revoked.
  Result<EtcdLease> LeaseKeepAliveOnce(int64_t lease_id);
  // Ends the lease now and deletes its keys. NotFound when it was already
  // gone (possibly revoked by an earlier attempt of this same call).
  Status LeaseRevoke(int64_t lease_id);

  // The range_end that makes [prefix, range_end) every key with that prefix.
  static std::string PrefixEnd(std::string_view prefix);

  const EtcdClientOptions& options() const { return options_; }

 private:
  friend class EtcdWatch;
  struct Stubs;  // the channel and generated stubs, kept out of this header

  EtcdClient(const EtcdClientOptions& options, std::unique_ptr<Stubs> stubs);

  EtcdClientOptions options_;
  std::unique_ptr<Stubs> stubs_;
};

struct EtcdEvent {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  // For kDelete: the deleted key, mod_revision set to the deletion's.
  EtcdKeyValue kv;
};

struct EtcdWatchOptions {
  std::string key;        // must not be empty
  std::string range_end;  // empty: the single key; EtcdClient::PrefixEnd for a prefix
  // First revision to report; at least 1. Typically a range read's
  // revision + 1, so nothing falls between the read and the watch.
  int64_t start_revision = 0;
  // Events received but not yet handed to on_events. When either bound
  // would be passed the watch ends with kOverflow, so a slow consumer falls
  // back to (paged) range reads instead of growing memory.
  size_t queue_events_max = 4'096;
  size_t queue_bytes_max = 64u << 20;
};

struct EtcdWatchEnd {
  enum class Reason {
    kStopped,    // Stop() was called
    kCompacted,  // start_revision is older than etcd's compaction
    kBroken,     // stream error, member down or without a leader, canceled
    kOverflow,   // the consumer fell behind the queue bounds
  };
  Reason reason = Reason::kStopped;
  Status status;                 // why; OK for kStopped
  int64_t compact_revision = 0;  // kCompacted: the oldest revision etcd holds
  // The first revision not handed to on_events: where range reads (or a new
  // watch, unless compacted) resume.
  int64_t next_revision = 0;
};

// Streams the events of a key or key range from a revision, on its own
// threads: one reads the gRPC stream into a bounded queue, one calls back.
class EtcdWatch {
 public:
  // Called on the watch's callback thread, one response at a time in
  // revision order; all events of one etcd revision (one txn) arrive in the
  // same call.
  using EventsFn = std::function<void(const std::vector<EtcdEvent>& events)>;
  // Called exactly once, on the callback thread, after the last on_events.
  using EndFn = std::function<void(const EtcdWatchEnd& end)>;

  // InvalidArgument for bad options. Returns at once; a watch etcd cannot
  // start is reported through on_end.
  static Result<std::unique_ptr<EtcdWatch>> Start(EtcdClient* client, EtcdWatchOptions options,
                                                  EventsFn on_events, EndFn on_end);
  // Stop().
  ~EtcdWatch();
  EtcdWatch(const EtcdWatch&) = delete;
  EtcdWatch& operator=(const EtcdWatch&) = delete;

  // Cancels the stream, drops undelivered events, reports kStopped unless
  // the end was already reported, and joins the threads. Idempotent. Must
  // not be called from a callback.
  void Stop();

 private:
  struct Batch {
    std::vector<EtcdEvent> events;
    size_t bytes = 0;
  };

  EtcdWatch(EtcdClient* client, EtcdWatchOptions options, EventsFn on_events, EndFn on_end);
  void ReadLoop();
  void CallbackLoop();
  // Queues a batch; false when the queue bounds would be passed.
  bool Push(Batch batch);
  void SetEnd(EtcdWatchEnd end);

  EtcdClient* client_;
  EtcdWatchOptions options_;
  EventsFn on_events_;
  EndFn on_end_;
  std::unique_ptr<grpc::ClientContext> context_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Batch> queue_;
  size_t queued_events_ = 0;
  size_t queued_bytes_ = 0;
  std::optional<EtcdWatchEnd> end_;  // set once by the reader
  bool stopping_ = false;
  bool stopped_ = false;  // Stop() completed
  std::thread reader_;
  std::thread callback_;
};

// Keeps one lease alive on its own thread until stopped: renews every
// interval (a third of the TTL by default) and retries failures. Reports
// loss once, through on_lost, when etcd says the lease is gone or when it
// could not be renewed before its valid_until passed; then the thread ends.
class EtcdLeaseKeeper {
 public:
  // Called on the keeper's thread.
  using LostFn = std::function<void(const Status& why)>;

  // InvalidArgument for a lease without id or TTL.
  static Result<std::unique_ptr<EtcdLeaseKeeper>> Start(EtcdClient* client, const EtcdLease& lease,
                                                        LostFn on_lost, uint32_t interval_ms = 0);
  // Stop().
  ~EtcdLeaseKeeper();
  EtcdLeaseKeeper(const EtcdLeaseKeeper&) = delete;
  EtcdLeaseKeeper& operator=(const EtcdLeaseKeeper&) = delete;

  // Stops renewing (the lease then expires unless revoked) and joins the
  // thread; on_lost is not called after Stop returns. Idempotent. Must not
  // be called from on_lost.
  void Stop();

  // Conservative local estimate of how long the lease certainly lives: a
  // producer checks it before each append.
  std::chrono::steady_clock::time_point valid_until() const;
  bool lost() const;

 private:
  EtcdLeaseKeeper(EtcdClient* client, const EtcdLease& lease, LostFn on_lost, uint32_t interval_ms);
  void Run();

  EtcdClient* client_;
  int64_t lease_id_;
  LostFn on_lost_;
  std::chrono::milliseconds interval_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::chrono::steady_clock::time_point valid_until_;
  bool lost_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace chip::node
