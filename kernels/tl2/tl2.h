#pragma once
// TL2 (exact) and TL2_0 (int8 tables, approximate) registry entry points. Layout, bounds and the
// TL2_0 error bound: kernels/tl2/format.h.

#include <cstdint>

#include "kernels/api.h"

namespace tritbench::tl2 {

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

// TL2_0: int8 tables with one scale per activation row.
void prepare_q8_scalar(const QuantizedBatch& a, const PackedWeights& w, PreparedActivations& out);
void prepare_q8_avx512(const QuantizedBatch& a, const PackedWeights& w, PreparedActivations& out);
void gemm_f32_q8_scalar(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                        std::int64_t m1, float* y, std::int64_t ldy);
void gemm_f32_q8_avx512(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                        std::int64_t m1, float* y, std::int64_t ldy);

// Triples per int16 block for a tile (validated: throws std::invalid_argument naming the limit).
int block_triples(const TileConfig& tile);
extern const TileSpace kTiles;        // k_block only (kernels/tl1/tiles.cpp)
extern const TileSpace kTilesAvx512;  // k_block and col_block (the exact AVX-512 row)
// Tokens per pass of the exact AVX-512 kernel (validated: 1, 2 or 4).
int col_block(const TileConfig& tile);

}  // namespace tritbench::tl2
