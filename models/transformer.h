#pragma once
// The fast BitNet b1.58 forward pass (spec/bitnet-formats.md section 5): every BitLinear through one
// registry kernel, everything else in float (models/ops.h), KV cache in float, one thread pool.
//
// Weights are packed once at construction (pack_seconds) and the canonical tensors dropped, so the
// resident size is the packed weights + output matrix + KV cache. The BitLinears sharing an input
// (q/k/v, gate/up) share one activation quantization, as the arithmetic is identical either way.

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/runtime/gemm.h"
#include "models/ops.h"
#include "models/output.h"
#include "models/weights.h"

namespace tritbench::models {

struct TransformerOptions {
  std::int64_t context = 0;  // KV cache positions (0: the model's context_length, capped at 4096)
  OutputType output = OutputType::kAsStored;
  // Bytes that the packed weights, the KV cache, the packing buffers and the forward pass's scratch
  // may take (see MemoryPlan). -1: what /proc/meminfo calls MemAvailable plus SwapFree, read once
  // the output matrix is loaded; 0: no check.
  std::int64_t memory_limit = -1;
  // Called after each layer is packed with (layers packed, layers), e.g. for a progress line.
  std::function<void(std::int64_t, std::int64_t)> on_layer = nullptr;
};

// What a Transformer will allocate after its output matrix, worked out before it
// packs anything, so that a model too large for the machine is refused in a second with the
// figures, not killed by the kernel's OOM killer after minutes of packing.
struct MemoryPlan {
  std::int64_t packed = 0;   // every BitLinear, estimate_packed_bytes for the kernel
  std::int64_t kv = 0;       // the float KV cache of `context` positions
  std::int64_t buffers = 0;  // while packing: a canonical matrix per thread + one layer's packing
  std::int64_t scratch = 0;  // the forward pass's activations for a batch of up to 512 tokens
  std::int64_t total() const { return packed + kv + buffers + scratch; }
};
MemoryPlan plan_memory(const ModelConfig& c, const KernelInfo& kernel, std::int64_t context,
                       int threads);
// The float KV cache of `context` positions: keys and values of every layer.
inline std::int64_t kv_cache_bytes(const ModelConfig& c, std::int64_t context) {
  return 2 * c.layers * context * c.kv_dim() * 4;
}
// MemAvailable + SwapFree from /proc/meminfo in bytes; -1 where it cannot be read.
std::int64_t available_memory_bytes();
// Thrown by the Transformer's constructor when its MemoryPlan exceeds the memory limit.
class InsufficientMemory : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Transformer {
 public:
  // Packs every BitLinear of `src` for `kernel`, the pool's threads taking a layer's matrices in
  // parallel; throws std::invalid_argument if the kernel cannot run here or a tensor has the wrong
  // shape, InsufficientMemory if the model would not fit (opts.memory_limit).
  Transformer(const WeightSource& src, const KernelInfo& kernel, ThreadPool& pool,
              TransformerOptions opts = {});

  // Appends tokens at the current position in batches of `batch` (<= 0: all at once); the logits of
  // the last token go to `logits` (vocab floats) if not null.
  void prefill(std::span<const std::int32_t> tokens, std::int64_t batch, float* logits);
  // One token; logits (vocab floats) if not null.
  void decode(std::int32_t token, float* logits);
  void reset() { pos_ = 0; }
  // Runs later calls on another pool (e.g. a different thread count) without repacking.
  void set_pool(ThreadPool& pool) { pool_ = &pool; }

  std::int64_t position() const { return pos_; }
  std::int64_t context() const { return ctx_; }
  const ModelConfig& config() const { return cfg_; }
  const KernelInfo& kernel() const { return *kernel_; }
  double pack_seconds() const { return pack_seconds_; }
  std::size_t packed_bytes() const { return packed_bytes_; }
  std::size_t kv_bytes() const { return static_cast<std::size_t>(kv_cache_bytes(cfg_, ctx_)); }
  const OutputMatrix& output() const { return *output_; }

 private:
  struct Layer {
    std::vector<float> attn_norm, attn_sub_norm, ffn_norm, ffn_sub_norm;
    PackedWeights wq, wk, wv, wo, wgate, wup, wdown;
    std::vector<float> k_cache, v_cache;  // [ctx x kv_dim]
  };
  // Runs tokens [0, n) of the batch at positions pos_.. through all layers; logits of the last one.
  void forward(const std::int32_t* tokens, std::int64_t n, float* logits);
  void linear(const PackedWeights& w, const QuantizedBatch& a, float* y);

  ModelConfig cfg_;
  const KernelInfo* kernel_;
  ThreadPool* pool_;
  std::int64_t ctx_;
  std::int64_t pos_ = 0;
  WeightArena arena_;  // the layers' packed matrices, end to end
  std::vector<Layer> layers_;
  WeightSource::RowReader embd_row_;  // token embedding lookups
  std::vector<float> output_norm_;
  std::unique_ptr<OutputMatrix> output_;
  Rope rope_;
  double pack_seconds_ = 0;
  std::size_t packed_bytes_ = 0;
  // Scratch, sized for the largest batch seen.
  std::vector<float> x_, h_, q_, k_, v_, att_, g_, u_;
  std::vector<float> attn_scratch_;  // attention()'s per-thread scores
  QuantizedBatch qa_;
  GemmWorkspace ws_;
};

}  // namespace tritbench::models
