#include "node/cluster/etcd_client.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <limits>
#include <utility>

#include "etcd/etcdserverpb/rpc_min.grpc.pb.h"
#include "ledger/check.h"
#include "support/grpc_names.h"

namespace chip::node {

namespace epb = ::etcdserverpb;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct EtcdClient::Stubs {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<epb::KV::Stub> kv;
  std::unique_ptr<epb::Lease::Stub> lease;
  std::unique_ptr<epb::Watch::Stub> watch;
  std::unique_ptr<epb::Maintenance::Stub> maintenance;
};

namespace {

// etcd's "require leader" metadata (clientv3.WithRequireLeader): a member
// that has lost its leader refuses the call at once with "no leader", and
// cancels a watch stream once it stays leaderless, instead of letting a
// partitioned member hold calls until their deadline or a watch forever.
constexpr char kRequireLeaderKey[] = "hasleader";
constexpr char kRequireLeaderValue[] = "true";

constexpr milliseconds kRetryBackoffFirst{20};
constexpr milliseconds kRetryBackoffMax{250};
// How soon the channel tries a member again after it went down: short, so a
// restarted member takes load again within a second. (The connect timeout
// itself stays at gRPC's 20 s: a shorter one can expire before any thread
// polls the connection, and then no connection attempt ever succeeds.)
constexpr int kReconnectBackoffInitialMs = 100;
constexpr int kReconnectBackoffMaxMs = 1'000;
// Pause of the lease keeper between failed renewals (each renewal already
// retries inside its own deadline).
constexpr milliseconds kKeeperRetryPause{100};

enum class CallKind {
  kIdempotent,  // reads, keepalive, revoke, compact: retried on any Unavailable
  kWrite,       // retried only while certainly not applied
};

Status FromGrpc(const char* method, const grpc::Status& s) {
  std::string m = std::string("etcd ") + method + ": " + GrpcCodeName(s.error_code()) + ": " +
                  s.error_message();
  switch (s.error_code()) {
    case grpc::StatusCode::OK:
      return Status::Ok();
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::CANCELLED:
      return Status::Unavailable(std::move(m));
    case grpc::StatusCode::INVALID_ARGUMENT:
      return Status::InvalidArgument(std::move(m));
    case grpc::StatusCode::NOT_FOUND:
      return Status::NotFound(std::move(m));
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:  // compacted or future revision, TTL too large
      return Status::FailedPrecondition(std::move(m));
    case grpc::StatusCode::RESOURCE_EXHAUSTED:  // message size, etcd space quota, rate
      return Status::ResourceExhausted(std::move(m));
    default:
      return Status::Internal(std::move(m));
  }
}

bool StartsWith(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// True when the call certainly did not change etcd's state: either etcd
// refused it with a definite answer, or it never left this process, or the
// member refused it before proposing it to raft. Anything else (deadline,
// broken connection, raft timeout, unknown) may have been applied.
bool CertainlyNotApplied(const grpc::Status& s) {
  switch (s.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::UNIMPLEMENTED:
      return true;
    case grpc::StatusCode::UNAVAILABLE: {
      const std::string& m = s.error_message();
      // gRPC found no connected member (pick_first / round_robin wording).
      return StartsWith(m, "failed to connect to all addresses") ||
             StartsWith(m, "connections to all backends failing") ||
             // etcd refused before proposing (require-leader, not ready).
             StartsWith(m, "etcdserver: no leader") || StartsWith(m, "etcdserver: not capable");
    }
    default:
      return false;
  }
}

bool Retryable(const grpc::Status& s) { return s.error_code() == grpc::StatusCode::UNAVAILABLE; }

// Runs `attempt` with a fresh context until it succeeds, fails for good or
// the call's deadline passes. A write is retried only while every attempt
// certainly did not apply: once one may have, retrying would turn "maybe
// applied" into a second apply (or a confusing failed compare).
template <typename Attempt>
Status CallWithRetry(const EtcdClientOptions& options, grpc::Channel* channel, CallKind kind,
                     const char* method, Attempt&& attempt, bool* ambiguous) {
  if (ambiguous != nullptr) *ambiguous = false;
  const milliseconds timeout(options.call_timeout_ms);
  // gRPC takes a system_clock deadline; our own waiting uses steady_clock.
  const auto grpc_deadline = std::chrono::system_clock::now() + timeout;
  const auto deadline = Clock::now() + timeout;
  milliseconds backoff = kRetryBackoffFirst;
  for (;;) {
    grpc::ClientContext context;
    context.set_deadline(grpc_deadline);
    context.AddMetadata(kRequireLeaderKey, kRequireLeaderValue);
    grpc::Status s = attempt(&context);
    if (s.ok()) return Status::Ok();
    Status status = FromGrpc(method, s);
    if (kind == CallKind::kWrite && !CertainlyNotApplied(s)) {
      if (ambiguous != nullptr) *ambiguous = true;
      return status;
    }
    const auto retry_at = Clock::now() + backoff;
    if (!Retryable(s) || retry_at >= deadline) return status;
    // Waiting on the channel rather than sleeping polls its connection
    // attempts: with the synchronous API nothing else drives them while no
    // call is in flight, and a member that came back would go unnoticed.
    if (channel->GetState(/*try_to_connect=*/true) == GRPC_CHANNEL_READY) {
      std::this_thread::sleep_until(retry_at);
    } else {
      channel->WaitForConnected(std::chrono::system_clock::now() + backoff);
    }
    backoff = std::min(backoff * 2, kRetryBackoffMax);
  }
}

Result<std::string> ResolveIpv4(const std::string& host) {
  in_addr addr{};
  if (::inet_pton(AF_INET, host.c_str(), &addr) == 1) return host;
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (rc != 0 || found == nullptr) {
    return Status::InvalidArgument("etcd endpoint host '" + host +
                                   "' does not resolve to IPv4: " + ::gai_strerror(rc));
  }
  char text[INET_ADDRSTRLEN] = {};
  const auto* sin = reinterpret_cast<const sockaddr_in*>(found->ai_addr);
  ::inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text));
  ::freeaddrinfo(found);
  return std::string(text);
}

// "h1:p1, http://h2:p2" -> "ipv4:a1:p1,a2:p2": one channel over every member,
// so gRPC balances calls over the members it is connected to and routes
// around one that is down.
Result<std::string> ChannelTarget(const std::string& endpoints, bool tls, std::string* first_host) {
  std::vector<std::string> addresses;
  size_t pos = 0;
  while (pos <= endpoints.size()) {
    size_t comma = endpoints.find(',', pos);
    if (comma == std::string::npos) comma = endpoints.size();
    std::string ep = endpoints.substr(pos, comma - pos);
    pos = comma + 1;
    ep.erase(0, ep.find_first_not_of(" \t"));
    ep.erase(ep.find_last_not_of(" \t/") + 1);
    if (ep.empty()) continue;
    if (StartsWith(ep, "https://")) {
      if (!tls) {
        return Status::InvalidArgument("etcd endpoint '" + ep +
                                       "' is https: give the CA of etcd's certificates");
      }
      ep.erase(0, 8);
    }
    if (StartsWith(ep, "http://")) ep.erase(0, 7);
    if (first_host != nullptr && first_host->empty()) *first_host = ep.substr(0, ep.rfind(':'));
    size_t colon = ep.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == ep.size()) {
      return Status::InvalidArgument("etcd endpoint '" + ep + "' is not host:port");
    }
    std::string port = ep.substr(colon + 1);
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(port) < 1 || std::stoi(port) > 65535) {
      return Status::InvalidArgument("etcd endpoint '" + ep + "' has a bad port");
    }
    auto ip = ResolveIpv4(ep.substr(0, colon));
    if (!ip.ok()) return ip.status();
    addresses.push_back(*ip + ":" + port);
  }
  if (addresses.empty()) return Status::InvalidArgument("no etcd endpoints given");
  if (addresses.size() > kEtcdEndpointsMax) {
    return Status::InvalidArgument("more than " + std::to_string(kEtcdEndpointsMax) +
                                   " etcd endpoints");
  }
  std::string target = "ipv4:";
  for (size_t i = 0; i < addresses.size(); ++i) target += (i ? "," : "") + addresses[i];
  return target;
}

