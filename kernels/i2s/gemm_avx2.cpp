// I2_S, AVX2. A 32-byte block is split into its four planes by shift and mask; each plane (32 codes
// 0..2) meets 32 consecutive activations in maddubs (u8 x s8 -> pairs summed into int16).
// Exactness: a maddubs pair is at most 2*2*128 = 512 in magnitude and the four planes' sum at most
// 2048, far from int16 saturation; that sum is widened with madd(., 1) into int32 every block, so
// there is no int16 accumulator that can overflow (unlike bitnet.cpp, which widens every 32 blocks).
// GEMM: one weight row's planes are decoded once per block and reused for up to 4 activation rows.
#include <immintrin.h>

#include "kernels/i2s/format.h"

namespace tritbench::i2s {

namespace {

inline std::int32_t hsum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

template <int C>
void row_times_cols(const std::uint8_t* w, std::int64_t nb, const std::int8_t* const* q,
                    std::int32_t* out) {
  const __m256i mask = _mm256_set1_epi8(3);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i acc[C];
  for (int c = 0; c < C; ++c) acc[c] = _mm256_setzero_si256();
  for (std::int64_t b = 0; b < nb; ++b) {
    const __m256i x = _mm256_load_si256(reinterpret_cast<const __m256i*>(w + b * kBlockBytes));
    const __m256i p0 = _mm256_and_si256(_mm256_srli_epi16(x, 6), mask);
    const __m256i p1 = _mm256_and_si256(_mm256_srli_epi16(x, 4), mask);
    const __m256i p2 = _mm256_and_si256(_mm256_srli_epi16(x, 2), mask);
    const __m256i p3 = _mm256_and_si256(x, mask);
    for (int c = 0; c < C; ++c) {
      const __m256i* qb = reinterpret_cast<const __m256i*>(q[c] + b * kBlock);
      __m256i s = _mm256_maddubs_epi16(p0, _mm256_loadu_si256(qb + 0));
      s = _mm256_add_epi16(s, _mm256_maddubs_epi16(p1, _mm256_loadu_si256(qb + 1)));
      s = _mm256_add_epi16(s, _mm256_maddubs_epi16(p2, _mm256_loadu_si256(qb + 2)));
      s = _mm256_add_epi16(s, _mm256_maddubs_epi16(p3, _mm256_loadu_si256(qb + 3)));
      acc[c] = _mm256_add_epi32(acc[c], _mm256_madd_epi16(s, ones));
    }
  }
  for (int c = 0; c < C; ++c) out[c] = hsum(acc[c]);
}

}  // namespace

void gemm_avx2(const GemmArgs& a) {
  const std::int64_t nb = a.Kp / kBlock;
  constexpr int kCols = 4;
  std::int64_t n = 0;
  for (; n + kCols <= a.N; n += kCols) {
    const std::int8_t* q[kCols];
    for (int c = 0; c < kCols; ++c) q[c] = a.q + (n + c) * a.ldq;
    for (std::int64_t m = a.m0; m < a.m1; ++m) {
      std::int32_t r[kCols];
      row_times_cols<kCols>(a.w + m * a.ldw, nb, q, r);
      for (int c = 0; c < kCols; ++c) a.c[(n + c) * a.ldc + m] = r[c] - a.qsum[n + c];
    }
  }
  for (; n < a.N; ++n) {
    const std::int8_t* q[1] = {a.q + n * a.ldq};
    for (std::int64_t m = a.m0; m < a.m1; ++m) {
      std::int32_t r[1];
      row_times_cols<1>(a.w + m * a.ldw, nb, q, r);
      a.c[n * a.ldc + m] = r[0] - a.qsum[n];
    }
  }
}

}  // namespace tritbench::i2s
