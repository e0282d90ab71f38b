#include "models/transformer.h"

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <numeric>
#include <stdexcept>

#include "reference/quantize.h"

namespace tritbench::models {

namespace {

std::vector<float> norm_vector(const WeightSource& src, const std::string& name, std::int64_t n) {
  const DenseTensor t = src.dense(name);
  if (t.rows * t.cols != n)
    throw std::invalid_argument(src.describe() + ": tensor '" + name + "' has " + std::to_string(t.rows * t.cols) +
                                " elements, expected " + std::to_string(n));
  return t.to_float();
}

}  // namespace

MemoryPlan plan_memory(const ModelConfig& c, const KernelInfo& kernel, std::int64_t context,
                       int threads) {
  const std::int64_t H = c.hidden, Q = c.q_dim(), KV = c.kv_dim(), F = c.ffn;
  const std::pair<std::int64_t, std::int64_t> shapes[] = {{Q, H}, {KV, H}, {KV, H}, {H, Q},
                                                          {F, H}, {F, H},  {H, F}};
  MemoryPlan p;
  std::int64_t layer = 0, largest = 0;
  for (const auto& [M, K] : shapes) {
    layer += estimate_packed_bytes(kernel, M, K);
    largest = std::max(largest, M * K);
  }
  p.packed = layer * c.layers;
  p.kv = kv_cache_bytes(c, context);
  p.buffers = static_cast<std::int64_t>(threads) * largest + layer;
  // forward(): x, h, q, k, v, att, g, u per token (floats) and the quantized row; attention's
  // scores, at most n x context floats per thread (models/ops.h).
  const std::int64_t n = std::min<std::int64_t>(context, 512);
  const std::int64_t widths = H + std::max(H, Q) + Q + 2 * KV + std::max(Q, H) + std::max(F, H) + F;
  p.scratch = n * (4 * widths + std::max(H, F) + 256) +
              static_cast<std::int64_t>(threads) * n * context * 4;
  return p;
}

std::int64_t available_memory_bytes() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  std::int64_t kb = 0, available = -1, swap = 0;
  std::string unit;
  while (f >> key >> kb) {
    std::getline(f, unit);
    if (key == "MemAvailable:") available = kb * 1024;
    if (key == "SwapFree:") swap = kb * 1024;
  }
  return available < 0 ? -1 : available + swap;
}

namespace {

std::string fixed2(double x) {
  char s[32];
  std::snprintf(s, sizeof s, "%.2f", x);
  return s;
}

std::string gb(std::int64_t bytes) { return fixed2(static_cast<double>(bytes) / 1e9) + " GB"; }

}  // namespace

