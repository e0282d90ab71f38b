// I2_R16, portable: walk each row's tiles, decode codes, multiply-add in int32.
#include "kernels/i2r/format.h"

namespace tritbench::i2r {

void gemm_scalar(const GemmArgs& a) {
  const std::int64_t nt = a.Kp / kCols;
  for (std::int64_t n = 0; n < a.N; ++n) {
    const std::int8_t* q = a.q + n * a.ldq;
    for (std::int64_t m = a.m0; m < a.m1; ++m) {
      const std::uint8_t* row = a.w + (m / kRows) * (a.Kp * 4) + 4 * (m % kRows);
      std::int32_t acc = 0;  // |sum code*q| <= 2 * 128 * Kp < 2^31
      for (std::int64_t t = 0; t < nt; ++t) {
        const std::uint8_t* b = row + t * kTileBytes;
        const std::int8_t* qt = q + t * kCols;
        for (int s = 0; s < 4; ++s)
          for (int j = 0; j < 4; ++j) acc += ((b[j] >> (2 * s)) & 3) * qt[4 * s + j];
      }
      a.c[n * a.ldc + m] = acc - a.qsum[n];
    }
  }
}

}  // namespace tritbench::i2r
