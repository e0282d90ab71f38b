#pragma once
// The one epilogue every exact kernel's integers go through (DESIGN.md section 1):
//   y = (float)acc / s_act * w_scale
// bitnet.cpp computes ((float)sum((t+1)*q) - (float)sum(q)) / s * w_scale; for K < 66000 both integers
// are below 2^24, so both forms give the same float. Keeping a single definition is what makes every
// exact kernel produce bit-identical floats. The expression has no a*b+c, so FMA contraction cannot
// change it under any ISA flags.

#include <cstdint>

namespace tritbench::reference {

inline float epilogue(std::int32_t acc, float act_scale, float w_scale) {
  return static_cast<float>(acc) / act_scale * w_scale;
}

// y[i] = epilogue(c[i], act_scale, w_scale) for i < count: the portable loop and its AVX-512
// twin (reference/epilogue_avx512.cpp; only where isa_runnable(Isa::kAvx512)), the same floats.
void epilogue_row_scalar(const std::int32_t* c, std::int64_t count, float act_scale, float w_scale,
                         float* y);
void epilogue_row_avx512(const std::int32_t* c, std::int64_t count, float act_scale, float w_scale,
                         float* y);

// y[n*ldy + m] = epilogue(c[n*ldc + m], act_scale[n], w_scale) for n < N, m in [m0, m1), by the
// best of the two row loops this CPU runs.
void epilogue_rows(const std::int32_t* c, std::int64_t ldc, const float* act_scale, float w_scale,
                   std::int64_t N, std::int64_t m0, std::int64_t m1, float* y, std::int64_t ldy);

}  // namespace tritbench::reference
