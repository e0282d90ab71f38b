// I2_S, portable: decode each byte's four codes and multiply-add in int32.
#include "kernels/i2s/format.h"

namespace tritbench::i2s {

void gemm_scalar(const GemmArgs& a) {
  const std::int64_t nb = a.Kp / kBlock;
  for (std::int64_t n = 0; n < a.N; ++n) {
    const std::int8_t* q = a.q + n * a.ldq;
    for (std::int64_t m = a.m0; m < a.m1; ++m) {
      const std::uint8_t* w = a.w + m * a.ldw;
      std::int32_t acc = 0;  // sum code*q: |.| <= 2 * 128 * Kp, int32 for Kp < 2^22
      for (std::int64_t b = 0; b < nb; ++b) {
        const std::uint8_t* x = w + b * kBlockBytes;
        const std::int8_t* qb = q + b * kBlock;
        for (int p = 0; p < kBlockBytes; ++p) {
          acc += (x[p] >> 6) * qb[p] + ((x[p] >> 4) & 3) * qb[p + 32] +
                 ((x[p] >> 2) & 3) * qb[p + 64] + (x[p] & 3) * qb[p + 96];
        }
      }
      a.c[n * a.ldc + m] = acc - a.qsum[n];
    }
  }
}

}  // namespace tritbench::i2s
