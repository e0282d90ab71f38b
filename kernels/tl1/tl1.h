#pragma once
// TL1 registry entry points. Layout and bounds: kernels/tl1/format.h.

#include <cstdint>

#include "kernels/api.h"

namespace tritbench::tl1 {

void pack(const TernaryMatrix& w, const TileConfig& tile, PackedWeights& out);
TernaryMatrix unpack(const PackedWeights& p);
void prepare_scalar(const QuantizedBatch& a, const PackedWeights& w, PreparedActivations& out);
void prepare_avx2(const QuantizedBatch& a, const PackedWeights& w, PreparedActivations& out);
void prepare_avx512(const QuantizedBatch& a, const PackedWeights& w, PreparedActivations& out);
void gemm_i32_scalar(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                     std::int64_t m1, std::int32_t* c, std::int64_t ldc);
void gemm_i32_avx2(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                   std::int64_t m1, std::int32_t* c, std::int64_t ldc);
void gemm_i32_avx512(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                     std::int64_t m1, std::int32_t* c, std::int64_t ldc);

// Pairs per int16 block for a tile (validated: throws std::invalid_argument naming the limit).
int block_pairs(const TileConfig& tile);
extern const TileSpace kTiles;        // k_block only (kernels/tl1/tiles.cpp)
extern const TileSpace kTilesAvx512;  // k_block and col_block (the exact AVX-512 row)
// Tokens per pass of the AVX-512 kernel (validated: 1, 2 or 4).
int col_block(const TileConfig& tile);
// The token-block rule shared by the TL1 and TL2 AVX-512 kernels; `format` names the format in the
// error ("TL1", "TL2").
int lut_col_block(const TileConfig& tile, const char* format);

}  // namespace tritbench::tl1
