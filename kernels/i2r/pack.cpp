#include <algorithm>
#include <stdexcept>
#include <string>

#include "kernels/i2r/format.h"
#include "kernels/i2r/i2r.h"

namespace tritbench::i2r {

namespace {

GemmArgs args_of(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                 std::int64_t m1, std::int32_t* c, std::int64_t ldc) {
  const std::int64_t br = w.tile.block_rows ? w.tile.block_rows : default_block_rows(w.Kp);
  return GemmArgs{w.data.data(), w.Kp, a.q, a.ldq, a.src->sum.data(), a.N, m0, m1, c, ldc, br,
                  w.tile.prefetch, gemv_streams(w.tile.streams)};
}

}  // namespace

void pack(const TernaryMatrix& w, const TileConfig&, PackedWeights& out) {
  if (w.K > kMaxK)
    throw std::invalid_argument("I2_R16: K = " + std::to_string(w.K) + " exceeds " +
                                std::to_string(kMaxK) +
                                " (the int32 bound of the masked-plane GEMV accumulators)");
  out.M = w.M;
  out.K = w.K;
  out.Mp = round_up(w.M, kQuadRows);
  out.Kp = round_up(w.K, kCols);
  out.ld = out.Kp * 16;  // bytes per quad of row groups
  out.scale = w.scale;
  out.data.resize(static_cast<std::size_t>(out.Mp * out.Kp / 4));
  std::uint8_t* d = out.data.data();
  // Padding rows hold code 1 (weight 0) in every plane: 0b01010101.
  std::fill(d + byte_of(w.M - w.M % kQuadRows, 0, out.Kp), d + out.data.size(), std::uint8_t{0x55});
  const auto code = [&](const std::int8_t* row, std::int64_t k) -> unsigned {
    return k < w.K ? encode(row[k]) : 1u;  // padding columns: weight 0
  };
  // Byte (m, tile column c, j) holds columns 16c + 4s + j, s = 0..3, in its bit pairs.
  for (std::int64_t m = 0; m < w.M; ++m) {
    const std::int8_t* row = w.w.data() + m * w.K;
    std::uint8_t* p = d + byte_of(m, 0, out.Kp);
    for (std::int64_t c = 0; c < out.Kp / kCols; ++c, p += 4 * kTileBytes)
      for (int j = 0; j < 4; ++j) {
        const std::int64_t k = c * kCols + j;
        p[j] = static_cast<std::uint8_t>(code(row, k) | code(row, k + 4) << 2 |
                                         code(row, k + 8) << 4 | code(row, k + 12) << 6);
      }
  }
}

TernaryMatrix unpack(const PackedWeights& p) {
  TernaryMatrix t;
  t.M = p.M;
  t.K = p.K;
  t.scale = p.scale;
  t.w.resize(static_cast<std::size_t>(p.M * p.K));
  const std::uint8_t* d = p.data.data();
  for (std::int64_t m = 0; m < p.M; ++m)
    for (std::int64_t k = 0; k < p.K; ++k)
      t.w[m * p.K + k] =
          static_cast<std::int8_t>(decode((d[byte_of(m, k, p.Kp)] >> shift_of(k)) & 3u));
  return t;
}

void prepare(const QuantizedBatch& a, const PackedWeights&, PreparedActivations& out) {
  // The quantized rows are zero-padded to kActPad >= Kp: read in place, 4 columns per broadcast.
  out.q = a.q.as<std::int8_t>();
  out.ldq = a.ldq;
}

void gemm_i32_scalar(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                     std::int64_t m1, std::int32_t* c, std::int64_t ldc) {
  gemm_scalar(args_of(w, a, m0, m1, c, ldc));
}

void gemm_i32_avx512vnni(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                         std::int64_t m1, std::int32_t* c, std::int64_t ldc) {
  gemm_avx512vnni(args_of(w, a, m0, m1, c, ldc));
}

}  // namespace tritbench::i2r