EtcdKeyValue FromPb(const mvccpb::KeyValue& kv) {
  EtcdKeyValue out;
  out.key = kv.key();
  out.value = kv.value();
  out.create_revision = kv.create_revision();
  out.mod_revision = kv.mod_revision();
  out.version = kv.version();
  out.lease_id = kv.lease();
  return out;
}

Status CheckKey(std::string_view key) {
  if (key.empty()) return Status::InvalidArgument("etcd key must not be empty");
  return Status::Ok();
}

Result<epb::TxnRequest> ToPb(const EtcdTxn& txn) {
  if (txn.compares.size() > kEtcdTxnOpsMax || txn.then_ops.size() > kEtcdTxnOpsMax ||
      txn.else_gets.size() > kEtcdTxnOpsMax) {
    return Status::InvalidArgument("etcd txn: more than " + std::to_string(kEtcdTxnOpsMax) +
                                   " compares or operations in one list");
  }
  epb::TxnRequest req;
  for (const EtcdCompare& c : txn.compares) {
    CHIP_RETURN_IF_ERROR(CheckKey(c.key));
    epb::Compare* pc = req.add_compare();
    pc->set_result(epb::Compare::EQUAL);
    pc->set_key(c.key);
    switch (c.target) {
      case EtcdCompare::Target::kVersion:
        pc->set_target(epb::Compare::VERSION);
        pc->set_version(c.number);
        break;
      case EtcdCompare::Target::kCreateRevision:
        pc->set_target(epb::Compare::CREATE);
        pc->set_create_revision(c.number);
        break;
      case EtcdCompare::Target::kModRevision:
        pc->set_target(epb::Compare::MOD);
        pc->set_mod_revision(c.number);
        break;
      case EtcdCompare::Target::kValue:
        pc->set_target(epb::Compare::VALUE);
        pc->set_value(c.value);
        break;
    }
  }
  for (const EtcdOp& op : txn.then_ops) {
    CHIP_RETURN_IF_ERROR(CheckKey(op.key));
    epb::RequestOp* ro = req.add_success();
    if (op.kind == EtcdOp::Kind::kPut) {
      epb::PutRequest* put = ro->mutable_request_put();
      put->set_key(op.key);
      put->set_value(op.value);
      put->set_lease(op.lease_id);
    } else {
      epb::DeleteRangeRequest* del = ro->mutable_request_delete_range();
      del->set_key(op.key);
      del->set_range_end(op.range_end);
    }
  }
  for (const std::string& key : txn.else_gets) {
    CHIP_RETURN_IF_ERROR(CheckKey(key));
    req.add_failure()->mutable_request_range()->set_key(key);
  }
  return req;
}

}  // namespace

