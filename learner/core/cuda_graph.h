// Runs, captures and replays a function's CUDA work on a side stream
// (at::cuda::CUDAGraph). Only in LibTorch builds with CUDA (LANTERN_CUDA);
// elsewhere Available() is false and the constructor throws. One thread at
// a time (the Updater's).
#pragma once

#include <functional>
#include <memory>

namespace lantern::core {

class CudaGraph {
 public:
  // True when Lantern was built against a LibTorch with CUDA.
  static bool Available();

  // A graph on CUDA device `device_index` with its own side stream (capture
  // needs a stream other than the default one). Throws c10::Error when not
  // Available().
  explicit CudaGraph(int device_index);
  ~CudaGraph();
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;

  // Runs `fn` eagerly on the side stream (after the work already queued on
  // the current stream) and waits for it.
  void Run(const std::function<void()>& fn);

  // Records the work `fn` queues on the side stream without running it;
  // replaces an earlier capture. Tensors `fn` allocates live in the graph's
  // private pool and are rewritten by each Replay.
  void Capture(const std::function<void()>& fn);

  // Replays the captured work and waits for it.
  void Replay();

  bool captured() const;
  void Reset();  // forgets the capture

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lantern::core
