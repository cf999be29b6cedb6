// Leader election of EtcdOrderer: the lease, the leader key whose
// create_revision fences every append, member records and defragmentation.
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "ledger/address.h"
#include "ledger/check.h"
#include "node/cluster/etcd_orderer.h"
#include "node/cluster/internal.h"

namespace chip::node {

namespace pb = ::chipledger::v1;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

void EtcdOrderer::ElectionLoop() {
  const std::string leader_key = prefix_ + "leader";
  const std::string member_key = prefix_ + "nodes/" + EncodeAddress(node_pub_);
  const std::string value = MemberValue();
  const milliseconds period(std::min<uint32_t>(500, config_.etcd_lease_ttl_s * 1000 / 4));
  auto set_error = [this](const Status& s) {
    std::lock_guard<std::mutex> lock(mu_);
    etcd_error_ = "etcd: " + s.message();
  };
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (election_stopping_) break;
    }
    bool need_lease = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      need_lease = lease_id_ == 0 || lease_lost_;
    }
    if (need_lease) {
      if (keeper_) {
        keeper_->Stop();
        keeper_.reset();
      }
      StepDown("its etcd lease was lost");
      auto lease = etcd_->LeaseGrant(config_.etcd_lease_ttl_s);
      if (lease.ok()) {
        auto keeper = EtcdLeaseKeeper::Start(etcd_.get(), *lease, [this](const Status& why) {
          {
            std::lock_guard<std::mutex> lock(mu_);
            lease_lost_ = true;
          }
          spdlog::warn("etcd lease lost: {}", why.ToString());
          election_cv_.notify_all();
        });
        if (keeper.ok()) {
          keeper_ = std::move(*keeper);
          std::lock_guard<std::mutex> lock(mu_);
          lease_id_ = lease->id;
          lease_lost_ = false;
        }
        auto put = etcd_->Put(member_key, value, lease->id);
        if (!put.ok()) set_error(put.status());
      } else {
        set_error(lease.status());
      }
    }
    int64_t lease_id = 0;
    bool leader = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      lease_id = lease_lost_ ? 0 : lease_id_;
      leader = is_leader_;
    }
    if (lease_id != 0 && !leader) {
      EtcdTxn txn;
      txn.compares.push_back(EtcdCompare::CreateRevisionIs(leader_key, 0));
      txn.then_ops.push_back(EtcdOp::Put(leader_key, value, lease_id));
      txn.else_gets = {leader_key};
      auto r = etcd_->Txn(txn);
      if (r.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        const auto& kv = r->else_values.empty() ? std::nullopt : r->else_values[0];
        if (r->succeeded || (kv && kv->lease_id == lease_id)) {
          // Won (or an earlier attempt of ours that timed out had won).
          is_leader_ = true;
          token_ = r->succeeded ? r->revision : kv->create_revision;
          producer_ = Member{node_pub_, advertise_};
          spdlog::info("this node is now the block producer (fencing token {})", token_);
          driver_cv_.notify_all();
        } else if (kv) {
          if (auto m = ParseMember(kv->value)) producer_ = Member{m->key, m->grpc};
        }
      } else {
        set_error(r.status());
      }
    }
    MaybeDefragment();
    auto members = etcd_->Range(EtcdRange::Prefix(prefix_ + "nodes/"));
    if (members.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      members_.clear();
      for (const auto& kv : members->kvs) {
        if (auto m = ParseMember(kv.value)) {
          members_[kv.key.substr(prefix_.size() + 6)] = Member{m->key, m->grpc};
        }
      }
      etcd_error_.clear();
    } else {
      set_error(members.status());
    }
    std::unique_lock<std::mutex> lock(mu_);
    election_cv_.wait_for(lock, period, [&] {
      return election_stopping_ || lease_lost_ || (!is_leader_ && !producer_);
    });
  }
  if (keeper_) {
    keeper_->Stop();
    keeper_.reset();
  }
  int64_t lease_id = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    lease_id = lease_id_;
    is_leader_ = false;
  }
  // Revoking deletes our leader and member keys: another node takes over
  // now instead of after the lease TTL.
  if (lease_id != 0) {
    Status s = etcd_->LeaseRevoke(lease_id);
    if (!s.ok() && s.code() != Status::Code::kNotFound) {
      spdlog::warn("revoking the etcd lease: {} (it expires by itself)", s.ToString());
    }
  }
}

void EtcdOrderer::MaybeDefragment() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!is_leader_) return;
  }
  if (config_.etcd_defrag_interval_s == 0 ||
      Clock::now() - last_defrag_ < std::chrono::seconds(config_.etcd_defrag_interval_s)) {
    return;
  }
  last_defrag_ = Clock::now();
  if (member_clients_.empty()) {
    std::string list = config_.etcd_endpoints;
    size_t start = 0;
    while (start <= list.size()) {
      size_t comma = list.find(',', start);
      std::string one = list.substr(start, comma == std::string::npos ? comma : comma - start);
      start = comma == std::string::npos ? list.size() + 1 : comma + 1;
      if (one.empty()) continue;
      EtcdClientOptions o = etcd_->options();  // TLS settings included
      o.endpoints = one;
      // Defragmenting a large member takes a while; it blocks only it.
      o.call_timeout_ms = 60'000;
      auto c = EtcdClient::Create(o);
      if (c.ok()) member_clients_.push_back(std::move(*c));
    }
    if (member_clients_.empty()) return;
  }
  // One member per turn: the others keep a quorum meanwhile.
  EtcdClient* member = member_clients_[next_defrag_ % member_clients_.size()].get();
  ++next_defrag_;
  auto started = Clock::now();
  Status s = member->Defragment();
  auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - started).count();
  if (s.ok()) {
    spdlog::info("defragmented etcd member {} in {} ms", member->options().endpoints, took);
  } else {
    spdlog::warn("defragmenting etcd member {}: {}", member->options().endpoints, s.ToString());
  }
}

}  // namespace chip::node
