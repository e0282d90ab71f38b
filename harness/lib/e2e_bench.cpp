#include "harness/lib/e2e_bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <stdexcept>

#include "harness/lib/table.h"
#include "kernels/cpu/cpu.h"
#include "kernels/registry.h"
#include "kernels/runtime/gemm.h"
#include "models/gguf_source.h"
#include "models/hf_source.h"
#include "models/transformer.h"
#include "reference/rng.h"

namespace tritbench::e2e {

namespace {
using Clock = std::chrono::steady_clock;
}

std::unique_ptr<models::WeightSource> open_model(const std::string& spec, std::uint64_t seed) {
  const std::string prefix = "synthetic:";
  if (spec.rfind(prefix, 0) == 0) {
    const std::string name = spec.substr(prefix.size());
    const models::ModelConfig* cfg = models::find_preset(name);
    if (!cfg) throw std::invalid_argument("unknown synthetic preset '" + name + "' (known: " + models::preset_names() + ")");
    return std::make_unique<models::SyntheticSource>(*cfg, seed);
  }
  std::error_code ec;
  if (!std::filesystem::exists(spec, ec))
    throw std::invalid_argument(spec + ": no such file or directory (expected a GGUF file, a Hugging Face "
                                "checkpoint folder or synthetic:PRESET)");
  if (std::filesystem::is_directory(spec, ec)) return std::make_unique<models::HfSource>(spec);
  return std::make_unique<models::GgufSource>(spec);
}

namespace {
// A "Key:  N kB" line of /proc/self/status in bytes (0 where /proc or the key is missing).
std::int64_t status_bytes(const std::string& key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(key + ":", 0) == 0) return std::stoll(line.substr(key.size() + 1)) * 1024;
  return 0;
}
}  // namespace

std::int64_t model_bytes(const models::ModelConfig& c) {
  const std::int64_t tensors = 7 * c.layers;
  const std::int64_t norms = c.layers * (2 * c.hidden + c.q_dim() + c.ffn) + c.hidden;
  return c.ternary_params() / 4 + 32 * tensors + c.vocab * c.hidden * 2 * (c.tied ? 1 : 2) + 4 * norms;
}

