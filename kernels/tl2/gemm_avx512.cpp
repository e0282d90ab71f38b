// TL2, AVX-512 (BW): per 64-row tile, one 64-byte load holds the indices of two triples for all
// rows; each triple's sign word is a __mmask64 that complements (masked -1 - x) the looked-up low
// and high bytes of the negative rows; unpack re-interleaves into int16, summed per block of
// triples and widened to int32 (rows in order) after it. Up to 4 tokens share the decoded indices.
#include <immintrin.h>

#include "kernels/tl2/format.h"

namespace tritbench::tl2 {

namespace {

inline void widen(__m512i a, __m512i b, __m512i acc[4]) {
  // [a.L0 b.L0 a.L1 b.L1] = int16 rows 0..31 in order, [a.L2 b.L2 a.L3 b.L3] = rows 32..63.
  const __m512i lo = _mm512_permutex2var_epi64(a, _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11), b);
  const __m512i hi = _mm512_permutex2var_epi64(a, _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15), b);
  acc[0] = _mm512_add_epi32(acc[0], _mm512_cvtepi16_epi32(_mm512_castsi512_si256(lo)));
  acc[1] = _mm512_add_epi32(acc[1], _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(lo, 1)));
  acc[2] = _mm512_add_epi32(acc[2], _mm512_cvtepi16_epi32(_mm512_castsi512_si256(hi)));
  acc[3] = _mm512_add_epi32(acc[3], _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(hi, 1)));
}

inline __m512i bcast(const std::uint8_t* p) {
  return _mm512_broadcast_i32x4(_mm_load_si128(reinterpret_cast<const __m128i*>(p)));
}

inline __mmask64 sign_mask(const std::uint8_t* p) {
  return _cvtu64_mask64(*reinterpret_cast<const std::uint64_t*>(p));
}

// Signed lookup: rows in `neg` get the complement ~e of their entry (both bytes).
inline void lookup(__m512i idx, __mmask64 neg, const std::uint8_t* table, __m512i& a, __m512i& b) {
  const __m512i ones = _mm512_set1_epi8(-1);
  __m512i lo = _mm512_shuffle_epi8(bcast(table), idx);
  __m512i hi = _mm512_shuffle_epi8(bcast(table + 16), idx);
  lo = _mm512_mask_sub_epi8(lo, neg, ones, lo);
  hi = _mm512_mask_sub_epi8(hi, neg, ones, hi);
  a = _mm512_add_epi16(a, _mm512_unpacklo_epi8(lo, hi));
  b = _mm512_add_epi16(b, _mm512_unpackhi_epi8(lo, hi));
}

