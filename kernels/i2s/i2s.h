#pragma once
// I2_S registry entry points and the file-format codec. Layout: kernels/i2s/format.h.

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/api.h"

namespace tritbench::i2s {

void pack(const TernaryMatrix& w, const TileConfig& tile, PackedWeights& out);
TernaryMatrix unpack(const PackedWeights& p);
void prepare(const QuantizedBatch& a, const PackedWeights& w, PreparedActivations& out);
void gemm_i32_scalar(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                     std::int64_t m1, std::int32_t* c, std::int64_t ldc);
void gemm_i32_avx2(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                   std::int64_t m1, std::int32_t* c, std::int64_t ldc);
void gemm_i32_avx512vnni(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                         std::int64_t m1, std::int32_t* c, std::int64_t ldc);

// The tiles the AVX-512 VNNI and AVX2 GEMMs accept (kernels/i2s/tiles.cpp). The scalar kernel has
// no tile parameters.
extern const TileSpace kTilesAvx512Vnni;
extern const TileSpace kTilesAvx2;
// The same, for fixed-tile rows (bitnet.cpp's tilings): accepted by --tile, never tuned.
extern const TileSpace kTilesAvx512VnniFixed;
extern const TileSpace kTilesAvx2Fixed;

// GGUF tensor bytes of an M x K weight in bitnet.cpp's layout: M*K/4 bytes + 32-byte scale trailer.
// M*K must be a multiple of 128; rows may straddle blocks (the tensor is flattened).
std::uint64_t file_bytes(std::int64_t M, std::int64_t K);
std::vector<std::uint8_t> encode_file(const TernaryMatrix& w);
// The block bytes of n weights (n a multiple of 128) without the trailer: encode_file's body, for
// writers that stream a huge tensor in pieces (each piece a whole number of blocks).
void encode_blocks(const std::int8_t* t, std::int64_t n, std::uint8_t* dst);
// Decodes file bytes; throws std::invalid_argument naming `what` on a wrong size, a code 3 or a
// non-finite / non-positive scale.
TernaryMatrix decode_file(const std::uint8_t* data, std::uint64_t size, std::int64_t M, std::int64_t K,
                          const std::string& what);

}  // namespace tritbench::i2s
