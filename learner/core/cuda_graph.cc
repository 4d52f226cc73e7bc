#include "learner/core/cuda_graph.h"

#include <c10/util/Exception.h>

#include <utility>

#ifdef LANTERN_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace lantern::core {

#ifdef LANTERN_CUDA

struct CudaGraph::Impl {
  explicit Impl(int device)
      : stream(c10::cuda::getStreamFromPool(
            /*isHighPriority=*/false, static_cast<c10::DeviceIndex>(device))) {}

  // Makes the side stream wait for what the caller's stream queued so far
  // (the inputs may still be in flight there), then makes it current.
  void Enter() {
    at::cuda::CUDAEvent ready;
    ready.record(c10::cuda::getCurrentCUDAStream(stream.device_index()));
    ready.block(stream);
  }

  c10::cuda::CUDAStream stream;
  std::unique_ptr<at::cuda::CUDAGraph> graph;
};

bool CudaGraph::Available() { return true; }

CudaGraph::CudaGraph(int device_index)
    : impl_(std::make_unique<Impl>(device_index)) {}

CudaGraph::~CudaGraph() = default;

void CudaGraph::Run(const std::function<void()>& fn) {
  impl_->Enter();
  c10::cuda::CUDAStreamGuard guard(impl_->stream);
  fn();
  impl_->stream.synchronize();
}

void CudaGraph::Capture(const std::function<void()>& fn) {
  impl_->graph.reset();
  impl_->Enter();
  impl_->stream.synchronize();
  auto graph = std::make_unique<at::cuda::CUDAGraph>();
  c10::cuda::CUDAStreamGuard guard(impl_->stream);
  graph->capture_begin();
  try {
    fn();
  } catch (...) {
    // End the capture so the stream is usable again, then rethrow.
    try {
      graph->capture_end();
    } catch (...) {
    }
    throw;
  }
  graph->capture_end();
  impl_->graph = std::move(graph);
}

void CudaGraph::Replay() {
  TORCH_CHECK(impl_->graph != nullptr, "CudaGraph: nothing captured");
  impl_->Enter();
  c10::cuda::CUDAStreamGuard guard(impl_->stream);
  impl_->graph->replay();
  impl_->stream.synchronize();
}

bool CudaGraph::captured() const { return impl_->graph != nullptr; }

void CudaGraph::Reset() { impl_->graph.reset(); }

#else  // no CUDA

struct CudaGraph::Impl {};

bool CudaGraph::Available() { return false; }

CudaGraph::CudaGraph(int) {
  TORCH_CHECK(false, "CUDA graphs need a LibTorch built with CUDA");
}

CudaGraph::~CudaGraph() = default;
void CudaGraph::Run(const std::function<void()>& fn) { fn(); }
void CudaGraph::Capture(const std::function<void()>&) {}
void CudaGraph::Replay() {}
bool CudaGraph::captured() const { return false; }
void CudaGraph::Reset() {}

#endif

}  // namespace lantern::core
