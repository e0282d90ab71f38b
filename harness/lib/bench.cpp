#include "harness/lib/bench.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <span>
#include <stdexcept>

#include "harness/lib/roofline.h"
#include "kernels/registry.h"
#include "kernels/runtime/gemm.h"
#include "kernels/runtime/tuning.h"
#include "reference/quantize.h"
#include "reference/rng.h"

namespace tritbench::bench {

namespace {

using Clock = std::chrono::steady_clock;

// Packed copies of one call's weight matrices (one, or the parts of a multi-matrix call), kept
// while consecutive benchmarks can use them: same packer, shape and tile give the same bytes,
// whichever row of the packer's family runs them.
struct WeightSet {
  PackFn pack = nullptr;
  std::int64_t K = 0;
  std::vector<std::int64_t> parts;  // row counts of the call's matrices (one entry: one matrix)
  TileConfig tile;
  bool cold = false;
  std::vector<PackedWeights> copies;       // copy c's matrix i at c * parts.size() + i
  std::vector<const PackedWeights*> ptrs;  // the same, for gemm_f32_multi
  std::unique_ptr<WeightArena> arena;  // the copies, end to end as a model's layers are
  double pack_seconds = 0;
  std::int64_t bytes = 0;  // one copy, all parts

  std::size_t group() const { return parts.size(); }
  std::size_t n_copies() const { return group() ? copies.size() / group() : 0; }
  bool serves(const Spec& s) const {
    return pack == s.kernel->pack && K == s.K && parts == parts_of(s) &&
           (tile == s.tile || !tile_matters(s)) && (cold || s.hot) && !copies.empty();
  }
  static std::vector<std::int64_t> parts_of(const Spec& s) {
    return s.parts.empty() ? std::vector<std::int64_t>{s.M} : s.parts;
  }
  static bool tile_matters(const Spec& s) { return !s.kernel->tiles || s.kernel->tiles->pack_uses_tile; }
};

void build(const Spec& s, std::int64_t rotate_bytes, WeightSet& ws) {
  ws = WeightSet{};
  ws.parts = WeightSet::parts_of(s);
  std::int64_t rows = 0;
  for (std::int64_t m : ws.parts) rows += m;
  if (rows != s.M)
    throw std::invalid_argument("benchmark " + s.mxk() + ": the parts' rows add up to " +
                                std::to_string(rows) + ", not M = " + std::to_string(s.M));
  ws.arena = std::make_unique<WeightArena>();
  auto adopt = [&](PackedWeights& p) {
    ws.arena->adopt(p.data);
    ws.arena->adopt(p.extra);
  };
  std::int64_t first_row = 0;
  for (std::int64_t m : ws.parts) {
    TernaryMatrix w;
    // Seeded by the rows so far: a single matrix gets the same weights as before calls existed.
    Rng rng(static_cast<std::uint64_t>((first_row + m) * 1000003 + s.K));
    w.M = m;
    w.K = s.K;
    w.scale = 0.7f;
    w.w.resize(static_cast<std::size_t>(m * s.K));
    for (auto& v : w.w) v = rng.ternary();
    const auto t0 = Clock::now();
    ws.copies.push_back(pack_weights(*s.kernel, w, &s.tile));
    ws.pack_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
    adopt(ws.copies.back());
    ws.bytes += static_cast<std::int64_t>(ws.copies.back().bytes());
    first_row += m;
  }
  ws.pack = s.kernel->pack;
  ws.K = s.K;
  ws.tile = s.tile;
  ws.cold = !s.hot;
  if (!s.hot) {
    // 2.5x the LLC as reported (VMs may report the whole socket's L3), capped at 2 GiB.
    const double llc = static_cast<double>(cpu_info().last_level_cache_bytes());
    const double span = rotate_bytes > 0 ? static_cast<double>(rotate_bytes) : std::min(2.5 * llc, 2.0 * (1ull << 30));
    const auto n =
        static_cast<std::int64_t>(std::ceil(span / std::max(1.0, static_cast<double>(ws.bytes))));
    const std::size_t g = ws.group();
    ws.copies.reserve(static_cast<std::size_t>(n) * g);
    for (std::int64_t c = 1; c < n; ++c)
      for (std::size_t i = 0; i < g; ++i) {
        ws.copies.push_back(ws.copies[i]);
        adopt(ws.copies.back());
      }
  }
  for (const PackedWeights& p : ws.copies) ws.ptrs.push_back(&p);
}

// Seconds per call of f: `blocks` samples, each the mean over enough calls to last block_seconds.
template <class F>
Stats time_blocks(F&& f, int blocks, double block_seconds) {
  std::int64_t n = 1;
  for (;;) {
    const auto t0 = Clock::now();
    for (std::int64_t i = 0; i < n; ++i) f();
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (s >= block_seconds || n >= (1 << 24)) break;
    n = s > 0 ? std::max(n * 2, static_cast<std::int64_t>(n * block_seconds / s * 1.2)) : n * 16;
  }
  std::vector<double> samples;
  for (int b = 0; b < blocks; ++b) {
    const auto t0 = Clock::now();
    for (std::int64_t i = 0; i < n; ++i) f();
    samples.push_back(std::chrono::duration<double>(Clock::now() - t0).count() / static_cast<double>(n));
  }
  return Stats::of(std::move(samples));
}

class Collector : public benchmark::BenchmarkReporter {
 public:
  std::vector<double> samples, cpu;
  std::string error;

  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& r : runs) {
      if (r.run_type != Run::RT_Iteration) continue;
      if (r.error_occurred) {
        error = r.error_message;
        continue;
      }
      if (r.iterations > 0) {
        samples.push_back(r.real_accumulated_time / static_cast<double>(r.iterations));
        cpu.push_back(r.cpu_accumulated_time / static_cast<double>(r.iterations));
      }
    }
  }
  void Finalize() override {}
};

