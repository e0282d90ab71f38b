#include "reference/quantize.h"

#include <cfenv>
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/cpu/cpu.h"

namespace tritbench {

void QuantizedBatch::reset(std::int64_t n, std::int64_t k) {
  N = n;
  K = k;
  ldq = round_up(k, kActPad);
  // Reuse the allocation (a model alternates between K = hidden and K = ffn every layer). Callers
  // write every row's [0, K); only the padding [K, ldq) is cleared here, as kernels read it.
  const std::size_t bytes = static_cast<std::size_t>(n * ldq);
  if (q.size() < bytes) q.resize(bytes);
  if (ldq > k)
    for (std::int64_t r = 0; r < n; ++r) std::memset(row(r) + k, 0, static_cast<std::size_t>(ldq - k));
  scale.assign(n, 0.0f);
  sum.assign(n, 0);
  x = nullptr;
  ldx = 0;
}

namespace reference {

// Defined in quantize_avx512.cpp (baseline callers reach it only after the ISA check).
void quantize_row_avx512(const float* x, std::int64_t K, std::int8_t* q, float* scale, std::int32_t* sum);

namespace {
// Round half to even in the default rounding mode, as bitnet.cpp's nearest_int (the 1.5*2^23 trick)
// does for |v| < 2^22; beyond that the result is clamped anyway.
inline int round_half_even(float v) { return static_cast<int>(std::nearbyint(v)); }
}  // namespace

void quantize_row_scalar(const float* x, std::int64_t K, std::int8_t* q, float* scale,
                         std::int32_t* sum) {
  double max = 1e-5;
  for (std::int64_t k = 0; k < K; ++k) max = std::max(max, static_cast<double>(std::fabs(x[k])));
  const float s = static_cast<float>(127.0 / max);
  std::int32_t total = 0;
  for (std::int64_t k = 0; k < K; ++k) {
    float v = x[k] * s;
    // Defined behaviour for non-finite input: NaN quantizes to 0 (max|x| skips it); an infinity
    // makes s = 0, so every element of that row becomes 0. Clamping before rounding gives the same
    // result as rounding before clamping and keeps the int conversion in range.
    v = std::isnan(v) ? 0.0f : std::min(127.0f, std::max(-128.0f, v));
    const int r = round_half_even(v);
    q[k] = static_cast<std::int8_t>(r);
    total += r;
  }
  *scale = s;
  *sum = total;
}

void quantize_activations(const float* x, std::int64_t N, std::int64_t K, std::int64_t ldx,
                          QuantizedBatch& out, ThreadPool* pool) {
  if (N < 0 || K <= 0 || ldx < K)
    throw std::invalid_argument("quantize_activations: bad shape N=" + std::to_string(N) +
                                " K=" + std::to_string(K) + " ldx=" + std::to_string(ldx));
  out.reset(N, K);
  static const bool simd = isa_runnable(Isa::kAvx512);
  const auto row = simd ? quantize_row_avx512 : quantize_row_scalar;
  for_ranges(pool, N, [&](std::int64_t n0, std::int64_t n1) {
    for (std::int64_t n = n0; n < n1; ++n)
      row(x + n * ldx, K, out.row(n), &out.scale[n], &out.sum[n]);
  });
  out.x = x;
  out.ldx = ldx;
}

void make_batch(const std::int8_t* q, std::int64_t N, std::int64_t K, const float* scales,
                QuantizedBatch& out) {
  out.reset(N, K);
  for (std::int64_t n = 0; n < N; ++n) {
    std::int32_t s = 0;
    for (std::int64_t k = 0; k < K; ++k) {
      out.row(n)[k] = q[n * K + k];
      s += q[n * K + k];
    }
    out.sum[n] = s;
    out.scale[n] = scales ? scales[n] : 1.0f;
  }
}

TernaryMatrix quantize_weights_absmean(const float* W, std::int64_t M, std::int64_t K) {
  TernaryMatrix t;
  t.M = M;
  t.K = K;
  t.w.resize(static_cast<std::size_t>(M * K));
  double acc = 0;
  for (std::int64_t i = 0; i < M * K; ++i) acc += std::fabs(static_cast<double>(W[i]));
  const float mean = static_cast<float>(acc / static_cast<double>(M * K));
  const float scale = std::max(mean, 1e-5f);
  for (std::int64_t i = 0; i < M * K; ++i) {
    const float v = W[i] / scale;
    int r = std::isnan(v) ? 0 : static_cast<int>(std::nearbyint(std::max(-2.0f, std::min(2.0f, v))));
    t.w[i] = static_cast<std::int8_t>(std::max(-1, std::min(1, r)));
  }
  t.scale = scale;
  return t;
}

}  // namespace reference
}  // namespace tritbench