EtcdRange EtcdRange::Key(std::string key) {
  EtcdRange r;
  r.key = std::move(key);
  return r;
}

EtcdRange EtcdRange::Prefix(std::string prefix) {
  EtcdRange r;
  r.range_end = EtcdClient::PrefixEnd(prefix);
  r.key = std::move(prefix);
  return r;
}

EtcdCompare EtcdCompare::CreateRevisionIs(std::string key, int64_t create_revision) {
  return {std::move(key), Target::kCreateRevision, create_revision, {}};
}
EtcdCompare EtcdCompare::ModRevisionIs(std::string key, int64_t mod_revision) {
  return {std::move(key), Target::kModRevision, mod_revision, {}};
}
EtcdCompare EtcdCompare::VersionIs(std::string key, int64_t version) {
  return {std::move(key), Target::kVersion, version, {}};
}
EtcdCompare EtcdCompare::ValueIs(std::string key, std::string value) {
  return {std::move(key), Target::kValue, 0, std::move(value)};
}

EtcdOp EtcdOp::Put(std::string key, std::string value, int64_t lease_id) {
  return {Kind::kPut, std::move(key), std::move(value), lease_id, {}};
}
EtcdOp EtcdOp::Delete(std::string key, std::string range_end) {
  return {Kind::kDelete, std::move(key), {}, 0, std::move(range_end)};
}

