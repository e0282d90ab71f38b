// Output-matrix GEMV for Q8_0, AVX-512 VNNI. Reads the layout models/output_layout.h gives Q8_0
// (groups of 16 rows, two blocks per chunk, quants stored plus 128): in each block, lanes are the
// group's rows, so eight vpdpbusd against eight broadcast dwords of the quantized hidden state give
// the 16 rows' integer dot products with no horizontal sum. Per row and block:
//     logit = fma(float(sum (q_w + 128) q_h - 128 sum q_h), d_w * d_h, logit)
// blocks in order, the first term exact in int32 (|sum| <= 32 * 255 * 127). The scalar loop in
// output.cpp does the same operations in the same order, so the two give the same bits.
//
// Like the F16 loop (output_avx512.cpp), each thread reads its groups as four streams (its groups
// cut into four consecutive parts, a group of each at a time; the leftover groups one at a time):
// streams far apart get more from DRAM per core than one on this machine.
//
// Measured (2B-4T's output matrix as Q8_0, 128256 x 2560, 349 MB; OutputMatrix::logits with this
// path, the AVX2 row loop and the F16 AVX-512 loop alternating in one process, 15 rounds of 4 calls,
// medians, three runs): 1 thread 23.8 / 26.7 / 23.6 -> 36.7 / 37.7 / 32.2 GB/s over the AVX2 loop
// (1.36-1.54x), 2 threads 34.8 / 48.8 / 47.2 -> 42.0 / 69.9 / 63.1 GB/s (1.21-1.43x): 5.0-5.5 ms
// per token where F16 took 10.7-12.5 in the same runs. End to end (2B-4T, i2r_4s, tg64, Q8_0
// output, old and new binaries alternating): 2 threads 1.09x (median of 8 pairs, 0.99-1.50x),
// 1 thread 0.97 / 1.10 / 1.21x.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "models/output_layout.h"

namespace tritbench::models {

namespace {

// Groups ga[0..G) together, one stream per group; every row's arithmetic is the same whichever
// groups run with it. hq: the hidden state's quants, 64 per chunk (zero past the last block);
// hd, hs: per block its scale and 128 * the sum of its quants.
template <int G>
void run_groups(const std::uint8_t* w, std::int64_t chunks, const std::int8_t* hq, const float* hd,
                const std::int32_t* hs, std::int64_t rows, const std::int64_t (&ga)[G],
                float* out) {
  const std::uint8_t* p[G];
  __m512 f[G];
  for (int i = 0; i < G; ++i) {
    p[i] = w + ga[i] * chunks * kQ8ChunkBytes;
    f[i] = _mm512_setzero_ps();
  }
  for (std::int64_t c = 0; c < chunks; ++c) {
    __m512i acc[2][G];
#pragma GCC unroll 2
    for (int t = 0; t < 2; ++t) {
      for (int i = 0; i < G; ++i) acc[t][i] = _mm512_setzero_si512();
      const std::int8_t* x = hq + (2 * c + t) * 32;
#pragma GCC unroll 8
      for (int k = 0; k < 8; ++k) {
        std::int32_t four;
        std::memcpy(&four, x + 4 * k, 4);
        const __m512i b = _mm512_set1_epi32(four);
#pragma GCC unroll 4
        for (int i = 0; i < G; ++i)
          acc[t][i] = _mm512_dpbusd_epi32(
              acc[t][i],
              _mm512_load_si512(reinterpret_cast<const void*>(p[i] + t * kQ8BlockBytes + 64 * k)),
              b);
      }
    }
#pragma GCC unroll 2
    for (int t = 0; t < 2; ++t) {
      const __m512i corr = _mm512_set1_epi32(hs[2 * c + t]);
      const __m512 dh = _mm512_set1_ps(hd[2 * c + t]);
#pragma GCC unroll 4
      for (int i = 0; i < G; ++i) {
        const __m512 dw = _mm512_cvtph_ps(_mm256_load_si256(
            reinterpret_cast<const __m256i*>(p[i] + 2 * kQ8BlockBytes + t * kQ8Group * 2)));
        const __m512 dot = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[t][i], corr));
        f[i] = _mm512_fmadd_ps(dot, _mm512_mul_ps(dw, dh), f[i]);
      }
    }
    for (int i = 0; i < G; ++i) p[i] += kQ8ChunkBytes;
  }
  for (int i = 0; i < G; ++i) {
    const std::int64_t r = ga[i] * kQ8Group, valid = rows - r;
    const __mmask16 k = valid >= kQ8Group ? __mmask16(0xFFFF) : __mmask16((1u << valid) - 1);
    _mm512_mask_storeu_ps(out + r, k, f[i]);
  }
}

}  // namespace

// Groups [g0, g1) of kQ8Group rows as four streams (for_groups_as_four_streams).
void out_groups_q8_0_avx512vnni(const std::uint8_t* w, std::int64_t cols, const std::int8_t* hq,
                                const float* hd, const std::int32_t* hs, std::int64_t rows,
                                std::int64_t g0, std::int64_t g1, float* out) {
  const std::int64_t chunks = q8_chunks(cols);
  for_groups_as_four_streams(
      g0, g1,
      [&](std::int64_t a, std::int64_t b, std::int64_t c, std::int64_t d) {
        const std::int64_t four[4] = {a, b, c, d};
        run_groups<4>(w, chunks, hq, hd, hs, rows, four, out);
      },
      [&](std::int64_t g) {
        const std::int64_t one[1] = {g};
        run_groups<1>(w, chunks, hq, hd, hs, rows, one, out);
      });
}

}  // namespace tritbench::models