Transformer::Transformer(const WeightSource& src, const KernelInfo& kernel, ThreadPool& pool,
                         TransformerOptions opts)
    : cfg_(src.config()), kernel_(&kernel), pool_(&pool),
      ctx_(opts.context > 0 ? opts.context : std::min<std::int64_t>(cfg_.context, 4096)),
      rope_(cfg_.head_dim, cfg_.rope_theta, ctx_) {
  if (cfg_.heads % cfg_.kv_heads != 0)
    throw std::invalid_argument(src.describe() + ": head_count " + std::to_string(cfg_.heads) +
                                " is not a multiple of head_count_kv " + std::to_string(cfg_.kv_heads));
  require_runnable(kernel);  // before the dense matrices load, as packing would say it anyway
  const ModelConfig& c = cfg_;
  // The dense matrices first: what they take (a copy of the output matrix) is then already out of
  // what the memory check below finds available. The embedding is then read a row per token
  // (row_reader: a view of the mapped file, or rows computed on demand for a synthetic model).
  {
    const DenseTensor embd = src.dense("token_embd.weight");
    if (embd.rows != c.vocab || embd.cols != c.hidden)
      throw std::invalid_argument(src.describe() + ": token_embd.weight is " +
                                  std::to_string(embd.rows) + "x" + std::to_string(embd.cols) +
                                  ", expected " + std::to_string(c.vocab) + "x" +
                                  std::to_string(c.hidden));
    const bool separate = src.has("output.weight");
    const DenseTensor out = separate ? src.dense("output.weight") : embd;
    if (out.rows != c.vocab || out.cols != c.hidden)
      throw std::invalid_argument(src.describe() + ": output.weight has the wrong shape");
    output_ = std::make_unique<OutputMatrix>(out, opts.output);
    // Copied; a tied embedding is then only read a row per token (re-read on access).
    src.release(separate ? "output.weight" : "token_embd.weight");
  }
  embd_row_ = src.row_reader("token_embd.weight");
  output_norm_ = norm_vector(src, "output_norm.weight", c.hidden);

  const MemoryPlan plan = plan_memory(c, kernel, ctx_, pool.size());
  const std::int64_t limit = opts.memory_limit < 0 ? available_memory_bytes() : opts.memory_limit;
  if (limit > 0 && plan.total() > limit)
    throw InsufficientMemory(
        src.describe() + " does not fit with " + std::string(kernel.name) +
        ": besides its output matrix (loaded) it needs about " + gb(plan.total()) +
        " (packed weights " + gb(plan.packed) + " at " + fixed2(kernel.bits_per_weight) +
        " bits per weight, KV cache " + gb(plan.kv) + " for " + std::to_string(ctx_) +
        " positions, packing buffers " + gb(plan.buffers) + ", scratch " + gb(plan.scratch) +
        ") and " + gb(limit) +
        (opts.memory_limit < 0 ? " is available (MemAvailable + SwapFree in /proc/meminfo)"
                               : " is the limit") +
        ". A kernel with fewer bits per weight (`tritbench list`), a shorter context or fewer "
        "threads may fit");

  const auto t0 = std::chrono::steady_clock::now();
  // A layer at a time: the pool's threads take its matrices (largest first, each into its own
  // reused canonical buffer; sources and packers are independent per tensor), then the packed
  // bytes move into the arena in their order of use.
  struct Job {
    const char* what;
    std::int64_t M, K;
    PackedWeights Layer::*dst;
  };
  const Job jobs[] = {{"attn_q", c.q_dim(), c.hidden, &Layer::wq},
                      {"attn_k", c.kv_dim(), c.hidden, &Layer::wk},
                      {"attn_v", c.kv_dim(), c.hidden, &Layer::wv},
                      {"attn_output", c.hidden, c.q_dim(), &Layer::wo},
                      {"ffn_gate", c.ffn, c.hidden, &Layer::wgate},
                      {"ffn_up", c.ffn, c.hidden, &Layer::wup},
                      {"ffn_down", c.hidden, c.ffn, &Layer::wdown}};
  constexpr int kJobs = static_cast<int>(std::size(jobs));
  int order[kJobs];
  std::iota(order, order + kJobs, 0);
  std::stable_sort(order, order + kJobs,
                   [&](int a, int b) { return jobs[a].M * jobs[a].K > jobs[b].M * jobs[b].K; });
  std::vector<TernaryMatrix> canonical(static_cast<std::size_t>(pool.size()));
  layers_.resize(static_cast<std::size_t>(c.layers));
  for (std::int64_t l = 0; l < c.layers; ++l) {
    Layer& L = layers_[l];
    L.attn_norm = norm_vector(src, layer_tensor(l, "attn_norm"), c.hidden);
    if (c.sub_norms) L.attn_sub_norm = norm_vector(src, layer_tensor(l, "attn_sub_norm"), c.q_dim());
    L.ffn_norm = norm_vector(src, layer_tensor(l, "ffn_norm"), c.hidden);
    if (c.sub_norms) L.ffn_sub_norm = norm_vector(src, layer_tensor(l, "ffn_sub_norm"), c.ffn);
    std::atomic<int> next{0};
    std::exception_ptr errors[kJobs];
    pool.run([&](int t) {
      TernaryMatrix& w = canonical[static_cast<std::size_t>(t)];
      for (int i; (i = next.fetch_add(1, std::memory_order_relaxed)) < kJobs;) {
        const Job& j = jobs[order[i]];
        try {
          const std::string name = layer_tensor(l, j.what);
          src.ternary_into(name, w);
          if (w.M != j.M || w.K != j.K)
            throw std::invalid_argument(src.describe() + ": tensor '" + name + "' is " +
                                        std::to_string(w.M) + "x" + std::to_string(w.K) +
                                        ", expected " + std::to_string(j.M) + "x" +
                                        std::to_string(j.K));
          L.*j.dst = pack_weights(kernel, w);
          src.release(name);  // packed: the file's bytes are not needed in memory any more
        } catch (...) {
          errors[order[i]] = std::current_exception();
        }
      }
    });
    // The first failing tensor in order of use, whichever thread saw it.
    for (const auto& e : errors)
      if (e) std::rethrow_exception(e);
    for (const Job& j : jobs) {
      PackedWeights& p = L.*j.dst;
      arena_.adopt(p.data);  // in order of use, on huge pages (kernels/aligned.h)
      arena_.adopt(p.extra);
      packed_bytes_ += p.bytes();
    }
    L.k_cache.assign(static_cast<std::size_t>(ctx_ * c.kv_dim()), 0.0f);
    L.v_cache.assign(static_cast<std::size_t>(ctx_ * c.kv_dim()), 0.0f);
    if (opts.on_layer) opts.on_layer(l + 1, c.layers);
  }
  canonical.clear();
  pack_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
#ifdef __GLIBC__
  // The decoded matrices (a byte per weight, up to hundreds of MB each) were freed, but glibc keeps
  // freed heap memory mapped; give it back so the resident set is the model, not its unpacking.
  malloc_trim(0);
#endif
}