// ---- EtcdClient ----

Result<std::unique_ptr<EtcdClient>> EtcdClient::Create(const EtcdClientOptions& options) {
  const bool tls = !options.tls_ca_pem.empty();
  if (!tls && (!options.tls_cert_pem.empty() || !options.tls_key_pem.empty())) {
    return Status::InvalidArgument(
        "an etcd client certificate needs the CA of etcd's certificates");
  }
  if (options.tls_cert_pem.empty() != options.tls_key_pem.empty()) {
    return Status::InvalidArgument("an etcd client certificate needs both certificate and key");
  }
  std::string first_host;
  auto target = ChannelTarget(options.endpoints, tls, &first_host);
  if (!target.ok()) return target.status();
  if (options.call_timeout_ms == 0) {
    return Status::InvalidArgument("etcd call_timeout_ms must be positive");
  }
  constexpr size_t kIntMax = static_cast<size_t>(std::numeric_limits<int>::max());
  if (options.response_bytes_max == 0 || options.response_bytes_max > kIntMax ||
      options.request_bytes_max == 0 || options.request_bytes_max > kIntMax ||
      options.keepalive_time_ms > kIntMax || options.keepalive_timeout_ms > kIntMax) {
    return Status::InvalidArgument("etcd message size or keepalive option out of range");
  }
  grpc::ChannelArguments args;
  args.SetLoadBalancingPolicyName("round_robin");
  args.SetMaxReceiveMessageSize(static_cast<int>(options.response_bytes_max));
  args.SetMaxSendMessageSize(static_cast<int>(options.request_bytes_max));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(options.keepalive_time_ms));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, static_cast<int>(options.keepalive_timeout_ms));
  // Without this gRPC stops pinging an idle watch stream after two pings.
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, kReconnectBackoffInitialMs);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, kReconnectBackoffMaxMs);
  auto stubs = std::make_unique<Stubs>();
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (tls) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = options.tls_ca_pem;
    ssl.pem_cert_chain = options.tls_cert_pem;
    ssl.pem_private_key = options.tls_key_pem;
    credentials = grpc::SslCredentials(ssl);
    // The target is a list of resolved addresses: name the certificate to
    // expect explicitly.
    args.SetSslTargetNameOverride(options.tls_server_name.empty() ? first_host
                                                                  : options.tls_server_name);
  }
  stubs->channel = grpc::CreateCustomChannel(*target, credentials, args);
  stubs->kv = epb::KV::NewStub(stubs->channel);
  stubs->lease = epb::Lease::NewStub(stubs->channel);
  stubs->watch = epb::Watch::NewStub(stubs->channel);
  stubs->maintenance = epb::Maintenance::NewStub(stubs->channel);
  return std::unique_ptr<EtcdClient>(new EtcdClient(options, std::move(stubs)));
}

EtcdClient::EtcdClient(const EtcdClientOptions& options, std::unique_ptr<Stubs> stubs)
    : options_(options), stubs_(std::move(stubs)) {}

EtcdClient::~EtcdClient() = default;

std::string EtcdClient::PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  // Every byte was 0xff (or the prefix was empty): etcd reads "\0" as "to the
  // end of the key space".
  return std::string(1, '\0');
}

Result<EtcdRangeResult> EtcdClient::Range(std::string_view key) {
  return Range(EtcdRange::Key(std::string(key)));
}

Result<EtcdRangeResult> EtcdClient::Range(const EtcdRange& range) {
  CHIP_RETURN_IF_ERROR(CheckKey(range.key));
  if (range.revision < 0 || range.limit < 0) {
    return Status::InvalidArgument("etcd range: negative revision or limit");
  }
  epb::RangeRequest req;
  req.set_key(range.key);
  req.set_range_end(range.range_end);
  req.set_revision(range.revision);
  req.set_limit(range.limit);
  req.set_serializable(range.serializable);
  req.set_count_only(range.count_only);
  epb::RangeResponse resp;
  CHIP_RETURN_IF_ERROR(CallWithRetry(
      options_, stubs_->channel.get(), CallKind::kIdempotent, "Range",
      [&](grpc::ClientContext* c) { return stubs_->kv->Range(c, req, &resp); }, nullptr));
  EtcdRangeResult out;
  out.revision = resp.header().revision();
  out.more = resp.more();
  out.count = resp.count();
  out.kvs.reserve(static_cast<size_t>(resp.kvs_size()));
  for (const auto& kv : resp.kvs()) out.kvs.push_back(FromPb(kv));
  return out;
}

