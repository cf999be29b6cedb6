#include "node/ops/malloc_tuning.h"

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

namespace chip::node {

void TuneMalloc() {
  constexpr int kMmapThresholdBytes = 512 * 1024;
  const bool tunables = std::getenv("GLIBC_TUNABLES") != nullptr;
  if (!tunables && std::getenv("MALLOC_ARENA_MAX") == nullptr) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    mallopt(M_ARENA_MAX, static_cast<int>(std::max(2L, std::min(cores, 64L))));
  }
  if (!tunables && std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr) {
    mallopt(M_MMAP_THRESHOLD, kMmapThresholdBytes);
  }
}

MallocTrimmer::~MallocTrimmer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void MallocTrimmer::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, std::chrono::seconds(kIntervalS), [this] { return stop_; })) {
    malloc_trim(0);
  }
}

}  // namespace chip::node
