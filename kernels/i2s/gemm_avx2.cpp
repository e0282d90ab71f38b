// I2_S, AVX2. A 32-byte block is split into its four planes by shift and mask; each plane (32 codes
// 0..2) meets 32 consecutive activations in maddubs (u8 x s8 -> pairs summed into int16).
// Exactness: a maddubs pair is at most 2*2*128 = 512 in magnitude and the four planes' sum at most
// 2048, far from int16 saturation; that sum is widened with madd(., 1) into int32 every block, so
// there is no int16 accumulator that can overflow (unlike bitnet.cpp, which widens every 32 blocks).
//
// Micro-tile of R weight rows x C tokens (R*C <= 8 int32 accumulators: with the four planes, the
// int16 sum, the constants and the loaded block that fills the 16 ymm registers). Each row's
// planes are decoded once per block and meet all C tokens. Loop orders as in gemm_avx512vnni.cpp:
// activation-parallel (a block of `block_rows` rows stays in L1 while all tokens pass) or
// weight-parallel (C tokens stay in L1 while all rows stream past). `#pragma GCC unroll` keeps the
// accumulator array in registers (see gemm_avx512vnni.cpp).
#include <immintrin.h>

#include "kernels/i2s/format.h"

namespace tritbench::i2s {

namespace {

constexpr int kMaxAcc = 8;

inline std::int32_t hsum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

// One token (GEMV, weights streamed from DRAM): the rows [m0, m1) are prefetched linearly 8 KiB
// ahead, as in gemm_avx512vnni.cpp (addresses as integers: the look-ahead may pass the end).
constexpr std::int64_t kPrefetch = 8192;

template <int R, int C, bool kStream = false>
void gemm_tile(const GemmArgs& a, std::int64_t n, std::int64_t m) {
  const std::int64_t nb = a.Kp / kBlock;
  const std::uintptr_t pf = reinterpret_cast<std::uintptr_t>(a.w + m * a.ldw) + kPrefetch;
  const std::uintptr_t end = reinterpret_cast<std::uintptr_t>(a.w + a.m1 * a.ldw);
  const __m256i mask = _mm256_set1_epi8(3);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i acc[R][C];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_si256();
  const std::uint8_t* w = a.w + m * a.ldw;
  const std::int8_t* q = a.q + n * a.ldq;
  for (std::int64_t b = 0; b < nb; ++b) {
    if constexpr (kStream) {
#pragma GCC unroll 8
      for (int i = 0; i < R * kBlockBytes; i += 64) {
        const std::uintptr_t p = pf + static_cast<std::uintptr_t>(b * R * kBlockBytes + i);
        if (p < end) _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0);
      }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256i x = _mm256_load_si256(reinterpret_cast<const __m256i*>(w + r * a.ldw + b * kBlockBytes));
      const __m256i p0 = _mm256_and_si256(_mm256_srli_epi16(x, 6), mask);
      const __m256i p1 = _mm256_and_si256(_mm256_srli_epi16(x, 4), mask);
      const __m256i p2 = _mm256_and_si256(_mm256_srli_epi16(x, 2), mask);
      const __m256i p3 = _mm256_and_si256(x, mask);
#pragma GCC unroll 8
      for (int c = 0; c < C; ++c) {
        const __m256i* qb = reinterpret_cast<const __m256i*>(q + c * a.ldq + b * kBlock);
        __m256i s = _mm256_maddubs_epi16(p0, _mm256_loadu_si256(qb + 0));
        s = _mm256_add_epi16(s, _mm256_maddubs_epi16(p1, _mm256_loadu_si256(qb + 1)));
        s = _mm256_add_epi16(s, _mm256_maddubs_epi16(p2, _mm256_loadu_si256(qb + 2)));
        s = _mm256_add_epi16(s, _mm256_maddubs_epi16(p3, _mm256_loadu_si256(qb + 3)));
        acc[r][c] = _mm256_add_epi32(acc[r][c], _mm256_madd_epi16(s, ones));
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) a.c[(n + c) * a.ldc + m + r] = hsum(acc[r][c]) - a.qsum[n + c];
}

using TileFn = void (*)(const GemmArgs&, std::int64_t, std::int64_t);

// The instantiated tiles: R in {1,2,4,8}, C in 1..8, R*C <= kMaxAcc (tiles.cpp checks the same set).
template <int R, int C>
constexpr TileFn tile_fn() {
  if constexpr (R * C <= kMaxAcc)
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
    {}, TRITBENCH_TILE_ROW(1), TRITBENCH_TILE_ROW(2), {}, TRITBENCH_TILE_ROW(4), {}, {}, {},
    TRITBENCH_TILE_ROW(8),
};
#undef TRITBENCH_TILE_ROW
constexpr TileFn kStreamTiles[9] = {nullptr, gemm_tile<1, 1, true>, gemm_tile<2, 1, true>, nullptr,
                                    gemm_tile<4, 1, true>, nullptr, nullptr, nullptr, gemm_tile<8, 1, true>};

inline void tile_rows(const GemmArgs& a, std::int64_t n, std::int64_t mb, std::int64_t me, int R,
                      TileFn f, TileFn f1) {
  std::int64_t m = mb;
  for (; m + R <= me; m += R) f(a, n, m);
  for (; m < me; ++m) f1(a, n, m);
}

}  // namespace

void gemm_avx2(const GemmArgs& a) {
  const int R = a.row_block, C = a.col_block;
  if (a.N == 1) {
    for (std::int64_t p = 0; p < kPrefetch && a.m0 * a.ldw + p < a.m1 * a.ldw; p += 64)
      _mm_prefetch(reinterpret_cast<const char*>(a.w + a.m0 * a.ldw + p), _MM_HINT_T0);
    tile_rows(a, 0, a.m0, a.m1, R, kStreamTiles[R], kStreamTiles[1]);
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