std::vector<nlohmann::json> run(const models::WeightSource& src, const Options& opts,
                                const Progress& progress, const std::atomic<bool>* stop,
                                std::vector<nlohmann::json>* skipped) {
  const models::ModelConfig& cfg = src.config();
  std::vector<nlohmann::json> rows;
  if (opts.kernels.empty() || opts.threads.empty()) return rows;
  const std::int64_t ctx = *std::max_element(opts.prompts.begin(), opts.prompts.end()) +
                           *std::max_element(opts.gens.begin(), opts.gens.end()) + 1;
  // Prompt tokens: deterministic ids (llama-bench uses random ones).
  Rng rng(7);
  std::vector<std::int32_t> tokens(static_cast<std::size_t>(ctx));
  for (auto& t : tokens) t = static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(cfg.vocab)));
  std::vector<float> logits(static_cast<std::size_t>(cfg.vocab));
  std::map<std::int64_t, std::unique_ptr<ThreadPool>> pools;
  for (auto t : opts.threads) pools[t] = std::make_unique<ThreadPool>(static_cast<int>(t));
  auto say = [&](const std::string& s, bool finished = false) {
    if (progress) progress(s, finished);
  };
  auto skip = [&](const KernelInfo& k, const std::string& why) {
    say("skipping " + std::string(k.name) + ": " + why);
    if (skipped)
      skipped->push_back({{"model", cfg.name}, {"kernel", std::string(k.name)}, {"reason", why}});
  };

  for (const KernelInfo* k : opts.kernels) {
    if (!runnable(*k)) {
      skip(*k, why_not_runnable(k->isa));
      continue;
    }
    if (stop && *stop) break;
    say("packing " + cfg.name + " for " + std::string(k->name));
    // A line every 10 s while a large model packs (a 70B model takes minutes).
    auto last = Clock::now();
    const auto on_layer = [&](std::int64_t done, std::int64_t layers) {
      if (done == layers || Clock::now() - last < std::chrono::seconds(10)) return;
      last = Clock::now();
      say("  layer " + std::to_string(done) + " of " + std::to_string(layers) + " packed");
    };
    std::unique_ptr<models::Transformer> model;
    try {
      model = std::make_unique<models::Transformer>(
          src, *k, *pools[opts.threads[0]],
          models::TransformerOptions{.context = ctx,
                                     .output = opts.output,
                                     .memory_limit = opts.memory_limit,
                                     .on_layer = on_layer});
    } catch (const models::InsufficientMemory& e) {
      skip(*k, e.what());
      continue;
    }
    models::Transformer& tf = *model;
    const std::int64_t rss = status_bytes("VmRSS"), rss_file = status_bytes("RssFile");
    say("packed in " + fmt(tf.pack_seconds(), 2) + " s; output matrix " +
        models::dtype_name(tf.output().type()) + " (" + std::string(isa_name(tf.output().isa())) +
        " GEMV); resident " + fmt(static_cast<double>(rss) / (1 << 20), 0) + " MiB, of it " +
        fmt(static_cast<double>(rss_file) / (1 << 20), 0) + " MiB of files (packed " +
        fmt(static_cast<double>(tf.packed_bytes()) / (1 << 20), 0) + " + output " +
        fmt(static_cast<double>(tf.output().bytes()) / (1 << 20), 0) + " + KV " +
        fmt(static_cast<double>(tf.kv_bytes()) / (1 << 20), 0) + " MiB)");
    for (auto th : opts.threads) {
      tf.set_pool(*pools[th]);
      struct Test {
        std::string name;
        std::int64_t p, n, batch;
      };
      std::vector<Test> tests;
      for (auto p : opts.prompts)
        if (p > 0)
          for (auto b : opts.batches) tests.push_back({"pp" + std::to_string(p), p, 0, b});
      for (auto n : opts.gens)
        if (n > 0) tests.push_back({"tg" + std::to_string(n), 0, n, 0});
      for (const Test& test : tests) {
        if (stop && *stop) return rows;
        std::vector<double> tps;
        reset_kernel_call_counts();
        for (int r = -1; r < opts.repetitions; ++r) {  // r = -1: warm-up
          tf.reset();
          const auto t0 = Clock::now();
          if (test.p > 0) {
            tf.prefill(std::span(tokens.data(), static_cast<std::size_t>(test.p)), test.batch, logits.data());
          } else {
            std::int32_t tok = tokens[0];
            for (std::int64_t i = 0; i < test.n; ++i) {
              tf.decode(tok, logits.data());
              tok = static_cast<std::int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
            }
          }
          const double s = std::chrono::duration<double>(Clock::now() - t0).count();
          if (r >= 0) tps.push_back(static_cast<double>(test.p + test.n) / s);
        }
        // What actually ran: the call counters must name this row and nothing else.
        std::string ran;
        for (const auto& [name, count] : kernel_call_counts()) ran += (ran.empty() ? "" : ",") + name;
        const double mean = std::accumulate(tps.begin(), tps.end(), 0.0) / static_cast<double>(tps.size());
        double var = 0;
        for (double x : tps) var += (x - mean) * (x - mean);
        const double sd = tps.size() > 1 ? std::sqrt(var / static_cast<double>(tps.size() - 1)) : 0.0;
        const std::int64_t batch = test.p > 0 ? (test.batch > 0 ? std::min(test.batch, test.p) : test.p) : 1;
        // Bytes read per token: generation reads every packed weight, the output matrix and the KV
        // cache written so far (positions 1..n, mean (n+1)/2); a prompt reads the packed weights
        // once per forward of `batch` tokens and the output matrix once. Ops: 2 per ternary weight
        // (the output matrix is left out).
        const double kv_read =
            static_cast<double>(models::kv_cache_bytes(cfg, 1)) * (test.n + 1) / 2.0;
        const double packed = static_cast<double>(tf.packed_bytes()), out_bytes = static_cast<double>(tf.output().bytes());
        const double forwards = test.p > 0 ? static_cast<double>((test.p + batch - 1) / batch) : 0.0;
        const double bytes_per_token =
            test.p > 0 ? (forwards * packed + out_bytes) / static_cast<double>(test.p) : packed + out_bytes + kv_read;
        const double ops_per_token = 2.0 * static_cast<double>(cfg.ternary_params());
        // A model whose weights fit in the last-level cache can be served from it after the first
        // token, so the DRAM read ceiling does not bind it (the fraction may pass 100%).
        const std::int64_t llc = cpu_info().last_level_cache_bytes();
        const bool fits_llc = llc > 0 && packed + out_bytes <= static_cast<double>(llc);
        nlohmann::json roof = nullptr, frac = nullptr, bound = nullptr;
        if (opts.roofline) {
          // The lower of the two ceilings (so -b 1 prompts are bound by bandwidth, like tg).
          const int t = static_cast<int>(th);
          const double compute = opts.roofline->int8_peak_gops(k->isa, t) * 1e9 / ops_per_token;
          const double memory = opts.roofline->read_gbps(t) * 1e9 / bytes_per_token;
          const double ceiling = test.p > 0 && compute > 0 ? std::min(compute, memory) : memory;
          if (ceiling > 0) {
            roof = ceiling;
            frac = mean / ceiling;
            bound = ceiling == memory ? std::string("read") : roofline::Roofline::peak_name(k->isa);
          }
        }
        rows.push_back({{"kind", "e2e"},
                        {"model", cfg.name},
                        {"source", src.describe()},
                        {"arch", cfg.arch},
                        {"size_bytes", model_bytes(cfg)},
                        {"params", cfg.params()},
                        {"ternary_params", cfg.ternary_params()},
                        {"output_type", models::dtype_name(tf.output().type())},
                        {"output_bytes", tf.output().bytes()},
                        {"output_isa", std::string(isa_name(tf.output().isa()))},
                        {"kernel", std::string(k->name)},
                        {"kernel_ran", ran},
                        {"threads", th},
                        {"test", test.name},
                        {"n_prompt", test.p},
                        {"n_gen", test.n},
                        {"batch", batch},
                        {"repetitions", opts.repetitions},
                        {"samples_tps", tps},
                        {"mean_tps", mean},
                        {"stddev_tps", sd},
                        {"pack_seconds", tf.pack_seconds()},
                        {"packed_bytes", tf.packed_bytes()},
                        {"kv_bytes", tf.kv_bytes()},
                        {"rss_bytes", rss},
                        {"bytes_per_token", bytes_per_token},
                        {"ops_per_token", ops_per_token},
                        {"roofline_tps", roof},
                        {"roofline_fraction", frac},
                        {"roofline_bound", bound},
                        {"fits_llc", fits_llc}});
        say(std::string(k->name) + " t=" + std::to_string(th) + " " + test.name +
            (test.p > 0 ? " b" + std::to_string(batch) : "") + ": " + fmt(mean, 2) + " ± " + fmt(sd, 2) + " t/s" +
            (frac.is_null() ? "" : " (" + fmt(100.0 * frac.get<double>(), 0) + "% of the " + bound.get<std::string>() +
                                       " roofline, " + fmt(roof.get<double>(), 1) + " t/s" +
                                       (fits_llc && bound == "read" ? "; the weights fit in the LLC" : "") + ")"),
            true);
      }
    }
  }
  return rows;
}

bool roof_marked(const nlohmann::json& row) {
  return row.value("fits_llc", false) && row.contains("roofline_bound") && row["roofline_bound"] == "read";
}

std::string roof_cell(const nlohmann::json& row) {
  if (!row.contains("roofline_fraction") || row["roofline_fraction"].is_null()) return "-";
  return fmt(100.0 * row["roofline_fraction"].get<double>(), 0) + " " + row["roofline_bound"].get<std::string>() +
         (roof_marked(row) ? "*" : "");
}

}  // namespace tritbench::e2e
