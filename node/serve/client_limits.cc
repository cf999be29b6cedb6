#include "node/serve/client_limits.h"

#include <algorithm>

namespace chip::node {

std::string ClientLimits::ClientOf(grpc::ServerContext* context) {
  auto auth = context->auth_context();
  if (auth) {
    auto names = auth->FindPropertyValues("x509_common_name");
    if (!names.empty()) return "cert:" + std::string(names.front().data(), names.front().size());
  }
  // "ipv4:127.0.0.1:43210", "ipv6:[::1]:43210": the address without the port.
  std::string peer = context->peer();
  size_t colon = peer.rfind(':');
  if (colon != std::string::npos && colon > peer.find(':')) peer.resize(colon);
  return "addr:" + peer;
}

Status ClientLimits::Admit(grpc::ServerContext* context, uint64_t txs,
                           std::unique_ptr<Ticket>* ticket, uint64_t* retry_after_ms) {
  *retry_after_ms = 0;
  const std::string connection = context->peer();
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t& pending = pending_[connection];
  if (options_.connection_pending_max != 0 && pending + txs > options_.connection_pending_max) {
    if (pending == 0) pending_.erase(connection);
    metrics_->connection_pending_rejections.fetch_add(1, std::memory_order_relaxed);
    return Status::ResourceExhausted(
        "this connection has " + std::to_string(pending) +
        " transactions waiting for their results (connection_pending_tx_max " +
        std::to_string(options_.connection_pending_max) + "); wait for them before sending more");
  }
  if (options_.rate_per_s != 0) {
    const std::string client = ClientOf(context);
    const uint64_t capacity = uint64_t{options_.burst} * 1000;
    if (buckets_.size() >= kRateClientsMax && buckets_.count(client) == 0) Forget(now);
    auto [it, fresh] = buckets_.try_emplace(client, Bucket{capacity, now});
    Bucket& b = it->second;
    if (!fresh) {
      // rate_per_s transactions a second = rate_per_s milli-tokens a millisecond.
      auto elapsed_ms = static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::milliseconds>(now - b.refilled).count());
      if (elapsed_ms > 0) {
        b.milli_tokens = std::min(capacity, b.milli_tokens + elapsed_ms * options_.rate_per_s);
        b.refilled = now;
      }
    }
    const uint64_t cost = txs * 1000;
    if (cost > capacity) {
      if (pending == 0) pending_.erase(connection);
      metrics_->rate_limited.fetch_add(1, std::memory_order_relaxed);
      return Status::ResourceExhausted("a submission of " + std::to_string(txs) +
                                       " transactions is more than " + client +
                                       " may send at once (submit_burst_per_client " +
                                       std::to_string(options_.burst) + "); send smaller batches");
    }
    if (b.milli_tokens < cost) {
      *retry_after_ms = (cost - b.milli_tokens + options_.rate_per_s - 1) / options_.rate_per_s;
      if (pending == 0) pending_.erase(connection);
      metrics_->rate_limited.fetch_add(1, std::memory_order_relaxed);
      return Status::ResourceExhausted("rate limit: " + client + " may submit " +
                                       std::to_string(options_.rate_per_s) +
                                       " transactions/s (burst " + std::to_string(options_.burst) +
                                       "); retry in " + std::to_string(*retry_after_ms) + " ms");
    }
    b.milli_tokens -= cost;
  }
  pending += txs;
  *ticket = std::make_unique<Ticket>(this, connection, txs);
  return Status::Ok();
}

void ClientLimits::Release(const std::string& connection, uint64_t txs) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pending_.find(connection);
  if (it == pending_.end()) return;
  it->second -= std::min(it->second, txs);
  if (it->second == 0) pending_.erase(it);
}

void ClientLimits::Forget(std::chrono::steady_clock::time_point now) {
  const uint64_t capacity = uint64_t{options_.burst} * 1000;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    auto idle_ms = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(now - it->second.refilled).count());
    if (it->second.milli_tokens + idle_ms * options_.rate_per_s >= capacity) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace chip::node
