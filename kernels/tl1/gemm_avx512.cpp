// TL1, AVX-512 (BW): one 64-byte load is the index vector of 64 rows for two pairs; each pair's
// low/high byte tables are broadcast to the four 128-bit lanes and looked up with vpshufb; unpack
// re-interleaves the bytes into int16 (rows 0-7 | 16-23 | 32-39 | 48-55 from unpacklo, the other
// rows from unpackhi), summed in int16 over a block and widened to int32 after it. The weights of
// a tile are decoded once per pair and shared by up to 4 tokens.
#include <immintrin.h>

#include "kernels/tl1/format.h"

namespace tritbench::tl1 {

namespace {

// Adds the block sums (unpacklo / unpackhi order) into the int32 rows 0..63 of acc.
inline void widen(__m512i a, __m512i b, __m512i acc[4]) {
  // [a.L0 b.L0 a.L1 b.L1] = int16 rows 0..31 in order, [a.L2 b.L2 a.L3 b.L3] = rows 32..63.
  const __m512i lo = _mm512_permutex2var_epi64(a, _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11), b);
  const __m512i hi = _mm512_permutex2var_epi64(a, _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15), b);
  acc[0] = _mm512_add_epi32(acc[0], _mm512_cvtepi16_epi32(_mm512_castsi512_si256(lo)));
  acc[1] = _mm512_add_epi32(acc[1], _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(lo, 1)));
  acc[2] = _mm512_add_epi32(acc[2], _mm512_cvtepi16_epi32(_mm512_castsi512_si256(hi)));
  acc[3] = _mm512_add_epi32(acc[3], _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(hi, 1)));
}

inline void lookup(__m512i idx, const std::uint8_t* table, __m512i& a, __m512i& b) {
  const __m512i tlo =
      _mm512_broadcast_i32x4(_mm_load_si128(reinterpret_cast<const __m128i*>(table)));
  const __m512i thi =
      _mm512_broadcast_i32x4(_mm_load_si128(reinterpret_cast<const __m128i*>(table + 16)));
  const __m512i lo = _mm512_shuffle_epi8(tlo, idx), hi = _mm512_shuffle_epi8(thi, idx);
  a = _mm512_add_epi16(a, _mm512_unpacklo_epi8(lo, hi));
  b = _mm512_add_epi16(b, _mm512_unpackhi_epi8(lo, hi));
}

// One 64-row tile against C tokens starting at n: out[j * 64 + r] = row r's sum for token n + j.
template <int C>
void tile_tokens(const GemmArgs& g, const std::uint8_t* tile, std::int64_t n, bool prefetch,
                 std::int32_t* out) {
  const __m512i nib = _mm512_set1_epi8(0x0F);
  __m512i acc[C][4];
  for (int j = 0; j < C; ++j)
    for (int i = 0; i < 4; ++i) acc[j][i] = _mm512_setzero_si512();
  const std::uint8_t* lut = g.lut + n * g.ld_lut;
  for (std::int64_t p0 = 0; p0 < g.pairs; p0 += g.block_pairs) {
    const std::int64_t p1 = p0 + g.block_pairs < g.pairs ? p0 + g.block_pairs : g.pairs;
    __m512i a[C], b[C];
    for (int j = 0; j < C; ++j) a[j] = b[j] = _mm512_setzero_si512();
    for (std::int64_t p = p0; p < p1; p += 2) {
      const std::uint8_t* chunk = tile + (p / 2) * kChunkBytes;
      if (prefetch)
        _mm_prefetch(reinterpret_cast<const char*>(chunk + kPrefetchBytes), _MM_HINT_NTA);
      const __m512i x = _mm512_load_si512(chunk);
      const __m512i i0 = _mm512_and_si512(x, nib);
      const __m512i i1 = _mm512_and_si512(_mm512_srli_epi16(x, 4), nib);
      for (int j = 0; j < C; ++j) {
        const std::uint8_t* t = lut + j * g.ld_lut + p * kTableBytes;
        lookup(i0, t, a[j], b[j]);
        lookup(i1, t + kTableBytes, a[j], b[j]);
      }
    }
    for (int j = 0; j < C; ++j) widen(a[j], b[j], acc[j]);
  }
  for (int j = 0; j < C; ++j)
    for (int i = 0; i < 4; ++i) _mm512_store_si512(out + j * 64 + 16 * i, acc[j][i]);
}

}  // namespace

void build_tables_avx512(const std::int8_t* q, std::int64_t pairs, std::uint8_t* out) {
  // Two tables per zmm: entries 0..15 of pair p in int16 lanes 0..15, of pair p+1 in 16..31.
  alignas(64) std::int16_t c0[32], c1[32];
  for (int i = 0; i < 32; ++i) {
    c0[i] = static_cast<std::int16_t>(entry(static_cast<unsigned>(i % 16), 1, 0));
    c1[i] = static_cast<std::int16_t>(entry(static_cast<unsigned>(i % 16), 0, 1));
  }
  const __m512i w0 = _mm512_load_si512(c0), w1 = _mm512_load_si512(c1);
  // Per 128-bit lane: the low bytes of its 8 entries, then the high bytes; then qwords reordered
  // so each table reads [16 low bytes][16 high bytes].
  const __m512i split =
      _mm512_broadcast_i32x4(_mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15));
  const __m512i order = _mm512_setr_epi64(0, 2, 1, 3, 4, 6, 5, 7);
  const __m512i base = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
  for (std::int64_t p = 0; p < pairs; p += 16) {
    const __m512i a =
        _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 2 * p)));
    for (int j = 0; j < 16 && p + j < pairs; j += 2) {
      const __m512i i0 = _mm512_add_epi16(base, _mm512_set1_epi16(static_cast<short>(2 * j)));
      const __m512i b0 = _mm512_permutexvar_epi16(i0, a);
      const __m512i b1 = _mm512_permutexvar_epi16(_mm512_add_epi16(i0, _mm512_set1_epi16(1)), a);
      __m512i t = _mm512_add_epi16(_mm512_mullo_epi16(b0, w0), _mm512_mullo_epi16(b1, w1));
      t = _mm512_permutexvar_epi64(order, _mm512_shuffle_epi8(t, split));
      _mm512_store_si512(out + (p + j) * kTableBytes, t);
    }
  }
}

void gemm_avx512(const GemmArgs& g) {
  alignas(64) std::int32_t out[4 * 64];
  for (std::int64_t m = g.m0; m < g.m1; m += kTileRows) {
    const std::uint8_t* tile = g.w + (m / kTileRows) * g.tile_bytes;
    const std::int64_t rows = g.m1 - m < kTileRows ? g.m1 - m : kTileRows;
    // Later passes over a tile find it in L2, where a non-temporal prefetch would not leave it.
    const bool prefetch = g.N == 1 || g.N == g.col_block;
    for (std::int64_t n = 0; n < g.N;) {
      const int C = g.N - n >= g.col_block ? g.col_block : 1;
      switch (C) {
        case 4:
          tile_tokens<4>(g, tile, n, prefetch, out);
          break;
        case 2:
          tile_tokens<2>(g, tile, n, prefetch, out);
          break;
        default:
          tile_tokens<1>(g, tile, n, prefetch, out);
          break;
      }
      for (int j = 0; j < C; ++j)
        for (std::int64_t r = 0; r < rows; ++r)
          g.c[(n + j) * g.ldc + m + r] = out[j * 64 + r];
      n += C;
    }
  }
}

}  // namespace tritbench::tl1
