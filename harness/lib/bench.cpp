#include "harness/lib/bench.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>

#include "kernels/registry.h"
#include "kernels/runtime/gemm.h"
#include "reference/quantize.h"
#include "reference/rng.h"

namespace tritbench::bench {

namespace {

struct Context {
  Spec spec;
  TernaryMatrix w;
  std::vector<PackedWeights> copies;
  std::vector<float> x, y;
  QuantizedBatch a;
  GemmWorkspace ws;
  ThreadPool* pool = nullptr;
  std::size_t next = 0;
  bool ready = false;
  double pack_seconds = 0;
  std::string error;
  std::string_view ran;

  void setup() {
    if (ready) return;
    ready = true;
    Rng rng(spec.M * 1000003 + spec.K);
    w.M = spec.M;
    w.K = spec.K;
    w.scale = 0.7f;
    w.w.resize(static_cast<std::size_t>(spec.M * spec.K));
    for (auto& v : w.w) v = rng.ternary();
    x.resize(static_cast<std::size_t>(spec.N * spec.K));
    for (auto& v : x) v = static_cast<float>(rng.normal());
    y.resize(static_cast<std::size_t>(spec.N * spec.M));
    const auto t0 = std::chrono::steady_clock::now();
    copies.push_back(pack_weights(*spec.kernel, w));
    pack_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!spec.hot) {
      // 2.5x the LLC as reported (VMs may report the whole socket's L3), capped at 2 GiB.
      const double llc = static_cast<double>(cpu_info().last_level_cache_bytes());
      const double span = std::min(2.5 * llc, 2.0 * (1ull << 30));
      const auto bytes = static_cast<double>(copies[0].bytes());
      const auto n = static_cast<std::int64_t>(std::ceil(span / std::max(1.0, bytes)));
      for (std::int64_t i = 1; i < n; ++i) copies.push_back(copies[0]);
    }
    w.w.clear();
    w.w.shrink_to_fit();
  }

  void call() {
    const PackedWeights& p = copies[next];
    next = next + 1 == copies.size() ? 0 : next + 1;
    reference::quantize_activations(x.data(), spec.N, spec.K, spec.K, a);
    prepare_activations(p, a, ws);
    gemm_f32(p, ws, y.data(), spec.M, pool);
    ran = p.kernel->name;  // the row whose functions the runtime dispatched to
  }
};

class Collector : public benchmark::BenchmarkReporter {
 public:
  std::map<std::string, std::vector<double>> samples;
  std::map<std::string, std::string> errors;
  bool progress = true;
  std::size_t total = 0, done = 0;

  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& r : runs) {
      if (r.run_type != Run::RT_Iteration) continue;
      // function_name is the name registered; benchmark_name() adds "/repeats:5/..." suffixes.
      const std::string name = r.run_name.function_name;
      if (r.error_occurred) {
        errors[name] = r.error_message;
        continue;
      }
      if (r.iterations > 0) samples[name].push_back(r.real_accumulated_time / static_cast<double>(r.iterations));
      if (progress && r.repetition_index + 1 == r.repetitions)
        std::cerr << "  [" << ++done << "/" << total << "] " << name.substr(name.find('/') + 1) << "\n";
    }
  }
  void Finalize() override {}
};

std::string bench_name(const Spec& s, std::size_t i) {
  return std::to_string(i) + "/" + std::string(s.kernel->name) + "/M" + std::to_string(s.M) + "xK" +
         std::to_string(s.K) + "/N" + std::to_string(s.N) + "/t" + std::to_string(s.threads) +
         (s.hot ? "/hot" : "/cold");
}

}  // namespace

