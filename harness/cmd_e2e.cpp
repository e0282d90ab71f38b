// tritbench e2e: llama-bench-like end-to-end tokens/s of whole models, per kernel and thread count.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <limits>
#include <memory>
#include <numeric>

#include "harness/commands.h"
#include "harness/lib/args.h"
#include "harness/lib/env.h"
#include "harness/lib/io.h"
#include "harness/lib/table.h"
#include "kernels/registry.h"
#include "models/transformer.h"
#include "reference/rng.h"

namespace tritbench::cli {

namespace {

using Clock = std::chrono::steady_clock;

// Bytes the model occupies in a bitnet.cpp GGUF: I2_S ternary tensors (2 bits + 32-byte trailer),
// F16 embedding (and output matrix when untied), F32 norms. Kernel-independent, like llama-bench's
// "size" column.
std::int64_t model_bytes(const models::ModelConfig& c) {
  const std::int64_t tensors = 7 * c.layers;
  const std::int64_t norms = c.layers * (2 * c.hidden + c.q_dim() + c.ffn) + c.hidden;
  return c.ternary_params() / 4 + 32 * tensors + c.vocab * c.hidden * 2 * (c.tied ? 1 : 2) + 4 * norms;
}

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

struct Stats {
  double mean = 0, stddev = 0;
};
Stats stats(const std::vector<double>& v) {
  Stats s;
  if (v.empty()) return s;
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  double var = 0;
  for (double x : v) var += (x - s.mean) * (x - s.mean);
  s.stddev = v.size() > 1 ? std::sqrt(var / static_cast<double>(v.size() - 1)) : 0;
  return s;
}

}  // namespace

int cmd_e2e(int argc, char** argv) {
  Args args(argc, argv, 2,
            {"-m", "--synthetic", "--seed", "-k", "-p", "-n", "-b", "-t", "-r", "-o", "--out", "--output-type"},
            {"--help"});
  if (args.has("--help")) {
    std::cout << R"(usage: tritbench e2e (-m FILE | --synthetic PRESET) [-k KERNELS] [-p N] [-n N] [-b N]
                     [-t THREADS] [-r REPS] [--output-type auto|f16|f32|q8_0] [-o md|csv|json|jsonl] [--out FILE]

End-to-end tokens/s of a whole model, llama-bench style: prompt processing (ppN: N tokens from an
empty context, in batches of -b) and generation (tgN: N tokens one at a time, logits computed at
every step), each after a warm-up run, mean +- stddev over -r repetitions, per kernel and thread count.
Weights are packed once per kernel (time reported); the output matrix type is always reported.

  -m FILE            a GGUF model (bitnet.cpp layout)
  --synthetic PRESET a synthetic model of a preset (2b4t, large, 3b, 8b, falcon3-*, 125m..100b, tiny, small)
  --seed N           synthetic weights seed (default 1)
  -k KERNELS         kernels: names, families or globs (default: i2s = the best I2_S row here)
  -p N               prompt lengths, list (default 512; 0 skips)
  -n N               generated lengths, list (default 128; 0 skips)
  -b N               prompt batch sizes, list (default 0 = the whole prompt; -b 1 is bitnet.cpp's script)
  -t THREADS         thread counts (default: 1,2)
  -r REPS            repetitions (default 5)
  --output-type T    output matrix: auto (as stored: F16 for 2B-4T), f16, f32, q8_0

examples:
  tritbench e2e --synthetic 2b4t -p 512 -n 128 -t 1,2
  tritbench e2e --synthetic large -k 'i2s*' -p 512 -b 1,512 -n 0 -o json --out e2e.json
)";
    return 0;
  }
  if (args.has("-m") == args.has("--synthetic")) throw UsageError("give exactly one of -m FILE or --synthetic PRESET");
  std::unique_ptr<models::WeightSource> src;
  if (args.has("-m")) {
    throw UsageError("-m: GGUF loading is not in this build yet; use --synthetic PRESET");
  } else {
    const models::ModelConfig* cfg = models::find_preset(args.get("--synthetic"));
    if (!cfg)
      throw UsageError("--synthetic: unknown preset '" + args.get("--synthetic") + "' (known: " + models::preset_names() + ")");
    const auto seed = static_cast<std::uint64_t>(args.integer("--seed", 1, 0, std::numeric_limits<std::int64_t>::max()));
    src = std::make_unique<models::SyntheticSource>(*cfg, seed);
  }
  const models::ModelConfig& cfg = src->config();
  const auto kernels = resolve_kernel_list(args.get("-k", "i2s"));
  const auto prompts = args.ints("-p", "512", 0, 1 << 20);
  const auto gens = args.ints("-n", "128", 0, 1 << 20);
  const auto batches = args.ints("-b", "0", 0, 1 << 20);
  const auto threads = args.ints("-t", "1,2", 1, 1024);
  const int reps = static_cast<int>(args.integer("-r", 5, 1, 1000));
  const auto out_type = models::parse_output_type(args.get("--output-type", "auto"));
  const std::string out_format = args.get("-o");
  if (!out_format.empty() && out_format != "md" && out_format != "csv" && out_format != "json" && out_format != "jsonl")
    throw UsageError("-o: unknown format '" + out_format + "' (expected md, csv, json or jsonl)");
  const std::int64_t ctx = *std::max_element(prompts.begin(), prompts.end()) +
                           *std::max_element(gens.begin(), gens.end()) + 1;
  if (ctx > 1 << 16) throw UsageError("-p + -n: " + std::to_string(ctx) + " positions exceed the 65536 supported");

  // Prompt tokens: deterministic ids, as llama-bench uses random ones.
  Rng rng(7);
  std::vector<std::int32_t> prompt_tokens(static_cast<std::size_t>(ctx));
  for (auto& t : prompt_tokens) t = static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(cfg.vocab)));

  const nlohmann::json env = environment_json();
  Table table({"model", "size", "params", "output", "kernel", "threads", "test", "t/s"});
  nlohmann::json rows = nlohmann::json::array();
  std::vector<float> logits(static_cast<std::size_t>(cfg.vocab));
  std::map<int, std::unique_ptr<ThreadPool>> pools;
  for (auto t : threads) pools[static_cast<int>(t)] = std::make_unique<ThreadPool>(static_cast<int>(t));

  for (const KernelInfo* k : kernels) {
    if (!runnable(*k)) {
      std::cerr << "skipping " << k->name << ": " << why_not_runnable(k->isa) << "\n";
      continue;
    }
    std::cerr << "packing " << cfg.name << " for " << k->name << " ...\n";
    models::Transformer tf(*src, *k, *pools[static_cast<int>(threads[0])], {ctx, out_type});
    std::cerr << "  packed " << human_bytes(static_cast<double>(tf.packed_bytes())) << " in "
              << fmt(tf.pack_seconds(), 2) << " s; output matrix " << models::dtype_name(tf.output().type()) << " "
              << human_bytes(static_cast<double>(tf.output().bytes())) << "\n";
    for (auto th : threads) {
      tf.set_pool(*pools[static_cast<int>(th)]);
      struct Test {
        std::string name;
        std::int64_t p, n, batch;
      };
      std::vector<Test> tests;
      for (auto p : prompts)
        if (p > 0)
          for (auto b : batches) tests.push_back({"pp" + std::to_string(p), p, 0, b});
      for (auto n : gens)
        if (n > 0) tests.push_back({"tg" + std::to_string(n), 0, n, 0});
      for (const Test& test : tests) {
        std::vector<double> tps;
        reset_kernel_call_counts();
        for (int r = -1; r < reps; ++r) {  // r = -1: warm-up
          tf.reset();
          const auto t0 = Clock::now();
          if (test.p > 0) {
            tf.prefill(std::span(prompt_tokens.data(), static_cast<std::size_t>(test.p)), test.batch, logits.data());
          } else {
            std::int32_t tok = prompt_tokens[0];
            for (std::int64_t i = 0; i < test.n; ++i) {
              tf.decode(tok, logits.data());
              tok = static_cast<std::int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
            }
          }
          const double s = std::chrono::duration<double>(Clock::now() - t0).count();
          if (r >= 0) tps.push_back(static_cast<double>(test.p + test.n) / s);
        }
        // What actually ran: the call counters must name this row and nothing else.
        const auto calls = kernel_call_counts();
        std::string ran;
        for (const auto& [name, count] : calls) ran += (ran.empty() ? "" : ",") + name;
        const Stats st = stats(tps);
        const std::string label = test.p > 0 && test.batch > 0 && test.batch < test.p
                                      ? test.name + " (b" + std::to_string(test.batch) + ")"
                                      : test.name;
        table.add({cfg.name, human_bytes(static_cast<double>(model_bytes(cfg))), human_count(static_cast<double>(cfg.params())),
                   models::dtype_name(tf.output().type()), ran, std::to_string(th), label,
                   fmt(st.mean, 2) + " ± " + fmt(st.stddev, 2)});
        std::cerr << "  " << k->name << " t=" << th << " " << label << ": " << fmt(st.mean, 2) << " t/s\n";
        rows.push_back({{"model", cfg.name},
                        {"source", src->describe()},
                        {"arch", cfg.arch},
                        {"size_bytes", model_bytes(cfg)},
                        {"params", cfg.params()},
                        {"ternary_params", cfg.ternary_params()},
                        {"output_type", models::dtype_name(tf.output().type())},
                        {"output_bytes", tf.output().bytes()},
                        {"kernel", std::string(k->name)},
                        {"kernel_ran", ran},
                        {"threads", th},
                        {"test", test.name},
                        {"n_prompt", test.p},
                        {"n_gen", test.n},
                        {"batch", test.p > 0 ? (test.batch > 0 ? std::min(test.batch, test.p) : test.p) : 1},
                        {"repetitions", reps},
                        {"samples_tps", tps},
                        {"mean_tps", st.mean},
                        {"stddev_tps", st.stddev},
                        {"pack_seconds", tf.pack_seconds()},
                        {"packed_bytes", tf.packed_bytes()},
                        {"kv_bytes", tf.kv_bytes()},
                        {"environment", env}});
      }
    }
  }
  std::cout << table.markdown();
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
