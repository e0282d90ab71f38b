// TQ2_0 / TQ1_0, AVX2. Per block and 32-byte half: codes of each bit plane (TQ2_0: shift and
// mask) or digit (TQ1_0: digit = [y >= 86] + [y >= 171], then y = 3y mod 256, bytewise) meet the
// prepared activations in maddubs; int16 sums stay below 2*2*128 * 10 = 5120 within a block and
// are widened with madd(., 1) once per block. One weight row's codes are reused for up to 4 tokens.
#include <immintrin.h>

#include "kernels/tq/format.h"

namespace tritbench::tq {

namespace {

inline std::int32_t hsum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

// The Slots code vectors of one 32-byte half of a block's data.
template <int Slots>
struct Codes {
  __m256i v[Slots];
};

inline Codes<4> tq2_codes(__m256i x) {
  const __m256i three = _mm256_set1_epi8(3);
  return {{_mm256_and_si256(x, three), _mm256_and_si256(_mm256_srli_epi16(x, 2), three),
           _mm256_and_si256(_mm256_srli_epi16(x, 4), three),
           _mm256_and_si256(_mm256_srli_epi16(x, 6), three)}};
}

inline Codes<5> tq1_codes(__m256i y) {
  // y >= c (unsigned) iff the saturating c - y is zero; masks are -1, so digit = 0 - m1 - m2.
  const __m256i c86 = _mm256_set1_epi8(86), c171 = _mm256_set1_epi8(static_cast<char>(171));
  const __m256i zero = _mm256_setzero_si256();
  Codes<5> c;
  for (int n = 0; n < 5; ++n) {
    const __m256i m1 = _mm256_cmpeq_epi8(_mm256_subs_epu8(c86, y), zero);
    const __m256i m2 = _mm256_cmpeq_epi8(_mm256_subs_epu8(c171, y), zero);
    c.v[n] = _mm256_sub_epi8(_mm256_sub_epi8(zero, m1), m2);
    y = _mm256_add_epi8(_mm256_add_epi8(y, y), y);
  }
  return c;
}

template <int Slots, class Decode, class Load>
void gemm(const GemmArgs& a, Decode decode, Load load_half) {
  const __m256i ones = _mm256_set1_epi16(1);
  const std::int64_t step = rows_per_block(a.ldw, 1);  // every token over a block of rows in L2
  for (std::int64_t mb = a.m0; mb < a.m1; mb += step) {
    const std::int64_t me = mb + step < a.m1 ? mb + step : a.m1;
    for (std::int64_t n0 = 0; n0 < a.N; n0 += 4) {
      const int C = static_cast<int>(a.N - n0 < 4 ? a.N - n0 : 4);
      for (std::int64_t m = mb; m < me; ++m) {
        const std::uint8_t* row = a.w + m * a.ldw;
        __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                          _mm256_setzero_si256()};
        for (std::int64_t b = 0; b < a.blocks; ++b) {
          const Codes<Slots> c0 = decode(load_half(row, b, 0)), c1 = decode(load_half(row, b, 1));
          for (int j = 0; j < C; ++j) {
            const std::int8_t* qb = a.q + (n0 + j) * a.ldq + b * Slots * 64;
            __m256i s = _mm256_setzero_si256();
            for (int i = 0; i < Slots; ++i) {
              const auto* qs = reinterpret_cast<const __m256i*>(qb + 64 * i);
              s = _mm256_add_epi16(s, _mm256_maddubs_epi16(c0.v[i], _mm256_load_si256(qs)));
              s = _mm256_add_epi16(s, _mm256_maddubs_epi16(c1.v[i], _mm256_load_si256(qs + 1)));
            }
            acc[j] = _mm256_add_epi32(acc[j], _mm256_madd_epi16(s, ones));
          }
        }
        for (int j = 0; j < C; ++j) a.c[(n0 + j) * a.ldc + m] = hsum(acc[j]) - a.qsum[n0 + j];
      }
    }
  }
}

}  // namespace

void tq2_gemm_avx2(const GemmArgs& a) {
  gemm<4>(a, tq2_codes, [](const std::uint8_t* row, std::int64_t b, int h) {
    return _mm256_loadu_si256(
        reinterpret_cast<const __m256i*>(row + b * sizeof(BlockTQ2) + 32 * h));
  });
}

void tq1_gemm_avx2(const GemmArgs& a) {
  // The second half is bytes 32..51 (qs[32..47], qh): a masked load of 5 dwords, zeros beyond.
  gemm<5>(a, tq1_codes, [](const std::uint8_t* row, std::int64_t b, int h) {
    const std::uint8_t* p = row + b * sizeof(BlockTQ1);
    if (h == 0) return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    return _mm256_maskload_epi32(reinterpret_cast<const int*>(p + 32),
                                 _mm256_setr_epi32(-1, -1, -1, -1, -1, 0, 0, 0));
  });
}

}  // namespace tritbench::tq
