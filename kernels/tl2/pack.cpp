#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/tl1/format.h"
#include "kernels/tl1/tl1.h"
#include "kernels/tl2/format.h"
#include "kernels/tl2/tl2.h"

namespace tritbench::tl2 {

namespace {

struct Geometry {
  std::int64_t T;  // whole triples in K
  std::int64_t Tp;  // padded to groups of 8
  int r;  // remainder columns (0, 1, 2): the TL1 pair
  std::int64_t tile_bytes;
};

Geometry geometry(std::int64_t K) {
  Geometry g;
  g.T = K / 3;
  g.r = static_cast<int>(K % 3);
  g.Tp = round_up(g.T, kGroupTriples);
  g.tile_bytes = g.Tp / kGroupTriples * kGroupBytes + (g.r ? kPairChunkBytes : 0);
  return g;
}

using BuildFn = void (*)(const std::int8_t*, std::int64_t, std::uint8_t*);

// The two TL1 tables of the remainder: the pair (q[3T], q[3T+1] or 0) and a zero pair.
void build_pair_tables(const QuantizedBatch& a, std::int64_t n, const Geometry& g,
                       std::uint8_t* out) {
  const std::int8_t* q = a.row(n);
  const int b0 = q[3 * g.T], b1 = g.r == 2 ? q[3 * g.T + 1] : 0;
  auto* t = reinterpret_cast<tl1::Table*>(out);
  for (unsigned i = 0; i < 16; ++i) {
    const auto e = static_cast<std::uint16_t>(tl1::entry(i, b0, b1));
    t[0].lo[i] = static_cast<std::uint8_t>(e & 0xFF);
    t[0].hi[i] = static_cast<std::uint8_t>(e >> 8);
    t[1].lo[i] = t[1].hi[i] = 0;
  }
}

// Triple tables of row n into out (Tp * 32 bytes). The builders read whole vectors, so the row is
// copied into a buffer that is zero from column 3*T on (padded triples get all-zero tables and
// the remainder columns stay out of the triples).
void build_triples(BuildFn build, const QuantizedBatch& a, std::int64_t n, const Geometry& g,
                   std::uint8_t* out) {
  thread_local AlignedBuffer row;
  const auto row_bytes = static_cast<std::size_t>(3 * g.Tp + 64);
  if (row.size() < row_bytes) row.resize(row_bytes);
  const auto used = static_cast<std::size_t>(3 * g.T);
  std::memcpy(row.data(), a.row(n), used);
  std::memset(row.data() + used, 0, row_bytes - used);
  build(row.as<std::int8_t>(), g.Tp, out);
}

void prepare_with(BuildFn build, const QuantizedBatch& a, const PackedWeights& w,
                  PreparedActivations& out) {
  const Geometry g = geometry(w.K);
  out.ld_buf = g.Tp * kTableBytes + (g.r ? 2 * kTableBytes : 0);
  const auto need = static_cast<std::size_t>(a.N * out.ld_buf);
  if (out.buf.size() != need) out.buf.resize(need);
  for (std::int64_t n = 0; n < a.N; ++n) {
    std::uint8_t* dst = out.buf.data() + n * out.ld_buf;
    build_triples(build, a, n, g, dst);
    if (g.r) build_pair_tables(a, n, g, dst + g.Tp * kTableBytes);
  }
}

// TL2_0: per row, the int16 triple tables are built as for TL2, then quantized to biased int8
// with one scale (format.h); the scales follow the N rows of tables in the buffer.
using QuantizeFn = float (*)(const std::uint8_t*, std::int64_t, std::uint8_t*);

void prepare_q8_with(BuildFn build, QuantizeFn quantize, const QuantizedBatch& a,
                     const PackedWeights& w, PreparedActivations& out) {
  const Geometry g = geometry(w.K);
  out.ld_buf = g.Tp * kTableBytesQ8 + (g.r ? 2 * kTableBytes : 0);
  const auto need = static_cast<std::size_t>(a.N * out.ld_buf + a.N * 4);
  if (out.buf.size() != need) out.buf.resize(need);
  auto* sigma = reinterpret_cast<float*>(out.buf.data() + a.N * out.ld_buf);
  thread_local AlignedBuffer t16;
  const auto t16_bytes = static_cast<std::size_t>(g.Tp * kTableBytes);
  if (t16.size() < t16_bytes) t16.resize(t16_bytes);
  for (std::int64_t n = 0; n < a.N; ++n) {
    std::uint8_t* dst = out.buf.data() + n * out.ld_buf;
    build_triples(build, a, n, g, t16.data());
    sigma[n] = quantize(t16.data(), g.Tp, dst);
    if (g.r) build_pair_tables(a, n, g, dst + g.Tp * kTableBytesQ8);
  }
}

GemmArgs args_of(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                 std::int64_t m1) {
  const Geometry g = geometry(w.K);
  GemmArgs r{};
  r.w = w.data.data();
  r.tile_bytes = g.tile_bytes;
  r.triples = g.Tp;
  r.has_pair = g.r != 0;
  r.nneg = w.extra.as<std::int32_t>();
  r.lut = a.buf.data();
  r.ld_lut = a.ld_buf;
  r.N = a.N;
  r.m0 = m0;
  r.m1 = m1;
  r.block_triples = block_triples(w.tile);
  r.col_block = col_block(w.tile);
  return r;
}

GemmArgs args_i32(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                  std::int64_t m1, std::int32_t* c, std::int64_t ldc) {
  GemmArgs r = args_of(w, a, m0, m1);
  r.c = c;
  r.ldc = ldc;
  return r;
}

GemmArgs args_f32(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                  std::int64_t m1, float* y, std::int64_t ldy) {
  GemmArgs r = args_of(w, a, m0, m1);
  r.y = y;
  r.ldy = ldy;
  r.sigma = reinterpret_cast<const float*>(a.buf.data() + a.N * a.ld_buf);
  r.act_scale = a.src->scale.data();
  r.w_scale = w.scale;
  return r;
}

}  // namespace

int block_triples(const TileConfig& tile) {
  if (tile.k_block == 0) return kDefaultBlockTriples;
  if (tile.k_block < 0 || tile.k_block % (3 * kGroupTriples) != 0 ||
      tile.k_block > 3 * kMaxBlockTriples)
    throw std::invalid_argument(
        "TL2 tile: k_block = " + std::to_string(tile.k_block) +
        " (expected a positive multiple of 24 up to " + std::to_string(3 * kMaxBlockTriples) +
        ": int16 sums of more than 85 triples can overflow, blocks are whole groups of 8)");
  return tile.k_block / 3;
}

int col_block(const TileConfig& tile) { return tl1::lut_col_block(tile, "TL2"); }

void pack(const TernaryMatrix& w, const TileConfig& tile, PackedWeights& out) {
  block_triples(tile);  // refuse a bad tile at pack time, not in the kernel
  col_block(tile);
  const Geometry g = geometry(w.K);
  out.M = w.M;
  out.K = w.K;
  out.Mp = round_up(w.M, kTileRows);
  out.Kp = 3 * g.Tp + (g.r ? 4 : 0);  // weights stored: padded triples + the TL1 chunk's 2 pairs
  out.ld = g.tile_bytes;
  out.scale = w.scale;
  out.data.resize(static_cast<std::size_t>(out.Mp / kTileRows * out.ld));
  out.extra.resize(static_cast<std::size_t>(out.Mp) * sizeof(std::int32_t));
  auto* nneg = out.extra.as<std::int32_t>();
  auto at = [&](std::int64_t m, std::int64_t k) {
    return m < w.M && k < w.K ? int(w.at(m, k)) : 0;
  };
  for (std::int64_t m = 0; m < out.Mp; ++m) {
    std::uint8_t* tile_base = out.data.data() + (m / kTileRows) * out.ld;
    const int r = static_cast<int>(m % kTileRows);
    for (std::int64_t t = 0; t < g.T; ++t) {
      const int v = triple_value(at(m, 3 * t), at(m, 3 * t + 1), at(m, 3 * t + 2));
      auto* grp = reinterpret_cast<Group*>(tile_base + (t / kGroupTriples) * kGroupBytes);
      const int j = static_cast<int>(t % kGroupTriples);
      grp->idx[j / 2][r] |= static_cast<std::uint8_t>((v < 0 ? -v : v) << (4 * (j % 2)));
      if (v < 0) {
        grp->sign[j] |= std::uint64_t{1} << r;
        ++nneg[m];
      }
    }
    if (g.r) {
      const int w0 = at(m, 3 * g.T), w1 = g.r == 2 ? at(m, 3 * g.T + 1) : 0;
      tile_base[g.Tp / kGroupTriples * kGroupBytes + r] =
          static_cast<std::uint8_t>(tl1::encode(w0, w1) | (tl1::encode(0, 0) << 4));
    }
  }
}

TernaryMatrix unpack(const PackedWeights& p) {
  const Geometry g = geometry(p.K);
  TernaryMatrix t;
  t.M = p.M;
  t.K = p.K;
  t.scale = p.scale;
  t.w.resize(static_cast<std::size_t>(p.M * p.K));
  for (std::int64_t m = 0; m < p.M; ++m) {
    const std::uint8_t* tile_base = p.data.data() + (m / kTileRows) * p.ld;
    const int r = static_cast<int>(m % kTileRows);
    std::int8_t* row = t.w.data() + m * p.K;
    for (std::int64_t tr = 0; tr < g.T; ++tr) {
      const auto* grp =
          reinterpret_cast<const Group*>(tile_base + (tr / kGroupTriples) * kGroupBytes);
      const int j = static_cast<int>(tr % kGroupTriples);
      const int idx = (grp->idx[j / 2][r] >> (4 * (j % 2))) & 0xF;
      const int v = (grp->sign[j] >> r) & 1 ? -idx : idx;
      for (int i = 0; i < 3; ++i) row[3 * tr + i] = static_cast<std::int8_t>(digit(v, i));
    }
    if (g.r) {
      const unsigned i = tile_base[g.Tp / kGroupTriples * kGroupBytes + r] & 0xF;
      row[3 * g.T] = static_cast<std::int8_t>(tl1::decode_w0(i));
      if (g.r == 2) row[3 * g.T + 1] = static_cast<std::int8_t>(tl1::decode_w1(i));
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
void prepare_q8_scalar(const QuantizedBatch& a, const PackedWeights& w, PreparedActivations& out) {
  prepare_q8_with(build_tables_scalar, quantize_tables_scalar, a, w, out);
}
void prepare_q8_avx512(const QuantizedBatch& a, const PackedWeights& w, PreparedActivations& out) {
  prepare_q8_with(build_tables_avx512, quantize_tables_avx512, a, w, out);
}

void gemm_i32_scalar(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                     std::int64_t m1, std::int32_t* c, std::int64_t ldc) {
  gemm_scalar(args_i32(w, a, m0, m1, c, ldc));
}
void gemm_i32_avx2(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                   std::int64_t m1, std::int32_t* c, std::int64_t ldc) {
  gemm_avx2(args_i32(w, a, m0, m1, c, ldc));
}
void gemm_i32_avx512(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                     std::int64_t m1, std::int32_t* c, std::int64_t ldc) {
  gemm_avx512(args_i32(w, a, m0, m1, c, ldc));
}
void gemm_f32_q8_scalar(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                        std::int64_t m1, float* y, std::int64_t ldy) {
  gemm_q8_scalar(args_f32(w, a, m0, m1, y, ldy));
}
void gemm_f32_q8_avx512(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                        std::int64_t m1, float* y, std::int64_t ldy) {
  gemm_q8_avx512(args_f32(w, a, m0, m1, y, ldy));
}

}  // namespace tritbench::tl2
