#pragma once
// The non-BitLinear operations of the fast forward pass (spec/bitnet-formats.md section 5). They
// are kernel-independent: whichever registry kernel runs the BitLinears, these run the same code, so
// exact kernels give bit-identical logits.

#include <cstdint>
#include <vector>

#include "kernels/cpu/cpu.h"
#include "kernels/runtime/thread_pool.h"

namespace tritbench::models {

// y[i] = x[i] * (1 / sqrt(mean(x^2) + eps)) * w[i]; the mean of squares accumulated in double, the
// scale rounded to float (as ggml's rms_norm followed by the weight multiply). y may alias x.
void rmsnorm(const float* x, const float* w, std::int64_t n, float eps, float* y);

// NEOX-style rotary embedding of `heads` heads of dimension d at position pos, in place: pairs
// (i, i + d/2) rotated by pos * theta^(-2i/d). Angles in double, rotation in float.
class Rope {
 public:
  Rope(std::int64_t head_dim, double theta, std::int64_t max_pos);
  void apply(float* v, std::int64_t heads, std::int64_t pos) const;

 private:
  std::int64_t d_;
  std::vector<float> cos_, sin_;  // [max_pos x d/2]
};

// Causal GQA attention for tokens at positions [pos0, pos0 + n) of one sequence:
//   out[t][h] = softmax_j(q[t][h] . k[j][h/g] / sqrt(d)) v[j][h/g]   for j <= pos0 + t
// q: [n x heads*d]; k_cache, v_cache: [>= pos0+n x kv_heads*d] (the new tokens already stored);
// out: [n x heads*d]. Heads are split across the pool; results do not depend on the thread count.
// With AVX-512 and a head dimension of avx512_attention_dim's, both a decode step and a prompt take
// the path of models/attention_avx512.cpp, equal to the general one (Eigen products) up to float
// rounding, and a prompt's token gets the bits its decode step would; with AVX-512 and another
// head dimension, the general path's softmax runs on vectors (attention_softmax_rows_avx512).
// `cap` lowers the ISA level these choices may use (tests run each path on one machine).
// `scratch` holds each worker's scores (the AVX-512 path: 4 x pos0+n rounded up to 16 floats, for
// up to four query rows at once; else n x pos0+n floats; a cache-line-aligned slice per thread);
// it is owned by the caller and grown here, on the calling thread, only when a larger batch,
// context or pool needs it. (It was a thread_local once: LeakSanitizer reported it at exit, and a
// buffer that outlives its model is a leak in a long benchmark process anyway.)
void attention(const float* q, const float* k_cache, const float* v_cache, std::int64_t n,
               std::int64_t pos0, std::int64_t heads, std::int64_t kv_heads, std::int64_t d,
               float* out, ThreadPool& pool, std::vector<float>& scratch,
               Isa cap = Isa::kAvx512Vbmi);

inline bool avx512_attention_dim(std::int64_t d) {
  return d == 64 || d == 96 || d == 128 || d == 256;
}

// The vector exp of the AVX-512 attention (models/attention_avx512.cpp), for x <= 0:
// y[i] = e^x[i]. Exposed for tests; only on a CPU where isa_runnable(Isa::kAvx512).
void attention_exp_avx512(const float* x, std::int64_t n, float* y);

// The causal softmax of a block of prompt score rows: row t (of `rows`, at s + t * ld) has
// len0 + t scores, multiplied by `scale` and turned into probabilities in place; the rest of the
// row up to `keys` is set to 0. The portable loop (std::exp, sums in order) and the AVX-512 one
// (the vector exp above, sums over lanes).
using SoftmaxRows = void (*)(float* s, std::int64_t ld, std::int64_t rows, std::int64_t len0,
                             std::int64_t keys, float scale);
void attention_softmax_rows_scalar(float* s, std::int64_t ld, std::int64_t rows, std::int64_t len0,
                                   std::int64_t keys, float scale);
void attention_softmax_rows_avx512(float* s, std::int64_t ld, std::int64_t rows, std::int64_t len0,
                                   std::int64_t keys, float scale);

// relu(g)^2 * u (bitnet-b1.58) or silu(g) * u (bitnet), into g.
void glu_relu2(float* g, const float* u, std::int64_t n);
void glu_silu(float* g, const float* u, std::int64_t n);

}  // namespace tritbench::models
