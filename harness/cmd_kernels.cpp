// tritbench kernels: Google Benchmark timings of registry kernels over shapes x batch x threads.
#include <fstream>
#include <iostream>
#include <optional>

#include "harness/commands.h"
#include "harness/lib/args.h"
#include "harness/lib/bench.h"
#include "harness/lib/env.h"
#include "harness/lib/io.h"
#include "harness/lib/roofline.h"
#include "harness/lib/sweep.h"
#include "harness/lib/table.h"
#include "kernels/registry.h"
#include "kernels/runtime/tuning.h"

#ifndef TRITBENCH_SOURCE_DIR
#define TRITBENCH_SOURCE_DIR "."
#endif

namespace tritbench::cli {

namespace {

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

std::string pct(const bench::Result& r) {
  if (!r.has_roofline) return "";
  return fmt(r.roofline_pct, 0) + (r.roofline_bound == "memory" ? " mem" : " cpu");
}

// The values of v times scale, fmt'ed with `digits`, separated by sep.
std::string joined(const std::vector<double>& v, double scale, int digits, const char* sep) {
  std::string out;
  for (double x : v) {
    if (!out.empty()) out += sep;
    out += fmt(x * scale, digits);
  }
  return out;
}

// Every field of a result as one flat row (Markdown / CSV files): the result, its statistics, the
// roofline fractions and the environment, so a row stands on its own.
std::vector<std::string> flat_header() {
  return {"kernel", "kernel_ran", "isa", "format", "shape", "M", "K", "parts", "batch", "threads", "hot", "tile",
          "tile_source", "n", "median_us", "mean_us", "stddev_us", "min_us", "quantize_us", "prepare_us",
          "pack_ms", "gops", "weight_gbps", "read_gbps_ceiling", "int8_peak_gops", "pct_of_read_bw",
          "pct_of_int8_peak", "roofline_bound", "roofline_pct", "roofline_pct_best", "read_gbps_now",
          "pct_of_read_now", "read_calls_gbps", "pct_of_read_calls", "cpu_utilization",
          "weight_copies", "anatomy_calls", "call_median_us", "call_mean_us", "call_p99_us", "tail_pct",
          "fork_us", "join_us", "imbalance_pct", "task_median_us", "task_p99_us", "slowest_share", "host", "cpu",
          "isa_level", "git_commit", "compiler", "samples_us"};
}
std::vector<std::string> flat_row(const bench::Result& r, const nlohmann::json& env) {
  const bench::Anatomy& a = r.anatomy;
  const bool calls = a.calls > 0, tasks = !a.task_median.empty();
  const std::string mxk = r.spec.mxk();  // parts: its rows, "2560+640+640"
  return {std::string(r.spec.kernel->name), r.kernel_ran, r.isa, std::string(r.spec.kernel->format),
          r.spec.shape, std::to_string(r.spec.M), std::to_string(r.spec.K),
          r.spec.parts.empty() ? "" : mxk.substr(0, mxk.rfind('x')), std::to_string(r.spec.N),
          std::to_string(r.spec.threads), r.spec.hot ? "hot" : "cold", r.tile.str(), r.spec.tile_source,
          std::to_string(r.gemm.samples.size()), fmt(r.gemm.median * 1e6, 2), fmt(r.gemm.mean * 1e6, 2),
          fmt(r.gemm.stddev * 1e6, 2), fmt(r.gemm.min * 1e6, 2), fmt(r.quantize.median * 1e6, 2),
          fmt(r.prepare.median * 1e6, 2), fmt(r.pack_seconds * 1e3, 2), fmt(r.gops, 2), fmt(r.weight_gbps, 2),
          r.has_roofline ? fmt(r.read_gbps_ceiling, 2) : "", r.has_roofline ? fmt(r.int8_peak_gops, 1) : "",
          r.has_roofline ? fmt(r.pct_of_read_bw, 1) : "", r.has_roofline ? fmt(r.pct_of_int8_peak, 1) : "",
          r.roofline_bound, r.has_roofline ? fmt(r.roofline_pct, 1) : "",
          r.has_roofline ? fmt(r.roofline_pct_best, 1) : "", r.read_gbps_now > 0 ? fmt(r.read_gbps_now, 2) : "",
          r.read_gbps_now > 0 ? fmt(r.pct_of_read_now, 1) : "", r.read_calls_gbps > 0 ? fmt(r.read_calls_gbps, 2) : "",
          r.read_calls_gbps > 0 ? fmt(r.pct_of_read_calls, 1) : "", fmt(r.cpu_utilization, 2),
          std::to_string(r.weight_copies), calls ? std::to_string(a.calls) : "",
          calls ? fmt(a.call_median * 1e6, 2) : "", calls ? fmt(a.call_mean * 1e6, 2) : "",
          calls ? fmt(a.call_p99 * 1e6, 2) : "", calls ? fmt(a.tail_pct(), 1) : "",
          tasks ? fmt(a.fork_median * 1e6, 2) : "", tasks ? fmt(a.join_median * 1e6, 2) : "",
          tasks ? fmt(100 * a.imbalance_median, 1) : "", joined(a.task_median, 1e6, 2, " "),
          joined(a.task_p99, 1e6, 2, " "), joined(a.slowest_share, 1, 2, " "),
          env["host"].get<std::string>(), env["cpu"]["model"].get<std::string>(),
          env["cpu"]["isa_level"].get<std::string>(), env["build"]["git_commit"].get<std::string>(),
          env["build"]["compiler"].get<std::string>(), joined(r.gemm.samples, 1e6, 2, " ")};
}

}  // namespace

int cmd_kernels(int argc, char** argv) {
  Args args(argc, argv, 2,
            {"-k", "--shapes", "-b", "-t", "-r", "--min-time", "-o", "--out", "--tile", "--tuning"},
            {"--quick", "--hot", "--help", "--no-tuning", "--no-roofline", "--remeasure", "--read-now",
             "--read-calls", "--anatomy"});
  if (args.has("--help")) {
    std::cout << R"(usage: tritbench kernels [--quick] [-k KERNELS] [--shapes LIST] [-b BATCH] [-t THREADS]
                         [-r REPS] [--min-time S] [--hot] [--tile T] [-o md|csv|json|jsonl]
                         [--out FILE] [--tuning FILE | --no-tuning] [--no-roofline] [--remeasure]
                         [--read-now] [--read-calls] [--anatomy]

Times each kernel with Google Benchmark. Three parts of a BitLinear are timed separately: the
GEMM (kernel + shared epilogue over all rows, split across the threads: the benchmark loop),
activation quantization, and the kernel's prepare step; packing is timed once. Weights rotate
through copies spanning more than 2x the last-level cache (DRAM-bound like real decoding)
unless --hot. Each result is also given as a percentage of this machine's roofline
(`tritbench sysinfo --roofline`, measured once and saved): 'mem' rows are bound by the read
bandwidth (cold GEMV), 'cpu' rows by the int8 multiply-add peak of the kernel's ISA.

  --quick        the 2B-4T GEMV shapes, weights in cache, 1 and 2 threads: the naive oracle,
                 the I2_S rows (bitnet.cpp's format) and i2r__avx512vnni (the fastest exact
                 in-cache GEMV here), next to bitnet.cpp's figures for this machine class
                 (results/anchors/); -k picks other rows
  -k KERNELS     names, families or globs (default: all runnable rows)
  --shapes LIST  model presets (2b4t, large, 3b, 8b, falcon3-7b, 100b, ...: each matrix shape of
                 the model once), a preset with :calls (2b4t:calls: the calls a layer makes, q/k/v
                 and gate/up as one call each, as the model runs them), MxK, or M1+M2+...xK (one
                 call over matrices of M1, M2, ... rows) (default: 2b4t)
  -b BATCH       tokens per call, list or range (default: 1)
  -t THREADS     thread counts (default: 1)
  -r REPS        repetitions (default: 5)
  --min-time S   seconds per repetition (default: 0.1)
  --tile T       run tunable rows with this tile, e.g. rb=4,cb=4,par=0,br=32 (rows that do not
                 accept it are skipped with the reason); see `tritbench list` for the rows
  --tuning FILE  tuned tiles to use (default: results/tuning/<machine>.json when present);
                 --no-tuning runs every row with its registry tile
  --remeasure    measure the roofline again before timing (ceilings and results from one run);
                 --no-roofline skips it (no %roof)
  --read-now     cold rows: also measure the read bandwidth right before and right after each
                 row (as the roofline does, over an array of 8x the LLC, 256 MiB-1 GiB, best of 3
                 rounds of a one-, two- and four-stream read each time) and show the row against
                 the higher: %now. On a shared or virtual machine DRAM bandwidth drifts by tens of
                 percent within minutes, so the saved roofline can be far from the one a row ran
                 under. Costs 18 reads of the array per cold row (measured 0.4 s per row here).
  --read-calls   cold rows: also read the row's own rotating weight copies with plain loads, call
                 by call with the row's threads (each call's bytes split into per-thread parts, one,
                 two and four streams, the best), right before and right after the row: %calls, the
                 row against the read bandwidth of calls of its size. With --read-now, read calls
                 over read now is what calls of this size keep of a long stream per thread, and
                 %calls what the kernel's loop gets of that. Costs 18 reads of the copies per cold
                 row (measured 0.1 s per row on 640x2560 and 2560x2560 here).
  --anatomy      also time --min-time seconds of single calls, each thread's task stamped, and
                 show where a call's time goes: fork (until the last thread started), each
                 thread's task (medians), join (after the last task ended), and tail%, the share
                 of the mean call time that slower-than-median calls add (interruptions of a
                 shared machine land there, and every repetition's figure is a mean)
  -o FORMAT      also write md, csv, json or jsonl (to --out or stdout); md/csv rows carry every
                 field, json/jsonl rows also the environment, samples and roofline

examples:
  tritbench kernels --quick
  tritbench kernels -k 'i2s*' --shapes 2b4t,100b -b 1,128 -t 1,2 -o json --out k.json
  tritbench kernels -k i2s__avx512vnni --shapes 2560x2560 -b 128 --tile rb=6,cb=3 --hot
  tritbench kernels -k i2r_4s__avx512vnni --shapes 2b4t,2b4t:calls -t 2 --read-now
)";
    return 0;
  }
  const bool quick = args.has("--quick");
  const auto kernels =
      resolve_kernel_list(args.get("-k", quick ? "naive,i2s__*,i2r__avx512vnni" : "all"));
  const auto shapes = sweep::parse_shapes(args.get("--shapes", "2b4t"));
  const auto batches = args.ints("-b", "1", 1, 1 << 16);
  const auto threads = args.ints("-t", quick ? "1,2" : "1", 1, 1024);
  bench::Options opts;
  opts.repetitions = static_cast<int>(args.integer("-r", 5, 1, 1000));
  opts.min_time = args.number("--min-time", quick ? 0.05 : 0.1, 0.001, 100);
  const bool hot = quick || args.has("--hot");
  std::optional<roofline::ReadProbe> probe;
  if (args.has("--read-now") && !hot) opts.read_now = &probe.emplace();
  opts.read_calls = args.has("--read-calls") && !hot;
  opts.anatomy = args.has("--anatomy");
  const std::string out_format = args.get("-o");
  if (!out_format.empty() && out_format != "md" && out_format != "csv" && out_format != "json" &&
      out_format != "jsonl")
    throw UsageError("-o: unknown format '" + out_format + "' (expected md, csv, json or jsonl)");
  std::optional<TileConfig> tile_override;
  if (args.has("--tile")) {
    try {
      tile_override = parse_tile(args.get("--tile"));
    } catch (const std::invalid_argument& e) {
      throw UsageError(std::string("--tile: ") + e.what());
    }
  }