Result<int64_t> EtcdClient::Put(std::string_view key, std::string_view value, int64_t lease_id,
                                bool* ambiguous) {
  if (ambiguous != nullptr) *ambiguous = false;
  CHIP_RETURN_IF_ERROR(CheckKey(key));
  epb::PutRequest req;
  req.set_key(key.data(), key.size());
  req.set_value(value.data(), value.size());
  req.set_lease(lease_id);
  epb::PutResponse resp;
  CHIP_RETURN_IF_ERROR(CallWithRetry(
      options_, stubs_->channel.get(), CallKind::kWrite, "Put",
      [&](grpc::ClientContext* c) { return stubs_->kv->Put(c, req, &resp); }, ambiguous));
  return resp.header().revision();
}

Result<EtcdDeleteResult> EtcdClient::DeleteRange(std::string_view key, std::string_view range_end,
                                                 bool* ambiguous) {
  if (ambiguous != nullptr) *ambiguous = false;
  CHIP_RETURN_IF_ERROR(CheckKey(key));
  epb::DeleteRangeRequest req;
  req.set_key(key.data(), key.size());
  req.set_range_end(range_end.data(), range_end.size());
  epb::DeleteRangeResponse resp;
  CHIP_RETURN_IF_ERROR(CallWithRetry(
      options_, stubs_->channel.get(), CallKind::kWrite, "DeleteRange",
      [&](grpc::ClientContext* c) { return stubs_->kv->DeleteRange(c, req, &resp); }, ambiguous));
  return EtcdDeleteResult{resp.header().revision(), resp.deleted()};
}

Result<EtcdTxnResult> EtcdClient::Txn(const EtcdTxn& txn, bool* ambiguous) {
  if (ambiguous != nullptr) *ambiguous = false;
  auto req = ToPb(txn);
  if (!req.ok()) return req.status();
  epb::TxnResponse resp;
  CHIP_RETURN_IF_ERROR(CallWithRetry(
      options_, stubs_->channel.get(), CallKind::kWrite, "Txn",
      [&](grpc::ClientContext* c) { return stubs_->kv->Txn(c, *req, &resp); }, ambiguous));
  EtcdTxnResult out;
  out.succeeded = resp.succeeded();
  out.revision = resp.header().revision();
  if (!out.succeeded) {
    if (static_cast<size_t>(resp.responses_size()) != txn.else_gets.size()) {
      return Status::Internal("etcd Txn: " + std::to_string(resp.responses_size()) +
                              " responses for " + std::to_string(txn.else_gets.size()) + " reads");
    }
    for (const auto& r : resp.responses()) {
      if (r.response_range().kvs_size() == 0) {
        out.else_values.emplace_back(std::nullopt);
      } else {
        out.else_values.emplace_back(FromPb(r.response_range().kvs(0)));
      }
    }
  }
  return out;
}

Status EtcdClient::Compact(int64_t revision, bool physical) {
  if (revision <= 0) return Status::InvalidArgument("etcd compact: revision must be positive");
  epb::CompactionRequest req;
  req.set_revision(revision);
  req.set_physical(physical);
  epb::CompactionResponse resp;
  // Compacting twice at one revision only fails the second time, so the call
  // is retried like a read.
  return CallWithRetry(
      options_, stubs_->channel.get(), CallKind::kIdempotent, "Compact",
      [&](grpc::ClientContext* c) { return stubs_->kv->Compact(c, req, &resp); }, nullptr);
}

Status EtcdClient::Defragment() {
  epb::DefragmentRequest req;
  epb::DefragmentResponse resp;
  // Defragmenting twice is harmless.
  return CallWithRetry(
      options_, stubs_->channel.get(), CallKind::kIdempotent, "Defragment",
      [&](grpc::ClientContext* c) { return stubs_->maintenance->Defragment(c, req, &resp); },
      nullptr);
}

