// TQ2_0 / TQ1_0, AVX-512 VNNI. A block's data is one 64-byte load (TQ1_0: a masked load of its 52
// bytes of qs and qh); each bit plane (TQ2_0: shift and mask) or base-3 digit (TQ1_0: two unsigned
// compares into mask registers, digit = 2 / 1 / 0, then y = 3y mod 256) is a vector of codes 0..2
// that meets one 64-byte load of prepared activations in vpdpbusd. Micro-tiles of 4 rows x up to
// 4 tokens share decoded codes and activation loads; one horizontal sum per row and token.
#include <immintrin.h>

#include "kernels/tq/format.h"

namespace tritbench::tq {

namespace {

template <int Slots>
struct Codes {
  __m512i v[Slots];
};

inline Codes<4> tq2_codes(const std::uint8_t* block) {
  const __m512i three = _mm512_set1_epi8(3);
  const __m512i x = _mm512_loadu_si512(block);
  return {{_mm512_and_si512(x, three), _mm512_and_si512(_mm512_srli_epi16(x, 2), three),
           _mm512_and_si512(_mm512_srli_epi16(x, 4), three),
           _mm512_and_si512(_mm512_srli_epi16(x, 6), three)}};
}

inline Codes<5> tq1_codes(const std::uint8_t* block) {
  const __m512i c86 = _mm512_set1_epi8(86), c171 = _mm512_set1_epi8(static_cast<char>(171));
  const __m512i one = _mm512_set1_epi8(1), two = _mm512_set1_epi8(2);
  __m512i y = _mm512_maskz_loadu_epi8(0x000FFFFFFFFFFFFFull, block);  // bytes 0..51
  Codes<5> c;
  for (int n = 0; n < 5; ++n) {
    const __mmask64 ge1 = _mm512_cmpge_epu8_mask(y, c86), ge2 = _mm512_cmpge_epu8_mask(y, c171);
    c.v[n] = _mm512_mask_mov_epi8(_mm512_maskz_mov_epi8(ge1, one), ge2, two);
    y = _mm512_add_epi8(_mm512_add_epi8(y, y), y);
  }
  return c;
}

template <int Slots, int BlockBytes, int R, int C, class Decode>
void tile(const GemmArgs& a, std::int64_t m, std::int64_t n, Decode decode) {
  __m512i acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < C; ++j) acc[r][j] = _mm512_setzero_si512();
  for (std::int64_t b = 0; b < a.blocks; ++b) {
    for (int r = 0; r < R; ++r) {
      const Codes<Slots> codes = decode(a.w + (m + r) * a.ldw + b * BlockBytes);
      for (int j = 0; j < C; ++j) {
        const std::int8_t* qb = a.q + (n + j) * a.ldq + b * Slots * 64;
        for (int s = 0; s < Slots; ++s)
          acc[r][j] = _mm512_dpbusd_epi32(acc[r][j], codes.v[s], _mm512_load_si512(qb + 64 * s));
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < C; ++j)
      a.c[(n + j) * a.ldc + m + r] = _mm512_reduce_add_epi32(acc[r][j]) - a.qsum[n + j];
}

template <int Slots, int BlockBytes, int C, class Decode>
void rows(const GemmArgs& a, std::int64_t n, Decode decode) {
  std::int64_t m = a.m0;
  for (; m + 4 <= a.m1; m += 4) tile<Slots, BlockBytes, 4, C>(a, m, n, decode);
  for (; m < a.m1; ++m) tile<Slots, BlockBytes, 1, C>(a, m, n, decode);
}

template <int Slots, int BlockBytes, class Decode>
void gemm(const GemmArgs& a, Decode decode) {
  std::int64_t n = 0;
  for (; n + 4 <= a.N; n += 4) rows<Slots, BlockBytes, 4>(a, n, decode);
  for (; n < a.N; ++n) rows<Slots, BlockBytes, 1>(a, n, decode);
}

}  // namespace

void tq2_gemm_avx512vnni(const GemmArgs& a) { gemm<4, sizeof(BlockTQ2)>(a, tq2_codes); }
void tq1_gemm_avx512vnni(const GemmArgs& a) { gemm<5, sizeof(BlockTQ1)>(a, tq1_codes); }

}  // namespace tritbench::tq
