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
  // Every code starts as 1 (weight 0): 0b01010101 per byte; then the real weights are placed.
  for (std::size_t i = 0; i < out.data.size(); ++i) d[i] = 0x55;
  for (std::int64_t m = 0; m < w.M; ++m)
    for (std::int64_t k = 0; k < w.K; ++k) {
      std::uint8_t& b = d[byte_of(m, k, out.Kp)];
      const int s = shift_of(k);
      b = static_cast<std::uint8_t>((b & ~(3u << s)) | (encode(w.at(m, k)) << s));
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
