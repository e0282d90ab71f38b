// Output-matrix GEMV, AVX-512 (F + BW + VL; F16 via vcvtph2ps zmm). The output matrix is the
// biggest single tensor read per generated token (657 MB F16 for 2B-4T), so this loop must stream
// at the machine's read bandwidth. It reads the interleaved layout OutputMatrix builds for it:
// groups of kGroup rows, and within a group, for each slice of 32 columns, the kGroup rows' slices
// one after another. The whole matrix is then one sequential stream, which the hardware prefetcher
// follows across pages; four row streams with software prefetch were 10-15% slower (measured side
// by side at 1 and 2 threads: 23.0 vs 26.4 GB/s and 44.9 vs 51.4 GB/s).
//
// Each row keeps two accumulators (columns 0-15 and 16-31 of every slice); the padding columns
// and rows are zero. Each row's arithmetic is independent of its group and thread, so logits do
// not depend on the thread count.
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

template <bool F16>
void groups(const std::uint8_t* w, std::int64_t cols, const float* h, std::int64_t rows, std::int64_t g0,
            std::int64_t g1, float* out) {
  constexpr std::int64_t kSlice = kOutputSlice * (F16 ? 2 : 4);  // bytes of one row's slice
  constexpr std::int64_t kHalf = kSlice / 2;
  const std::int64_t slices = (cols + kOutputSlice - 1) / kOutputSlice;
  const std::int64_t full = cols / kOutputSlice;
  const std::int64_t left = cols - full * kOutputSlice;  // h beyond cols is read as zero
  const __mmask16 m0 = left >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << left) - 1);
  const __mmask16 m1 = left <= 16 ? 0 : static_cast<__mmask16>((1u << (left - 16)) - 1);
  for (std::int64_t g = g0; g < g1; ++g) {
    const std::uint8_t* p = w + g * slices * kOutputGroup * kSlice;
    __m512 a[kOutputGroup][2];
    for (int j = 0; j < kOutputGroup; ++j) a[j][0] = a[j][1] = _mm512_setzero_ps();
    for (std::int64_t s = 0; s < slices; ++s, p += kOutputGroup * kSlice) {
      __m512 h0, h1;
      if (s < full) {
        h0 = _mm512_loadu_ps(h + s * kOutputSlice);
        h1 = _mm512_loadu_ps(h + s * kOutputSlice + 16);
      } else {
        h0 = _mm512_maskz_loadu_ps(m0, h + s * kOutputSlice);
        h1 = _mm512_maskz_loadu_ps(m1, h + s * kOutputSlice + 16);
      }
#pragma GCC unroll 8
      for (int j = 0; j < kOutputGroup; ++j) {
        a[j][0] = _mm512_fmadd_ps(load16<F16>(p + j * kSlice), h0, a[j][0]);
        a[j][1] = _mm512_fmadd_ps(load16<F16>(p + j * kSlice + kHalf), h1, a[j][1]);
      }
    }
    for (int j = 0; j < kOutputGroup; ++j) {
      const std::int64_t r = g * kOutputGroup + j;
      if (r < rows) out[r] = _mm512_reduce_add_ps(_mm512_add_ps(a[j][0], a[j][1]));
    }
  }
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
