#pragma once
// Running a registry kernel: threads, the epilogue, and the record of what ran.

#include <cstdint>
#include <map>
#include <span>
#include <string>

#include "kernels/api.h"
#include "kernels/runtime/thread_pool.h"

namespace tritbench {

// Reusable per-call state so that steady-state calls allocate nothing.
struct GemmWorkspace {
  PreparedActivations prepared;
  AlignedBuffer acc;  // int32 accumulators [N x M] of exact kernels
};

// Throws std::invalid_argument naming the kernel and the reason if this CPU cannot run it.
void require_runnable(const KernelInfo& k);

// Packs w for kernel k; throws std::invalid_argument naming the kernel and the reason if the
// kernel cannot run here or the shape breaks its contract.
PackedWeights pack_weights(const KernelInfo& k, const TernaryMatrix& w, const TileConfig* tile = nullptr);

// About the bytes pack_weights(k, w).bytes() comes to for an M x K matrix, without packing it: the
// row's bits per weight over M and K rounded up to its row and K multiples, plus 3% (a format's
// bits per weight can depend on K: TL2 packs a K remainder at 2 bits) and 4 KiB. Never below the
// real size and within 5% of it on model shapes (tests/test_kernels.cpp checks every row); a
// model's memory plan adds these up before packing.
std::int64_t estimate_packed_bytes(const KernelInfo& k, std::int64_t M, std::int64_t K);

// Prepares activations for w's kernel (into ws.prepared).
void prepare_activations(const PackedWeights& w, const QuantizedBatch& a, GemmWorkspace& ws);

// int32 accumulators c[n*ldc + m] of an exact kernel over all rows, split across the pool.
void gemm_i32(const PackedWeights& w, const PreparedActivations& a, std::int32_t* c, std::int64_t ldc,
              ThreadPool* pool);

// y = W x for the whole batch: exact kernels go through the shared epilogue, approximate ones write
// floats. ws must hold prepare_activations' result for a.
void gemm_f32(const PackedWeights& w, GemmWorkspace& ws, float* y, std::int64_t ldy, ThreadPool* pool);

// At most this many weights in one gemm_f32_multi call share its dispatch.
inline constexpr std::size_t kMaxMultiWeights = 8;

// Several weights that read the same activations (q, k, v; gate, up) in one pool dispatch:
// prepares a once and splits the rows of all outputs among the threads as one range, so small
// matrices share a barrier and both threads get equal work. y[i] = W[i] a with ldy[i] = W[i].M;
// results are identical to gemm_f32 on each (rows never depend on how they are split). Weights
// of different kernels, K or tiles are run one after the other.
void gemm_f32_multi(std::span<const PackedWeights* const> w, const QuantizedBatch& a, GemmWorkspace& ws,
                    std::span<float* const> y, ThreadPool* pool);
// The same call once ws holds prepare_activations' result for w[0] (what benchmarks time, as
// gemm_f32 apart from the prepare step): the weights must share kernel, K and tile, else throws.
void gemm_f32_multi(std::span<const PackedWeights* const> w, GemmWorkspace& ws, std::span<float* const> y,
                    ThreadPool* pool);

// Counts of kernel calls by registry row name since process start (or the last reset): the
// record of which kernel actually ran, reported by benchmarks and e2e runs.
std::map<std::string, std::int64_t> kernel_call_counts();
void reset_kernel_call_counts();

}  // namespace tritbench
