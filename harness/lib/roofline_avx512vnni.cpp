// Roofline measurement kernel, AVX-512 VNNI: the vpdpbusd zmm peak. 12 independent accumulators
// cover the instruction's latency (4-5 cycles) at up to two issues per cycle.
#include <immintrin.h>

#include "harness/lib/roofline_kernels.h"

namespace tritbench::roofline {

namespace {
// Lane sum as unsigned 64-bit: the measurement loops wrap their lanes, and GCC's
// _mm512_reduce_add_* sums them in signed scalar arithmetic (undefined on overflow).
inline std::uint64_t lane_sum(__m512i v) {
  alignas(64) std::uint64_t w[8];
  _mm512_store_si512(w, v);
  return w[0] + w[1] + w[2] + w[3] + w[4] + w[5] + w[6] + w[7];
}
// GCC 12 surrounds the destructive vpdpbusd builtin with register copies; an asm with a tied
// operand measures the instruction alone.
inline void dpbusd(__m512i& acc, __m512i a, __m512i b) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
}
}  // namespace

std::int64_t peak_avx512vnni(std::int64_t iters) {
  __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-5);
  asm volatile("" : "+v"(a), "+v"(b));
  __m512i c0 = _mm512_setzero_si512(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0,
          c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
  for (std::int64_t i = 0; i < iters; ++i) {
    dpbusd(c0, a, b), dpbusd(c1, a, b), dpbusd(c2, a, b), dpbusd(c3, a, b);
    dpbusd(c4, a, b), dpbusd(c5, a, b), dpbusd(c6, a, b), dpbusd(c7, a, b);
    dpbusd(c8, a, b), dpbusd(c9, a, b), dpbusd(c10, a, b), dpbusd(c11, a, b);
  }
  c0 = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(c0, c1), _mm512_add_epi32(c2, c3)),
                        _mm512_add_epi32(_mm512_add_epi32(c4, c5), _mm512_add_epi32(c6, c7)));
  c0 = _mm512_add_epi32(c0, _mm512_add_epi32(_mm512_add_epi32(c8, c9), _mm512_add_epi32(c10, c11)));
  return static_cast<std::int64_t>(lane_sum(c0));
}

}  // namespace tritbench::roofline
