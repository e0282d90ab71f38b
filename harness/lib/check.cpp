#include "harness/lib/check.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <set>
#include <sstream>

#include "kernels/registry.h"
#include "kernels/runtime/gemm.h"
#include "reference/epilogue.h"
#include "reference/kernels.h"
#include "reference/quantize.h"
#include "reference/rng.h"

namespace tritbench::check {

const char* name(WeightData d) {
  switch (d) {
    case WeightData::kRandom: return "random";
    case WeightData::kZero: return "zero";
    case WeightData::kPlusOne: return "all+1";
    case WeightData::kMinusOne: return "all-1";
    case WeightData::kAlternating: return "alternating";
  }
  return "?";
}

const char* name(ActData d) {
  switch (d) {
    case ActData::kGaussian: return "gaussian";
    case ActData::kUniform: return "uniform-int8";
    case ActData::kAllMax: return "all+127";
    case ActData::kAllMin: return "all-128";
    case ActData::kAlternating: return "alternating+127/-128";
  }
  return "?";
}

std::string Case::label() const {
  std::ostringstream s;
  s << "M=" << M << " K=" << K << " N=" << N << " w=" << name(weights) << " a=" << name(acts)
    << " seed=" << seed;
  return s.str();
}

std::vector<Case> cases(bool quick) {
  std::set<std::int64_t> ks = {1, 3, 64}, ms = {1, 3, 17};
  for (const auto& k : registry()) {
    const std::int64_t km = std::max(1, k.k_multiple), rm = std::max(1, k.row_multiple);
    for (std::int64_t v : {km - 1, km, km + 1, 2 * km, 3 * km + 5}) if (v > 0) ks.insert(v);
    for (std::int64_t v : {rm - 1, rm, rm + 1, 2 * rm + 3}) if (v > 0) ms.insert(v);
    // A row's K block (LUT kernels sum int16 per block and widen after it): around one, two and
    // three blocks, with the remainders 1 and 2 of triple-based formats.
    if (const std::int64_t kb = k.tile.k_block; kb > 0)
      for (std::int64_t v : {kb - 1, kb, kb + 1, kb + 2, 2 * kb + 1, 3 * kb + 2}) ks.insert(v);
  }
  std::vector<Case> out;
  std::uint64_t seed = 1;
  // Every K against a few M and batch sizes (quick: fewer combinations).
  const std::vector<std::int64_t> batches = quick ? std::vector<std::int64_t>{1, 5}
                                                  : std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9};
  std::size_t i = 0;
  for (std::int64_t K : ks)
    for (std::int64_t M : ms) {
      const std::int64_t N = batches[i++ % batches.size()];
      out.push_back({M, K, N, WeightData::kRandom, ActData::kGaussian, seed++});
    }
  // Batch sweep on one awkward shape.
  for (std::int64_t N : {1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 128}) {
    if (quick && N != 9 && N != 128) continue;
    out.push_back({37, 389, N, WeightData::kRandom, ActData::kUniform, seed++});
  }
  // Adversarial data: extremes of weights x activations, long K.
  const WeightData wds[] = {WeightData::kRandom, WeightData::kZero, WeightData::kPlusOne,
                            WeightData::kMinusOne, WeightData::kAlternating};
  const ActData ads[] = {ActData::kAllMax, ActData::kAllMin, ActData::kAlternating, ActData::kUniform};
  for (WeightData wd : wds)
    for (ActData ad : ads) out.push_back({9, quick ? 4096 : 8320, 3, wd, ad, seed++});
  out.push_back({8, 45568, 3, WeightData::kPlusOne, ActData::kAllMin, seed++});  // 100B FFN K
  out.push_back({8, 45568, 2, WeightData::kMinusOne, ActData::kAllMin, seed++});
  out.push_back({8, 45568, 1, WeightData::kRandom, ActData::kAllMax, seed++});
  // The 2B-4T shapes: decode (N = 1) and a prompt batch.
  for (auto [M, K] : {std::pair<std::int64_t, std::int64_t>{2560, 2560}, {640, 2560}, {6912, 2560}, {2560, 6912}}) {
    out.push_back({M, K, 1, WeightData::kRandom, ActData::kGaussian, seed++});
    if (!quick) out.push_back({M, K, 128, WeightData::kRandom, ActData::kGaussian, seed++});
  }
  if (quick) out.push_back({2560, 2560, 64, WeightData::kRandom, ActData::kGaussian, seed++});
  return out;
}

