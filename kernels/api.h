#pragma once
// The kernel API: the seam between formats, the runtime, the model and the harness.
//
// Data path of one BitLinear y = W x:
//
//   TernaryMatrix (canonical, int8 {-1,0,+1}, one float scale)   float activations x [N x K]
//        | KernelInfo::pack (once, at load)                          | reference::quantize_activations
//        v                                                           v  (the one shared quantizer)
//   PackedWeights (kernel-private layout, 64-byte aligned)      QuantizedBatch (int8 + scale + row sum)
//        |                                                           | KernelInfo::prepare (per call:
//        |                                                           v  reorder, pad, build LUTs)
//        +----------------------> KernelInfo::gemm_i32 over rows [m0, m1)  <-- PreparedActivations
//                                     int32 acc[n][m] = sum_k t[m][k] * q[n][k]   (exact kernels)
//                                     then reference::epilogue -> float y[n][m]
//
// Why the kernel returns integers: exactness is a statement about integers. Every exact kernel must
// produce the naive oracle's int32 accumulators bit for bit; the float output is then computed by one
// shared epilogue (reference/epilogue.h), so all exact kernels also give bit-identical floats and a
// whole model gives bit-identical logits whichever exact kernel runs it. Approximate kernels (the
// float32 baseline, lossy LUTs) implement gemm_f32 instead and declare an error bound.
//
// Why a row range: the runtime (kernels/runtime) splits output rows across threads; a kernel is
// single-threaded over [m0, m1). m0 is always a multiple of KernelInfo::row_multiple; m1 is either a
// multiple of it or M, so kernels handle a short final tile themselves.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/aligned.h"
#include "kernels/cpu/cpu.h"

namespace tritbench {

// The canonical ternary weight: what every loader produces and every packer consumes.
struct TernaryMatrix {
  std::int64_t M = 0;  // output features (rows)
  std::int64_t K = 0;  // input features (columns)
  std::vector<std::int8_t> w;  // M*K values in {-1, 0, +1}, row-major
  float scale = 1.0f;  // real weight = w * scale (absmean)

  std::int8_t at(std::int64_t m, std::int64_t k) const { return w[m * K + k]; }
};

// Activation rows padded to this many int8 values: a multiple of every kernel's K block that
// works on raw int8 rows, so such kernels can read the quantized batch in place.
inline constexpr std::int64_t kActPad = 256;

// Output of the shared activation quantizer for N tokens (rows) of K features.
struct QuantizedBatch {
  std::int64_t N = 0, K = 0;
  std::int64_t ldq = 0;  // row stride of q in bytes: round_up(K, kActPad); the padding is zero
  AlignedBuffer q;  // int8 [N x ldq]
  std::vector<float> scale;  // per row: q = round(x * scale)
  std::vector<std::int32_t> sum;  // per row: sum_k q[n][k]
  const float* x = nullptr;  // the float rows quantized (borrowed, may be null): for float kernels
  std::int64_t ldx = 0;

  const std::int8_t* row(std::int64_t n) const { return q.as<std::int8_t>() + n * ldq; }
  std::int8_t* row(std::int64_t n) { return q.as<std::int8_t>() + n * ldq; }
  // Sets the shape; rows' padding [K, ldq) is zeroed, [0, K) is left for the caller to fill.
  void reset(std::int64_t n, std::int64_t k);
};

// Tile configuration of a kernel family. 0 means "the kernel's default". Families document which
// fields they read (kernels/<family>/format.h); the tuner searches them, registry rows fix them.
struct TileConfig {
  int row_block = 0;  // weight rows computed together
  int col_block = 0;  // activation rows (tokens) computed together
  int k_block = 0;  // K elements per inner block (LUT kernels)
  int parallel = 0;  // family-specific (e.g. 1 = weight-parallel)
  int block_rows = 0;  // weight rows per cache block of the GEMM loop nest
  int prefetch = 0;  // software prefetch distance in bytes (0 = none)
  int streams = 0;  // weight streams each thread of a single-token GEMV reads at once (0 = one)
  bool operator==(const TileConfig&) const = default;
  std::string str() const;  // "rb=4,cb=4" (only the non-default fields)
};

// The tiles a kernel row accepts, for `--tile` overrides and the tuner. A row without one runs
// only its own tile. All three functions are pure.
struct TileSpace {
  // Empty if the row can run tile t, else why not (naming the field and the accepted values).
  std::string (*check)(const TileConfig& t);
  // The tile the kernel actually runs for t on an M x K weight and N tokens: zero fields replaced
  // by the defaults the kernel picks. Results report this, so a "default" is never ambiguous.
  TileConfig (*effective)(const TileConfig& t, std::int64_t M, std::int64_t K, std::int64_t N);
  // The tiles the tuner tries for this shape and batch (each passes check).
  std::vector<TileConfig> (*candidates)(std::int64_t M, std::int64_t K, std::int64_t N);
  // Whether pack's bytes depend on the tile. When not, weights packed once serve every tile (the
  // benchmarks and the tuner then pack each matrix once per sweep).
  bool pack_uses_tile = true;
};

// The candidates of a row that states one tile: none, so the tuner and tuning files leave the row
// alone while --tile can still override it.
inline std::vector<TileConfig> no_tile_candidates(std::int64_t, std::int64_t, std::int64_t) { return {}; }

struct KernelInfo;

// Weights in a kernel's own layout. Created by KernelInfo::pack; read-only afterwards, shared by
// all threads.
struct PackedWeights {
  const KernelInfo* kernel = nullptr;
  std::int64_t M = 0, K = 0;  // logical shape
  std::int64_t Mp = 0, Kp = 0;  // padded shape as stored
  std::int64_t ld = 0;  // bytes (or elements, per format) between stored rows
  float scale = 1.0f;  // the tensor's weight scale
  TileConfig tile;  // the tile this packing was made for
  AlignedBuffer data;  // 64-byte aligned
  AlignedBuffer extra;  // format-specific side data (e.g. per-row sums), may be empty