void Transformer::linear(const PackedWeights& w, const QuantizedBatch& a, float* y) {
  prepare_activations(w, a, ws_);
  gemm_f32(w, ws_, y, w.M, pool_);
}

void Transformer::forward(const std::int32_t* tokens, std::int64_t n, float* logits) {
  const ModelConfig& c = cfg_;
  if (pos_ + n > ctx_)
    throw std::invalid_argument("context overflow: position " + std::to_string(pos_ + n) + " exceeds the KV cache of " +
                                std::to_string(ctx_) + " positions");
  const std::int64_t H = c.hidden, Q = c.q_dim(), KV = c.kv_dim(), F = c.ffn;
  auto grow = [n](std::vector<float>& v, std::int64_t width) {
    if (v.size() < static_cast<std::size_t>(n * width)) v.resize(static_cast<std::size_t>(n * width));
  };
  grow(x_, H);
  grow(h_, std::max(H, Q));
  grow(q_, Q);
  grow(k_, KV);
  grow(v_, KV);
  grow(att_, std::max(Q, H));
  grow(g_, std::max(F, H));
  grow(u_, F);
  for (std::int64_t t = 0; t < n; ++t) {
    if (tokens[t] < 0 || tokens[t] >= c.vocab)
      throw std::invalid_argument("token id " + std::to_string(tokens[t]) + " is outside the vocabulary [0, " +
                                  std::to_string(c.vocab) + ")");
    embd_row_(tokens[t], x_.data() + t * H);
  }
  // Per-token work (norms, rope, GLU, residual adds, activation quantization) is split by tokens
  // over the pool (for_ranges): each token's arithmetic is the same on any thread, and one token
  // (decoding) stays on the caller.
  // Each token's residual add, over the tokens [t0, t1).
  auto add_into_x = [&](std::int64_t t0, std::int64_t t1) {
    for (std::int64_t i = t0 * H; i < t1 * H; ++i) x_[i] += h_[i];
  };
  // rmsnorm of each token's row of `width` floats at src into dst (in place when they are equal).
  auto norm_rows = [&](const float* src, float* dst, std::int64_t width,
                       const std::vector<float>& w) {
    for_ranges(pool_, n, [&](std::int64_t t0, std::int64_t t1) {
      for (std::int64_t t = t0; t < t1; ++t)
        rmsnorm(src + t * width, w.data(), width, c.eps, dst + t * width);
    });
  };
  for (Layer& L : layers_) {
    // Attention block.
    norm_rows(x_.data(), h_.data(), H, L.attn_norm);
    reference::quantize_activations(h_.data(), n, H, H, qa_, pool_);
    {
      // One call for q, k and v (and below for gate and up): models::linear_calls lists these
      // calls for `tritbench kernels --shapes PRESET:calls`; keep the two in step.
      const PackedWeights* w[] = {&L.wq, &L.wk, &L.wv};
      float* y[] = {q_.data(), k_.data(), v_.data()};
      gemm_f32_multi(w, qa_, ws_, y, pool_);
    }
    for_ranges(pool_, n, [&](std::int64_t t0, std::int64_t t1) {
      for (std::int64_t t = t0; t < t1; ++t) {
        rope_.apply(q_.data() + t * Q, c.heads, pos_ + t);
        rope_.apply(k_.data() + t * KV, c.kv_heads, pos_ + t);
      }
    });
    std::memcpy(L.k_cache.data() + pos_ * KV, k_.data(), static_cast<std::size_t>(n * KV) * 4);
    std::memcpy(L.v_cache.data() + pos_ * KV, v_.data(), static_cast<std::size_t>(n * KV) * 4);
    attention(q_.data(), L.k_cache.data(), L.v_cache.data(), n, pos_, c.heads, c.kv_heads,
              c.head_dim, att_.data(), *pool_, attn_scratch_);
    if (c.sub_norms) norm_rows(att_.data(), att_.data(), Q, L.attn_sub_norm);
    reference::quantize_activations(att_.data(), n, Q, Q, qa_, pool_);
    linear(L.wo, qa_, h_.data());
    for_ranges(pool_, n, add_into_x);
    // Feed-forward block.
    norm_rows(x_.data(), h_.data(), H, L.ffn_norm);
    reference::quantize_activations(h_.data(), n, H, H, qa_, pool_);
    {
      const PackedWeights* w[] = {&L.wgate, &L.wup};
      float* y[] = {g_.data(), u_.data()};
      gemm_f32_multi(w, qa_, ws_, y, pool_);
    }
    for_ranges(pool_, n, [&](std::int64_t t0, std::int64_t t1) {
      float* g = g_.data() + t0 * F;
      const float* u = u_.data() + t0 * F;
      if (c.act == Activation::kReluSquared) {
        glu_relu2(g, u, (t1 - t0) * F);
      } else {
        glu_silu(g, u, (t1 - t0) * F);
      }
    });
    if (c.sub_norms) norm_rows(g_.data(), g_.data(), F, L.ffn_sub_norm);
    reference::quantize_activations(g_.data(), n, F, F, qa_, pool_);
    linear(L.wdown, qa_, h_.data());
    for_ranges(pool_, n, add_into_x);
  }
  pos_ += n;
  if (logits) {
    float* last = x_.data() + (n - 1) * H;
    rmsnorm(last, output_norm_.data(), H, c.eps, h_.data());
    output_->logits(h_.data(), logits, *pool_);
  }
}

void Transformer::prefill(std::span<const std::int32_t> tokens, std::int64_t batch, float* logits) {
  const auto n = static_cast<std::int64_t>(tokens.size());
  if (n == 0) return;
  if (batch <= 0) batch = n;
  for (std::int64_t i = 0; i < n; i += batch) {
    const std::int64_t m = std::min(batch, n - i);
    forward(tokens.data() + i, m, i + m == n ? logits : nullptr);
  }
}

void Transformer::decode(std::int32_t token, float* logits) { forward(&token, 1, logits); }

}  // namespace tritbench::models