void make_data(const Case& c, CaseData& d) {
  Rng rng(c.seed * 0x100000001b3ull + 17);
  d.w.M = c.M;
  d.w.K = c.K;
  d.w.w.resize(static_cast<std::size_t>(c.M * c.K));
  d.w.scale = 0.5f + static_cast<float>(rng.uniform());
  for (std::int64_t i = 0; i < c.M * c.K; ++i) {
    std::int8_t v = 0;
    switch (c.weights) {
      case WeightData::kRandom: v = rng.ternary(); break;
      case WeightData::kZero: v = 0; break;
      case WeightData::kPlusOne: v = 1; break;
      case WeightData::kMinusOne: v = -1; break;
      case WeightData::kAlternating: v = (i % 2) ? -1 : 1; break;
    }
    d.w.w[i] = v;
  }
  d.x.clear();
  if (c.acts == ActData::kGaussian) {
    d.x.resize(static_cast<std::size_t>(c.N * c.K));
    for (auto& v : d.x) v = static_cast<float>(rng.normal());
    reference::quantize_activations(d.x.data(), c.N, c.K, c.K, d.a);
    return;
  }
  std::vector<std::int8_t> q(static_cast<std::size_t>(c.N * c.K));
  for (std::int64_t i = 0; i < c.N * c.K; ++i) {
    int v = 0;
    switch (c.acts) {
      case ActData::kUniform: v = static_cast<int>(rng.below(256)) - 128; break;
      case ActData::kAllMax: v = 127; break;
      case ActData::kAllMin: v = -128; break;
      case ActData::kAlternating: v = (i % 2) ? -128 : 127; break;
      case ActData::kGaussian: break;
    }
    q[i] = static_cast<std::int8_t>(v);
  }
  std::vector<float> scales(static_cast<std::size_t>(c.N));
  for (auto& s : scales) s = 10.0f + static_cast<float>(rng.uniform()) * 100.0f;
  reference::make_batch(q.data(), c.N, c.K, scales.data(), d.a);
}

std::vector<std::int32_t> oracle(const CaseData& d) {
  PackedWeights p;
  reference::naive_pack(d.w, {}, p);
  PreparedActivations pa;
  pa.src = &d.a;
  pa.N = d.a.N;
  reference::naive_prepare(d.a, p, pa);
  std::vector<std::int32_t> c(static_cast<std::size_t>(d.a.N * d.w.M));
  reference::naive_gemm(p, pa, 0, d.w.M, c.data(), d.w.M);
  return c;
}

Result run(const KernelInfo& k, const Case& c, const CaseData& d,
           const std::vector<std::int32_t>& expected, ThreadPool& pool, const TileConfig* tile) {
  Result r;
  r.kernel = std::string(k.name);
  r.c = c;
  r.threads = pool.size();
  r.exact = k.exact();
  if (!runnable(k)) {
    r.skipped = true;
    r.skip_reason = why_not_runnable(k.isa);
    return r;
  }
  try {
    PackedWeights p = pack_weights(k, d.w, tile);
    GemmWorkspace ws;
    prepare_activations(p, d.a, ws);
    const std::int64_t M = c.M, N = c.N;
    if (k.exact()) {
      // Sentinel-filled output with a wider stride: a kernel writing outside its rows shows up.
      const std::int64_t ldc = M + 3;
      std::vector<std::int32_t> got(static_cast<std::size_t>(N * ldc), 0x5a5a5a5a);
      gemm_i32(p, ws.prepared, got.data(), ldc, &pool);
      for (std::int64_t n = 0; n < N; ++n) {
        for (std::int64_t m = 0; m < ldc; ++m) {
          const std::int64_t g = got[n * ldc + m];
          const std::int64_t e = m < M ? expected[n * M + m] : 0x5a5a5a5a;
          if (g != e) {
            if (r.mismatches++ == 0) {
              r.bad_n = n;
              r.bad_m = m;
              r.got = g;
              r.expected = e;
            }
          }
        }
      }
      r.pass = r.mismatches == 0;
    } else {
      std::vector<float> y(static_cast<std::size_t>(N * M));
      gemm_f32(p, ws, y.data(), M, &pool);
      double err2 = 0, ref2 = 0;
      for (std::int64_t n = 0; n < N; ++n) {
        const double step = static_cast<double>(d.w.scale) / d.a.scale[n];
        for (std::int64_t m = 0; m < M; ++m) {
          const double e = reference::epilogue(expected[n * M + m], d.a.scale[n], d.w.scale);
          const double diff = static_cast<double>(y[n * M + m]) - e;
          if (!std::isfinite(y[n * M + m])) r.error = "non-finite output";
          const double allowed = k.bound.step_units * static_cast<double>(c.K) * step + 1e-5 * std::fabs(e);
          r.max_abs = std::max(r.max_abs, std::fabs(diff));
          r.bound_ratio = std::max(r.bound_ratio, std::fabs(diff) / allowed);
          err2 += diff * diff;
          ref2 += e * e;
        }
      }
      r.nmse = ref2 > 0 ? err2 / ref2 : 0;
      r.nmse_applies = N * M >= 64;
      r.pass = r.error.empty() && r.bound_ratio <= 1.0 && (!r.nmse_applies || r.nmse <= k.bound.nmse);
    }
  } catch (const std::exception& e) {
    r.error = e.what();
    r.pass = false;
  }
  return r;
}

