// glibc malloc tuning for chipd: fewer arenas, a fixed mmap threshold and a
// periodic trim (docs/PERFORMANCE.md, "Memory"). Called from main() only.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

namespace chip::node {

// glibc malloc, tuned before any thread starts (docs/PERFORMANCE.md, "Growth:
// memory and reads"). Measured without this: at a million transactions the
// arenas held 168 MiB of freed memory beside 150 MiB in use, in 16 arenas.
//  - Fewer arenas. glibc gives each new thread an arena of its own (one a
//    finished thread left, or a new one) up to 8 per core, and RocksDB's,
//    gRPC's and our threads reach that bound; memory freed in one arena is
//    not reused by threads of another. One arena per core (at least two) is
//    enough for threads that spend their time in Ed25519 and RocksDB, not in
//    malloc.
//  - A fixed mmap threshold. By default the threshold rises to the size of
//    the largest mapped chunk freed, so RocksDB's 1 MiB memtable blocks soon
//    come from the arenas, and a flushed memtable leaves its blocks there as
//    holes between long-lived allocations. Fixed at 512 KiB, they are mapped
//    and unmapped whole. Fixing it also fixes the trim threshold (128 KiB).
// An operator's MALLOC_ARENA_MAX / MALLOC_MMAP_THRESHOLD_ (or
// GLIBC_TUNABLES) wins over these defaults.
void TuneMalloc();

// Gives the free pages inside malloc's arenas back to the system every
// kIntervalS while the node runs. glibc returns memory on its own only from
// the top of a heap; freed block-cache blocks and request buffers in the
// middle stay resident, and with RocksDB's mixed lifetimes that part still
// grew by 3-14 MiB per million transactions after TuneMalloc. malloc_trim(0)
// also releases the whole free pages inside the heaps (madvise). It holds
// each arena's lock while it walks that arena's free lists: a short stall,
// once every kIntervalS.
class MallocTrimmer {
 public:
  static constexpr int kIntervalS = 10;
  MallocTrimmer() : thread_([this] { Run(); }) {}
  ~MallocTrimmer();
  MallocTrimmer(const MallocTrimmer&) = delete;
  MallocTrimmer& operator=(const MallocTrimmer&) = delete;

 private:
  void Run();
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;  // last: starts once the fields above exist
};

}  // namespace chip::node
