#pragma once
// I2_R16 registry entry points. Layout: kernels/i2r/format.h; design and numbers: README.md.

#include <cstdint>

#include "kernels/api.h"

namespace tritbench::i2r {

void pack(const TernaryMatrix& w, const TileConfig& tile, PackedWeights& out);
TernaryMatrix unpack(const PackedWeights& p);
void prepare(const QuantizedBatch& a, const PackedWeights& w, PreparedActivations& out);
void gemm_i32_scalar(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                     std::int64_t m1, std::int32_t* c, std::int64_t ldc);
extern const TileSpace kTiles;  // br and pf of the AVX-512 row (kernels/i2r/tiles.cpp)
extern const TileSpace kTilesFixed;  // the same, no tuner candidates (rows with a fixed tile)

void gemm_i32_avx512vnni(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                         std::int64_t m1, std::int32_t* c, std::int64_t ldc);

}  // namespace tritbench::i2r