std::vector<Result> run(const std::vector<Spec>& specs, const Options& opts) {
  static bool initialized = false;
  if (!initialized) {
    int argc = 1;
    char arg0[] = "tritbench";
    char* argv[] = {arg0, nullptr};
    benchmark::Initialize(&argc, argv);
    initialized = true;
  }
  std::map<int, std::unique_ptr<ThreadPool>> pools;
  std::vector<std::shared_ptr<Context>> ctx;
  std::vector<Result> results(specs.size());
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const Spec& s = specs[i];
    results[i].spec = s;
    results[i].isa = std::string(isa_name(s.kernel->isa));
    auto c = std::make_shared<Context>();
    c->spec = s;
    if (!runnable(*s.kernel)) {
      results[i].error = "skipped: " + why_not_runnable(s.kernel->isa);
      ctx.push_back(nullptr);
      continue;
    }
    auto& pool = pools[s.threads];
    if (!pool) pool = std::make_unique<ThreadPool>(s.threads);
    c->pool = pool.get();
    ctx.push_back(c);
    benchmark::RegisterBenchmark(bench_name(s, i).c_str(), [c](benchmark::State& st) {
          try {
            c->setup();
            c->call();  // warm-up: first-touch of buffers, pool wake-up
          } catch (const std::exception& e) {
            st.SkipWithError(e.what());
            return;
          }
          for (auto _ : st) c->call();
        })
        ->Repetitions(opts.repetitions)
        ->MinTime(opts.min_time)
        ->UseRealTime()
        ->ReportAggregatesOnly(false);
  }
  Collector collector;
  collector.progress = opts.progress;
  collector.total = static_cast<std::size_t>(std::count_if(ctx.begin(), ctx.end(), [](auto& p) { return p != nullptr; }));
  benchmark::RunSpecifiedBenchmarks(&collector);
  benchmark::ClearRegisteredBenchmarks();

  for (std::size_t i = 0; i < specs.size(); ++i) {
    Result& r = results[i];
    if (!ctx[i]) continue;
    const std::string name = bench_name(specs[i], i);
    if (auto e = collector.errors.find(name); e != collector.errors.end()) r.error = e->second;
    r.samples = collector.samples[name];
    r.weight_copies = static_cast<std::int64_t>(ctx[i]->copies.size());
    r.packed_bytes = ctx[i]->copies.empty() ? 0 : static_cast<std::int64_t>(ctx[i]->copies[0].bytes());
    r.pack_seconds = ctx[i]->pack_seconds;
    if (r.samples.empty() && r.error.empty()) r.error = "no samples were recorded";
    if (!r.error.empty()) continue;
    r.kernel_ran = std::string(ctx[i]->ran);
    std::vector<double> s = r.samples;
    std::sort(s.begin(), s.end());
    const std::size_t n = s.size();
    r.median = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    r.min = s.front();
    r.mean = std::accumulate(s.begin(), s.end(), 0.0) / static_cast<double>(n);
    double var = 0;
    for (double v : s) var += (v - r.mean) * (v - r.mean);
    r.stddev = n > 1 ? std::sqrt(var / static_cast<double>(n - 1)) : 0;
    const double ops = 2.0 * static_cast<double>(specs[i].M) * static_cast<double>(specs[i].K) *
                       static_cast<double>(specs[i].N);
    r.gops = ops / r.median * 1e-9;
    r.weight_gbps = static_cast<double>(r.packed_bytes) / r.median * 1e-9;
    ctx[i].reset();
  }
  return results;
}

nlohmann::json Result::to_json() const {
  return {{"kernel", std::string(spec.kernel->name)},
          {"kernel_ran", kernel_ran},
          {"isa", isa},
          {"format", std::string(spec.kernel->format)},
          {"shape", spec.shape},
          {"M", spec.M},
          {"K", spec.K},
          {"batch", spec.N},
          {"threads", spec.threads},
          {"hot", spec.hot},
          {"weight_copies", weight_copies},
          {"packed_bytes", packed_bytes},
          {"pack_seconds", pack_seconds},
          {"samples_seconds", samples},
          {"median_seconds", median},
          {"mean_seconds", mean},
          {"stddev_seconds", stddev},
          {"min_seconds", min},
          {"n", samples.size()},
          {"gops", gops},
          {"weight_gbps", weight_gbps},
          {"error", error}};
}

}  // namespace tritbench::bench