Result<EtcdLease> EtcdClient::LeaseGrant(int64_t ttl_s) {
  if (ttl_s <= 0) return Status::InvalidArgument("etcd lease TTL must be positive");
  epb::LeaseGrantRequest req;
  req.set_ttl(ttl_s);
  epb::LeaseGrantResponse resp;
  Clock::time_point sent;
  // A retried grant at worst leaves an unused lease that expires: idempotent
  // enough.
  CHIP_RETURN_IF_ERROR(CallWithRetry(
      options_, stubs_->channel.get(), CallKind::kIdempotent, "LeaseGrant",
      [&](grpc::ClientContext* c) {
        sent = Clock::now();
        return stubs_->lease->LeaseGrant(c, req, &resp);
      },
      nullptr));
  if (!resp.error().empty()) return Status::Internal("etcd LeaseGrant: " + resp.error());
  if (resp.id() == 0 || resp.ttl() <= 0) return Status::Internal("etcd LeaseGrant: no lease");
  return EtcdLease{resp.id(), resp.ttl(), sent + std::chrono::seconds(resp.ttl())};
}

Result<EtcdLease> EtcdClient::LeaseKeepAliveOnce(int64_t lease_id) {
  epb::LeaseKeepAliveRequest req;
  req.set_id(lease_id);
  epb::LeaseKeepAliveResponse resp;
  Clock::time_point sent;
  // etcd offers keepalive only as a stream: open one, send one request, read
  // one answer, close.
  CHIP_RETURN_IF_ERROR(CallWithRetry(
      options_, stubs_->channel.get(), CallKind::kIdempotent, "LeaseKeepAlive",
      [&](grpc::ClientContext* c) {
        sent = Clock::now();
        auto stream = stubs_->lease->LeaseKeepAlive(c);
        bool answered = stream->Write(req) && stream->Read(&resp);
        if (answered) stream->WritesDone();
        grpc::Status s = stream->Finish();
        if (answered) return grpc::Status::OK;
        if (s.ok()) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "stream closed unanswered");
        return s;
      },
      nullptr));
  if (resp.ttl() <= 0) {
    return Status::NotFound("etcd lease " + std::to_string(lease_id) +
                            " not found (expired or revoked)");
  }
  return EtcdLease{lease_id, resp.ttl(), sent + std::chrono::seconds(resp.ttl())};
}

Status EtcdClient::LeaseRevoke(int64_t lease_id) {
  epb::LeaseRevokeRequest req;
  req.set_id(lease_id);
  epb::LeaseRevokeResponse resp;
  return CallWithRetry(
      options_, stubs_->channel.get(), CallKind::kIdempotent, "LeaseRevoke",
      [&](grpc::ClientContext* c) { return stubs_->lease->LeaseRevoke(c, req, &resp); }, nullptr);
}

// ---- EtcdWatch ----

Result<std::unique_ptr<EtcdWatch>> EtcdWatch::Start(EtcdClient* client, EtcdWatchOptions options,
                                                    EventsFn on_events, EndFn on_end) {
  CHIP_CHECK(client != nullptr);
  CHIP_RETURN_IF_ERROR(CheckKey(options.key));
  if (options.start_revision < 1) {
    return Status::InvalidArgument("etcd watch: start_revision must be at least 1");
  }
  if (options.queue_events_max == 0 || options.queue_bytes_max == 0) {
    return Status::InvalidArgument("etcd watch: queue bounds must be positive");
  }
  if (!on_events || !on_end) return Status::InvalidArgument("etcd watch: missing callback");
  std::unique_ptr<EtcdWatch> w(
      new EtcdWatch(client, std::move(options), std::move(on_events), std::move(on_end)));
  w->reader_ = std::thread([p = w.get()] { p->ReadLoop(); });
  w->callback_ = std::thread([p = w.get()] { p->CallbackLoop(); });
  return w;
}

