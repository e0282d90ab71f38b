// I2_S, AVX-512 + VNNI (vpdpbusd: 4 u8 x s8 products summed into each int32 lane, exact).
//
// A 32-byte block is broadcast to both halves of a zmm. Planes 0,1 (weights 0..63 of the block)
// then sit in the low/high half and meet the 64 consecutive activations q[0..63] in one vpdpbusd;
// planes 2,3 meet q[64..127]. No activation shuffling, no int16 stage.
//
// GEMV (one token): the planes are not shifted down, only masked (x & 0xC0 | x & 0x30 in the two
// halves), so each lane accumulates code * 64 (or 16, 4, 1) * q. Every lane's sum is a multiple of
// its scale, so a per-lane arithmetic shift at the end recovers it exactly. Per 128 weights and
// row: one broadcast load, two ands, two vpdpbusd. Bound: a lane gains at most 4*128*128 = 65536 per
// block, so |acc| < 2^31 for K < 4M (pack refuses larger K).
//
// GEMM (several tokens): each block is decoded once to codes 0..2 (variable shift + mask) and reused
// for a micro-tile of R weight rows x C tokens held in R*C zmm accumulators; the rows of a larger
// row block stay in L1 while all tokens stream past.
#include <immintrin.h>

#include "kernels/i2s/format.h"

namespace tritbench::i2s {

namespace {

inline __m512i bcast_block(const std::uint8_t* p) {
  return _mm512_broadcast_i64x4(_mm256_load_si256(reinterpret_cast<const __m256i*>(p)));
}

template <int R>
void gemv_rows(const GemmArgs& a, std::int64_t n, std::int64_t m) {
  const std::int64_t nb = a.Kp / kBlock;
  const __m512i mask01 = _mm512_inserti64x4(_mm512_set1_epi8(char(0xC0)), _mm256_set1_epi8(0x30), 1);
  const __m512i mask23 = _mm512_inserti64x4(_mm512_set1_epi8(0x0C), _mm256_set1_epi8(0x03), 1);
  const __m512i sh01 = _mm512_inserti64x4(_mm512_set1_epi32(6), _mm256_set1_epi32(4), 1);
  const __m512i sh23 = _mm512_inserti64x4(_mm512_set1_epi32(2), _mm256_set1_epi32(0), 1);
  const std::int8_t* q = a.q + n * a.ldq;
  const std::uint8_t* w[R];
  __m512i acc01[R], acc23[R];
  for (int r = 0; r < R; ++r) {
    w[r] = a.w + (m + r) * a.ldw;
    acc01[r] = _mm512_setzero_si512();
    acc23[r] = _mm512_setzero_si512();
  }
  for (std::int64_t b = 0; b < nb; ++b) {
    const __m512i qa = _mm512_loadu_si512(q + b * kBlock);
    const __m512i qb = _mm512_loadu_si512(q + b * kBlock + 64);
    for (int r = 0; r < R; ++r) {
      const __m512i x = bcast_block(w[r] + b * kBlockBytes);
      acc01[r] = _mm512_dpbusd_epi32(acc01[r], _mm512_and_si512(x, mask01), qa);
      acc23[r] = _mm512_dpbusd_epi32(acc23[r], _mm512_and_si512(x, mask23), qb);
    }
  }
  for (int r = 0; r < R; ++r) {
    const __m512i s = _mm512_add_epi32(_mm512_srav_epi32(acc01[r], sh01), _mm512_srav_epi32(acc23[r], sh23));
    a.c[n * a.ldc + m + r] = _mm512_reduce_add_epi32(s) - a.qsum[n];
  }
}

template <int R, int C>
void gemm_tile(const GemmArgs& a, std::int64_t n, std::int64_t m) {
  const std::int64_t nb = a.Kp / kBlock;
  const __m512i three = _mm512_set1_epi8(3);
  const __m512i sh01 = _mm512_inserti64x4(_mm512_set1_epi16(6), _mm256_set1_epi16(4), 1);
  const __m512i sh23 = _mm512_inserti64x4(_mm512_set1_epi16(2), _mm256_set1_epi16(0), 1);
  __m512i acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_si512();
  const std::uint8_t* w = a.w + m * a.ldw;
  const std::int8_t* q = a.q + n * a.ldq;
  for (std::int64_t b = 0; b < nb; ++b) {
    for (int r = 0; r < R; ++r) {
      const __m512i x = bcast_block(w + r * a.ldw + b * kBlockBytes);
      const __m512i w01 = _mm512_and_si512(_mm512_srlv_epi16(x, sh01), three);
      const __m512i w23 = _mm512_and_si512(_mm512_srlv_epi16(x, sh23), three);
      for (int c = 0; c < C; ++c) {
        const std::int8_t* qc = q + c * a.ldq + b * kBlock;
        acc[r][c] = _mm512_dpbusd_epi32(acc[r][c], w01, _mm512_loadu_si512(qc));
        acc[r][c] = _mm512_dpbusd_epi32(acc[r][c], w23, _mm512_loadu_si512(qc + 64));
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c)
      a.c[(n + c) * a.ldc + m + r] = _mm512_reduce_add_epi32(acc[r][c]) - a.qsum[n + c];
}

template <int C>
void gemm_cols(const GemmArgs& a, std::int64_t n, std::int64_t m0, std::int64_t m1) {
  std::int64_t m = m0;
  for (; m + 4 <= m1; m += 4) gemm_tile<4, C>(a, n, m);
  for (; m < m1; ++m) gemm_tile<1, C>(a, n, m);
}

}  // namespace

void gemm_avx512vnni(const GemmArgs& a) {
  if (a.N == 1) {
    std::int64_t m = a.m0;
    for (; m + 4 <= a.m1; m += 4) gemv_rows<4>(a, 0, m);
    for (; m < a.m1; ++m) gemv_rows<1>(a, 0, m);
    return;
  }
  // Row blocks small enough that their weights stay in L1 while every token passes over them.
  const std::int64_t row_bytes = a.ldw;
  std::int64_t rows_per_block = (24 * 1024 / row_bytes) / 4 * 4;
  if (rows_per_block < 4) rows_per_block = 4;
  for (std::int64_t mb = a.m0; mb < a.m1; mb += rows_per_block) {
    const std::int64_t me = mb + rows_per_block < a.m1 ? mb + rows_per_block : a.m1;
    std::int64_t n = 0;
    for (; n + 4 <= a.N; n += 4) gemm_cols<4>(a, n, mb, me);
    switch (a.N - n) {
      case 3: gemm_cols<3>(a, n, mb, me); break;
      case 2: gemm_cols<2>(a, n, mb, me); break;
      case 1: gemm_cols<1>(a, n, mb, me); break;
      default: break;
    }
  }
}

}  // namespace tritbench::i2s
