#include <cstring>

#include "reference/epilogue.h"
#include "reference/kernels.h"

namespace tritbench::reference {

void naive_pack(const TernaryMatrix& w, const TileConfig&, PackedWeights& out) {
  out.M = out.Mp = w.M;
  out.K = out.Kp = w.K;
  out.ld = w.K;
  out.scale = w.scale;
  out.data.resize(static_cast<std::size_t>(w.M * w.K));
  std::memcpy(out.data.data(), w.w.data(), w.w.size());
}

TernaryMatrix naive_unpack(const PackedWeights& p) {
  TernaryMatrix t;
  t.M = p.M;
  t.K = p.K;
  t.scale = p.scale;
  t.w.assign(p.data.as<std::int8_t>(), p.data.as<std::int8_t>() + p.M * p.K);
  return t;
}

void naive_prepare(const QuantizedBatch& a, const PackedWeights&, PreparedActivations& out) {
  out.q = a.q.as<std::int8_t>();
  out.ldq = a.ldq;
}

void naive_gemm(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0, std::int64_t m1,
                std::int32_t* c, std::int64_t ldc) {
  const std::int8_t* W = w.data.as<std::int8_t>();
  for (std::int64_t n = 0; n < a.N; ++n) {
    const std::int8_t* q = a.q + n * a.ldq;
    for (std::int64_t m = m0; m < m1; ++m) {
      const std::int8_t* row = W + m * w.ld;
      std::int32_t acc = 0;
      for (std::int64_t k = 0; k < w.K; ++k) acc += std::int32_t(row[k]) * std::int32_t(q[k]);
      c[n * ldc + m] = acc;
    }
  }
}

void epilogue_row_scalar(const std::int32_t* c, std::int64_t count, float act_scale, float w_scale,
                         float* y) {
  for (std::int64_t i = 0; i < count; ++i) y[i] = epilogue(c[i], act_scale, w_scale);
}

void epilogue_rows(const std::int32_t* c, std::int64_t ldc, const float* act_scale, float w_scale,
                   std::int64_t N, std::int64_t m0, std::int64_t m1, float* y, std::int64_t ldy) {
  // The AVX-512 loop gives the same floats (the same three IEEE operations per element): a
  // pp512 spent ~4% of its forward pass here with the baseline SSE2 loop.
  static const bool simd = isa_runnable(Isa::kAvx512);
  const auto row = simd ? epilogue_row_avx512 : epilogue_row_scalar;
  for (std::int64_t n = 0; n < N; ++n)
    row(c + n * ldc + m0, m1 - m0, act_scale[n], w_scale, y + n * ldy + m0);
}

}  // namespace tritbench::reference
