// I2_S, AVX-512 + VNNI (vpdpbusd: 4 u8 x s8 products summed into each int32 lane, exact).
//
// A 32-byte block is broadcast to both halves of a zmm. Planes 0,1 (weights 0..63 of the block)
// then sit in the low/high half and meet the 64 consecutive activations q[0..63] in one vpdpbusd;
// planes 2,3 meet q[64..127]. No activation shuffling, no int16 stage.
//
// GEMV (one token), R rows at a time: the planes are not shifted down, only masked (x & 0xC0 |
// x & 0x30 in the two halves), so each lane accumulates code * 64 (or 16, 4, 1) * q. Every lane's
// sum is a multiple of its scale, so a per-lane arithmetic shift at the end recovers it exactly.
// Per 128 weights and row: one broadcast load, two ands, two vpdpbusd. Bound: a lane gains at most
// 4*128*128 = 65536 per block, so |acc| < 2^31 for K < 4M.
//
// GEMM (several tokens): a micro-tile of R weight rows x C tokens in R*C zmm accumulators. Per
// block the C tokens' activations are loaded once (2C registers), each of the R rows is decoded
// once to codes 0..2 (variable shift + mask) and meets all C tokens: 2RC vpdpbusd per R + 2C loads
// and 4R decode ops. R*C <= 24 leaves registers for the activations. Loop orders (GemmArgs::
// parallel): activation-parallel keeps a block of `block_rows` weight rows in L1 while every token
// passes over it; weight-parallel keeps C tokens in L1 while all rows stream past. Tails (rows
// not a multiple of R, tokens not a multiple of C) run narrower tiles of the same kernel.
//
// Two things GCC 12 needs to keep the accumulators in registers: `#pragma GCC unroll` on the tile
// loops (SRA only scalarizes the accumulator array if the loops are unrolled before it runs; else
// every accumulator is stored and reloaded each block, -25%), and vpdpbusd through an asm with a
// tied operand (the builtin is wrapped in register copies).
#include <immintrin.h>

#include "kernels/i2s/format.h"

namespace tritbench::i2s {

namespace {

constexpr int kMaxAcc = 24;  // R*C accumulators of a GEMM tile

inline __m512i bcast_block(const std::uint8_t* p) {
  return _mm512_broadcast_i64x4(_mm256_load_si256(reinterpret_cast<const __m256i*>(p)));
}

inline void dpbusd(__m512i& acc, __m512i u8, __m512i s8) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u8), "v"(s8));
}

// Software prefetch of the weight stream: a thread's rows [m0, m1) are one contiguous range, read
// R rows (R interleaved streams ld bytes apart) at a time. The hardware prefetchers do not
// follow that pattern well (rows of 2B-4T are 640 bytes: 10 lines per stream), so each block step
// also prefetches the range linearly kPrefetch bytes ahead of where a linear reader would be, and
// a call starts by prefetching its first kPrefetch bytes. Measured on a cold 2560 x 2560 GEMV:
// 8-10 GB/s without, 13-19 GB/s with (read bandwidth 20 GB/s at the time).
constexpr std::int64_t kPrefetch = 8192;

// Addresses as integers: the look-ahead may point past the weights, where pointer arithmetic would
// be undefined (a prefetch itself never faults, but none is issued past `end` anyway).
inline void prefetch(std::uintptr_t p) { _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0); }

inline void prefetch_range(std::uintptr_t p, std::uintptr_t end, std::int64_t bytes) {
  for (std::uintptr_t i = 0; i < static_cast<std::uintptr_t>(bytes) && p + i < end; i += 64) prefetch(p + i);
}