EtcdWatch::EtcdWatch(EtcdClient* client, EtcdWatchOptions options, EventsFn on_events, EndFn on_end)
    : client_(client),
      options_(std::move(options)),
      on_events_(std::move(on_events)),
      on_end_(std::move(on_end)),
      context_(std::make_unique<grpc::ClientContext>()) {
  // No deadline: the stream lives until Stop. Keepalive pings and the
  // require-leader metadata end it when its member dies or loses the cluster.
  context_->AddMetadata(kRequireLeaderKey, kRequireLeaderValue);
}

EtcdWatch::~EtcdWatch() { Stop(); }

void EtcdWatch::Stop() {
  // Joining the callback thread from itself would deadlock.
  CHIP_CHECK(std::this_thread::get_id() != callback_.get_id());
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopping_ = true;
  }
  context_->TryCancel();  // safe before the call starts, too: it starts cancelled
  cv_.notify_all();
  if (reader_.joinable()) reader_.join();
  if (callback_.joinable()) callback_.join();
  std::lock_guard<std::mutex> lock(mu_);
  stopped_ = true;
}

bool EtcdWatch::Push(Batch batch) {
  std::lock_guard<std::mutex> lock(mu_);
  // An empty queue takes any batch: one response is already bounded by
  // response_bytes_max, and refusing it would end every retry the same way.
  if (!queue_.empty() && (queued_events_ + batch.events.size() > options_.queue_events_max ||
                          queued_bytes_ + batch.bytes > options_.queue_bytes_max)) {
    return false;
  }
  queued_events_ += batch.events.size();
  queued_bytes_ += batch.bytes;
  queue_.push_back(std::move(batch));
  cv_.notify_all();
  return true;
}

void EtcdWatch::SetEnd(EtcdWatchEnd end) {
  std::lock_guard<std::mutex> lock(mu_);
  CHIP_CHECK(!end_.has_value());
  end_ = std::move(end);
  cv_.notify_all();
}

void EtcdWatch::ReadLoop() {
  epb::WatchRequest req;
  epb::WatchCreateRequest* create = req.mutable_create_request();
  create->set_key(options_.key);
  create->set_range_end(options_.range_end);
  create->set_start_revision(options_.start_revision);

  auto stream = client_->stubs_->watch->Watch(context_.get());
  std::optional<EtcdWatchEnd> end;
  if (stream->Write(req)) {
    epb::WatchResponse resp;
    while (!end && stream->Read(&resp)) {
      if (resp.compact_revision() != 0) {
        end = EtcdWatchEnd{};
        end->reason = EtcdWatchEnd::Reason::kCompacted;
        end->compact_revision = resp.compact_revision();
        end->status = Status::FailedPrecondition(
            "etcd watch: revision " + std::to_string(options_.start_revision) +
            " is compacted; oldest held is " + std::to_string(resp.compact_revision()));
      } else if (resp.canceled()) {
        end = EtcdWatchEnd{};
        end->reason = EtcdWatchEnd::Reason::kBroken;
        end->status = Status::Unavailable("etcd watch canceled by etcd: " + resp.cancel_reason());
      } else if (resp.events_size() > 0) {
        Batch batch;
        batch.events.reserve(static_cast<size_t>(resp.events_size()));
        for (const auto& e : resp.events()) {
          EtcdEvent ev;
          ev.type =
              e.type() == mvccpb::Event::DELETE ? EtcdEvent::Type::kDelete : EtcdEvent::Type::kPut;
          ev.kv = FromPb(e.kv());
          batch.bytes += ev.kv.key.size() + ev.kv.value.size();
          batch.events.push_back(std::move(ev));
        }
        if (!Push(std::move(batch))) {
          end = EtcdWatchEnd{};
          end->reason = EtcdWatchEnd::Reason::kOverflow;
          end->status = Status::ResourceExhausted("etcd watch: consumer fell behind (" +
                                                  std::to_string(options_.queue_events_max) +
                                                  " events or queue bytes max reached)");
        }
      }
    }
  }
  // Ending on our own initiative: cancel so Finish does not wait for etcd.
  if (end) context_->TryCancel();
  grpc::Status s = stream->Finish();
  if (!end) {
    end = EtcdWatchEnd{};
    end->reason = EtcdWatchEnd::Reason::kBroken;
    end->status =
        s.ok() ? Status::Unavailable("etcd watch: stream closed by etcd") : FromGrpc("Watch", s);
  }
  SetEnd(std::move(*end));
}