std::string bench_name(const Spec& s) {
  return std::string(s.kernel->name) + "/" + s.mxk() + "/N" + std::to_string(s.N) + "/t" +
         std::to_string(s.threads) + (s.hot ? "/hot" : "/cold") +
         (s.tile_source == "default" ? "" : "/" + s.tile_source + ":" + s.tile.str());
}

void apply_roofline(const roofline::Roofline& rf, Result& r) {
  const auto& c = rf.at(r.spec.threads);
  r.read_gbps_ceiling = c.read_gbps;
  r.int8_peak_gops = rf.int8_peak_gops(r.spec.kernel->isa, r.spec.threads);
  const double ops_per_byte = 2.0 * static_cast<double>(r.spec.M) * static_cast<double>(r.spec.K) *
                              static_cast<double>(r.spec.N) / std::max<double>(1.0, static_cast<double>(r.packed_bytes));
  const double mem = r.spec.hot || c.read_gbps <= 0 ? std::numeric_limits<double>::infinity()
                                                    : c.read_gbps * ops_per_byte;
  const double peak = r.int8_peak_gops > 0 ? r.int8_peak_gops : std::numeric_limits<double>::infinity();
  if (std::isinf(mem) && std::isinf(peak)) return;
  r.has_roofline = true;
  r.pct_of_read_bw = c.read_gbps > 0 ? 100.0 * r.weight_gbps / c.read_gbps : 0;
  r.pct_of_int8_peak = r.int8_peak_gops > 0 ? 100.0 * r.gops / r.int8_peak_gops : 0;
  r.roofline_bound = mem < peak ? "memory" : "compute";
  r.roofline_pct = 100.0 * r.gops / std::min(mem, peak);
  r.roofline_pct_best = r.gemm.min > 0 ? r.roofline_pct * r.gemm.median / r.gemm.min : 0;
}

// The q-quantile of v (the element at rank q * (n - 1), rounded down); 0 for none.
double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
}

