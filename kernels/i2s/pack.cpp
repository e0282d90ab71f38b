#include <cmath>
#include <cstring>
#include <stdexcept>

#include "kernels/i2s/format.h"
#include "kernels/i2s/i2s.h"

namespace tritbench::i2s {

void encode_blocks(const std::int8_t* t, std::int64_t n, std::uint8_t* dst) {
  for (std::int64_t b = 0; b < n / kBlock; ++b) {
    const std::int8_t* src = t + b * kBlock;
    for (int p = 0; p < kBlockBytes; ++p)
      dst[b * kBlockBytes + p] = static_cast<std::uint8_t>(
          (encode(src[p]) << 6) | (encode(src[p + 32]) << 4) | (encode(src[p + 64]) << 2) |
          encode(src[p + 96]));
  }
}

namespace {

// Weight i of a flattened block stream.
inline std::uint8_t code_at(const std::uint8_t* data, std::int64_t i) {
  const std::int64_t b = i / kBlock, r = i % kBlock;
  return (data[b * kBlockBytes + (r % 32)] >> (6 - 2 * (r / 32))) & 3;
}

// The kernel arguments with the tile resolved for this batch (tiles.cpp; the scalar kernel reads
// no tile fields). Resolving per call is a few integer operations.
GemmArgs args_of(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                 std::int64_t m1, std::int32_t* c, std::int64_t ldc, const TileSpace* space) {
  const TileConfig t = space ? space->effective(w.tile, w.M, w.K, a.N) : TileConfig{1, 1, 0, 0, 1};
  return GemmArgs{w.data.data(), w.ld, w.Kp, a.q, a.ldq, a.src->sum.data(), a.N, m0, m1, c, ldc,
                  t.row_block, t.col_block, t.block_rows, t.parallel};
}

}  // namespace

// The packed layout does not depend on the tile (the tile only shapes the GEMM loops), so every
// I2_S row packs the same bytes: the GGUF tensor's when K % 128 == 0.
void pack(const TernaryMatrix& w, const TileConfig&, PackedWeights& out) {
  out.M = out.Mp = w.M;
  out.K = w.K;
  out.Kp = round_up(w.K, kBlock);
  out.ld = out.Kp / 4;
  out.scale = w.scale;
  out.data.resize(static_cast<std::size_t>(out.M * out.ld));
  std::vector<std::int8_t> row(static_cast<std::size_t>(out.Kp), 0);
  for (std::int64_t m = 0; m < w.M; ++m) {
    std::memcpy(row.data(), w.w.data() + m * w.K, static_cast<std::size_t>(w.K));
    encode_blocks(row.data(), out.Kp, out.data.data() + m * out.ld);
  }
}

TernaryMatrix unpack(const PackedWeights& p) {
  TernaryMatrix t;
  t.M = p.M;
  t.K = p.K;
  t.scale = p.scale;
  t.w.resize(static_cast<std::size_t>(p.M * p.K));
  for (std::int64_t m = 0; m < p.M; ++m)
    for (std::int64_t k = 0; k < p.K; ++k)
      t.w[m * p.K + k] = static_cast<std::int8_t>(decode(code_at(p.data.data() + m * p.ld, k)));
  return t;
}

void prepare(const QuantizedBatch& a, const PackedWeights&, PreparedActivations& out) {
  // The quantized rows are already zero-padded to kActPad >= Kp: read them in place.
  out.q = a.q.as<std::int8_t>();
  out.ldq = a.ldq;
}

void gemm_i32_scalar(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                     std::int64_t m1, std::int32_t* c, std::int64_t ldc) {
  gemm_scalar(args_of(w, a, m0, m1, c, ldc, nullptr));
}
void gemm_i32_avx2(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                   std::int64_t m1, std::int32_t* c, std::int64_t ldc) {
  gemm_avx2(args_of(w, a, m0, m1, c, ldc, &kTilesAvx2));
}
void gemm_i32_avx512vnni(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                         std::int64_t m1, std::int32_t* c, std::int64_t ldc) {
  gemm_avx512vnni(args_of(w, a, m0, m1, c, ldc, &kTilesAvx512Vnni));
}

std::uint64_t file_bytes(std::int64_t M, std::int64_t K) {
  return static_cast<std::uint64_t>(M) * static_cast<std::uint64_t>(K) / 4 + kTrailerBytes;
}

std::vector<std::uint8_t> encode_file(const TernaryMatrix& w) {
  const std::int64_t n = w.M * w.K;
  if (n % kBlock != 0)
    throw std::invalid_argument("I2_S file tensor: M*K = " + std::to_string(n) +
                                " is not a multiple of 128 (the layout has no partial blocks)");
  std::vector<std::uint8_t> out(file_bytes(w.M, w.K), 0);
  encode_blocks(w.w.data(), n, out.data());
  std::memcpy(out.data() + n / 4, &w.scale, sizeof(float));
  return out;
}

TernaryMatrix decode_file(const std::uint8_t* data, std::uint64_t size, std::int64_t M,
                          std::int64_t K, const std::string& what) {
  if (M <= 0 || K <= 0 || (M * K) % kBlock != 0)
    throw std::invalid_argument(what + ": I2_S shape " + std::to_string(M) + "x" +
                                std::to_string(K) +
                                " is invalid (M*K must be a positive multiple of 128)");
  if (size != file_bytes(M, K))
    throw std::invalid_argument(what + ": I2_S tensor has " + std::to_string(size) +
                                " bytes, expected M*K/4 + 32 = " + std::to_string(file_bytes(M, K)));
  TernaryMatrix t;
  t.M = M;
  t.K = K;
  const std::int64_t n = M * K;
  t.w.resize(static_cast<std::size_t>(n));
  for (std::int64_t b = 0; b < n / kBlock; ++b) {
    const std::uint8_t* src = data + b * kBlockBytes;
    std::int8_t* dst = t.w.data() + b * kBlock;
    // A byte holds code 3 in some field iff both bits of that field are set. The whole block is
    // checked first so that the four plane loops below are branch-free and vectorize (GGUF loads
    // decode every BitLinear weight of the model through here).
    std::uint8_t bad = 0;
    for (int p = 0; p < kBlockBytes; ++p) bad |= src[p] & (src[p] >> 1) & 0x55;
    if (bad) {
      for (int p = 0; p < kBlockBytes; ++p) {
        const std::uint8_t x = src[p];
        if (!(x & (x >> 1) & 0x55)) continue;
        const int j = (x >> 6) == 3 ? 0 : ((x >> 4) & 3) == 3 ? 1 : ((x >> 2) & 3) == 3 ? 2 : 3;
        const std::int64_t i = b * kBlock + p + 32 * j;
        throw std::invalid_argument(what + ": I2_S weight " + std::to_string(i) + " (row " +
                                    std::to_string(i / K) + ", column " + std::to_string(i % K) +
                                    ") has the unused code 3 (expected 0, 1 or 2)");
      }
    }
    for (int j = 0; j < 4; ++j)
      for (int p = 0; p < kBlockBytes; ++p)
        dst[32 * j + p] = static_cast<std::int8_t>(((src[p] >> (6 - 2 * j)) & 3) - 1);
  }
  std::memcpy(&t.scale, data + n / 4, sizeof(float));
  if (!std::isfinite(t.scale) || t.scale <= 0)
    throw std::invalid_argument(what + ": I2_S weight scale is " + std::to_string(t.scale) +
                                " (expected a finite positive float at byte " +
                                std::to_string(n / 4) + ")");
  return t;
}

}  // namespace tritbench::i2s