void EtcdWatch::CallbackLoop() {
  int64_t next_revision = options_.start_revision;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty() || end_.has_value(); });
    if (stopping_) break;
    if (!queue_.empty()) {
      Batch batch = std::move(queue_.front());
      queue_.pop_front();
      queued_events_ -= batch.events.size();
      queued_bytes_ -= batch.bytes;
      lock.unlock();
      on_events_(batch.events);
      // etcd sends all events of one revision in one response, so everything
      // up to the last event's revision has been delivered.
      next_revision = batch.events.back().kv.mod_revision + 1;
      lock.lock();
      continue;
    }
    EtcdWatchEnd end = *end_;
    lock.unlock();
    end.next_revision = next_revision;
    on_end_(end);
    return;
  }
  lock.unlock();
  EtcdWatchEnd end;
  end.reason = EtcdWatchEnd::Reason::kStopped;
  end.next_revision = next_revision;
  on_end_(end);
}

// ---- EtcdLeaseKeeper ----

Result<std::unique_ptr<EtcdLeaseKeeper>> EtcdLeaseKeeper::Start(EtcdClient* client,
                                                                const EtcdLease& lease,
                                                                LostFn on_lost,
                                                                uint32_t interval_ms) {
  CHIP_CHECK(client != nullptr);
  if (lease.id == 0 || lease.ttl_s <= 0) {
    return Status::InvalidArgument("etcd lease keeper: lease without id or TTL");
  }
  if (!on_lost) return Status::InvalidArgument("etcd lease keeper: missing callback");
  std::unique_ptr<EtcdLeaseKeeper> k(
      new EtcdLeaseKeeper(client, lease, std::move(on_lost), interval_ms));
  k->thread_ = std::thread([p = k.get()] { p->Run(); });
  return k;
}

EtcdLeaseKeeper::EtcdLeaseKeeper(EtcdClient* client, const EtcdLease& lease, LostFn on_lost,
                                 uint32_t interval_ms)
    : client_(client),
      lease_id_(lease.id),
      on_lost_(std::move(on_lost)),
      // A third of the TTL leaves two more tries before the lease can expire.
      interval_(interval_ms != 0 ? milliseconds(interval_ms)
                                 : milliseconds(lease.ttl_s * 1000 / 3)),
      valid_until_(lease.valid_until) {}

EtcdLeaseKeeper::~EtcdLeaseKeeper() { Stop(); }

void EtcdLeaseKeeper::Stop() {
  CHIP_CHECK(std::this_thread::get_id() != thread_.get_id());
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Clock::time_point EtcdLeaseKeeper::valid_until() const {
  std::lock_guard<std::mutex> lock(mu_);
  return valid_until_;
}

bool EtcdLeaseKeeper::lost() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lost_;
}

void EtcdLeaseKeeper::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  Clock::time_point next = Clock::now() + interval_;
  for (;;) {
    if (cv_.wait_until(lock, next, [this] { return stopping_; })) return;
    lock.unlock();
    Result<EtcdLease> renewed = client_->LeaseKeepAliveOnce(lease_id_);
    lock.lock();
    if (stopping_) return;
    const Clock::time_point now = Clock::now();
    if (renewed.ok()) {
      valid_until_ = renewed->valid_until;
      next = now + interval_;
      continue;
    }
    const bool gone = renewed.status().code() == Status::Code::kNotFound;
    if (gone || now >= valid_until_) {
      lost_ = true;
      lock.unlock();
      // Past valid_until etcd may already have expired the lease even if it
      // is merely unreachable: the holder must act as if it is gone.
      on_lost_(gone ? renewed.status()
                    : Status::Unavailable(
                          "etcd lease " + std::to_string(lease_id_) +
                          " not renewed before it could expire: " + renewed.status().ToString()));
      return;
    }
    next = std::min(now + kKeeperRetryPause, valid_until_);
  }
}

}  // namespace chip::node