// Times `seconds` of single calls (per_call seconds each, as the repetitions found; 100 to 200000
// calls) with the pool's task stamps on: Options::anatomy.
template <class F>
Anatomy measure_anatomy(ThreadPool& pool, const F& call, double seconds, double per_call) {
  const int T = pool.size();
  const auto n =
      static_cast<std::int64_t>(std::clamp(seconds / std::max(per_call, 1e-9), 100.0, 200000.0));
  std::vector<ThreadPool::TaskStamp> st(static_cast<std::size_t>(T));
  std::vector<double> total, fork, join, imbalance;
  std::vector<std::vector<double>> task(static_cast<std::size_t>(T));
  std::vector<std::int64_t> slowest(static_cast<std::size_t>(T));
  total.reserve(static_cast<std::size_t>(n));
  pool.record_tasks(st.data());
  struct Stop {
    ThreadPool& pool;
    ~Stop() { pool.record_tasks(nullptr); }
  } stop{pool};
  for (std::int64_t i = 0; i < n; ++i) {
    std::fill(st.begin(), st.end(), ThreadPool::TaskStamp{});
    const std::int64_t c0 = ThreadPool::now_ns();
    call();
    const std::int64_t c1 = ThreadPool::now_ns();
    total.push_back(static_cast<double>(c1 - c0) * 1e-9);
    // One thread: the GEMM runtime does not use the pool, so there are no tasks to stamp.
    if (T < 2 || std::any_of(st.begin(), st.end(), [](const auto& x) { return x.end_ns == 0; }))
      continue;
    std::int64_t last_start = st[0].start_ns, last_end = st[0].end_ns;
    int longest = 0, shortest = 0;
    for (int t = 0; t < T; ++t) {
      last_start = std::max(last_start, st[t].start_ns);
      last_end = std::max(last_end, st[t].end_ns);
      task[t].push_back(static_cast<double>(st[t].end_ns - st[t].start_ns) * 1e-9);
      if (task[t].back() > task[longest].back()) longest = t;
      if (task[t].back() < task[shortest].back()) shortest = t;
    }
    fork.push_back(static_cast<double>(last_start - c0) * 1e-9);
    join.push_back(static_cast<double>(c1 - last_end) * 1e-9);
    const double hi = task[longest].back();
    imbalance.push_back(hi > 0 ? (hi - task[shortest].back()) / hi : 0);
    ++slowest[longest];
  }
  Anatomy a;
  a.calls = n;
  const Stats calls = Stats::of(total);
  a.call_median = calls.median;
  a.call_mean = calls.mean;
  a.call_p99 = quantile(total, 0.99);
  if (!fork.empty()) {
    a.fork_median = Stats::of(fork).median;
    a.join_median = Stats::of(join).median;
    a.imbalance_median = Stats::of(imbalance).median;
    for (int t = 0; t < T; ++t) {
      a.task_median.push_back(Stats::of(task[t]).median);
      a.task_p99.push_back(quantile(task[t], 0.99));
      a.slowest_share.push_back(static_cast<double>(slowest[t]) / static_cast<double>(fork.size()));
    }
  }
  return a;
}

void init_benchmark_library() {
  static bool initialized = false;
  if (initialized) return;
  int argc = 1;
  char arg0[] = "tritbench";
  char* argv[] = {arg0, nullptr};
  benchmark::Initialize(&argc, argv);
  initialized = true;
}

}  // namespace

std::string mxk(std::int64_t M, std::int64_t K, const std::vector<std::int64_t>& parts) {
  std::string m;
  for (std::int64_t p : parts) {
    if (!m.empty()) m += '+';
    m += std::to_string(p);
  }
  if (m.empty()) m = std::to_string(M);
  m += 'x';
  m += std::to_string(K);
  return m;
}

std::string Spec::mxk() const { return bench::mxk(M, K, parts); }

