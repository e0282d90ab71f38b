// AVX-512 twin of the epilogue's row loop; tests/test_quantize.cpp proves the same floats.
// Each element is the same three IEEE operations in the same order as reference::epilogue:
// vcvtdq2ps rounds as static_cast<float> (to nearest in the default MXCSR mode), then one
// division and one multiplication, each correctly rounded, with no contraction possible.
#include <immintrin.h>

#include <cstdint>

namespace tritbench::reference {

void epilogue_row_avx512(const std::int32_t* c, std::int64_t count, float act_scale, float w_scale,
                         float* y) {
  const __m512 s = _mm512_set1_ps(act_scale), w = _mm512_set1_ps(w_scale);
  std::int64_t i = 0;
  for (; i + 16 <= count; i += 16) {
    const __m512 a = _mm512_cvtepi32_ps(_mm512_loadu_si512(c + i));
    _mm512_storeu_ps(y + i, _mm512_mul_ps(_mm512_div_ps(a, s), w));
  }
  if (i < count) {
    const __mmask16 m = static_cast<__mmask16>((1u << (count - i)) - 1);
    const __m512 a = _mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(m, c + i));
    _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(_mm512_div_ps(a, s), w));
  }
}

}  // namespace tritbench::reference
