// I2_R16, portable: each row's codes are decoded once into column order, then dotted with every
// token's activations in int32.
#include <vector>

#include "kernels/i2r/format.h"

namespace tritbench::i2r {

void gemm_scalar(const GemmArgs& a) {
  std::vector<std::uint8_t> code(static_cast<std::size_t>(a.Kp));
  for (std::int64_t m = a.m0; m < a.m1; ++m) {
    for (std::int64_t k = 0; k < a.Kp; ++k) code[k] = (a.w[byte_of(m, k, a.Kp)] >> shift_of(k)) & 3;
    for (std::int64_t n = 0; n < a.N; ++n) {
      const std::int8_t* q = a.q + n * a.ldq;
      std::int32_t acc = 0;  // |sum code*q| <= 2 * 128 * Kp < 2^31
      for (std::int64_t k = 0; k < a.Kp; ++k) acc += code[k] * q[k];
      a.c[n * a.ldc + m] = acc - a.qsum[n];
    }
  }
}

}  // namespace tritbench::i2r