// R rows from m; U independent accumulator pairs per row (blocks alternate between them), so a
// single row still has enough chains to cover vpdpbusd's latency.
template <int R>
void gemv_rows(const GemmArgs& a, std::int64_t m, std::uintptr_t end) {
  constexpr int U = R <= 2 ? 2 : 1;
  const std::int64_t nb = a.Kp / kBlock;
  const __m512i mask01 = _mm512_inserti64x4(_mm512_set1_epi8(char(0xC0)), _mm256_set1_epi8(0x30), 1);
  const __m512i mask23 = _mm512_inserti64x4(_mm512_set1_epi8(0x0C), _mm256_set1_epi8(0x03), 1);
  const __m512i sh01 = _mm512_inserti64x4(_mm512_set1_epi32(6), _mm256_set1_epi32(4), 1);
  const __m512i sh23 = _mm512_inserti64x4(_mm512_set1_epi32(2), _mm256_set1_epi32(0), 1);
  const std::int8_t* q = a.q;
  const std::uint8_t* w = a.w + m * a.ldw;
  const std::uintptr_t pf = reinterpret_cast<std::uintptr_t>(w) + kPrefetch;
  __m512i acc01[U][R], acc23[U][R];
#pragma GCC unroll 8
  for (int u = 0; u < U; ++u)
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) acc01[u][r] = acc23[u][r] = _mm512_setzero_si512();
  auto step = [&](std::int64_t b, __m512i* a01, __m512i* a23) {
    const __m512i qa = _mm512_loadu_si512(q + b * kBlock);
    const __m512i qb = _mm512_loadu_si512(q + b * kBlock + 64);
#pragma GCC unroll 8
    for (int i = 0; i < R * kBlockBytes; i += 64) {
      const std::uintptr_t p = pf + static_cast<std::uintptr_t>(b * R * kBlockBytes + i);
      if (p < end) prefetch(p);
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512i x = bcast_block(w + r * a.ldw + b * kBlockBytes);
      dpbusd(a01[r], _mm512_and_si512(x, mask01), qa);
      dpbusd(a23[r], _mm512_and_si512(x, mask23), qb);
    }
  };
  std::int64_t b = 0;
  if constexpr (U == 2)
    for (; b + 2 <= nb; b += 2) {
      step(b, acc01[0], acc23[0]);
      step(b + 1, acc01[U - 1], acc23[U - 1]);
    }
  for (; b < nb; ++b) step(b, acc01[0], acc23[0]);
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    __m512i s = _mm512_add_epi32(_mm512_srav_epi32(acc01[0][r], sh01), _mm512_srav_epi32(acc23[0][r], sh23));
    if constexpr (U == 2)
      s = _mm512_add_epi32(s, _mm512_add_epi32(_mm512_srav_epi32(acc01[U - 1][r], sh01),
                                               _mm512_srav_epi32(acc23[U - 1][r], sh23)));
    a.c[m + r] = _mm512_reduce_add_epi32(s) - a.qsum[0];
  }
}