std::vector<Summary> run_all(const std::vector<const KernelInfo*>& kernels, const std::vector<int>& threads,
                             bool quick, const std::function<void(const Result&)>& on_result) {
  std::vector<Summary> sums(kernels.size());
  for (std::size_t i = 0; i < kernels.size(); ++i) sums[i].kernel = kernels[i];
  std::vector<std::unique_ptr<ThreadPool>> pools;
  for (int t : threads) pools.push_back(std::make_unique<ThreadPool>(t));
  CaseData data;
  for (const Case& c : cases(quick)) {
    make_data(c, data);
    const auto expected = oracle(data);
    for (std::size_t i = 0; i < kernels.size(); ++i) {
      for (auto& pool : pools) {
        const Result r = run(*kernels[i], c, data, expected, *pool);
        if (on_result) on_result(r);
        Summary& s = sums[i];
        if (r.skipped) {
          ++s.skip;
          s.skip_reason = r.skip_reason;
        } else if (r.pass) {
          ++s.pass;
        } else if (s.fail++ == 0) {
          s.first_failure = r.describe();
        }
        if (!r.exact && !r.skipped) {
          if (r.nmse_applies) s.worst_nmse = std::max(s.worst_nmse, r.nmse);
          s.worst_bound_ratio = std::max(s.worst_bound_ratio, r.bound_ratio);
        }
      }
    }
  }
  return sums;
}

std::string Summary::verdict() const {
  const int runs = pass + fail;
  if (runs == 0) return "SKIPPED (" + skip_reason + ")";
  if (fail) return "FAIL " + std::to_string(fail) + "/" + std::to_string(runs) + ": " + first_failure;
  if (kernel->exact()) return "exact in " + std::to_string(pass) + "/" + std::to_string(runs) + " runs";
  std::ostringstream s;
  s << "approximate, within its bound in " << pass << " runs (worst nmse " << worst_nmse << " <= "
    << kernel->bound.nmse << ", worst error " << worst_bound_ratio << " of the allowed "
    << kernel->bound.step_units << " step/weight)";
  return s.str();
}

nlohmann::json Summary::to_json() const {
  return {{"kind", "check"}, {"kernel", std::string(kernel->name)}, {"exact", kernel->exact()}, {"pass", pass},
          {"fail", fail}, {"skipped", skip}, {"skip_reason", skip_reason}, {"first_failure", first_failure},
          {"worst_nmse", worst_nmse}, {"worst_bound_ratio", worst_bound_ratio}, {"ok", ok()}};
}

std::string Result::describe() const {
  std::ostringstream s;
  s << kernel << " [" << c.label() << " threads=" << threads << "]: ";
  if (skipped) {
    s << "skipped (" << skip_reason << ")";
  } else if (!error.empty()) {
    s << "ERROR " << error;
  } else if (exact) {
    if (pass) {
      s << "exact";
    } else {
      s << mismatches << " mismatches; first at token n=" << bad_n << ", row m=" << bad_m
        << (bad_m >= c.M ? " (outside the output rows: sentinel overwritten)" : "") << ": got "
        << got << ", expected " << expected;
    }
  } else {
    s << (pass ? "within bound" : "OUT OF BOUND") << ": max_abs=" << max_abs
      << " (worst err/allowed " << bound_ratio << ") nmse=" << nmse;
  }
  return s.str();
}

}  // namespace tritbench::check
