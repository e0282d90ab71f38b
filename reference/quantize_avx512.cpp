// AVX-512 twin of quantize_row_scalar; tests/test_quantize.cpp proves identical bytes, scale and sum.
// max|x| in float equals the double max of the floats (conversion to double is exact); the product
// x * s is one float multiply; vcvtps2dq rounds half to even in the default MXCSR mode.
#include <immintrin.h>

#include <cmath>
#include <cstdint>

namespace tritbench::reference {

void quantize_row_avx512(const float* x, std::int64_t K, std::int8_t* q, float* scale,
                         std::int32_t* sum) {
  const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
  __m512 vmax = _mm512_setzero_ps();
  std::int64_t k = 0;
  for (; k + 16 <= K; k += 16)
    vmax = _mm512_max_ps(_mm512_and_ps(_mm512_loadu_ps(x + k), absmask), vmax);  // NaN: keeps vmax
  if (k < K) {
    const __mmask16 m = static_cast<__mmask16>((1u << (K - k)) - 1);
    vmax = _mm512_max_ps(_mm512_and_ps(_mm512_maskz_loadu_ps(m, x + k), absmask), vmax);
  }
  double max = 1e-5;
  const float fmax = _mm512_reduce_max_ps(vmax);
  if (static_cast<double>(fmax) > max) max = fmax;
  const float s = static_cast<float>(127.0 / max);
  const __m512 vs = _mm512_set1_ps(s);
  const __m512 lo = _mm512_set1_ps(-128.0f), hi = _mm512_set1_ps(127.0f);
  __m512i vsum = _mm512_setzero_si512();
  k = 0;
  for (; k < K; k += 16) {
    const std::int64_t left = K - k;
    const __mmask16 m = left >= 16 ? __mmask16(0xffff) : static_cast<__mmask16>((1u << left) - 1);
    __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + k), vs);
    // NaN -> 0 (as the scalar definition); then clamp, then round half to even.
    v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v);
    v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
    const __m512i i = _mm512_cvtps_epi32(v);
    vsum = _mm512_add_epi32(vsum, i);
    _mm_mask_storeu_epi8(q + k, m, _mm512_cvtsepi32_epi8(i));
  }
  *scale = s;
  *sum = _mm512_reduce_add_epi32(vsum);
}

}  // namespace tritbench::reference
