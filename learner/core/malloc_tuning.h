#pragma once

#include <malloc.h>

namespace lantern::core {

// Keeps freed buffers in the process instead of handing them back to the
// kernel after every message or update: glibc's trim threshold 1 GiB, mmap
// threshold 32 MiB. Without it each large tensor or message is a fresh
// mmap and page faults: 2-8x on gRPC messages (notes/grpc_loopback.md),
// 15-20 % of a CPU update step at B=256 (perf). Call once, early in main().
// Header-only, so every binary can call it without linking more.
inline void KeepFreedMemory() {
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
}

}  // namespace lantern::core
