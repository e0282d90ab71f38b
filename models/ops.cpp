#include "models/ops.h"

#include <immintrin.h>

#include <cmath>

#include "kernels/cpu/cpu.h"

namespace tritbench::models {

void attention_head_scalar(const float* q, const float* k, const float* v, std::int64_t n,
                           std::int64_t pos0, std::int64_t ldq, std::int64_t ldkv, std::int64_t d,
                           float* out, std::int64_t ldo, float* scratch);
void attention_head_avx2(const float* q, const float* k, const float* v, std::int64_t n,
                         std::int64_t pos0, std::int64_t ldq, std::int64_t ldkv, std::int64_t d,
                         float* out, std::int64_t ldo, float* scratch, SoftmaxRows softmax_rows);
// models/attention_avx512.cpp: `rows` query rows against one kv head (q and out of row i at
// i * ldq, i * ldo), row i seeing the first len - causal * (rows - 1 - i) keys: the query heads of
// one token that share the kv head (causal = 0), or consecutive tokens of one head (causal = 1).
// scores[4 * round_up(len, 16)]; avx512_attention_dim(d).
void attention_rows_avx512(std::int64_t rows, const float* q, std::int64_t ldq, const float* k,
                           const float* v, std::int64_t len, std::int64_t causal, std::int64_t ldkv,
                           std::int64_t d, float* out, std::int64_t ldo, float* scores);

void rmsnorm(const float* x, const float* w, std::int64_t n, float eps, float* y) {
  // The sum of squares in eight partial sums (element i into part[i % 8]) added in a fixed order,
  // rather than one chain of n dependent double adds: 2.4x faster here (n = 2560: 2.35 -> 0.98 us,
  // n = 6912: 6.2 -> 2.5 us, standalone at -O3), the same result on every machine and thread.
  double part[8] = {};
  const std::int64_t n8 = n / 8 * 8;
  for (std::int64_t i = 0; i < n8; i += 8)
    for (int j = 0; j < 8; ++j) part[j] += static_cast<double>(x[i + j]) * x[i + j];
  for (std::int64_t i = n8; i < n; ++i) part[i - n8] += static_cast<double>(x[i]) * x[i];
  const double ss =
      ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
  const float mean = static_cast<float>(ss / static_cast<double>(n));
  const float scale = 1.0f / std::sqrt(mean + eps);
  for (std::int64_t i = 0; i < n; ++i) y[i] = (x[i] * scale) * w[i];
}

Rope::Rope(std::int64_t head_dim, double theta, std::int64_t max_pos)
    : d_(head_dim), cos_(static_cast<std::size_t>(max_pos * head_dim / 2)), sin_(cos_.size()) {
  const std::int64_t half = d_ / 2;
  for (std::int64_t p = 0; p < max_pos; ++p)
    for (std::int64_t i = 0; i < half; ++i) {
      const double angle = static_cast<double>(p) * std::pow(theta, -2.0 * static_cast<double>(i) / static_cast<double>(d_));
      cos_[p * half + i] = static_cast<float>(std::cos(angle));
      sin_[p * half + i] = static_cast<float>(std::sin(angle));
    }
}

void Rope::apply(float* v, std::int64_t heads, std::int64_t pos) const {
  const std::int64_t half = d_ / 2;
  const float* c = cos_.data() + pos * half;
  const float* s = sin_.data() + pos * half;
  for (std::int64_t h = 0; h < heads; ++h) {
    float* x = v + h * d_;
    for (std::int64_t i = 0; i < half; ++i) {
      const float a = x[i], b = x[i + half];
      x[i] = a * c[i] - b * s[i];
      x[i + half] = a * s[i] + b * c[i];
    }
  }
}

void attention(const float* q, const float* k_cache, const float* v_cache, std::int64_t n,
               std::int64_t pos0, std::int64_t heads, std::int64_t kv_heads, std::int64_t d,
               float* out, ThreadPool& pool, std::vector<float>& scratch, Isa cap) {
  const std::int64_t group = heads / kv_heads;
  const std::int64_t ctx = pos0 + n;
  static const bool avx2_here = isa_runnable(Isa::kAvx2);
  static const bool avx512_here = isa_runnable(Isa::kAvx512);
  const bool avx2 = avx2_here && cap >= Isa::kAvx2;
  const bool avx512 = avx512_here && cap >= Isa::kAvx512;
  const SoftmaxRows softmax_rows =
      avx512 ? attention_softmax_rows_avx512 : attention_softmax_rows_scalar;
  const int T = pool.size();
  const bool rows_avx512 = avx512 && avx512_attention_dim(d);
  // One slice per thread (scores of up to four query rows at once for attention_rows_avx512, each
  // rounded up to 16 floats; else of n queries x ctx keys), rounded up to 16 floats so that no two
  // threads write the same cache line.
  const std::size_t padded = (static_cast<std::size_t>(ctx) + 15) & ~std::size_t{15};
  const std::size_t slice =
      rows_avx512 ? 4 * padded : (static_cast<std::size_t>(n * ctx) + 15) & ~std::size_t{15};
  if (scratch.size() < slice * static_cast<std::size_t>(T))
    scratch.resize(slice * static_cast<std::size_t>(T));
  float* const base = scratch.data();
  if (n == 1 && rows_avx512) {
    // One query: the heads that share a kv head run together, so each K and V row is read once
    // for all of a thread's heads of that group. With at least as many kv heads as threads, each
    // thread takes whole groups (kv heads t, t + T, ...), so no two threads read the same rows:
    // in a 2B-4T prompt at -b 1 (5 kv heads, 2 threads: 3 and 2 groups) attention took 1.68 /
    // 1.99 / 1.84 ms per token this way against 2.51 / 2.47 / 2.85 with every group's heads split
    // between the threads (alternating, one process each), the KV cache coming from DRAM. With
    // fewer kv heads than threads, each thread takes its part of every group, or, with fewer
    // heads per group than threads too, heads are dealt out singly.
    pool.run([&](int t) {
      float* const s = base + slice * static_cast<std::size_t>(t);
      const std::int64_t ldkv = kv_heads * d;
      if (kv_heads >= T) {
        for (std::int64_t g = t; g < kv_heads; g += T)
          attention_rows_avx512(group, q + g * group * d, d, k_cache + g * d, v_cache + g * d, ctx,
                                0, ldkv, d, out + g * group * d, d, s);
      } else if (group >= T) {
        for (std::int64_t g = 0; g < kv_heads; ++g) {
          const std::int64_t h0 = g * group + group * t / T, h1 = g * group + group * (t + 1) / T;
          attention_rows_avx512(h1 - h0, q + h0 * d, d, k_cache + g * d, v_cache + g * d, ctx, 0,
                                ldkv, d, out + h0 * d, d, s);
        }
      } else {
        for (std::int64_t h = t; h < heads; h += T)
          attention_rows_avx512(1, q + h * d, d, k_cache + h / group * d, v_cache + h / group * d,
                                ctx, 0, ldkv, d, out + h * d, d, s);
      }
    });
    return;
  }
  if (rows_avx512) {
    // A prompt: each head's tokens in bundles of four, each row the same arithmetic as the decode
    // step of its token would do; about 1.6x faster than the Eigen path below (measured in
    // models/attention_avx512.cpp).
    pool.run([&](int t) {
      float* const s = base + slice * static_cast<std::size_t>(t);
      for (std::int64_t h = t; h < heads; h += T)
        attention_rows_avx512(n, q + h * d, heads * d, k_cache + h / group * d,
                              v_cache + h / group * d, ctx, 1, kv_heads * d, d, out + h * d,
                              heads * d, s);
    });
    return;
  }
  pool.run([&](int t) {
    float* const s = base + slice * static_cast<std::size_t>(t);
    for (std::int64_t h = t; h < heads; h += T) {
      const std::int64_t kvh = h / group;
      const float* qh = q + h * d;
      const float* kh = k_cache + kvh * d;
      const float* vh = v_cache + kvh * d;
      float* oh = out + h * d;
      if (avx2) {
        attention_head_avx2(qh, kh, vh, n, pos0, heads * d, kv_heads * d, d, oh, heads * d, s,
                            softmax_rows);
      } else {
        attention_head_scalar(qh, kh, vh, n, pos0, heads * d, kv_heads * d, d, oh, heads * d, s);
      }
    }
  });
}

void attention_softmax_rows_scalar(float* s, std::int64_t ld, std::int64_t rows, std::int64_t len0,
                                   std::int64_t keys, float scale) {
  for (std::int64_t t = 0; t < rows; ++t) {
    float* r = s + t * ld;
    const std::int64_t len = len0 + t;
    float mx = -INFINITY;
    for (std::int64_t j = 0; j < len; ++j) {
      r[j] *= scale;
      mx = r[j] > mx ? r[j] : mx;
    }
    float sum = 0;
    for (std::int64_t j = 0; j < len; ++j) {
      r[j] = std::exp(r[j] - mx);
      sum += r[j];
    }
    const float inv = 1.0f / sum;
    for (std::int64_t j = 0; j < len; ++j) r[j] *= inv;
    for (std::int64_t j = len; j < keys; ++j) r[j] = 0;  // causal mask
  }
}

void attention_head_scalar(const float* q, const float* k, const float* v, std::int64_t n,
                           std::int64_t pos0, std::int64_t ldq, std::int64_t ldkv, std::int64_t d,
                           float* out, std::int64_t ldo, float* scratch) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  for (std::int64_t t = 0; t < n; ++t) {
    const std::int64_t len = pos0 + t + 1;
    float* s = scratch;
    for (std::int64_t j = 0; j < len; ++j) {
      float dot = 0;
      for (std::int64_t i = 0; i < d; ++i) dot += q[t * ldq + i] * k[j * ldkv + i];
      s[j] = dot;
    }
    attention_softmax_rows_scalar(s, len, 1, len, len, scale);
    float* o = out + t * ldo;
    for (std::int64_t i = 0; i < d; ++i) o[i] = 0;
    for (std::int64_t j = 0; j < len; ++j)
      for (std::int64_t i = 0; i < d; ++i) o[i] += s[j] * v[j * ldkv + i];
  }
}

void glu_relu2(float* g, const float* u, std::int64_t n) {
  // maxps(g, 0) is exactly g > 0 ? g : +0 (NaN and -0 give +0), so this is the scalar loop below four
  // lanes at a time. GCC leaves that loop scalar with a data-dependent branch ("control flow in
  // loop"), which mispredicts on about half the elements of a real activation: measured 1.5% of a
  // 2B-4T decode's samples, run on one thread while the other waits.
  const __m128 zero = _mm_setzero_ps();
  std::int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const __m128 r = _mm_max_ps(_mm_loadu_ps(g + i), zero);
    _mm_storeu_ps(g + i, _mm_mul_ps(_mm_mul_ps(r, r), _mm_loadu_ps(u + i)));
  }
  for (; i < n; ++i) {
    const float r = g[i] > 0 ? g[i] : 0.0f;
    g[i] = r * r * u[i];
  }
}

void glu_silu(float* g, const float* u, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

}  // namespace tritbench::models
