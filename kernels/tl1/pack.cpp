#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/tl1/format.h"
#include "kernels/tl1/tl1.h"

namespace tritbench::tl1 {

namespace {

using BuildFn = void (*)(const std::int8_t*, std::int64_t, std::uint8_t*);

std::int64_t pairs_of(std::int64_t K) { return round_up((K + 1) / 2, 2); }

// Builds every activation row's tables. The builders read whole vectors, so each row is first
// copied into a zero-padded buffer (its padding past K must read as zero activations).
void prepare_with(BuildFn build, const QuantizedBatch& a, const PackedWeights& w,
                  PreparedActivations& out) {
  const std::int64_t pairs = w.Kp / 2;
  const auto need = static_cast<std::size_t>(a.N * pairs * kTableBytes);
  if (out.buf.size() != need) out.buf.resize(need);
  out.ld_buf = pairs * kTableBytes;
  thread_local AlignedBuffer row;
  const auto row_bytes = static_cast<std::size_t>(2 * pairs + 64);
  if (row.size() < row_bytes) row.resize(row_bytes);
  for (std::int64_t n = 0; n < a.N; ++n) {
    std::memcpy(row.data(), a.row(n), static_cast<std::size_t>(a.K));
    std::memset(row.data() + a.K, 0, row_bytes - static_cast<std::size_t>(a.K));
    build(row.as<std::int8_t>(), pairs, out.buf.data() + n * out.ld_buf);
  }
}

GemmArgs args_of(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                 std::int64_t m1, std::int32_t* c, std::int64_t ldc) {
  return GemmArgs{w.data.data(), w.ld, w.Kp / 2, a.buf.data(), a.ld_buf, a.N, m0, m1, c, ldc,
                  block_pairs(w.tile), col_block(w.tile)};
}

}  // namespace

int block_pairs(const TileConfig& tile) {
  if (tile.k_block == 0) return kDefaultBlockPairs;
  if (tile.k_block < 0 || tile.k_block % 4 != 0 || tile.k_block > 2 * kMaxBlockPairs)
    throw std::invalid_argument("TL1 tile: k_block = " + std::to_string(tile.k_block) +
                                " (expected a positive multiple of 4 up to " +
                                std::to_string(2 * kMaxBlockPairs) + ": int16 sums of more than " +
                                std::to_string(kMaxBlockPairs) + " pairs can overflow)");
  return tile.k_block / 2;
}

int lut_col_block(const TileConfig& tile, const char* format) {
  if (tile.col_block == 0) return 4;
  if (tile.col_block != 1 && tile.col_block != 2 && tile.col_block != 4)
    throw std::invalid_argument(std::string(format) + " tile: col_block = " + std::to_string(tile.col_block) +
                                " (expected 1, 2 or 4 tokens per pass)");
  return tile.col_block;
}

int col_block(const TileConfig& tile) { return lut_col_block(tile, "TL1"); }

void pack(const TernaryMatrix& w, const TileConfig& tile, PackedWeights& out) {
  block_pairs(tile);  // refuse a bad tile at pack time, not in the kernel
  col_block(tile);
  const std::int64_t pairs = pairs_of(w.K);
  out.M = w.M;
  out.K = w.K;
  out.Mp = round_up(w.M, kTileRows);
  out.Kp = 2 * pairs;
  out.ld = pairs / 2 * kChunkBytes;  // bytes per 64-row tile
  out.scale = w.scale;
  out.data.resize(static_cast<std::size_t>(out.Mp / kTileRows * out.ld));
  std::uint8_t* d = out.data.data();
  for (std::int64_t m = 0; m < out.Mp; ++m) {
    std::uint8_t* tile_base = d + (m / kTileRows) * out.ld + (m % kTileRows);
    for (std::int64_t p = 0; p < pairs; ++p) {
      const std::int64_t k = 2 * p;
      const int w0 = m < w.M && k < w.K ? w.at(m, k) : 0;
      const int w1 = m < w.M && k + 1 < w.K ? w.at(m, k + 1) : 0;
      tile_base[(p / 2) * kChunkBytes] |=
          static_cast<std::uint8_t>(encode(w0, w1) << (4 * (p % 2)));
    }
  }
}

TernaryMatrix unpack(const PackedWeights& p) {
  TernaryMatrix t;
  t.M = p.M;
  t.K = p.K;
  t.scale = p.scale;
  t.w.resize(static_cast<std::size_t>(p.M * p.K));
  for (std::int64_t m = 0; m < p.M; ++m) {
    const std::uint8_t* tile_base = p.data.data() + (m / kTileRows) * p.ld + (m % kTileRows);
    for (std::int64_t k = 0; k < p.K; ++k) {
      const std::int64_t pr = k / 2;
      const unsigned i = (tile_base[(pr / 2) * kChunkBytes] >> (4 * (pr % 2))) & 0xF;
      t.w[m * p.K + k] = static_cast<std::int8_t>(k % 2 ? decode_w1(i) : decode_w0(i));
    }
  }
  return t;
}

void prepare_scalar(const QuantizedBatch& a, const PackedWeights& w, PreparedActivations& out) {
  prepare_with(build_tables_scalar, a, w, out);
}
void prepare_avx2(const QuantizedBatch& a, const PackedWeights& w, PreparedActivations& out) {
  prepare_with(build_tables_avx2, a, w, out);
}
void prepare_avx512(const QuantizedBatch& a, const PackedWeights& w, PreparedActivations& out) {
  prepare_with(build_tables_avx512, a, w, out);
}

void gemm_i32_scalar(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                     std::int64_t m1, std::int32_t* c, std::int64_t ldc) {
  gemm_scalar(args_of(w, a, m0, m1, c, ldc));
}
void gemm_i32_avx2(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                   std::int64_t m1, std::int32_t* c, std::int64_t ldc) {
  gemm_avx2(args_of(w, a, m0, m1, c, ldc));
}
void gemm_i32_avx512(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                     std::int64_t m1, std::int32_t* c, std::int64_t ldc) {
  gemm_avx512(args_of(w, a, m0, m1, c, ldc));
}

}  // namespace tritbench::tl1