template <int C>
void tile_tokens(const GemmArgs& g, const std::uint8_t* tile, std::int64_t n, bool prefetch,
                 std::int32_t* out) {
  const __m512i nib = _mm512_set1_epi8(0x0F);
  const std::int64_t groups = g.triples / kGroupTriples, block = g.block_triples / kGroupTriples;
  const std::uint8_t* lut = g.lut + n * g.ld_lut;
  __m512i acc[C][4];
  for (int j = 0; j < C; ++j)
    for (int i = 0; i < 4; ++i) acc[j][i] = _mm512_setzero_si512();
  for (std::int64_t g0 = 0; g0 < groups; g0 += block) {
    const std::int64_t g1 = g0 + block < groups ? g0 + block : groups;
    __m512i a[C], b[C];
    for (int j = 0; j < C; ++j) a[j] = b[j] = _mm512_setzero_si512();
    for (std::int64_t gi = g0; gi < g1; ++gi) {
      const std::uint8_t* grp = tile + gi * kGroupBytes;
      if (prefetch)
        for (int l = 0; l < kGroupBytes; l += 64)
          _mm_prefetch(reinterpret_cast<const char*>(grp + kPrefetchBytes + l), _MM_HINT_NTA);
      for (int c = 0; c < 4; ++c) {
        const __m512i x = _mm512_load_si512(grp + c * kChunkBytes);
        const __m512i i0 = _mm512_and_si512(x, nib);
        const __m512i i1 = _mm512_and_si512(_mm512_srli_epi16(x, 4), nib);
        const __mmask64 k0 = sign_mask(grp + 4 * kChunkBytes + 8 * (2 * c));
        const __mmask64 k1 = sign_mask(grp + 4 * kChunkBytes + 8 * (2 * c + 1));
        const std::int64_t t = gi * kGroupTriples + 2 * c;
        for (int j = 0; j < C; ++j) {
          const std::uint8_t* tab = lut + j * g.ld_lut + t * kTableBytes;
          lookup(i0, k0, tab, a[j], b[j]);
          lookup(i1, k1, tab + kTableBytes, a[j], b[j]);
        }
      }
    }
    for (int j = 0; j < C; ++j) widen(a[j], b[j], acc[j]);
  }
  if (g.has_pair) {
    // The TL1 remainder chunk: unsigned lookups in the two pair tables, its own int16 block.
    const __m512i x = _mm512_load_si512(tile + groups * kGroupBytes);
    const __m512i i0 = _mm512_and_si512(x, nib);
    const __m512i i1 = _mm512_and_si512(_mm512_srli_epi16(x, 4), nib);
    for (int j = 0; j < C; ++j) {
      const std::uint8_t* tab = lut + j * g.ld_lut + g.triples * kTableBytes;
      __m512i a = _mm512_setzero_si512(), b = _mm512_setzero_si512();
      lookup(i0, 0, tab, a, b);
      lookup(i1, 0, tab + kTableBytes, a, b);
      widen(a, b, acc[j]);
    }
  }
  for (int j = 0; j < C; ++j)
    for (int i = 0; i < 4; ++i) _mm512_store_si512(out + j * 64 + 16 * i, acc[j][i]);
}

}  // namespace

void build_tables_avx512(const std::int8_t* q, std::int64_t triples, std::uint8_t* out) {
  // Two tables per zmm (triple t in int16 lanes 0..15, t+1 in 16..31): sum_i coef_i * b_i.
  alignas(64) std::int16_t coef[3][32];
  for (int i = 0; i < 3; ++i)
    for (int e = 0; e < 32; ++e)
      coef[i][e] = static_cast<std::int16_t>(entry(e % 16, i == 0, i == 1, i == 2));
  const __m512i c0 = _mm512_load_si512(coef[0]), c1 = _mm512_load_si512(coef[1]),
                c2 = _mm512_load_si512(coef[2]);
  const __m512i split =
      _mm512_broadcast_i32x4(_mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15));
  const __m512i order = _mm512_setr_epi64(0, 2, 1, 3, 4, 6, 5, 7);
  const __m512i base = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(3), 1);
  const __m512i one = _mm512_set1_epi16(1);
  for (std::int64_t t = 0; t < triples; t += 10) {  // a window of 32 activations = 10 triples
    const __m512i a =
        _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 3 * t)));
    for (int j = 0; j < 10 && t + j < triples; j += 2) {
      const __m512i i0 = _mm512_add_epi16(base, _mm512_set1_epi16(static_cast<short>(3 * j)));
      const __m512i i1 = _mm512_add_epi16(i0, one), i2 = _mm512_add_epi16(i1, one);
      __m512i e = _mm512_mullo_epi16(_mm512_permutexvar_epi16(i0, a), c0);
      e = _mm512_add_epi16(e, _mm512_mullo_epi16(_mm512_permutexvar_epi16(i1, a), c1));
      e = _mm512_add_epi16(e, _mm512_mullo_epi16(_mm512_permutexvar_epi16(i2, a), c2));
      e = _mm512_permutexvar_epi64(order, _mm512_shuffle_epi8(e, split));
      _mm512_storeu_si512(out + (t + j) * kTableBytes, e);
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
          g.c[(n + j) * g.ldc + m + r] = out[j * 64 + r] + g.nneg[m + r];
      n += C;
    }
  }
}

}  // namespace tritbench::tl2
