// The registry: every kernel tritbench knows, one row each. Tests, benchmarks and the CLI loop over
// this table; nothing else in the project names a kernel. A row binds a packer, a prepare step and a
// GEMM together, so a kernel can never run on weights packed for another.
//
// Adding a kernel: a folder kernels/<format>/ with format.h, pack.cpp and gemm_<isa>.cpp files, and
// rows here. The exactness tests, `tritbench check`, `tritbench list` and the benchmarks pick the
// rows up with no further code. Row names follow kernels/NAMING.md.
#include "kernels/registry.h"

#include "kernels/i2r/i2r.h"
#include "kernels/i2s/i2s.h"
#include "kernels/tl1/tl1.h"
#include "kernels/tl2/tl2.h"
#include "kernels/tq/tq.h"
#include "reference/kernels.h"

namespace tritbench {

namespace {

using enum Isa;
using enum Exactness;
namespace ref = reference;

const KernelInfo kRows[] = {
    // name, family, format, isa, exactness, bound, row_multiple, k_multiple, bits/weight, tile,
    // pack, unpack, prepare, gemm_i32, gemm_f32, description
    {"naive__scalar", "naive", "int8", kScalar, kExact, {}, 1, 1, 8.0, {},
     ref::naive_pack, ref::naive_unpack, ref::naive_prepare, ref::naive_gemm, nullptr,
     "scalar triple loop over int8 weights: the oracle every exact kernel must match"},
    {"eigen_i32__avx2", "eigen_i32", "int32", kAvx2, kExact, {}, 1, 1, 32.0, {},
     ref::eigen_i32_pack, ref::eigen_i32_unpack, ref::eigen_i32_prepare, ref::eigen_i32_gemm, nullptr,
     "Eigen int32 GEMM on widened weights and activations: a second, independent oracle"},
    {"eigen_f32__avx2", "eigen_f32", "f32", kAvx2, kApproximate, {0.5, 1e-3}, ref::kEigenRows, 1, 32.0, {},
     ref::eigen_f32_pack, ref::eigen_f32_unpack, ref::eigen_f32_prepare, nullptr, ref::eigen_f32_gemm,
     "Eigen float32 GEMM of dequantized weights and unquantized activations: the full-precision "
     "baseline (differs from W1.58A8 by the activation quantization)"},
    {"i2s__scalar", "i2s", "I2_S", kScalar, kExact, {}, 1, 128, 2.0, {},
     i2s::pack, i2s::unpack, i2s::prepare, i2s::gemm_i32_scalar, nullptr,
     "I2_S, portable C++"},
    {"i2s__avx2", "i2s", "I2_S", kAvx2, kExact, {}, 1, 128, 2.0, {},
     i2s::pack, i2s::unpack, i2s::prepare, i2s::gemm_i32_avx2, nullptr,
     "I2_S, AVX2 maddubs with int32 widening every block (exact for all inputs); tunable R x C "
     "tile", &i2s::kTilesAvx2},
    {"i2s__avx512vnni", "i2s", "I2_S", kAvx512Vnni, kExact, {}, 4, 128, 2.0, {},
     i2s::pack, i2s::unpack, i2s::prepare, i2s::gemm_i32_avx512vnni, nullptr,
     "I2_S, AVX-512 VNNI: masked-plane GEMV, R x C register-blocked GEMM (tunable tile)",
     &i2s::kTilesAvx512Vnni},
    // bitnet.cpp's two x86 GEMM tilings (spec section 3) in the kernels above, as fixed-tile rows:
    // activation-parallel (one weight row decoded once for 4 tokens, 128-row blocks) and
    // weight-parallel (8 weight rows with one token, 32-row blocks).
    {"i2s_ap__avx2", "i2s_ap", "I2_S", kAvx2, kExact, {}, 1, 128, 2.0, {1, 4, 0, 0, 128},
     i2s::pack, i2s::unpack, i2s::prepare, i2s::gemm_i32_avx2, nullptr,
     "I2_S, AVX2, bitnet.cpp's activation-parallel tile (1 row x 4 tokens, 128-row blocks)",
     &i2s::kTilesAvx2Fixed},
    {"i2s_wp__avx2", "i2s_wp", "I2_S", kAvx2, kExact, {}, 1, 128, 2.0, {8, 1, 0, 0, 32},
     i2s::pack, i2s::unpack, i2s::prepare, i2s::gemm_i32_avx2, nullptr,
     "I2_S, AVX2, bitnet.cpp's weight-parallel tile (8 rows x 1 token, 32-row blocks)",
     &i2s::kTilesAvx2Fixed},
    {"i2s_ap__avx512vnni", "i2s_ap", "I2_S", kAvx512Vnni, kExact, {}, 4, 128, 2.0, {1, 4, 0, 0, 128},
     i2s::pack, i2s::unpack, i2s::prepare, i2s::gemm_i32_avx512vnni, nullptr,
     "I2_S, AVX-512 VNNI, bitnet.cpp's activation-parallel tile (1 row x 4 tokens, 128-row blocks)",
     &i2s::kTilesAvx512VnniFixed},
    {"i2s_wp__avx512vnni", "i2s_wp", "I2_S", kAvx512Vnni, kExact, {}, 4, 128, 2.0, {8, 1, 0, 0, 32},
     i2s::pack, i2s::unpack, i2s::prepare, i2s::gemm_i32_avx512vnni, nullptr,
     "I2_S, AVX-512 VNNI, bitnet.cpp's weight-parallel tile (8 rows x 1 token, 32-row blocks)",
     &i2s::kTilesAvx512VnniFixed},
    // bitnet.cpp's lookup-table formats, any shape and batch (kernels/tl1, kernels/tl2).
    {"tl1__scalar", "tl1", "TL1", kScalar, kExact, {}, 64, 4, 2.0, {0, 0, 240, 0},
     tl1::pack, tl1::unpack, tl1::prepare_scalar, tl1::gemm_i32_scalar, nullptr,
     "TL1 pair lookup tables (4-bit index, int16 entries as low/high byte tables), portable C++",
     &tl1::kTiles},
    {"tl1__avx2", "tl1", "TL1", kAvx2, kExact, {}, 64, 4, 2.0, {0, 0, 240, 0},
     tl1::pack, tl1::unpack, tl1::prepare_avx2, tl1::gemm_i32_avx2, nullptr,
     "TL1, AVX2 pshufb on low/high byte tables, int16 blocks widened to int32",
     &tl1::kTiles},
    {"tl1__avx512", "tl1", "TL1", kAvx512, kExact, {}, 64, 4, 2.0, {0, 0, 240, 0},
     tl1::pack, tl1::unpack, tl1::prepare_avx512, tl1::gemm_i32_avx512, nullptr,
     "TL1, AVX-512 vpshufb over 64-row tiles, index vectors shared by 4 tokens",
     &tl1::kTilesAvx512},
    {"tl2__scalar", "tl2", "TL2", kScalar, kExact, {}, 64, 24, 5.0 / 3.0, {0, 0, 240, 0},
     tl2::pack, tl2::unpack, tl2::prepare_scalar, tl2::gemm_i32_scalar, nullptr,
     "TL2 triple lookup tables (4-bit |index| + sign bit, 1.67 bits/weight), K remainder as a TL1 "
     "pair, portable C++",
     &tl2::kTiles},
    {"tl2__avx2", "tl2", "TL2", kAvx2, kExact, {}, 64, 24, 5.0 / 3.0, {0, 0, 240, 0},
     tl2::pack, tl2::unpack, tl2::prepare_avx2, tl2::gemm_i32_avx2, nullptr,
     "TL2, AVX2 pshufb on low/high byte tables, sign by xor, int16 blocks widened to int32",
     &tl2::kTiles},
    {"tl2__avx512", "tl2", "TL2", kAvx512, kExact, {}, 64, 24, 5.0 / 3.0, {0, 0, 240, 0},
     tl2::pack, tl2::unpack, tl2::prepare_avx512, tl2::gemm_i32_avx512, nullptr,
     "TL2, AVX-512 vpshufb over 64-row tiles, sign words as mask registers, 4 tokens per tile pass",
     &tl2::kTilesAvx512},
    // TL2_0: the papers' lossy variant (int8 tables, one scale per activation row); the bound is
    // derived in kernels/tl2/format.h.
    {"tl2_q8__scalar", "tl2_q8", "TL2", kScalar, kApproximate, {0.51, 1e-3}, 64, 24, 5.0 / 3.0,
     {0, 0, 240, 0},
     tl2::pack, tl2::unpack, tl2::prepare_q8_scalar, nullptr, tl2::gemm_f32_q8_scalar,
     "TL2_0: TL2 weights, int8 triple tables with a per-row scale (T-MAC style, lossy), portable",
     &tl2::kTiles},
    {"tl2_q8__avx512", "tl2_q8", "TL2", kAvx512, kApproximate, {0.51, 1e-3}, 64, 24, 5.0 / 3.0,
     {0, 0, 240, 0},
     tl2::pack, tl2::unpack, tl2::prepare_q8_avx512, nullptr, tl2::gemm_f32_q8_avx512,
     "TL2_0, AVX-512: one vpshufb per triple on biased int8 tables, uint16 block sums",
     &tl2::kTiles},
    // llama.cpp mainline's ternary block types (kernels/tq), exact against the int8 activations.
    {"tq2_0__scalar", "tq2_0", "TQ2_0", kScalar, kExact, {}, 1, 256, 66.0 * 8 / 256, {},
     tq::tq2_pack, tq::tq2_unpack, tq::tq2_prepare, tq::tq2_gemm_i32_scalar, nullptr,
     "llama.cpp TQ2_0 (2-bit codes + fp16 d per 256), portable C++"},
    {"tq2_0__avx2", "tq2_0", "TQ2_0", kAvx2, kExact, {}, 1, 256, 66.0 * 8 / 256, {},
     tq::tq2_pack, tq::tq2_unpack, tq::tq2_prepare, tq::tq2_gemm_i32_avx2, nullptr,
     "TQ2_0, AVX2 maddubs per bit plane, int32 per block"},
    {"tq2_0__avx512vnni", "tq2_0", "TQ2_0", kAvx512Vnni, kExact, {}, 4, 256, 66.0 * 8 / 256, {},
     tq::tq2_pack, tq::tq2_unpack, tq::tq2_prepare, tq::tq2_gemm_i32_avx512vnni, nullptr,
     "TQ2_0, AVX-512 VNNI: one 64-byte load per block, 4x4 row x token tiles"},
    {"tq1_0__scalar", "tq1_0", "TQ1_0", kScalar, kExact, {}, 1, 256, 54.0 * 8 / 256, {},
     tq::tq1_pack, tq::tq1_unpack, tq::tq1_prepare, tq::tq1_gemm_i32_scalar, nullptr,
     "llama.cpp TQ1_0 (5 trits per byte base-3, + fp16 d per 256), portable C++"},
    {"tq1_0__avx2", "tq1_0", "TQ1_0", kAvx2, kExact, {}, 1, 256, 54.0 * 8 / 256, {},
     tq::tq1_pack, tq::tq1_unpack, tq::tq1_prepare, tq::tq1_gemm_i32_avx2, nullptr,
     "TQ1_0, AVX2: base-3 digits by saturating compares, maddubs"},
    {"tq1_0__avx512vnni", "tq1_0", "TQ1_0", kAvx512Vnni, kExact, {}, 4, 256, 54.0 * 8 / 256, {},
     tq::tq1_pack, tq::tq1_unpack, tq::tq1_prepare, tq::tq1_gemm_i32_avx512vnni, nullptr,
     "TQ1_0, AVX-512 VNNI: digit sums from vpdpbusd on the bytes times 3^n, one row at a time for "
     "a lone token, 4x2 row x token tiles for pairs"},
    // tritbench's own layout (kernels/i2r/README.md): 16 rows x 16 columns per 64-byte tile.
    {"i2r__scalar", "i2r", "I2_R16", kScalar, kExact, {}, 1, 16, 2.0, {},
     i2r::pack, i2r::unpack, i2r::prepare, i2r::gemm_i32_scalar, nullptr,
     "I2_R16 row-interleaved 2-bit tiles, portable C++"},
    {"i2r__avx512vnni", "i2r", "I2_R16", kAvx512Vnni, kExact, {}, 64, 16, 2.0, {},
     i2r::pack, i2r::unpack, i2r::prepare, i2r::gemm_i32_avx512vnni, nullptr,
     "I2_R16, AVX-512 VNNI: lanes are rows; masked-plane GEMV at the vpdpbusd peak, batches as "
     "GEMVs over L2 blocks",
     &i2r::kTiles},
    // The same kernel with a software prefetch 4 KiB ahead: for weights streamed from DRAM
    // (decoding); in cache the prefetches cost time (kernels/i2r/README.md, "Prefetch").
    {"i2r_pf__avx512vnni", "i2r_pf", "I2_R16", kAvx512Vnni, kExact, {}, 64, 16, 2.0,
     {0, 0, 0, 0, 0, 4096}, i2r::pack, i2r::unpack, i2r::prepare, i2r::gemm_i32_avx512vnni, nullptr,
     "I2_R16, AVX-512 VNNI, prefetching 4 KiB ahead (pf=4096): the streaming-from-DRAM tile",
     &i2r::kTilesFixed},
    // The same with two weight streams per thread in a single-token GEMV (st=2): from DRAM two
    // streams far apart get more bandwidth per core than one (kernels/i2r/README.md, "Two
    // streams"); in cache the loop's extra shift costs time.
    {"i2r_2s__avx512vnni", "i2r_2s", "I2_R16", kAvx512Vnni, kExact, {}, 64, 16, 2.0,
     {0, 0, 0, 0, 0, 4096, 2}, i2r::pack, i2r::unpack, i2r::prepare, i2r::gemm_i32_avx512vnni, nullptr,
     "I2_R16, AVX-512 VNNI, two weight streams per thread and pf=4096 (st=2): i2r_pf's rival from DRAM",
     &i2r::kTilesFixed},
    // Four weight streams per thread, each prefetched 1 KiB ahead (st=4, pf=1024): from DRAM this
    // loop streamed faster than the two-stream one on most 2B-4T shapes; it takes its planes apart
    // with GFNI, one op per plane as the one-stream loop (kernels/i2r/README.md, "Four streams").
    // Without GFNI it runs as st=2, and says so in its tile.
    {"i2r_4s__avx512vnni", "i2r_4s", "I2_R16", kAvx512Vnni, kExact, {}, 64, 16, 2.0,
     {0, 0, 0, 0, 0, 1024, 4}, i2r::pack, i2r::unpack, i2r::prepare, i2r::gemm_i32_avx512vnni, nullptr,
     "I2_R16, AVX-512 VNNI + GFNI, four weight streams per thread, 1 KiB prefetch (st=4,pf=1024): "
     "i2r_2s's rival from DRAM",
     &i2r::kTilesFixed},
};

}  // namespace

std::span<const KernelInfo> registry() { return kRows; }

}  // namespace tritbench