  sweep::MachineOptions mo;
  mo.roofline = !args.has("--no-roofline");
  mo.remeasure = args.has("--remeasure");
  mo.tuning = !args.has("--no-tuning");
  mo.tuning_file = args.get("--tuning");
  const sweep::MachineData md = sweep::load_machine_data(TRITBENCH_SOURCE_DIR "/results", mo, std::cerr);
  opts.roofline = md.roofline ? &*md.roofline : nullptr;

  std::vector<bench::Spec> specs;
  for (const auto& s : shapes)
    for (auto N : batches)
      for (auto t : threads)
        for (const KernelInfo* k : kernels) {
          if (!runnable(*k)) {
            if (&s == &shapes[0] && N == batches[0] && t == threads[0])
              std::cerr << "skipping " << k->name << ": " << why_not_runnable(k->isa) << "\n";
            continue;
          }
          TileChoice choice;
          try {
            choice = choose_tile(*k, s.M, s.K, N, static_cast<int>(t), hot,
                                 tile_override ? &*tile_override : nullptr);
          } catch (const std::invalid_argument& e) {
            if (&s == &shapes[0] && N == batches[0] && t == threads[0])
              std::cerr << "skipping " << k->name << ": " << e.what() << "\n";
            continue;
          }
          specs.push_back({k, s.label, s.M, s.K, N, static_cast<int>(t), hot, choice.tile, choice.source, s.parts});
        }
  if (specs.empty()) throw UsageError("nothing to run: no selected kernel runs here with these options");
  std::cerr << "tritbench kernels: " << specs.size() << " benchmarks, " << opts.repetitions
            << " repetitions each, weights " << (hot ? "hot (in cache)" : "rotating (cold)") << "\n";
  const auto results = bench::run(specs, opts);

