// TQ2_0 / TQ1_0, AVX-512 VNNI. A block's data is one 64-byte load (TQ1_0: its 52 bytes of qs and qh
// and 12 bytes that meet zero activations) that meets the block's prepared activations (format.h)
// in vpdpbusd.
//
// TQ2_0, masked planes: plane l is x & (3 << 2l) = code * 4^l in place, summed into its own
// accumulator and shifted back at the end (every product of plane l is a multiple of 4^l): one AND
// per vpdpbusd, no shifts.
//
// TQ1_0 without extracting digits: with y_0 = byte and y_{n+1} = 3*y_n mod 256 (two byte adds),
// digit n is d_n = (3*y_n - y_{n+1}) / 256 exactly. So sum_n d_n*q_n = (3*A - B) / 256 with
// A = sum_n y_n*q_n and B = sum_n y_{n+1}*q_n, two vpdpbusd per digit on the raw bytes y (unsigned)
// and the activations, no compares or masks. Per lane |A|, |B| <= 20 * 255 * 128 per block (int32
// for K < 842000, pack refuses K > 2^19); the horizontal sums are taken in int64.
//
// Micro-tiles of R rows x C tokens share the decoded weights and the activation loads; one
// horizontal sum per row and token. A lone token (a GEMV, or a batch's odd last token) reads its
// rows one at a time instead (tq1_row): one sequential stream, where four interleaved rows stalled
// on memory (measured in kernels/tq/README.md). TQ1_0 loads whole 64-byte vectors: the 12 bytes
// past a block's qs and qh meet the zero activations of lanes 52..63, and the packer leaves 64
// readable bytes after the last block.
#include <immintrin.h>

#include "kernels/tq/format.h"