  std::size_t bytes() const { return data.size() + extra.size(); }
};

// Activations in a kernel's own layout, built per call by KernelInfo::prepare.
struct PreparedActivations {
  const QuantizedBatch* src = nullptr;  // scales and sums, and the float rows for float kernels
  std::int64_t N = 0;
  const std::int8_t* q = nullptr;  // the int8 rows the kernel reads: src->q in place, or buf
  std::int64_t ldq = 0;
  AlignedBuffer buf;  // owned storage: reordered int8 rows, LUTs, ...
  std::int64_t ld_buf = 0;
};

enum class Exactness { kExact, kApproximate };

// Stated error bound of an approximate kernel, checked by `tritbench check` and the tests against
// the exact W1.58A8 result y_exact. The natural unit of such errors is one activation quantization
// step through the weights, w_scale / s[n] (s = the row's activation scale): the float baseline
// differs from W1.58A8 by at most half a step per nonzero weight, a lossy LUT by its table rounding
// per lookup. So, for every output:  |y - y_exact| <= step_units * K * w_scale / s[n]  (+ 1e-5 of
// |y_exact| for float rounding), and over a case with at least 64 outputs the normalized MSE
// sum (y - y_exact)^2 / sum y_exact^2 <= nmse.
struct ErrorBound {
  double step_units = 0;
  double nmse = 0;
};

using PackFn = void (*)(const TernaryMatrix& w, const TileConfig& tile, PackedWeights& out);
using UnpackFn = TernaryMatrix (*)(const PackedWeights& p);
using PrepareFn = void (*)(const QuantizedBatch& a, const PackedWeights& w, PreparedActivations& out);
// c[n * ldc + m] = sum_k t[m][k] * q[n][k] for n in [0, N), m in [m0, m1).
using GemmI32Fn = void (*)(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                           std::int64_t m1, std::int32_t* c, std::int64_t ldc);
// y[n * ldy + m] approximates the exact epilogue output, same ranges.
using GemmF32Fn = void (*)(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                           std::int64_t m1, float* y, std::int64_t ldy);

// One registry row. A row fixes format, packer, kernel and tile together; see kernels/registry.cpp.
struct KernelInfo {
  std::string_view name;  // <format>_<variant>__<isa>, see kernels/NAMING.md
  std::string_view family;  // "i2s", "naive", ... : what -k FAMILY resolves among
  std::string_view format;  // on-disk / packed format name, e.g. "I2_S"
  Isa isa;  // the ISA level the row needs
  Exactness exactness;
  ErrorBound bound;  // approximate rows only
  int row_multiple;  // m0 of every call is a multiple of this
  int k_multiple;  // K is padded to a multiple of this at pack time
  double bits_per_weight;  // of the packed weight data, padding excluded
  TileConfig tile;  // the row's tile (0 fields = family default)
  PackFn pack;
  UnpackFn unpack;
  PrepareFn prepare;
  GemmI32Fn gemm_i32;  // exact rows
  GemmF32Fn gemm_f32;  // approximate rows
  std::string_view description;
  const TileSpace* tiles = nullptr;  // tunable rows: the tiles they accept (see TileSpace)

  bool exact() const { return exactness == Exactness::kExact; }
};

}  // namespace tritbench
