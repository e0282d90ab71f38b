// tritbench kernels: Google Benchmark timings of registry kernels over shapes x batch x threads.
#include <fstream>
#include <iostream>

#include "harness/commands.h"
#include "harness/lib/args.h"
#include "harness/lib/bench.h"
#include "harness/lib/env.h"
#include "harness/lib/io.h"
#include "harness/lib/table.h"
#include "kernels/registry.h"
#include "models/config.h"

#ifndef TRITBENCH_SOURCE_DIR
#define TRITBENCH_SOURCE_DIR "."
#endif

namespace tritbench::cli {

namespace {

struct Shape {
  std::string label;
  std::int64_t M, K;
};

std::vector<Shape> parse_shapes(const std::string& s) {
  std::vector<Shape> out;
  for (const std::string& item : split(s, ',')) {
    if (const auto* cfg = models::find_preset(item)) {
      for (const auto& ls : models::linear_shapes(*cfg)) out.push_back({cfg->name + "." + ls.label, ls.M, ls.K});
      continue;
    }
    const std::size_t x = item.find('x');
    if (x == std::string::npos)
      throw UsageError("--shapes: '" + item + "' is neither a model preset (" + models::preset_names() +
                       ") nor MxK");
    const auto M = parse_int_list("--shapes", item.substr(0, x), 1, 1 << 20);
    const auto K = parse_int_list("--shapes", item.substr(x + 1), 1, 1 << 20);
    if (M.size() != 1 || K.size() != 1) throw UsageError("--shapes: '" + item + "' is not MxK");
    out.push_back({item, M[0], K[0]});
  }
  return out;
}

// bitnet.cpp's I2_S GEMV figures for this machine class (results/anchors/bitnet-cpp.json).
nlohmann::json load_anchors() {
  std::ifstream f(std::string(TRITBENCH_SOURCE_DIR) + "/results/anchors/bitnet-cpp.json");
  if (!f) return nullptr;
  try {
    return nlohmann::json::parse(f);
  } catch (...) {
    return nullptr;
  }
}

double anchor_ms(const nlohmann::json& a, std::int64_t M, std::int64_t K, int threads) {
  if (a.is_null()) return 0;
  for (const auto& r : a["i2s_gemv_ms"])
    if (r["M"] == M && r["K"] == K) return r[threads == 1 ? "t1" : "t2"].get<double>();
  return 0;
}

}  // namespace

int cmd_kernels(int argc, char** argv) {
  Args args(argc, argv, 2, {"-k", "--shapes", "-b", "-t", "-r", "--min-time", "-o", "--out"},
            {"--quick", "--hot", "--help"});
  if (args.has("--help")) {
    std::cout << R"(usage: tritbench kernels [--quick] [-k KERNELS] [--shapes LIST] [-b BATCH] [-t THREADS]
                         [-r REPS] [--min-time S] [--hot] [-o md|csv|json|jsonl] [--out FILE]

Times each kernel with Google Benchmark. The timed call is a whole BitLinear: activation
quantization, the kernel's prepare step, GEMM and epilogue. Weights rotate through copies spanning
more than 2x the last-level cache (DRAM-bound like real decoding) unless --hot.

  --quick        the 2B-4T GEMV shapes, weights in cache, 1 and 2 threads, exact kernels,
                 next to bitnet.cpp's figures for this machine class (results/anchors/)
  -k KERNELS     names, families or globs (default: all runnable rows)
  --shapes LIST  model presets (2b4t, large, 3b, 8b, falcon3-7b, 100b, ...) or MxK (default: 2b4t)
  -b BATCH       tokens per call, list or range (default: 1)
  -t THREADS     thread counts (default: 1)
  -r REPS        repetitions (default: 5)
  --min-time S   seconds per repetition (default: 0.1)
  -o FORMAT      also write md, csv, json or jsonl (to --out or stdout)

examples:
  tritbench kernels --quick
  tritbench kernels -k 'i2s*' --shapes 2b4t,100b -b 1,128 -t 1,2 -o json --out k.json
)";
    return 0;
  }
  const bool quick = args.has("--quick");
  const auto kernels = resolve_kernel_list(args.get("-k", quick ? "naive,i2s*" : "all"));
  const auto shapes = parse_shapes(args.get("--shapes", "2b4t"));
  const auto batches = args.ints("-b", "1", 1, 1 << 16);
  const auto threads = args.ints("-t", quick ? "1,2" : "1", 1, 1024);
  bench::Options opts;
  opts.repetitions = static_cast<int>(args.integer("-r", quick ? 5 : 5, 1, 1000));
  opts.min_time = args.number("--min-time", quick ? 0.05 : 0.1, 0.001, 100);
  const bool hot = quick || args.has("--hot");
  const std::string out_format = args.get("-o");
  if (!out_format.empty() && out_format != "md" && out_format != "csv" && out_format != "json" &&
      out_format != "jsonl")
    throw UsageError("-o: unknown format '" + out_format + "' (expected md, csv, json or jsonl)");