namespace tritbench::tq {

namespace {

// Software prefetch distance along each row: R rows are read as R interleaved streams, which the
// hardware prefetchers follow worse than one (measured: cold GEMV slower than the AVX2 kernel).
constexpr int kPrefetchBytes = 1024;

inline std::int64_t reduce64(__m512i v) {
  return _mm512_reduce_add_epi64(_mm512_add_epi64(
      _mm512_cvtepi32_epi64(_mm512_castsi512_si256(v)),
      _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(v, 1))));
}

template <int R, int C>
void tq2_tile(const GemmArgs& a, std::int64_t m, std::int64_t n) {
  __m512i acc[R][C][4];
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < C; ++j)
      for (int l = 0; l < 4; ++l) acc[r][j][l] = _mm512_setzero_si512();
  const __m512i mask[4] = {_mm512_set1_epi8(0x03), _mm512_set1_epi8(0x0C), _mm512_set1_epi8(0x30),
                           _mm512_set1_epi8(static_cast<char>(0xC0))};
  for (std::int64_t b = 0; b < a.blocks; ++b) {
    for (int r = 0; r < R; ++r) {
      const std::uint8_t* blk = a.w + (m + r) * a.ldw + b * sizeof(BlockTQ2);
      _mm_prefetch(reinterpret_cast<const char*>(blk + kPrefetchBytes), _MM_HINT_T0);
      const __m512i x = _mm512_loadu_si512(blk);
      for (int l = 0; l < 4; ++l) {
        const __m512i p = _mm512_and_si512(x, mask[l]);
        for (int j = 0; j < C; ++j)
          acc[r][j][l] = _mm512_dpbusd_epi32(
              acc[r][j][l], p, _mm512_load_si512(a.q + (n + j) * a.ldq + b * kPrepTQ2 + 64 * l));
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < C; ++j) {
      __m512i s = _mm512_add_epi32(acc[r][j][0], _mm512_srai_epi32(acc[r][j][1], 2));
      s = _mm512_add_epi32(s, _mm512_srai_epi32(acc[r][j][2], 4));
      s = _mm512_add_epi32(s, _mm512_srai_epi32(acc[r][j][3], 6));
      a.c[(n + j) * a.ldc + m + r] = _mm512_reduce_add_epi32(s) - a.qsum[n + j];
    }
}

template <int R, int C>
void tq1_tile(const GemmArgs& a, std::int64_t m, std::int64_t n) {
  __m512i A[R][C], B[R][C];
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < C; ++j) A[r][j] = B[r][j] = _mm512_setzero_si512();
  for (std::int64_t b = 0; b < a.blocks; ++b) {
    for (int r = 0; r < R; ++r) {
      const std::uint8_t* blk = a.w + (m + r) * a.ldw + b * sizeof(BlockTQ1);
      _mm_prefetch(reinterpret_cast<const char*>(blk + kPrefetchBytes), _MM_HINT_T0);
      __m512i y = _mm512_loadu_si512(blk);  // qs, qh: bytes 0..51 (52..63: next block, or pad)
      for (int d = 0; d < 5; ++d) {
        const __m512i y3 = _mm512_add_epi8(_mm512_add_epi8(y, y), y);  // 3y mod 256
        for (int j = 0; j < C; ++j) {
          const __m512i q = _mm512_load_si512(a.q + (n + j) * a.ldq + b * kPrepTQ1 + 64 * d);
          A[r][j] = _mm512_dpbusd_epi32(A[r][j], y, q);
          B[r][j] = _mm512_dpbusd_epi32(B[r][j], y3, q);
        }
        y = y3;
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < C; ++j) {
      const std::int64_t s256 = 3 * reduce64(A[r][j]) - reduce64(B[r][j]);  // 256 * sum d*q
      a.c[(n + j) * a.ldc + m + r] = static_cast<std::int32_t>(s256 / 256) - a.qsum[n + j];
    }
}

// One row and one token: ten accumulators (A and B per digit), so the loop is bound by vpdpbusd's
// throughput, not by the latency of two chains. Prefetches non-temporally along the row.
void tq1_row(const GemmArgs& a, std::int64_t m, std::int64_t n) {
  constexpr int kRowPrefetchBytes = 4096;
  __m512i A[5], B[5];
  for (int d = 0; d < 5; ++d) A[d] = B[d] = _mm512_setzero_si512();
  const std::uint8_t* row = a.w + m * a.ldw;
  const std::int8_t* q = a.q + n * a.ldq;
  for (std::int64_t b = 0; b < a.blocks; ++b) {
    const std::uint8_t* blk = row + b * sizeof(BlockTQ1);
    _mm_prefetch(reinterpret_cast<const char*>(blk + kRowPrefetchBytes), _MM_HINT_NTA);
    __m512i y = _mm512_loadu_si512(blk);
    for (int d = 0; d < 5; ++d) {
      const __m512i y3 = _mm512_add_epi8(_mm512_add_epi8(y, y), y);
      const __m512i qd = _mm512_load_si512(q + b * kPrepTQ1 + 64 * d);
      A[d] = _mm512_dpbusd_epi32(A[d], y, qd);
      B[d] = _mm512_dpbusd_epi32(B[d], y3, qd);
      y = y3;
    }
  }
  for (int d = 1; d < 5; ++d) {
    A[0] = _mm512_add_epi32(A[0], A[d]);
    B[0] = _mm512_add_epi32(B[0], B[d]);
  }
  const std::int64_t s256 = 3 * reduce64(A[0]) - reduce64(B[0]);  // 256 * sum d*q
  a.c[n * a.ldc + m] = static_cast<std::int32_t>(s256 / 256) - a.qsum[n];
}

// Tokens in pairs (R2 rows per tile), the last one alone (R1 rows per tile); row tails one by one.
// TQ2_0 reads a single token's rows one at a time: one sequential stream is what the hardware
// prefetchers follow best (cold GEMV 1.7x faster than four interleaved rows, hot about equal).
// Rows in cache blocks (rows_per_block), every token over a block before the next.
template <int R1, int R2, template <int, int> class Tile>
void gemm(const GemmArgs& a) {
  const std::int64_t step = rows_per_block(a.ldw, R1 > R2 ? R1 : R2);
  for (std::int64_t m0 = a.m0; m0 < a.m1; m0 += step) {
    const std::int64_t m1 = m0 + step < a.m1 ? m0 + step : a.m1;
    std::int64_t n = 0;
    for (; n + 2 <= a.N; n += 2) {
      std::int64_t m = m0;
      for (; m + R2 <= m1; m += R2) Tile<R2, 2>::run(a, m, n);
      for (; m < m1; ++m) Tile<1, 2>::run(a, m, n);
    }
    if (n < a.N) {
      std::int64_t m = m0;
      for (; m + R1 <= m1; m += R1) Tile<R1, 1>::run(a, m, n);
      for (; m < m1; ++m) Tile<1, 1>::run(a, m, n);
    }
  }
}

template <int R, int C>
struct TQ2 {
  static void run(const GemmArgs& a, std::int64_t m, std::int64_t n) { tq2_tile<R, C>(a, m, n); }
};
template <int R, int C>
struct TQ1 {
  static void run(const GemmArgs& a, std::int64_t m, std::int64_t n) { tq1_tile<R, C>(a, m, n); }
};
template <>
struct TQ1<1, 1> {
  static void run(const GemmArgs& a, std::int64_t m, std::int64_t n) { tq1_row(a, m, n); }
};

}  // namespace

void tq2_gemm_avx512vnni(const GemmArgs& a) { gemm<1, 2, TQ2>(a); }
void tq1_gemm_avx512vnni(const GemmArgs& a) { gemm<1, 4, TQ1>(a); }

}  // namespace tritbench::tq