template <int R, int C>
void gemm_tile(const GemmArgs& a, std::int64_t n, std::int64_t m) {
  const std::int64_t nb = a.Kp / kBlock;
  const __m512i three = _mm512_set1_epi8(3);
  const __m512i sh01 = _mm512_inserti64x4(_mm512_set1_epi16(6), _mm256_set1_epi16(4), 1);
  const __m512i sh23 = _mm512_inserti64x4(_mm512_set1_epi16(2), _mm256_set1_epi16(0), 1);
  __m512i acc[R][C];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_si512();
  const std::uint8_t* w = a.w + m * a.ldw;
  const std::int8_t* q = a.q + n * a.ldq;
  for (std::int64_t b = 0; b < nb; ++b) {
    __m512i qa[C], qb[C];
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) {
      qa[c] = _mm512_loadu_si512(q + c * a.ldq + b * kBlock);
      qb[c] = _mm512_loadu_si512(q + c * a.ldq + b * kBlock + 64);
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512i x = bcast_block(w + r * a.ldw + b * kBlockBytes);
      const __m512i w01 = _mm512_and_si512(_mm512_srlv_epi16(x, sh01), three);
      const __m512i w23 = _mm512_and_si512(_mm512_srlv_epi16(x, sh23), three);
#pragma GCC unroll 8
      for (int c = 0; c < C; ++c) {
        dpbusd(acc[r][c], w01, qa[c]);
        dpbusd(acc[r][c], w23, qb[c]);
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c)
      a.c[(n + c) * a.ldc + m + r] = _mm512_reduce_add_epi32(acc[r][c]) - a.qsum[n + c];
}

using GemvFn = void (*)(const GemmArgs&, std::int64_t, std::uintptr_t);
using TileFn = void (*)(const GemmArgs&, std::int64_t, std::int64_t);

// The instantiated tiles: R in {1,2,3,4,5,6,8}, C in 1..8, R*C <= kMaxAcc (tiles.cpp checks the
// same set before a kernel runs; a null entry here is never reached).
template <int R, int C>
constexpr TileFn tile_fn() {
  if constexpr (R != 7 && R * C <= kMaxAcc)
    return &gemm_tile<R, C>;
  else
    return nullptr;
}
#define TRITBENCH_TILE_ROW(R)                                                                 \
  {                                                                                           \
    nullptr, tile_fn<R, 1>(), tile_fn<R, 2>(), tile_fn<R, 3>(), tile_fn<R, 4>(), tile_fn<R, 5>(), \
        tile_fn<R, 6>(), tile_fn<R, 7>(), tile_fn<R, 8>()                                     \
  }
constexpr TileFn kTiles[9][9] = {
    {},
    TRITBENCH_TILE_ROW(1),
    TRITBENCH_TILE_ROW(2),
    TRITBENCH_TILE_ROW(3),
    TRITBENCH_TILE_ROW(4),
    TRITBENCH_TILE_ROW(5),
    TRITBENCH_TILE_ROW(6),
    {},
    TRITBENCH_TILE_ROW(8),
};
#undef TRITBENCH_TILE_ROW
constexpr GemvFn kGemv[9] = {nullptr, gemv_rows<1>, gemv_rows<2>, gemv_rows<3>, gemv_rows<4>,
                             gemv_rows<5>, gemv_rows<6>, nullptr, gemv_rows<8>};

// Tiles over rows [mb, me) for tokens [n, n + C): full R-row tiles, then single rows.
inline void tile_rows(const GemmArgs& a, std::int64_t n, std::int64_t mb, std::int64_t me, int R,
                      TileFn f, TileFn f1) {
  std::int64_t m = mb;
  for (; m + R <= me; m += R) f(a, n, m);
  for (; m < me; ++m) f1(a, n, m);
}

}  // namespace

void gemm_avx512vnni(const GemmArgs& a) {
  const int R = a.row_block, C = a.col_block;
  if (a.N == 1) {
    const std::uintptr_t end = reinterpret_cast<std::uintptr_t>(a.w + a.m1 * a.ldw);
    prefetch_range(reinterpret_cast<std::uintptr_t>(a.w + a.m0 * a.ldw), end, kPrefetch);
    std::int64_t m = a.m0;
    for (; m + R <= a.m1; m += R) kGemv[R](a, m, end);
    for (; m < a.m1; ++m) gemv_rows<1>(a, m, end);
    return;
  }
  const std::int64_t n_full = a.N / C * C;
  const int n_tail = static_cast<int>(a.N - n_full);
  const TileFn full = kTiles[R][C], full1 = kTiles[1][C];
  const TileFn tail = kTiles[R][n_tail], tail1 = kTiles[1][n_tail];
  if (a.parallel == 1) {
    for (std::int64_t n = 0; n < n_full; n += C) tile_rows(a, n, a.m0, a.m1, R, full, full1);
    if (n_tail) tile_rows(a, n_full, a.m0, a.m1, R, tail, tail1);
    return;
  }
  for (std::int64_t mb = a.m0; mb < a.m1; mb += a.block_rows) {
    const std::int64_t me = mb + a.block_rows < a.m1 ? mb + a.block_rows : a.m1;
    for (std::int64_t n = 0; n < n_full; n += C) tile_rows(a, n, mb, me, R, full, full1);
    if (n_tail) tile_rows(a, n_full, mb, me, R, tail, tail1);
  }
}

}  // namespace tritbench::i2s