  const nlohmann::json anchors = quick ? load_anchors() : nlohmann::json(nullptr);
  std::vector<std::string> header = {"kernel", "shape", "MxK", "N", "t", "tile", "src", "gemm us", "min us",
                                     "+-%", "quant us", "prep us", "GOP/s", "GB/s", "%roof"};
  const bool now_column = opts.read_now != nullptr;
  if (now_column) header.insert(header.end(), {"read now", "%now"});
  const bool calls_column = opts.read_calls;
  if (calls_column) header.insert(header.end(), {"read calls", "%calls"});
  if (opts.anatomy) header.insert(header.end(), {"fork us", "tasks us", "join us", "tail%"});
  if (quick) header.insert(header.end(), {"bitnet.cpp us", "speedup (min)"});
  Table table(header);
  Table flat(flat_header());
  nlohmann::json rows = nlohmann::json::array();
  const nlohmann::json env = environment_json();
  int failed = 0;
  for (const auto& r : results) {
    if (!r.error.empty()) {
      std::cerr << r.spec.kernel->name << " " << r.spec.mxk() << " N=" << r.spec.N << ": "
                << r.error << "\n";
      if (r.error.rfind("skipped", 0) != 0) ++failed;
      continue;
    }
    std::vector<std::string> row = {r.kernel_ran, r.spec.shape, r.spec.mxk(),
                                    std::to_string(r.spec.N), std::to_string(r.spec.threads), r.tile.str(),
                                    r.spec.tile_source.substr(0, 3), fmt(r.gemm.median * 1e6, 1),
                                    fmt(r.gemm.min * 1e6, 1), fmt(r.gemm.mean > 0 ? 100 * r.gemm.stddev / r.gemm.mean : 0, 1),
                                    fmt(r.quantize.median * 1e6, 1), fmt(r.prepare.median * 1e6, 1),
                                    fmt(r.gops, 1), fmt(r.weight_gbps, 1), pct(r)};
    if (now_column) {
      row.push_back(r.read_gbps_now > 0 ? fmt(r.read_gbps_now, 1) : "");
      row.push_back(r.read_gbps_now > 0 ? fmt(r.pct_of_read_now, 0) : "");
    }
    if (calls_column) {
      row.push_back(r.read_calls_gbps > 0 ? fmt(r.read_calls_gbps, 1) : "");
      row.push_back(r.read_calls_gbps > 0 ? fmt(r.pct_of_read_calls, 0) : "");
    }
    if (opts.anatomy) {
      const bench::Anatomy& a = r.anatomy;
      const bool tasks = !a.task_median.empty();
      row.push_back(tasks ? fmt(a.fork_median * 1e6, 2) : "");
      row.push_back(joined(a.task_median, 1e6, 1, "/"));
      row.push_back(tasks ? fmt(a.join_median * 1e6, 2) : "");
      row.push_back(a.calls > 0 ? fmt(a.tail_pct(), 0) : "");
    }
    nlohmann::json j = r.to_json();
    if (quick) {
      // bitnet.cpp's figure includes activation quantization: compare the whole BitLinear call.
      const double a = r.spec.parts.empty() ? anchor_ms(anchors, r.spec.M, r.spec.K, r.spec.threads) : 0;
      const double total = r.gemm.min + r.quantize.min + r.prepare.min;
      row.push_back(a > 0 ? fmt(a * 1e3, 1) : "");
      row.push_back(a > 0 ? fmt(a * 1e-3 / total, 2) + "x" : "");
      if (a > 0) j["bitnet_cpp_anchor_seconds"] = a * 1e-3;
    }
    table.add(row);
    flat.add(flat_row(r, env));
    j["environment"] = env;
    rows.push_back(j);
  }
  std::cout << table.console();
  int contended = 0;
  for (const auto& r : results)
    if (r.error.empty() && r.spec.threads == 1 && r.cpu_utilization < 0.9) ++contended;
  if (contended)
    std::cout << "\nwarning: " << contended << " single-thread benchmark" << (contended > 1 ? "s" : "")
              << " ran with under 90% of a CPU (cpu_utilization in the JSON): the machine is busy and\n"
                 "their real-time figures include time the thread was not running.\n";
  int above = 0;
  for (const auto& r : results)
    if (r.error.empty() && r.has_roofline && r.roofline_pct > 100) ++above;
  if (above)
    std::cout << "\nwarning: " << above << " result" << (above > 1 ? "s" : "")
              << " above 100% of the roofline: the saved ceilings were measured while the machine was\n"
                 "busier than now; `tritbench sysinfo --roofline --remeasure` on a quiet machine.\n";
  std::cout << "\ngemm us: median of the repetitions (GOP/s, GB/s and %roof use it); min us: the fastest.\n"
               "%roof: percentage of this machine's roofline at that thread count: 'mem' = weight GB/s\n"
               "over the measured read bandwidth (cold GEMV), 'cpu' = GOP/s over the measured int8 peak\n"
               "of the kernel's ISA. src: tile source (def = registry row, tun = tuning file, ove = --tile).\n";
  if (now_column)
    std::cout << "read now: GB/s the roofline's read loop got at this thread count right before and right\n"
                 "after the row (the higher); %now: the row's weight GB/s over it.\n";
  if (calls_column)
    std::cout << "read calls: GB/s of plain loads reading the row's own weight copies call by call with its\n"
                 "threads, right before and after the row (the higher); %calls: the row's weight GB/s over it.\n";
  if (opts.anatomy)
    std::cout << "anatomy, from single calls timed one by one after the row (medians over the calls): fork: the\n"
                 "call's start to its last thread's start; tasks: each thread's share (thread 0 = the caller);\n"
                 "join: the last task's end to the call's return (one thread: no tasks, the pool is not used);\n"
                 "tail%: (mean - median) / mean of the call times, what slower-than-median calls add to a mean.\n";
  if (quick)
    std::cout << "\nbitnet.cpp: I2_S GEMV, Nov 2024, same machine class, min of 2000 runs with weights in L3\n"
                 "(results/anchors/bitnet-cpp.json); speedup = its time over tritbench's quantize + prepare +\n"
                 "GEMM minimum.\n";
  if (!out_format.empty()) {
    std::string text;
    if (out_format == "json") {
      text = nlohmann::json{{"environment", env},
                            {"roofline", md.roofline ? md.roofline->to_json() : nlohmann::json(nullptr)},
                            {"tuning_file", md.tuning ? nlohmann::json(md.tuning_path) : nlohmann::json(nullptr)},
                            {"results", rows}}
                 .dump(2) +
             "\n";
    } else if (out_format == "jsonl") {
      for (const auto& j : rows) text += j.dump() + "\n";
    } else {
      text = out_format == "md" ? flat.markdown() : flat.csv();
    }
    const std::string out = args.get("--out");
    if (out.empty()) {
      std::cout << text;
    } else {
      write_file_atomic(out, text);
      std::cerr << "wrote " << out << "\n";
    }
  }
  return failed ? 1 : 0;
}

}  // namespace tritbench::cli
