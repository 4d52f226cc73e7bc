// One learner update: forward over an unroll, APPO loss, Adam step.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>

#include "learner/core/appo_loss.h"
#include "learner/core/model.h"

namespace lantern::core {
class CudaGraph;
class FlatAdam;
}  // namespace lantern::core

namespace lantern::core {

struct UpdateOptions {
  double learning_rate = 5e-4;
  double adam_eps = 1e-6;
  double max_grad_norm = 4.0;  // <= 0: no clipping
  LossOptions loss;
  // CUDA only: the forward pass and the loss under bf16 autocast (weights,
  // gradients and Adam stay float32).
  bool bf16 = false;
  // CUDA only: after a few eager updates, capture the whole update (forward,
  // loss, backward, clipping, Adam) in a CUDA graph and replay it for every
  // batch of the same shape (a new shape is captured anew).
  bool cuda_graph = false;
  // CUDA only: let cuDNN time its convolution algorithms on the first batch
  // of each shape and keep the fastest (a process-wide setting).
  bool cudnn_benchmark = true;
};

// One unroll of T steps for B environments, time-major, on any device.
struct Batch {
  at::Tensor chars;             // [T+1, B, crop, crop] uint8
  at::Tensor stats;             // [T+1, B, S] float
  at::Tensor message;           // [T+1, B, L] uint8
  at::Tensor actions;           // [T, B] int64
  at::Tensor behaviour_logits;  // [T, B, A] float
  at::Tensor rewards;           // [T, B] float, the final combined reward
  at::Tensor dones;             // [T, B] uint8/bool: step t ended the episode
  // [B, H] float recurrent state before step 0, as the actor had it;
  // undefined means zeros (and is fine without use_rnn).
  at::Tensor initial_state;
};

// Loss terms are the unweighted ones of LossTerms (see appo_loss.h).
struct UpdateStats {
  double total_loss = 0;
  double policy_loss = 0;
  double value_loss = 0;  // 0.5 * mean (vs - V)^2
  double entropy = 0;
  double grad_norm = 0;  // the global L2 norm before clipping
  double mean_ratio = 0;
  double clip_fraction = 0;
  double mean_value = 0;  // mean V(x_t) over t < T
  int64_t samples = 0;    // T * B
};

// Owns the policy network and its Adam optimizer (FlatAdam: parameters and
// gradients live in two flat buffers) on one device.
// Not thread-safe: Step, model(), Save and Load must not run concurrently
// (export weights between steps, on the thread that calls Step).
class Updater {
 public:
  // Builds a freshly initialised network on `device`. Throws c10::Error for
  // invalid options or an unavailable device.
  Updater(const ModelOptions& model_options,
          const UpdateOptions& update_options, at::Device device);
  ~Updater();
  Updater(const Updater&) = delete;
  Updater& operator=(const Updater&) = delete;

  // One gradient step on `batch`: moves it to the device, runs the network
  // over all T+1 observations from initial_state with first = [0,
  // dones[0..T-1]] (the state is zeroed after each episode end), takes
  // values[T] as the bootstrap, computes the APPO loss, clips the global
  // gradient norm to max_grad_norm and steps Adam. Blocks until the step is
  // done (one device-to-host copy of the stats at the end). Throws
  // c10::Error on malformed batches. With cuda_graph, the batch is copied
  // into fixed device buffers and the captured update replayed.
  UpdateStats Step(const Batch& batch);

  // The network being trained. Export weights for the actors between Steps
  // with named_parameters() (model.h lists the names; there are no buffers).
  PolicyNet& model() { return model_; }
  const PolicyNet& model() const { return model_; }
  at::Device device() const { return device_; }

  // Number of completed Steps (restored by Load).
  int64_t num_updates() const { return num_updates_; }

  // True once an update has been captured in a CUDA graph.
  bool graph_captured() const;

  // Writes the network, the optimizer state and num_updates as one
  // torch::serialize archive. Throws c10::Error on write failures.
  void Save(std::ostream& out) const;

  // Restores what Save wrote, onto this Updater's device: the weights,
  // Adam's moments and step count, num_updates. The network must have been
  // built with the same ModelOptions; the learning rate and the other Adam
  // options are this Updater's (the config's), not the archive's. Also
  // reads archives from before FlatAdam (torch::optim::Adam's state) on
  // LibTorch 1.x. Throws c10::Error on mismatch or a corrupt stream; after a
  // throw the Updater may be partly restored and should be discarded.
  void Load(std::istream& in);

 private:
  // One update from `batch` (any device); returns the statistics as one
  // float tensor on the device. Queues work only: safe to capture.
  at::Tensor Update(const Batch& batch);
  // Step through the graph: copy into static_, then run eagerly (the first
  // updates), capture, or replay.
  at::Tensor GraphStep(const Batch& batch);

  at::Device device_;
  UpdateOptions options_;
  PolicyNet model_;
  std::unique_ptr<FlatAdam> adam_;
  int64_t num_updates_ = 0;

  std::unique_ptr<CudaGraph> graph_;  // with options_.cuda_graph on CUDA
  Batch static_;                      // the graph's input buffers
  at::Tensor static_stats_;           // the graph's output
  int eager_updates_ = 0;             // since the input shape last changed
};

}  // namespace lantern::core