Stats Stats::of(std::vector<double> samples) {
  Stats st;
  st.samples = samples;
  if (samples.empty()) return st;
  std::sort(samples.begin(), samples.end());
  const std::size_t n = samples.size();
  st.median = n % 2 ? samples[n / 2] : 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
  st.min = samples.front();
  st.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(n);
  double var = 0;
  for (double v : samples) var += (v - st.mean) * (v - st.mean);
  st.stddev = n > 1 ? std::sqrt(var / static_cast<double>(n - 1)) : 0;
  return st;
}

nlohmann::json Stats::to_json() const {
  return {{"samples_seconds", samples}, {"median_seconds", median}, {"mean_seconds", mean},
          {"stddev_seconds", stddev},   {"min_seconds", min},       {"n", samples.size()}};
}

std::vector<Result> run(const std::vector<Spec>& specs, const Options& opts) {
  init_benchmark_library();
  std::vector<Result> results(specs.size());
  // Run order: benchmarks that can share packed weights next to each other (cold before hot, so
  // the rotating copies serve both); results keep the caller's order.
  std::vector<std::size_t> order(specs.size());
  std::iota(order.begin(), order.end(), 0);
  auto key = [&](std::size_t i) {
    const Spec& s = specs[i];
    const TileConfig t = WeightSet::tile_matters(s) ? s.tile : TileConfig{};
    return std::make_tuple(s.M, s.K, s.parts, reinterpret_cast<std::uintptr_t>(s.kernel->pack),
                           t.row_block, t.col_block, t.k_block, t.parallel, t.block_rows,
                           t.prefetch, t.streams, s.hot);
  };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return key(a) < key(b); });

  std::map<int, std::unique_ptr<ThreadPool>> pools;
  WeightSet weights;
  const std::size_t total = static_cast<std::size_t>(
      std::count_if(specs.begin(), specs.end(), [](const Spec& s) { return runnable(*s.kernel); }));
  std::size_t done = 0;
  for (std::size_t i : order) {
    const Spec& s = specs[i];
    Result& r = results[i];
    r.spec = s;
    r.isa = std::string(isa_name(s.kernel->isa));
    if (!runnable(*s.kernel)) {
      r.error = "skipped: " + why_not_runnable(s.kernel->isa);
      continue;
    }
    try {
      if (s.kernel->tiles && !(s.tile == s.kernel->tile))
        if (std::string why = s.kernel->tiles->check(s.tile); !why.empty())
          throw std::invalid_argument("kernel " + std::string(s.kernel->name) + ": " + why);
      if (!weights.serves(s)) build(s, opts.rotate_bytes, weights);
    } catch (const std::exception& e) {
      r.error = e.what();
      continue;
    }
    for (auto& p : weights.copies) {
      p.kernel = s.kernel;
      p.tile = s.tile;  // the same bytes serve every tile when the packer ignores it
    }
    const std::size_t g = weights.group();
    const std::size_t n_copies = s.hot ? 1 : weights.n_copies();
    r.weight_copies = static_cast<std::int64_t>(n_copies);
    r.packed_bytes = weights.bytes;
    r.pack_seconds = weights.pack_seconds;
    r.tile = effective_tile(*s.kernel, s.tile, s.M, s.K, s.N);

    auto& pool = pools[s.threads];
    if (!pool) pool = std::make_unique<ThreadPool>(s.threads);
    std::vector<float> x(static_cast<std::size_t>(s.N * s.K)), y(static_cast<std::size_t>(s.N * s.M));
    std::vector<float*> ys;  // each part's output (ldy = its rows)
    for (std::int64_t off = 0; std::int64_t m : weights.parts) {
      ys.push_back(y.data() + s.N * off);
      off += m;
    }
    Rng rng(static_cast<std::uint64_t>(s.M * 31 + s.K * 7 + s.N));
    for (auto& v : x) v = static_cast<float>(rng.normal());
    QuantizedBatch a;
    GemmWorkspace ws;
    std::size_t next = 0;
    Collector collector;
    try {
      const double block = std::max(1e-3, opts.min_time / 10);
      r.quantize = time_blocks([&] { reference::quantize_activations(x.data(), s.N, s.K, s.K, a); },
                               opts.repetitions, block);
      r.prepare = time_blocks([&] { prepare_activations(weights.copies[0], a, ws); }, opts.repetitions, block);
      reset_kernel_call_counts();
      // ws.prepared was made for copy 0's first matrix; the matrices share K and tile, so it serves
      // them all.
      auto call = [&] {
        if (g == 1)
          gemm_f32(weights.copies[next], ws, y.data(), s.M, pool.get());
        else
          gemm_f32_multi(std::span(weights.ptrs).subspan(next * g, g), ws, ys, pool.get());
        next = next + 1 == n_copies ? 0 : next + 1;
      };
      // Warm-up once (first touch of the output, the pool's first wake-up); Google Benchmark calls
      // the function below once per repetition and for its iteration estimate.
      call();
      roofline::ReadProbe* probe = s.hot ? nullptr : opts.read_now;
      if (probe) r.read_gbps_now = probe->read_gbps(*pool, opts.read_now_passes);
      // The copies' weight bytes, call by call, for Options::read_calls.
      std::vector<std::vector<roofline::ReadSpan>> calls;
      if (opts.read_calls && !s.hot)
        for (std::size_t c = 0; c < n_copies; ++c) {
          auto& call_bytes = calls.emplace_back();
          for (std::size_t j = 0; j < g; ++j) {
            const auto& d = weights.copies[c * g + j].data;
            call_bytes.push_back({d.data(), d.size()});
          }
        }
      auto read_calls = [&] {
        return roofline::read_calls_gbps(*pool, calls, opts.read_now_passes);
      };
      if (!calls.empty()) r.read_calls_gbps = read_calls();
      benchmark::RegisterBenchmark(bench_name(s).c_str(), [&](benchmark::State& st) {
        for (auto _ : st) call();
      })
          ->Repetitions(opts.repetitions)
          ->MinTime(opts.min_time)
          ->UseRealTime()
          ->ReportAggregatesOnly(false);
      benchmark::RunSpecifiedBenchmarks(&collector);
      benchmark::ClearRegisteredBenchmarks();
      if (probe) r.read_gbps_now = std::max(r.read_gbps_now, probe->read_gbps(*pool, opts.read_now_passes));
      if (!calls.empty()) r.read_calls_gbps = std::max(r.read_calls_gbps, read_calls());
      if (opts.anatomy && !collector.samples.empty())
        r.anatomy =
            measure_anatomy(*pool, call, opts.min_time, Stats::of(collector.samples).median);
    } catch (const std::exception& e) {
      benchmark::ClearRegisteredBenchmarks();
      r.error = e.what();
      continue;
    }
    r.error = collector.error;
    if (collector.samples.empty() && r.error.empty()) r.error = "no samples were recorded";
    for (const auto& [name, count] : kernel_call_counts())
      if (count > 0) {
        if (!r.kernel_ran.empty()) r.kernel_ran += ',';
        r.kernel_ran += name;
      }
    if (r.error.empty()) {
      r.gemm = Stats::of(collector.samples);
      r.gemm_cpu_samples = collector.cpu;
      const double real = std::accumulate(collector.samples.begin(), collector.samples.end(), 0.0);
      const double cpu = std::accumulate(collector.cpu.begin(), collector.cpu.end(), 0.0);
      r.cpu_utilization = real > 0 ? cpu / real : 0;
      const double ops = 2.0 * static_cast<double>(s.M) * static_cast<double>(s.K) * static_cast<double>(s.N);
      r.gops = ops / r.gemm.median * 1e-9;
      r.weight_gbps = static_cast<double>(r.packed_bytes) / r.gemm.median * 1e-9;
      if (opts.roofline) apply_roofline(*opts.roofline, r);
      if (r.read_gbps_now > 0) r.pct_of_read_now = 100.0 * r.weight_gbps / r.read_gbps_now;
      if (r.read_calls_gbps > 0) r.pct_of_read_calls = 100.0 * r.weight_gbps / r.read_calls_gbps;
    }
    if (opts.progress) {
      std::cerr << "  [" << ++done << "/" << total << "] " << bench_name(s);
      if (r.error.empty())
        std::cerr << ": " << r.gemm.median * 1e6 << " us, " << r.gops << " GOP/s"
                  << (r.has_roofline ? ", " + std::to_string(static_cast<int>(std::lround(r.roofline_pct))) +
                                           "% of " + r.roofline_bound + " roofline"
                                     : "");
      else
        std::cerr << ": " << r.error;
      std::cerr << "\n";
    }
  }
  return results;
}

