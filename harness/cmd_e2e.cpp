// tritbench e2e: llama-bench-like end-to-end tokens/s of whole models, per kernel and thread count.
#include <algorithm>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>

#include "harness/commands.h"
#include "harness/lib/args.h"
#include "harness/lib/e2e_bench.h"
#include "harness/lib/external.h"
#include "harness/lib/env.h"
#include "harness/lib/io.h"
#include "harness/lib/table.h"
#include "kernels/registry.h"

namespace tritbench::cli {

namespace {

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  return fmt(b, u ? 2 : 0) + " " + units[u];
}

std::string human_count(double n) {
  if (n >= 1e9) return fmt(n / 1e9, 2) + " B";
  if (n >= 1e6) return fmt(n / 1e6, 2) + " M";
  return fmt(n, 0);
}

}  // namespace

int cmd_e2e(int argc, char** argv) {
  Args args(argc, argv, 2,
            {"-m", "--synthetic", "--seed", "-k", "-p", "-n", "-b", "-t", "-r", "-o", "--out", "--output-type",
             "--external-llama-bench"},
            {"--help", "--roofline"});
  if (args.has("--help")) {
    std::cout << R"(usage: tritbench e2e (-m FILE | --synthetic PRESET) [-k KERNELS] [-p N] [-n N] [-b N]
                     [-t THREADS] [-r REPS] [--output-type auto|f16|f32|q8_0] [-o md|csv|json|jsonl] [--out FILE]

End-to-end tokens/s of a whole model, llama-bench style: prompt processing (ppN: N tokens from an
empty context, in batches of -b) and generation (tgN: N tokens one at a time, logits computed at
every step), each after a warm-up run, mean +- stddev over -r repetitions, per kernel and thread count.
Weights are packed once per kernel (time reported); the output matrix type is always reported.

  -m FILE            a GGUF model (bitnet.cpp layout) or a Hugging Face checkpoint folder
  --synthetic PRESET a synthetic model of a preset (2b4t, large, 3b, 8b, falcon3-*, 125m..100b, tiny, small)
  --seed N           synthetic weights seed (default 1)
  -k KERNELS         kernels: names, families or globs (default: i2s = the best I2_S row here)
  -p N               prompt lengths, list (default 512; 0 skips)
  -n N               generated lengths, list (default 128; 0 skips)
  -b N               prompt batch sizes, list (default 0 = the whole prompt; -b 1 is bitnet.cpp's script)
  -t THREADS         thread counts (default: 1,2)
  -r REPS            repetitions (default 5)
  --output-type T    output matrix: auto (as stored: F16 for 2B-4T), f16, f32, q8_0
  --roofline         measure this machine's roofline first if it has none saved (about 40 s; otherwise
                     the saved one from `tritbench sysinfo --roofline` is used when present): each row
                     then shows its fraction of it (tg: read bandwidth / bytes per token; pp: int8 peak)
  --external-llama-bench PATH
                     also run this llama-bench binary (e.g. bitnet.cpp's build) on the same -m FILE
                     with matching -p -n -b -t -r (-ngl 0 -o json) and report both with ratios

examples:
  tritbench e2e --synthetic 2b4t -p 512 -n 128 -t 1,2
  tritbench e2e --synthetic large -k 'i2s*' -p 512 -b 1,512 -n 0 -o json --out e2e.json
  tritbench e2e -m 2b4t.gguf -p 512 -n 128 -t 2 --external-llama-bench ~/BitNet/build/bin/llama-bench
)";
    return 0;
  }
  if (args.has("-m") == args.has("--synthetic")) throw UsageError("give exactly one of -m FILE or --synthetic PRESET");
  if (args.has("--external-llama-bench") && !args.has("-m"))
    throw UsageError("--external-llama-bench needs -m FILE: both tools must read the same GGUF (write one with "
                     "tritbench synth --preset NAME -o FILE)");
  const auto seed = static_cast<std::uint64_t>(args.integer("--seed", 1, 0, std::numeric_limits<std::int64_t>::max()));
  std::unique_ptr<models::WeightSource> src;
  try {
    src = e2e::open_model(args.has("-m") ? args.get("-m") : "synthetic:" + args.get("--synthetic"), seed);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string(args.has("-m") ? "-m: " : "--synthetic: ") + e.what());
  }
  const models::ModelConfig& cfg = src->config();
  e2e::Options opts;
  opts.kernels = resolve_kernel_list(args.get("-k", "i2s"));
  opts.prompts = args.ints("-p", "512", 0, 1 << 20);
  opts.gens = args.ints("-n", "128", 0, 1 << 20);
  opts.batches = args.ints("-b", "0", 0, 1 << 20);
  opts.threads = args.ints("-t", "1,2", 1, 1024);
  opts.repetitions = static_cast<int>(args.integer("-r", 5, 1, 1000));
  opts.output = models::parse_output_type(args.get("--output-type", "auto"));
  const std::string out_format = args.get("-o");
  if (!out_format.empty() && out_format != "md" && out_format != "csv" && out_format != "json" && out_format != "jsonl")
    throw UsageError("-o: unknown format '" + out_format + "' (expected md, csv, json or jsonl)");
  const std::int64_t ctx = *std::max_element(opts.prompts.begin(), opts.prompts.end()) +
                           *std::max_element(opts.gens.begin(), opts.gens.end()) + 1;
  if (ctx > 1 << 16) throw UsageError("-p + -n: " + std::to_string(ctx) + " positions exceed the 65536 supported");

  // The roofline: saved by `sysinfo --roofline` (or measured now with --roofline).
  std::optional<roofline::Roofline> roof;
  {
    const std::string dir = roofline::results_dir(TRITBENCH_SOURCE_DIR "/results");
    const roofline::Machine m = roofline::this_machine();
    if (args.has("--roofline")) {
      roof = roofline::load_or_measure(dir, false, {}, &std::cerr);
    } else {
      roof = roofline::load(roofline::file_path(dir, m), m);
      if (!roof)
        std::cerr << "  (no roofline saved for this machine: `tritbench sysinfo --roofline` or --roofline measures it, "
                     "and rows then show their fraction of it)\n";
    }
    if (roof) opts.roofline = &*roof;
  }
  const nlohmann::json env = environment_json();
  auto rows = e2e::run(*src, opts, [](const std::string& s, bool) { std::cerr << "  " << s << "\n"; });
  if (rows.empty())
    throw std::runtime_error(
        "nothing ran: every kernel asked for was skipped (the reasons are above)");
  Table table({"model", "size", "params", "output", "kernel", "threads", "test", "t/s", "% roof"});
  for (auto& r : rows) {
    const std::int64_t p = r["n_prompt"], b = r["batch"];
    const std::string label = r["test"].get<std::string>() + (p > 0 && b < p ? " (b" + std::to_string(b) + ")" : "");
    table.add({cfg.name, human_bytes(r["size_bytes"].get<double>()), human_count(r["params"].get<double>()),
               r["output_type"], r["kernel_ran"], std::to_string(r["threads"].get<int>()), label,
               fmt(r["mean_tps"].get<double>(), 2) + " ± " + fmt(r["stddev_tps"].get<double>(), 2),
               e2e::roof_cell(r)});
    r["environment"] = env;
  }
  if (args.has("--external-llama-bench")) {
    external::LlamaBenchRequest req{args.get("--external-llama-bench"), args.get("-m"), opts.prompts, opts.gens,
                                    opts.batches, opts.threads, opts.repetitions};
    std::cerr << "running " << req.binary << " on the same model ...\n";
    const auto ext = external::run_llama_bench(req);
    Table side({"test", "threads", "batch", "tritbench kernel", "tritbench t/s", "llama-bench t/s", "ratio"});
    for (auto e : ext) {
      for (const auto& r : rows) {
        if (r["threads"] != e["threads"] || r["n_prompt"] != e["n_prompt"] || r["n_gen"] != e["n_gen"]) continue;
        if (e["n_prompt"].get<std::int64_t>() > 0 && r["batch"] != e["batch"]) continue;
        side.add({e["test"], std::to_string(e["threads"].get<int>()), std::to_string(e["batch"].get<std::int64_t>()),
                  r["kernel_ran"], fmt(r["mean_tps"].get<double>(), 2) + " ± " + fmt(r["stddev_tps"].get<double>(), 2),
                  fmt(e["mean_tps"].get<double>(), 2) + " ± " + fmt(e["stddev_tps"].get<double>(), 2),
                  fmt(r["mean_tps"].get<double>() / e["mean_tps"].get<double>(), 2) + "x"});
      }
      e["binary"] = req.binary;
      e["model"] = cfg.name;
      e["environment"] = env;
      rows.push_back(e);
    }
    std::cout << "\nside by side with " << req.binary << " (same file, same session):\n\n" << side.markdown() << "\n";
  }
  std::cout << table.markdown();
  if (std::any_of(rows.begin(), rows.end(), [](const nlohmann::json& r) { return e2e::roof_marked(r); }))
    std::cout << "\n" << e2e::kFitsLlcNote << "\n";
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
