// Forwarding of EtcdOrderer: a follower sends submissions to the producer
// and answers its client once this node has applied the block.
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "ledger/address.h"
#include "ledger/check.h"
#include "node/cluster/etcd_orderer.h"
#include "node/cluster/internal.h"
#include "node/serve/tls.h"

namespace chip::node {

namespace pb = ::chipledger::v1;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// Longest a forwarded submission waits for the producer's answer, and then
// for this node to apply the block that holds it.
constexpr milliseconds kForwardTimeout{10'000};

}  // namespace

pb::Ledger::Stub* EtcdOrderer::StubFor(const std::string& address) {
  std::lock_guard<std::mutex> lock(stubs_mu_);
  auto it = stubs_.find(address);
  if (it != stubs_.end()) return it->second.get();
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  // TLS with this node's certificate as client certificate when the node
  // has one (docs/OPERATIONS.md, "Node to node"); the files were checked at
  // start, so a failure here is a file changed since: fail closed (TLS
  // with default roots, which will not accept the peer) rather than fall
  // back to plaintext.
  auto credentials = MakeChannelCredentials(PeerTlsFiles(config_), address);
  if (!credentials.ok()) {
    spdlog::error("credentials for peer {}: {}", address, credentials.status().ToString());
  }
  auto channel = grpc::CreateCustomChannel(
      address,
      credentials.ok() ? *credentials : grpc::SslCredentials(grpc::SslCredentialsOptions()), args);
  channels_[address] = channel;
  auto stub = pb::Ledger::NewStub(channel);
  auto* raw = stub.get();
  stubs_[address] = std::move(stub);
  return raw;
}

void EtcdOrderer::RememberChecked(const PendingEntries& group) {
  std::lock_guard<std::mutex> lock(checked_mu_);
  for (const auto& e : group) {
    CHIP_CHECK(e->txs.size() == e->checked.size());
    for (size_t i = 0; i < e->txs.size(); ++i) {
      CHIP_CHECK(e->checked[i].code == pb::RESULT_OK);  // Enqueue takes checked txs only
      checked_[e->checked[i].hash] = Checked{e->txs[i], e->checked[i]};
    }
  }
}

void EtcdOrderer::ForgetChecked(const PendingEntries& group) {
  std::lock_guard<std::mutex> lock(checked_mu_);
  for (const auto& e : group) {
    for (const auto& c : e->checked) checked_.erase(c.hash);
  }
}

std::optional<std::vector<CheckedTx>> EtcdOrderer::PrecheckedFor(const pb::Block& block,
                                                                 size_t* reused) {
  *reused = 0;
  std::vector<CheckedTx> out(static_cast<size_t>(block.txs_size()));
  std::vector<bool> found(out.size(), false);
  size_t hits = 0;
  {
    std::lock_guard<std::mutex> lock(checked_mu_);
    if (checked_.empty()) return std::nullopt;
    for (size_t i = 0; i < out.size(); ++i) {
      const pb::SignedTx& tx = block.txs(static_cast<int>(i));
      auto it = checked_.find(TxHash(chain_->chain_id(), tx.body()));
      // Equal body, signer and signature, and nothing else (CheckTx refuses
      // unknown fields): CheckTx would give the block's copy the same result.
      if (it == checked_.end() || tx.body() != it->second.tx.body() ||
          tx.signer() != it->second.tx.signer() || tx.signature() != it->second.tx.signature() ||
          !tx.GetReflection()->GetUnknownFields(tx).empty()) {
        continue;
      }
      out[i] = it->second.checked;
      found[i] = true;
      ++hits;
    }
  }
  if (hits == 0) return std::nullopt;
  *reused = hits;
  for (size_t i = 0; i < out.size(); ++i) {
    if (!found[i]) out[i] = CheckTx(block.txs(static_cast<int>(i)), chain_->chain_id());
  }
  return out;
}

void EtcdOrderer::ForwardLoop() {
  for (;;) {
    PendingEntries group;
    std::optional<Member> producer;
    {
      std::unique_lock<std::mutex> lock(mu_);
      forward_cv_.wait(lock, [&] { return !forward_queue_.empty() || stopping_; });
      if (forward_queue_.empty()) return;
      size_t txs = 0;
      // Plain submissions travel together; an atomic one travels alone.
      while (!forward_queue_.empty()) {
        auto& next = forward_queue_.front();
        if (!group.empty() && (next->atomic || group.front()->atomic ||
                               txs + next->txs.size() > config_.submit_batch_tx_max)) {
          break;
        }
        txs += next->txs.size();
        group.push_back(std::move(next));
        forward_queue_.pop_front();
      }
      forward_txs_ -= txs;
      producer = producer_;
      if (is_leader_) {
        // This node became the producer meanwhile: order them here.
        for (auto& e : group) {
          queued_txs_ += e->txs.size();
          queued_bytes_ += e->bytes;
          queue_.push_back(std::move(e));
        }
        driver_cv_.notify_one();
        continue;
      }
    }
    if (!producer || producer->address.empty() || producer->key == node_pub_) {
      FailEntries(&group, Status::Unavailable("no block producer is elected; resubmit shortly"));
      continue;
    }
    RememberChecked(group);
    pb::SubmitBatchRequest req;
    req.set_atomic(group.front()->atomic);
    for (auto& e : group) {
      for (auto& tx : e->txs) *req.add_txs() = std::move(tx);
      e->txs.clear();
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kForwardTimeout);
    ctx.AddMetadata(kForwardedMetadataKey, advertise_);
    pb::SubmitBatchResponse resp;
    grpc::Status s = StubFor(producer->address)->SubmitBatch(&ctx, req, &resp);
    if (!s.ok() || resp.results_size() != req.txs_size()) {
      ForgetChecked(group);
      std::string why = s.ok() ? "a malformed answer" : s.error_message();
      FailEntries(&group, s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED
                              ? Status::ResourceExhausted("producer: " + why)
                              : Status::Unavailable("forwarding to the block producer at " +
                                                    producer->address + " failed (" + why +
                                                    "); resubmit (safe: idempotent)"));
      continue;
    }
    // Answer once this node has applied the block holding them, so a read
    // right after the answer sees them here too; the completer waits, so
    // this thread can forward the next group meanwhile.
    uint64_t top = 0;
    for (const auto& res : resp.results()) top = std::max<uint64_t>(top, res.height());
    {
      std::lock_guard<std::mutex> lock(mu_);
      answered_.push_back(
          Answered{std::move(group), std::move(resp), top, Clock::now() + kForwardTimeout});
    }
    tip_cv_.notify_all();
  }
}

void EtcdOrderer::CompleteLoop() {
  for (;;) {
    std::vector<Answered> ready;
    {
      std::unique_lock<std::mutex> lock(mu_);
      tip_cv_.wait_for(lock, milliseconds(100), [&] {
        if (stopping_ && forwarders_done_) return true;
        for (const auto& a : answered_) {
          if (a.height <= tip_.height() || Clock::now() >= a.deadline) return true;
        }
        return false;
      });
      for (auto it = answered_.begin(); it != answered_.end();) {
        if (it->height <= tip_.height() || Clock::now() >= it->deadline ||
            (stopping_ && forwarders_done_)) {
          ready.push_back(std::move(*it));
          it = answered_.erase(it);
        } else {
          ++it;
        }
      }
      if (ready.empty() && stopping_ && forwarders_done_ && answered_.empty()) return;
    }
    for (auto& a : ready) {
      ForgetChecked(a.entries);
      int index = 0;
      for (auto& e : a.entries) {
        SubmitOutcome out;
        for (size_t i = 0; i < e->checked.size(); ++i) {
          out.results.push_back(a.response.results(index++));
        }
        e->promise.set_value(std::move(out));
      }
    }
  }
}

}  // namespace chip::node