nlohmann::json Result::to_json() const {
  nlohmann::json j = {{"kernel", std::string(spec.kernel->name)},
                      {"kernel_ran", kernel_ran},
                      {"isa", isa},
                      {"format", std::string(spec.kernel->format)},
                      {"shape", spec.shape},
                      {"M", spec.M},
                      {"K", spec.K},
                      {"parts", spec.parts.empty() ? nlohmann::json(nullptr) : nlohmann::json(spec.parts)},
                      {"batch", spec.N},
                      {"threads", spec.threads},
                      {"hot", spec.hot},
                      {"tile", tile.str()},
                      {"tile_fields",
                       {{"rb", tile.row_block}, {"cb", tile.col_block}, {"kb", tile.k_block},
                        {"par", tile.parallel}, {"br", tile.block_rows},
                        {"pf", tile.prefetch}, {"st", tile.streams}}},
                      {"tile_requested", spec.tile.str()},
                      {"tile_source", spec.tile_source},
                      {"weight_copies", weight_copies},
                      {"packed_bytes", packed_bytes},
                      {"pack_seconds", pack_seconds},
                      {"samples_seconds", gemm.samples},
                      {"median_seconds", gemm.median},
                      {"mean_seconds", gemm.mean},
                      {"stddev_seconds", gemm.stddev},
                      {"min_seconds", gemm.min},
                      {"n", gemm.samples.size()},
                      {"cpu_samples_seconds", gemm_cpu_samples},
                      {"cpu_utilization", cpu_utilization},
                      {"quantize", quantize.to_json()},
                      {"prepare", prepare.to_json()},
                      {"gops", gops},
                      {"weight_gbps", weight_gbps},
                      {"error", error}};
  if (has_roofline)
    j["roofline"] = {{"read_gbps", read_gbps_ceiling},      {"int8_peak_gops", int8_peak_gops},
                     {"int8_peak_name", roofline::Roofline::peak_name(spec.kernel->isa)},
                     {"pct_of_read_bw", pct_of_read_bw},   {"pct_of_int8_peak", pct_of_int8_peak},
                     {"bound", roofline_bound},            {"pct", roofline_pct},
                     {"pct_best", roofline_pct_best}};
  else
    j["roofline"] = nullptr;
  // A ceiling measured next to the row: GB/s, and the row's share at the median / fastest repetition.
  auto next_to = [&](double gbps, double pct) -> nlohmann::json {
    if (gbps <= 0) return nullptr;
    return {{"read_gbps", gbps}, {"pct", pct}, {"pct_best", gemm.min > 0 ? pct * gemm.median / gemm.min : 0.0}};
  };
  j["read_now"] = next_to(read_gbps_now, pct_of_read_now);
  j["read_calls"] = next_to(read_calls_gbps, pct_of_read_calls);
  j["anatomy"] = anatomy.calls > 0 ? anatomy.to_json() : nlohmann::json(nullptr);
  return j;
}

nlohmann::json Anatomy::to_json() const {
  return {{"calls", calls},
          {"call_median_seconds", call_median},
          {"call_mean_seconds", call_mean},
          {"call_p99_seconds", call_p99},
          {"tail_pct", tail_pct()},
          {"fork_median_seconds", fork_median},
          {"join_median_seconds", join_median},
          {"imbalance_median", imbalance_median},
          {"task_median_seconds", task_median},
          {"task_p99_seconds", task_p99},
          {"slowest_share", slowest_share}};
}

}  // namespace tritbench::bench
