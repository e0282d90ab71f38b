// The registry: every kernel tritbench knows, one row each. Tests, benchmarks and the CLI loop over
// this table; nothing else in the project names a kernel. A row binds a packer, a prepare step and a
// GEMM together, so a kernel can never run on weights packed for another.
//
// Adding a kernel: a folder kernels/<format>/ with format.h, pack.cpp and gemm_<isa>.cpp files, and
// rows here. The exactness tests, `tritbench check`, `tritbench list` and the benchmarks pick the
// rows up with no further code. Row names follow kernels/NAMING.md.
#include "kernels/registry.h"

#include "kernels/i2s/i2s.h"
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
     &i2s::kTilesAvx2},
    {"i2s_wp__avx2", "i2s_wp", "I2_S", kAvx2, kExact, {}, 1, 128, 2.0, {8, 1, 0, 0, 32},
     i2s::pack, i2s::unpack, i2s::prepare, i2s::gemm_i32_avx2, nullptr,
     "I2_S, AVX2, bitnet.cpp's weight-parallel tile (8 rows x 1 token, 32-row blocks)",
     &i2s::kTilesAvx2},
    {"i2s_ap__avx512vnni", "i2s_ap", "I2_S", kAvx512Vnni, kExact, {}, 4, 128, 2.0, {1, 4, 0, 0, 128},
     i2s::pack, i2s::unpack, i2s::prepare, i2s::gemm_i32_avx512vnni, nullptr,
     "I2_S, AVX-512 VNNI, bitnet.cpp's activation-parallel tile (1 row x 4 tokens, 128-row blocks)",
     &i2s::kTilesAvx512Vnni},
    {"i2s_wp__avx512vnni", "i2s_wp", "I2_S", kAvx512Vnni, kExact, {}, 4, 128, 2.0, {8, 1, 0, 0, 32},
     i2s::pack, i2s::unpack, i2s::prepare, i2s::gemm_i32_avx512vnni, nullptr,
     "I2_S, AVX-512 VNNI, bitnet.cpp's weight-parallel tile (8 rows x 1 token, 32-row blocks)",
     &i2s::kTilesAvx512Vnni},
};

}  // namespace

std::span<const KernelInfo> registry() { return kRows; }

}  // namespace tritbench
