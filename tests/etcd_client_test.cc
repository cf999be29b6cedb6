// The etcd client (node/cluster/etcd_client.h) against a real 3-member etcd cluster
// on loopback: key-value calls, the fencing transaction the orderer relies
// on, leases, watches with compaction, and member failures.
#include <catch2/catch.hpp>
#include <condition_variable>
#include <cstdio>
#include <mutex>

#include "etcd_fixture.h"

using namespace chip;
using namespace chip::node;
using chip::test::EtcdCluster;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

// Starts the cluster or fails the test with the members' logs.
void StartCluster(EtcdCluster& cluster) {
  bool started = cluster.Start();
  INFO(cluster.error());
  REQUIRE(started);
}

long ElapsedMs(Clock::time_point since) {
  return static_cast<long>(std::chrono::duration_cast<milliseconds>(Clock::now() - since).count());
}

// A loopback port that was free a moment ago: nothing answers there.
int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) std::abort();
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// The key layout suggested in etcd_client.h.
std::string Height20(uint64_t height) {
  char buf[21];
  std::snprintf(buf, sizeof(buf), "%020llu", static_cast<unsigned long long>(height));
  return buf;
}

// Collects what a watch reports, for checks on the test's own thread
// (Catch2 v2 assertions are not thread-safe).
class WatchLog {
 public:
  EtcdWatch::EventsFn OnEvents() {
    return [this](const std::vector<EtcdEvent>& events) {
      std::unique_lock<std::mutex> lock(mu_);
      batch_sizes_.push_back(events.size());
      events_.insert(events_.end(), events.begin(), events.end());
      cv_.notify_all();
      // A test holds the consumer to fill the watch's queue.
      cv_.wait(lock, [this] { return !hold_; });
    };
  }
  EtcdWatch::EndFn OnEnd() {
    return [this](const EtcdWatchEnd& end) {
      std::lock_guard<std::mutex> lock(mu_);
      end_ = end;
      cv_.notify_all();
    };
  }
  bool WaitEvents(size_t n, milliseconds timeout = milliseconds(10'000)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return events_.size() >= n; });
  }
  bool WaitEnd(milliseconds timeout = milliseconds(10'000)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return end_.has_value(); });
  }
  void Hold(bool hold) {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = hold;
    cv_.notify_all();
  }
  std::vector<EtcdEvent> events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  std::vector<size_t> batch_sizes() {
    std::lock_guard<std::mutex> lock(mu_);
    return batch_sizes_;
  }
  std::optional<EtcdWatchEnd> end() {
    std::lock_guard<std::mutex> lock(mu_);
    return end_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<EtcdEvent> events_;
  std::vector<size_t> batch_sizes_;
  std::optional<EtcdWatchEnd> end_;
  bool hold_ = false;
};

std::unique_ptr<EtcdWatch> StartWatch(EtcdClient* client, const std::string& prefix,
                                      int64_t start_revision, WatchLog* log,
                                      size_t queue_events_max = 4'096) {
  EtcdWatchOptions o;
  o.key = prefix;
  o.range_end = EtcdClient::PrefixEnd(prefix);
  o.start_revision = start_revision;
  o.queue_events_max = queue_events_max;
  auto w = EtcdWatch::Start(client, o, log->OnEvents(), log->OnEnd());
  REQUIRE(w.ok());
  return std::move(*w);
}

// The orderer's two transactions, as etcd_client.h describes them.
struct OrderKeys {
  std::string root = "/chipledger/00ab/";
  std::string leader = root + "leader";
  std::string tip = root + "tip";
  std::string Block(uint64_t h) const { return root + "blocks/" + Height20(h); }

  EtcdTxn Campaign(const std::string& node, int64_t lease_id) const {
    EtcdTxn t;
    t.compares = {EtcdCompare::CreateRevisionIs(leader, 0)};
    t.then_ops = {EtcdOp::Put(leader, node, lease_id)};
    t.else_gets = {leader};
    return t;
  }
  EtcdTxn Append(uint64_t height, int64_t token, const std::string& block) const {
    EtcdTxn t;
    t.compares = {EtcdCompare::ValueIs(tip, Height20(height - 1)),
                  EtcdCompare::CreateRevisionIs(leader, token)};
    t.then_ops = {EtcdOp::Put(Block(height), block), EtcdOp::Put(tip, Height20(height))};
    t.else_gets = {tip, leader};
    return t;
  }
};

}  // namespace

TEST_CASE("etcd client options: endpoint lists and prefix ends", "[etcd][options]") {
  struct Row {
    std::string endpoints;
    bool ok;
  };
  std::string seventeen;
  for (int i = 1; i <= 17; ++i) seventeen += (i > 1 ? "," : "") + std::string("127.0.0.1:1");
  const std::vector<Row> rows = {
      {"127.0.0.1:1", true},
      {" http://127.0.0.1:1/ ,127.0.0.2:65535", true},
      {"localhost:1", true},
      {"", false},
      {" , ", false},
      {"127.0.0.1", false},
      {"127.0.0.1:", false},
      {"127.0.0.1:0", false},
      {"127.0.0.1:65536", false},
      {"127.0.0.1:x1", false},
      {"https://127.0.0.1:1", false},
      {"no-such-host.invalid:1", false},
      {seventeen, false},
  };
  for (const Row& row : rows) {
    INFO("endpoints: '" << row.endpoints << "'");
    EtcdClientOptions o;
    o.endpoints = row.endpoints;
    auto c = EtcdClient::Create(o);
    CHECK(c.ok() == row.ok);
    if (!row.ok) CHECK(c.status().code() == Status::Code::kInvalidArgument);
  }

  CHECK(EtcdClient::PrefixEnd("a") == "b");
  CHECK(EtcdClient::PrefixEnd("/blocks/") == "/blocks0");
  CHECK(EtcdClient::PrefixEnd("a\xff") == "b");
  CHECK(EtcdClient::PrefixEnd("\xff\xff") == std::string(1, '\0'));
  CHECK(EtcdClient::PrefixEnd("") == std::string(1, '\0'));
}

TEST_CASE("etcd client fails fast, unambiguously, when no member listens", "[etcd][errors]") {
  EtcdClientOptions o;
  o.endpoints = "127.0.0.1:" + std::to_string(ClosedPort());
  o.call_timeout_ms = 400;
  auto c = EtcdClient::Create(o);
  REQUIRE(c.ok());
  auto started = Clock::now();
  auto r = (*c)->Range("k");
  CHECK(r.status().code() == Status::Code::kUnavailable);
  bool ambiguous = true;
  auto p = (*c)->Put("k", "v", 0, &ambiguous);
  CHECK(p.status().code() == Status::Code::kUnavailable);
  INFO(p.status().ToString());
  CHECK_FALSE(ambiguous);  // refused connections never carried the write
  CHECK(ElapsedMs(started) < 2 * 400 + 500);
}

TEST_CASE("etcd client puts, reads ranges and deletes", "[etcd][kv]") {
  EtcdCluster cluster;
  StartCluster(cluster);
  auto etcd = cluster.Client();

  auto a1 = etcd->Put("/t/a", "1");
  REQUIRE(a1.ok());
  auto a2 = etcd->Put("/t/a", "2");
  REQUIRE(a2.ok());
  CHECK(*a2 > *a1);
  REQUIRE(etcd->Put("/t/b", "b").ok());
  REQUIRE(etcd->Put("/t/c", "c").ok());
  REQUIRE(etcd->Put("/u/x", "x").ok());

  auto a = etcd->Range("/t/a");
  REQUIRE(a.ok());
  REQUIRE(a->kvs.size() == 1);
  CHECK(a->kvs[0].value == "2");
  CHECK(a->kvs[0].create_revision == *a1);
  CHECK(a->kvs[0].mod_revision == *a2);
  CHECK(a->kvs[0].version == 2);
  CHECK(a->revision >= *a2);

  EtcdRange old = EtcdRange::Key("/t/a");
  old.revision = *a1;
  auto a_old = etcd->Range(old);
  REQUIRE(a_old.ok());
  REQUIRE(a_old->kvs.size() == 1);
  CHECK(a_old->kvs[0].value == "1");

  EtcdRange page = EtcdRange::Prefix("/t/");
  page.limit = 2;
  auto p = etcd->Range(page);
  REQUIRE(p.ok());
  REQUIRE(p->kvs.size() == 2);
  CHECK(p->kvs[0].key == "/t/a");
  CHECK(p->kvs[1].key == "/t/b");
  CHECK(p->more);
  CHECK(p->count == 3);

  auto missing = etcd->Range("/t/missing");
  REQUIRE(missing.ok());
  CHECK(missing->kvs.empty());

  auto d = etcd->DeleteRange("/t/", EtcdClient::PrefixEnd("/t/"));
  REQUIRE(d.ok());
  CHECK(d->deleted == 3);
  auto after = etcd->Range(EtcdRange::Prefix("/t/"));
  REQUIRE(after.ok());
  CHECK(after->kvs.empty());
  auto u = etcd->Range("/u/x");
  REQUIRE(u.ok());
  CHECK(u->kvs.size() == 1);

  // Client mistakes: refused before anything is sent, or by etcd.
  EtcdRange negative = EtcdRange::Key("k");
  negative.limit = -1;
  EtcdTxn too_big;
  for (size_t i = 0; i <= kEtcdTxnOpsMax; ++i) {
    too_big.then_ops.push_back(EtcdOp::Put("k" + std::to_string(i), "v"));
  }
  EtcdTxn duplicate;
  duplicate.then_ops = {EtcdOp::Put("k", "1"), EtcdOp::Put("k", "2")};
  bool ambiguous = true;
  struct Row {
    const char* what;
    Status status;
    Status::Code code;
  };
  const std::vector<Row> rows = {
      {"range of an empty key", etcd->Range("").status(), Status::Code::kInvalidArgument},
      {"negative limit", etcd->Range(negative).status(), Status::Code::kInvalidArgument},
      {"put of an empty key", etcd->Put("", "v").status(), Status::Code::kInvalidArgument},
      {"txn over the op bound", etcd->Txn(too_big).status(), Status::Code::kInvalidArgument},
      {"txn putting a key twice (etcd refuses)", etcd->Txn(duplicate, &ambiguous).status(),
       Status::Code::kInvalidArgument},
      {"future revision", etcd->Range(EtcdRange{"k", "", 1'000'000, 0, false, false}).status(),
       Status::Code::kFailedPrecondition},
      {"lease TTL 0", etcd->LeaseGrant(0).status(), Status::Code::kInvalidArgument},
      {"revoke of an unknown lease", etcd->LeaseRevoke(12345), Status::Code::kNotFound},
      {"keepalive of an unknown lease", etcd->LeaseKeepAliveOnce(12345).status(),
       Status::Code::kNotFound},
  };
  for (const Row& row : rows) {
    INFO(row.what << ": " << row.status.ToString());
    CHECK(row.status.code() == row.code);
  }
  CHECK_FALSE(ambiguous);  // etcd's refusal is a definite answer
}

TEST_CASE("etcd txn fences a producer whose election key was replaced", "[etcd][txn]") {
  EtcdCluster cluster;
  StartCluster(cluster);
  auto etcd = cluster.Client();
  OrderKeys chain;
  REQUIRE(etcd->Put(chain.tip, Height20(0)).ok());

  // A wins the election; its leader key's create_revision is its token.
  auto lease_a = etcd->LeaseGrant(30);
  REQUIRE(lease_a.ok());
  auto won_a = etcd->Txn(chain.Campaign("node-a", lease_a->id));
  REQUIRE(won_a.ok());
  REQUIRE(won_a->succeeded);
  const int64_t token_a = won_a->revision;
  auto leader = etcd->Range(chain.leader);
  REQUIRE(leader.ok());
  REQUIRE(leader->kvs.size() == 1);
  CHECK(leader->kvs[0].create_revision == token_a);
  CHECK(leader->kvs[0].lease_id == lease_a->id);

  // B loses while A holds the key, and learns who leads.
  auto lease_b = etcd->LeaseGrant(30);
  REQUIRE(lease_b.ok());
  auto lost_b = etcd->Txn(chain.Campaign("node-b", lease_b->id));
  REQUIRE(lost_b.ok());
  CHECK_FALSE(lost_b->succeeded);
  REQUIRE(lost_b->else_values.size() == 1);
  REQUIRE(lost_b->else_values[0].has_value());
  CHECK(lost_b->else_values[0]->value == "node-a");

  // A appends block 1; appending it again fails on the tip.
  auto b1 = etcd->Txn(chain.Append(1, token_a, "block-1-by-a"));
  REQUIRE(b1.ok());
  CHECK(b1->succeeded);
  auto again = etcd->Txn(chain.Append(1, token_a, "block-1-again"));
  REQUIRE(again.ok());
  CHECK_FALSE(again->succeeded);
  REQUIRE(again->else_values.size() == 2);
  CHECK(again->else_values[0]->value == Height20(1));

  // A's lease ends (as if A paused past its TTL): its key goes, B wins.
  REQUIRE(etcd->LeaseRevoke(lease_a->id).ok());
  auto no_leader = etcd->Txn(chain.Append(2, token_a, "block-2-by-a"));
  REQUIRE(no_leader.ok());
  CHECK_FALSE(no_leader->succeeded);
  CHECK_FALSE(no_leader->else_values[1].has_value());
  auto won_b = etcd->Txn(chain.Campaign("node-b", lease_b->id));
  REQUIRE(won_b.ok());
  REQUIRE(won_b->succeeded);
  const int64_t token_b = won_b->revision;
  CHECK(token_b > token_a);

  // The stale producer is fenced although the tip it expects is right.
  auto stale = etcd->Txn(chain.Append(2, token_a, "block-2-by-a"));
  REQUIRE(stale.ok());
  CHECK_FALSE(stale->succeeded);
  REQUIRE(stale->else_values[1].has_value());
  CHECK(stale->else_values[1]->value == "node-b");
  CHECK(stale->else_values[1]->create_revision == token_b);

  auto b2 = etcd->Txn(chain.Append(2, token_b, "block-2-by-b"));
  REQUIRE(b2.ok());
  CHECK(b2->succeeded);

  auto blocks = etcd->Range(EtcdRange::Prefix(chain.root + "blocks/"));
  REQUIRE(blocks.ok());
  REQUIRE(blocks->kvs.size() == 2);
  CHECK(blocks->kvs[0].key == chain.Block(1));
  CHECK(blocks->kvs[0].value == "block-1-by-a");
  CHECK(blocks->kvs[1].value == "block-2-by-b");
  // Both puts of an append share one revision with the tip.
  auto tip = etcd->Range(chain.tip);
  REQUIRE(tip.ok());
  CHECK(tip->kvs[0].value == Height20(2));
  CHECK(tip->kvs[0].mod_revision == blocks->kvs[1].mod_revision);
}

TEST_CASE("etcd lease keepalive outlives the TTL, and revoke or expiry deletes the key",
          "[etcd][lease]") {
  EtcdCluster cluster;
  StartCluster(cluster);
  auto etcd = cluster.Client();

  auto lease = etcd->LeaseGrant(1);
  REQUIRE(lease.ok());
  CHECK(lease->ttl_s >= 1);
  CHECK(lease->valid_until > Clock::now());
  REQUIRE(etcd->Put("/lease/kept", "v", lease->id).ok());
  std::atomic<bool> lost{false};
  auto keeper = EtcdLeaseKeeper::Start(etcd.get(), *lease, [&](const Status&) { lost = true; });
  REQUIRE(keeper.ok());
  std::this_thread::sleep_for(milliseconds(3'000));  // three TTLs
  auto kept = etcd->Range("/lease/kept");
  REQUIRE(kept.ok());
  CHECK(kept->kvs.size() == 1);
  CHECK_FALSE(lost);
  CHECK_FALSE((*keeper)->lost());
  CHECK((*keeper)->valid_until() > Clock::now());

  // Without keepalives etcd expires the lease and deletes the key.
  (*keeper)->Stop();
  auto stopped = Clock::now();
  bool gone = false;
  while (!gone && ElapsedMs(stopped) < 10'000) {
    auto r = etcd->Range("/lease/kept");
    REQUIRE(r.ok());
    gone = r->kvs.empty();
    if (!gone) std::this_thread::sleep_for(milliseconds(50));
  }
  CHECK(gone);
  CHECK(etcd->LeaseKeepAliveOnce(lease->id).status().code() == Status::Code::kNotFound);

  // Revoke deletes at once, and a keeper of a revoked lease reports it lost.
  auto lease2 = etcd->LeaseGrant(30);
  REQUIRE(lease2.ok());
  REQUIRE(etcd->Put("/lease/revoked", "v", lease2->id).ok());
  REQUIRE(etcd->LeaseRevoke(lease2->id).ok());
  auto revoked = etcd->Range("/lease/revoked");
  REQUIRE(revoked.ok());
  CHECK(revoked->kvs.empty());
  CHECK(etcd->LeaseRevoke(lease2->id).code() == Status::Code::kNotFound);
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Status> why;
  auto keeper2 = EtcdLeaseKeeper::Start(
      etcd.get(), *lease2,
      [&](const Status& s) {
        std::lock_guard<std::mutex> lock(mu);
        why = s;
        cv.notify_all();
      },
      /*interval_ms=*/50);
  REQUIRE(keeper2.ok());
  {
    std::unique_lock<std::mutex> lock(mu);
    REQUIRE(cv.wait_for(lock, milliseconds(5'000), [&] { return why.has_value(); }));
  }
  CHECK(why->code() == Status::Code::kNotFound);
  CHECK((*keeper2)->lost());
}

TEST_CASE("etcd watch streams from a revision and reports compaction and overflow",
          "[etcd][watch]") {
  EtcdCluster cluster;
  StartCluster(cluster);
  auto etcd = cluster.Client();

  auto r1 = etcd->Put("/w/1", "one");
  REQUIRE(r1.ok());
  REQUIRE(etcd->Put("/w/2", "two").ok());
  REQUIRE(etcd->Put("/other", "not watched").ok());

  // From a past revision: history first, then live events.
  WatchLog log;
  auto watch = StartWatch(etcd.get(), "/w/", *r1, &log);
  REQUIRE(log.WaitEvents(2));
  EtcdTxn two_puts;
  two_puts.then_ops = {EtcdOp::Put("/w/3", "three"), EtcdOp::Put("/w/4", "four")};
  auto txn = etcd->Txn(two_puts);
  REQUIRE(txn.ok());
  auto del = etcd->DeleteRange("/w/1");
  REQUIRE(del.ok());
  REQUIRE(log.WaitEvents(5));
  std::vector<EtcdEvent> events = log.events();
  REQUIRE(events.size() == 5);
  CHECK(events[0].kv.key == "/w/1");
  CHECK(events[0].kv.mod_revision == *r1);
  CHECK(events[1].kv.value == "two");
  CHECK(events[2].kv.key == "/w/3");
  CHECK(events[3].kv.key == "/w/4");
  CHECK(events[2].kv.mod_revision == txn->revision);
  CHECK(events[3].kv.mod_revision == txn->revision);
  CHECK(events[4].type == EtcdEvent::Type::kDelete);
  CHECK(events[4].kv.key == "/w/1");
  // One txn is one callback.
  std::vector<size_t> batches = log.batch_sizes();
  CHECK(std::find(batches.begin(), batches.end(), 2u) != batches.end());
  watch->Stop();
  REQUIRE(log.end().has_value());
  CHECK(log.end()->reason == EtcdWatchEnd::Reason::kStopped);
  CHECK(log.end()->next_revision == del->revision + 1);

  // Below the compaction: the watch ends and says where history starts.
  REQUIRE(etcd->Compact(txn->revision, /*physical=*/true).ok());
  EtcdRange old = EtcdRange::Key("/w/1");
  old.revision = *r1;
  CHECK(etcd->Range(old).status().code() == Status::Code::kFailedPrecondition);
  CHECK(etcd->Compact(txn->revision).code() == Status::Code::kFailedPrecondition);
  WatchLog compacted;
  auto watch2 = StartWatch(etcd.get(), "/w/", *r1, &compacted);
  REQUIRE(compacted.WaitEnd());
  CHECK(compacted.end()->reason == EtcdWatchEnd::Reason::kCompacted);
  CHECK(compacted.end()->compact_revision == txn->revision);
  CHECK(compacted.end()->next_revision == *r1);
  CHECK(compacted.events().empty());
  watch2->Stop();  // after the end: joins, reports nothing more
  CHECK(compacted.end()->reason == EtcdWatchEnd::Reason::kCompacted);

  // A consumer that falls behind the queue bound ends the watch instead of
  // growing memory; what was queued is still delivered, in order.
  WatchLog slow;
  slow.Hold(true);
  auto head = etcd->Range("/w/2");
  REQUIRE(head.ok());
  auto watch3 = StartWatch(etcd.get(), "/w/", head->revision + 1, &slow, /*queue_events_max=*/1);
  REQUIRE(etcd->Put("/w/slow", "0").ok());
  REQUIRE(slow.WaitEvents(1));  // the consumer now sits in its callback
  for (int i = 1; i <= 20 && !slow.end().has_value(); ++i) {
    REQUIRE(etcd->Put("/w/slow", std::to_string(i)).ok());
    std::this_thread::sleep_for(milliseconds(20));
  }
  slow.Hold(false);
  REQUIRE(slow.WaitEnd());
  CHECK(slow.end()->reason == EtcdWatchEnd::Reason::kOverflow);
  CHECK(slow.end()->status.code() == Status::Code::kResourceExhausted);
  events = slow.events();
  REQUIRE(events.size() >= 2);
  for (size_t i = 0; i < events.size(); ++i) CHECK(events[i].kv.value == std::to_string(i));
  CHECK(slow.end()->next_revision == events.back().kv.mod_revision + 1);
}

TEST_CASE("etcd client keeps working with one member of three killed", "[etcd][failover]") {
  EtcdCluster cluster;
  StartCluster(cluster);
  auto etcd = cluster.Client();
  auto first = etcd->Put("/f/0", "0");
  REQUIRE(first.ok());
  auto lease = etcd->LeaseGrant(2);
  REQUIRE(lease.ok());
  std::atomic<bool> lease_lost{false};
  auto keeper =
      EtcdLeaseKeeper::Start(etcd.get(), *lease, [&](const Status&) { lease_lost = true; });
  REQUIRE(keeper.ok());
  WatchLog log;
  auto watch = StartWatch(etcd.get(), "/f/", *first, &log);
  REQUIRE(log.WaitEvents(1));

  // Kill the raft leader: the hardest single failure (an election follows).
  const int leader = cluster.LeaderIndex();
  REQUIRE(leader >= 0);
  cluster.Kill(static_cast<size_t>(leader));
  // Every call succeeds: calls routed to the dead member are retried on the
  // others (writes only while certainly not applied; ambiguous ones are
  // resolved by reading back, as the orderer will).
  int ambiguous_writes = 0;
  size_t applied = 1;  // /f/0
  for (int i = 1; i <= 30; ++i) {
    const std::string key = "/f/" + std::to_string(i);
    bool ambiguous = false;
    auto put = etcd->Put(key, std::to_string(i), 0, &ambiguous);
    if (!put.ok()) {
      INFO(put.status().ToString());
      REQUIRE(ambiguous);
      ++ambiguous_writes;
    }
    auto got = etcd->Range(key);
    INFO(got.status().ToString());
    REQUIRE(got.ok());
    if (put.ok()) CHECK(got->kvs.size() == 1);
    applied += got->kvs.size();  // the read also settles an ambiguous put
  }
  CHECK(ambiguous_writes <= 1);
  auto grant = etcd->LeaseGrant(5);
  CHECK(grant.ok());
  CHECK(etcd->LeaseKeepAliveOnce(lease->id).ok());
  CHECK_FALSE(lease_lost);

  // A watch on the killed member broke (and can resume where it stopped);
  // one on a live member saw every put.
  std::optional<EtcdWatchEnd> end = log.end();
  int64_t resume = *first;
  if (end.has_value()) {
    CHECK(end->reason == EtcdWatchEnd::Reason::kBroken);
    resume = end->next_revision;
  }
  watch->Stop();
  WatchLog rest;
  auto watch2 = StartWatch(etcd.get(), "/f/", resume, &rest);
  if (end.has_value()) {
    CHECK(rest.WaitEvents(applied - log.events().size()));
  } else {
    CHECK(log.WaitEvents(applied));
  }
  watch2->Stop();
  (*keeper)->Stop();
}

TEST_CASE("etcd calls fail with Unavailable within the deadline when quorum is lost",
          "[etcd][failover]") {
  EtcdCluster cluster;
  StartCluster(cluster);
  constexpr uint32_t kTimeoutMs = 1'000;
  auto etcd = cluster.Client(kTimeoutMs);
  REQUIRE(etcd->Put("/q/k", "v").ok());
  auto lease = etcd->LeaseGrant(2);
  REQUIRE(lease.ok());
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Status> lost_why;
  auto keeper = EtcdLeaseKeeper::Start(etcd.get(), *lease, [&](const Status& s) {
    std::lock_guard<std::mutex> lock(mu);
    lost_why = s;
    cv.notify_all();
  });
  REQUIRE(keeper.ok());
  WatchLog log;
  auto head = etcd->Range("/q/k");
  REQUIRE(head.ok());
  auto watch = StartWatch(etcd.get(), "/q/", head->revision + 1, &log);

  cluster.Kill(1);
  cluster.Kill(2);
  // Let the survivor notice it has no leader.
  std::this_thread::sleep_for(milliseconds(1'000));

  struct Row {
    const char* what;
    std::function<Status()> call;
  };
  bool ambiguous = true;
  const std::vector<Row> rows = {
      {"range", [&] { return etcd->Range("/q/k").status(); }},
      {"put", [&] { return etcd->Put("/q/k", "w", 0, &ambiguous).status(); }},
      {"txn", [&] { return etcd->Txn(OrderKeys().Campaign("n", 0)).status(); }},
      {"lease grant", [&] { return etcd->LeaseGrant(5).status(); }},
      {"keepalive", [&] { return etcd->LeaseKeepAliveOnce(lease->id).status(); }},
  };
  for (const Row& row : rows) {
    auto started = Clock::now();
    Status s = row.call();
    long elapsed_ms = ElapsedMs(started);
    INFO(row.what << ": " << s.ToString() << " after " << elapsed_ms << " ms");
    CHECK(s.code() == Status::Code::kUnavailable);
    CHECK(elapsed_ms <= kTimeoutMs + 300);
  }
  // The survivor refused without a leader: the put certainly did not apply.
  CHECK_FALSE(ambiguous);

  // The lease holder learns its lease may be gone; the watch breaks.
  {
    std::unique_lock<std::mutex> lock(mu);
    REQUIRE(cv.wait_for(lock, milliseconds(5'000), [&] { return lost_why.has_value(); }));
  }
  CHECK(lost_why->code() == Status::Code::kUnavailable);
  REQUIRE(log.WaitEnd(milliseconds(10'000)));
  CHECK(log.end()->reason == EtcdWatchEnd::Reason::kBroken);

  // Quorum back: the same client works again.
  {
    bool restarted = cluster.Restart(1);
    INFO(cluster.error());
    REQUIRE(restarted);
  }
  auto put = etcd->Put("/q/k", "back");
  INFO(put.status().ToString());
  CHECK(put.ok());
  watch->Stop();
  (*keeper)->Stop();
}