  std::vector<bench::Spec> specs;
  for (const auto& s : shapes)
    for (auto N : batches)
      for (auto t : threads)
        for (const KernelInfo* k : kernels) {
          if (!runnable(*k)) {
            std::cerr << "skipping " << k->name << ": " << why_not_runnable(k->isa) << "\n";
            continue;
          }
          specs.push_back({k, s.label, s.M, s.K, N, static_cast<int>(t), hot});
        }
  // Same shape listed twice (e.g. presets sharing a shape) is timed once.
  std::cerr << "tritbench kernels: " << specs.size() << " benchmarks, " << opts.repetitions
            << " repetitions each, weights " << (hot ? "hot (in cache)" : "rotating (cold)") << "\n";
  const auto results = bench::run(specs, opts);

  const nlohmann::json anchors = quick ? load_anchors() : nlohmann::json(nullptr);
  std::vector<std::string> header = {"kernel", "shape", "MxK", "N", "t", "median us", "min us", "+-%", "GOP/s", "GB/s"};
  if (quick) header.insert(header.end(), {"bitnet.cpp us", "speedup (min)"});
  Table table(header);
  nlohmann::json rows = nlohmann::json::array();
  const nlohmann::json env = environment_json();
  for (const auto& r : results) {
    if (!r.error.empty()) {
      std::cerr << r.spec.kernel->name << " " << r.spec.M << "x" << r.spec.K << ": " << r.error << "\n";
      continue;
    }
    std::vector<std::string> row = {r.kernel_ran, r.spec.shape, std::to_string(r.spec.M) + "x" + std::to_string(r.spec.K),
                                    std::to_string(r.spec.N), std::to_string(r.spec.threads), fmt(r.median * 1e6, 1),
                                    fmt(r.min * 1e6, 1), fmt(r.median > 0 ? 100 * r.stddev / r.mean : 0, 1),
                                    fmt(r.gops, 1), fmt(r.weight_gbps, 1)};
    nlohmann::json j = r.to_json();
    if (quick) {
      const double a = anchor_ms(anchors, r.spec.M, r.spec.K, r.spec.threads);
      row.push_back(a > 0 ? fmt(a * 1e3, 1) : "");
      row.push_back(a > 0 ? fmt(a * 1e-3 / r.min, 2) + "x" : "");
      if (a > 0) j["bitnet_cpp_anchor_seconds"] = a * 1e-3;
    }
    table.add(row);
    j["environment"] = env;
    rows.push_back(j);
  }
  std::cout << table.console();
  if (quick)
    std::cout << "\nbitnet.cpp: I2_S GEMV, Nov 2024, same machine class, min of 2000 runs with weights in L3\n"
                 "(results/anchors/bitnet-cpp.json). tritbench times include activation quantization.\n";
  if (!out_format.empty()) {
    std::string text;
    if (out_format == "json") {
      text = nlohmann::json{{"environment", env}, {"results", rows}}.dump(2) + "\n";
    } else if (out_format == "jsonl") {
      for (const auto& j : rows) text += j.dump() + "\n";
    } else {
      text = out_format == "md" ? table.markdown() : table.csv();
    }
    const std::string out = args.get("--out");
    if (out.empty()) {
      std::cout << text;
    } else {
      write_file_atomic(out, text);
      std::cerr << "wrote " << out << "\n";
    }
  }
  return 0;
}

}  // namespace tritbench::cli
