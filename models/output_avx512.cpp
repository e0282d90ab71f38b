// Output-matrix GEMV, AVX-512 (F + BW + VL; F16 via vcvtph2ps zmm). The output matrix is the
// biggest single tensor read per generated token (657 MB F16 for 2B-4T), so this loop must stream
// at the machine's read bandwidth. It reads the interleaved layout OutputMatrix builds for it:
// groups of kGroup rows, and within a group, for each slice of 32 columns, the kGroup rows' slices
// one after another, so a run of groups is one sequential stream, which the hardware prefetcher
// follows across pages; the row-major matrix read four rows at a time (four streams 5 KB long,
// one per row) with software prefetch was 10-15% slower (measured side by side at 1 and 2
// threads: 23.0 vs 26.4 GB/s and 44.9 vs 51.4 GB/s). Long runs of groups read from four places
// at once are another matter (below).
//
// Each thread reads its groups as four such streams: its groups cut into four consecutive parts,
// a group of each at a time. Streams far apart get more from DRAM per core than one on this
// machine (roofline.h). Two streams (halves) were 1.04-1.12x over one: 2B-4T F16 output matrix,
// OutputMatrix::logits alternating in one process, 15 rounds each, 1 thread 23.7 -> 26.6 GB/s,
// 2 threads 50.8 -> 53.2 and 58.7 -> 60.8. Four are 1.11-1.25x over two: this loop with G = 1, 2
// and 4 alternating in one process, 15 rounds each, medians, 2 threads 51.3 -> 64.1, 50.9 ->
// 62.3, 50.9 -> 56.8, 51.1 -> 62.1 GB/s, 1 thread 23.1 -> 28.3, 30.1 -> 34.3, 29.4 -> 32.7 GB/s
// (a plain four-stream read of the same bytes: 67-75 GB/s at 2 threads); F32, one run, 62.8 ->
// 67.3 at 2 threads, 29.7 -> 31.9 at 1. Four groups of four rows need 32 accumulators: GCC keeps
// three of them on the stack, which costs nothing next to the loads. End to end (2B-4T, tg32, 2
// threads, old and new binaries alternating four times, timers around each step of
// Transformer::forward that were not kept): the output GEMV took 12.6 -> 11.0 ms per token
// (medians; faster in 3 of 4 pairs: DRAM's phase moves a single pair by more than the change).
//
// Each row keeps two accumulators (columns 0-15 and 16-31 of every slice); the padding columns
// and rows are zero. Each row's arithmetic is independent of its group, its stream partner and its
// thread, so logits do not depend on the thread count.
#include <immintrin.h>

#include <cstdint>

#include "models/output_layout.h"

namespace tritbench::models {

namespace {

template <bool F16>
inline __m512 load16(const std::uint8_t* p) {
  if constexpr (F16) {
    return _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(p)));
  } else {
    return _mm512_load_ps(reinterpret_cast<const float*>(p));
  }
}

// Groups ga[0..G) computed together, one stream per group (G = 1, 2 or 4): every row's arithmetic
// is the same whichever groups run with it.
template <bool F16, int G>
void run_groups(const std::uint8_t* w, std::int64_t cols, const float* h, std::int64_t rows,
                const std::int64_t (&ga)[G], float* out) {
  constexpr std::int64_t kSlice = kOutputSlice * (F16 ? 2 : 4);  // bytes of one row's slice
  constexpr std::int64_t kHalf = kSlice / 2;
  const std::int64_t slices = (cols + kOutputSlice - 1) / kOutputSlice;
  const std::int64_t full = cols / kOutputSlice;
  const std::int64_t left = cols - full * kOutputSlice;  // h beyond cols is read as zero
  const __mmask16 m0 = left >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << left) - 1);
  const __mmask16 m1 = left <= 16 ? 0 : static_cast<__mmask16>((1u << (left - 16)) - 1);
  const std::uint8_t* p[G];
  __m512 a[G][kOutputGroup][2];
  for (int i = 0; i < G; ++i) {
    p[i] = w + ga[i] * slices * kOutputGroup * kSlice;
    for (int j = 0; j < kOutputGroup; ++j) a[i][j][0] = a[i][j][1] = _mm512_setzero_ps();
  }
  for (std::int64_t s = 0; s < slices; ++s) {
    __m512 h0, h1;
    if (s < full) {
      h0 = _mm512_loadu_ps(h + s * kOutputSlice);
      h1 = _mm512_loadu_ps(h + s * kOutputSlice + 16);
    } else {
      h0 = _mm512_maskz_loadu_ps(m0, h + s * kOutputSlice);
      h1 = _mm512_maskz_loadu_ps(m1, h + s * kOutputSlice + 16);
    }
#pragma GCC unroll 4
    for (int i = 0; i < G; ++i) {
#pragma GCC unroll 8
      for (int j = 0; j < kOutputGroup; ++j) {
        a[i][j][0] = _mm512_fmadd_ps(load16<F16>(p[i] + j * kSlice), h0, a[i][j][0]);
        a[i][j][1] = _mm512_fmadd_ps(load16<F16>(p[i] + j * kSlice + kHalf), h1, a[i][j][1]);
      }
      p[i] += kOutputGroup * kSlice;
    }
  }
  for (int i = 0; i < G; ++i)
    for (int j = 0; j < kOutputGroup; ++j) {
      const std::int64_t r = ga[i] * kOutputGroup + j;
      if (r < rows) out[r] = _mm512_reduce_add_ps(_mm512_add_ps(a[i][j][0], a[i][j][1]));
    }
}

// Groups [g0, g1) as four streams (for_groups_as_four_streams, models/output_layout.h).
template <bool F16>
void groups(const std::uint8_t* w, std::int64_t cols, const float* h, std::int64_t rows, std::int64_t g0,
            std::int64_t g1, float* out) {
  for_groups_as_four_streams(
      g0, g1,
      [&](std::int64_t a, std::int64_t b, std::int64_t c, std::int64_t d) {
        const std::int64_t four[4] = {a, b, c, d};
        run_groups<F16, 4>(w, cols, h, rows, four, out);
      },
      [&](std::int64_t g) {
        const std::int64_t one[1] = {g};
        run_groups<F16, 1>(w, cols, h, rows, one, out);
      });
}

}  // namespace

void out_groups_f16_avx512(const std::uint8_t* w, std::int64_t cols, const float* h, std::int64_t rows,
                           std::int64_t g0, std::int64_t g1, float* out) {
  groups<true>(w, cols, h, rows, g0, g1, out);
}

void out_groups_f32_avx512(const std::uint8_t* w, std::int64_t cols, const float* h, std::int64_t rows,
                           std::int64_t g0, std::int64_t g1, float* out) {
  groups<false>(w, cols, h, rows, g0, g1, out);
}

}  // namespace tritbench::models
