#include "kernels/runtime/gemm.h"

#include <array>
#include <atomic>
#include <mutex>
#include <stdexcept>

#include "kernels/registry.h"
#include "reference/epilogue.h"

namespace tritbench {

namespace {

// One counter slot per registry row, indexed by the row's position: lock-free on the hot path.
constexpr std::size_t kMaxRows = 256;
std::array<std::atomic<std::int64_t>, kMaxRows> g_calls{};

void count_call(const KernelInfo& k) {
  const std::size_t i = static_cast<std::size_t>(&k - registry().data());
  if (i < kMaxRows) g_calls[i].fetch_add(1, std::memory_order_relaxed);
}

void check_packed(const PackedWeights& w) {
  if (!w.kernel) throw std::invalid_argument("gemm: weights were not packed by any kernel");
  if (w.data.empty() && w.M * w.K > 0)
    throw std::invalid_argument("gemm: packed weights of " + std::string(w.kernel->name) +
                                " hold no data");
}

// Calls f(w, m0, m1) on each thread's rows, cut in row multiples by the pool's measured thread
// speeds (ThreadPool::run_balanced: a row's result does not depend on the range it falls in). f
// travels by value inside the pool's job (a worker of a short GEMV must not follow pointers into
// the caller's stack first: ThreadPool::run), so it should hold only pointers to long-lived
// objects and values.
template <class F>
void for_row_ranges(const PackedWeights& w, ThreadPool* pool, const F& f) {
  const std::int64_t mult = std::max(1, w.kernel->row_multiple);
  if (!pool || pool->size() == 1) {
    f(w, 0, w.M);
    return;
  }
  const auto job = [f, &w](int, std::int64_t u0, std::int64_t u1) {
    const std::int64_t m = std::max(1, w.kernel->row_multiple);
    f(w, u0 * m, std::min(w.M, u1 * m));
  };
  static_assert(sizeof(job) <= ThreadPool::kInlineBytes,
                "the job travels in the pool's cache line");
  pool->run_balanced((w.M + mult - 1) / mult, job);
}

}  // namespace

std::int64_t estimate_packed_bytes(const KernelInfo& k, std::int64_t M, std::int64_t K) {
  const std::int64_t rows = round_up(M, std::max(1, k.row_multiple)),
                     cols = round_up(K, std::max(1, k.k_multiple));
  const double data = k.bits_per_weight / 8 * static_cast<double>(rows) * static_cast<double>(cols);
  return static_cast<std::int64_t>(data * 1.03) + 4096;
}

void require_runnable(const KernelInfo& k) {
  if (!isa_runnable(k.isa))
    throw std::invalid_argument("kernel " + std::string(k.name) + " cannot run here: " +
                                why_not_runnable(k.isa));
}

PackedWeights pack_weights(const KernelInfo& k, const TernaryMatrix& w, const TileConfig* tile) {
  require_runnable(k);
  if (w.M <= 0 || w.K <= 0)
    throw std::invalid_argument("kernel " + std::string(k.name) + ": weight shape " +
                                std::to_string(w.M) + "x" + std::to_string(w.K) +
                                " is empty (M and K must be >= 1)");
  if (static_cast<std::int64_t>(w.w.size()) != w.M * w.K)
    throw std::invalid_argument("kernel " + std::string(k.name) + ": weight matrix holds " +
                                std::to_string(w.w.size()) + " values, expected M*K = " +
                                std::to_string(w.M * w.K));
  if (tile && !(*tile == k.tile)) {
    if (!k.tiles)
      throw std::invalid_argument("kernel " + std::string(k.name) + " has no tile parameters (tile " +
                                  tile->str() + " requested)");
    if (std::string why = k.tiles->check(*tile); !why.empty())
      throw std::invalid_argument("kernel " + std::string(k.name) + ": " + why);
  }
  PackedWeights p;
  p.kernel = &k;
  p.tile = tile ? *tile : k.tile;
  k.pack(w, p.tile, p);
  p.kernel = &k;
  return p;
}

void prepare_activations(const PackedWeights& w, const QuantizedBatch& a, GemmWorkspace& ws) {
  check_packed(w);
  if (a.K != w.K)
    throw std::invalid_argument("kernel " + std::string(w.kernel->name) + ": activations have K = " +
                                std::to_string(a.K) + ", weights expect K = " + std::to_string(w.K));
  ws.prepared.src = &a;
  ws.prepared.N = a.N;
  w.kernel->prepare(a, w, ws.prepared);
}

void gemm_i32(const PackedWeights& w, const PreparedActivations& a, std::int32_t* c, std::int64_t ldc,
              ThreadPool* pool) {
  check_packed(w);
  const KernelInfo& k = *w.kernel;
  if (!k.gemm_i32)
    throw std::invalid_argument("kernel " + std::string(k.name) +
                                " is approximate and has no integer result");
  if (!c || ldc < w.M) throw std::invalid_argument("gemm_i32: output buffer null or ldc < M");
  count_call(k);
  for_row_ranges(w, pool, [&a, c, ldc](const PackedWeights& p, std::int64_t m0, std::int64_t m1) {
    p.kernel->gemm_i32(p, a, m0, m1, c, ldc);
  });
}

void gemm_f32(const PackedWeights& w, GemmWorkspace& ws, float* y, std::int64_t ldy, ThreadPool* pool) {
  check_packed(w);
  const KernelInfo& k = *w.kernel;
  const PreparedActivations& a = ws.prepared;
  if (!a.src) throw std::invalid_argument("gemm_f32: activations were not prepared");
  if (!y || ldy < w.M) throw std::invalid_argument("gemm_f32: output buffer null or ldy < M");
  count_call(k);
  if (k.gemm_f32) {
    for_row_ranges(w, pool, [&a, y, ldy](const PackedWeights& p, std::int64_t m0, std::int64_t m1) {
      p.kernel->gemm_f32(p, a, m0, m1, y, ldy);
    });
    return;
  }
  const std::size_t need = static_cast<std::size_t>(a.N * w.M) * sizeof(std::int32_t);
  if (ws.acc.size() < need) ws.acc.resize(need);
  for_row_ranges(w, pool, [&ws, y, ldy](const PackedWeights& p, std::int64_t m0, std::int64_t m1) {
    const PreparedActivations& pa = ws.prepared;
    std::int32_t* c = ws.acc.as<std::int32_t>();
    p.kernel->gemm_i32(p, pa, m0, m1, c, p.M);
    reference::epilogue_rows(c, p.M, pa.src->scale.data(), p.scale, pa.N, m0, m1, y, ldy);
  });
}

namespace {

bool shares_activations(std::span<const PackedWeights* const> w) {
  bool shared = w.size() <= kMaxMultiWeights;
  for (const PackedWeights* p : w) {
    check_packed(*p);
    shared = shared && p->kernel == w[0]->kernel && p->K == w[0]->K && p->Kp == w[0]->Kp && p->tile == w[0]->tile;
  }
  return shared;
}

}  // namespace

void gemm_f32_multi(std::span<const PackedWeights* const> w, const QuantizedBatch& a,
                    GemmWorkspace& ws, std::span<float* const> y, ThreadPool* pool) {
  if (w.size() != y.size())
    throw std::invalid_argument("gemm_f32_multi: weights and outputs differ in number");
  if (w.empty()) return;
  if (!shares_activations(w)) {
    for (std::size_t i = 0; i < w.size(); ++i) {
      prepare_activations(*w[i], a, ws);
      gemm_f32(*w[i], ws, y[i], w[i]->M, pool);
    }
    return;
  }
  prepare_activations(*w[0], a, ws);
  gemm_f32_multi(w, ws, y, pool);
}

void gemm_f32_multi(std::span<const PackedWeights* const> w, GemmWorkspace& ws,
                    std::span<float* const> y, ThreadPool* pool) {
  if (w.size() != y.size())
    throw std::invalid_argument("gemm_f32_multi: weights and outputs differ in number");
  if (w.empty()) return;
  if (!shares_activations(w))
    throw std::invalid_argument(
        "gemm_f32_multi: prepared activations serve only weights of one kernel, K and "
        "tile, at most " +
        std::to_string(kMaxMultiWeights));
  const PreparedActivations& pa = ws.prepared;
  if (!pa.src) throw std::invalid_argument("gemm_f32_multi: activations were not prepared");
  const QuantizedBatch& a = *pa.src;
  if (a.K != w[0]->K)
    throw std::invalid_argument(
        "gemm_f32_multi: activations were prepared for K = " + std::to_string(a.K) +
        ", weights expect K = " + std::to_string(w[0]->K));
  for (float* p : y)
    if (!p) throw std::invalid_argument("gemm_f32_multi: output buffer null");
  if (!pool || pool->size() == 1) {
    for (std::size_t i = 0; i < w.size(); ++i) gemm_f32(*w[i], ws, y[i], w[i]->M, pool);
    return;
  }
  const KernelInfo& k = *w[0]->kernel;
  // Units of row_multiple rows, numbered across all matrices; each thread takes a contiguous run.
  const std::int64_t mult = std::max(1, k.row_multiple);
  // Fixed-size bookkeeping (q/k/v, gate/up): no allocation.
  std::array<std::int64_t, kMaxMultiWeights + 1> first_unit{};
  std::int64_t acc_elems = 0;
  std::array<std::int64_t, kMaxMultiWeights> acc_off{};
  for (std::size_t i = 0; i < w.size(); ++i) {
    first_unit[i + 1] = first_unit[i] + (w[i]->M + mult - 1) / mult;
    acc_off[i] = acc_elems;
    acc_elems += a.N * w[i]->M;
    count_call(k);
  }
  std::int32_t* acc = nullptr;
  if (!k.gemm_f32) {
    const std::size_t need = static_cast<std::size_t>(acc_elems) * sizeof(std::int32_t);
    if (ws.acc.size() < need) ws.acc.resize(need);
    acc = ws.acc.as<std::int32_t>();
  }
  const float* s = a.scale.data();
  pool->run_balanced(first_unit[w.size()], [&](int, std::int64_t t0, std::int64_t t1) {
    for (std::size_t i = 0; i < w.size(); ++i) {
      const std::int64_t u0 = std::max(t0, first_unit[i]), u1 = std::min(t1, first_unit[i + 1]);
      if (u0 >= u1) continue;
      const PackedWeights& p = *w[i];
      const std::int64_t m0 = (u0 - first_unit[i]) * mult, m1 = std::min(p.M, (u1 - first_unit[i]) * mult);
      if (k.gemm_f32) {
        k.gemm_f32(p, pa, m0, m1, y[i], p.M);
      } else {
        k.gemm_i32(p, pa, m0, m1, acc + acc_off[i], p.M);
        reference::epilogue_rows(acc + acc_off[i], p.M, s, p.scale, a.N, m0, m1, y[i], p.M);
      }
    }
  });
}

std::map<std::string, std::int64_t> kernel_call_counts() {
  std::map<std::string, std::int64_t> out;
  const auto& rows = registry();
  for (std::size_t i = 0; i < rows.size() && i < kMaxRows; ++i)
    if (auto n = g_calls[i].load()) out[std::string(rows[i].name)] = n;
  return out;
}

void reset_kernel_call_counts() {
  for (auto& c : g_calls) c.store(0);
}

}  // namespace tritbench
