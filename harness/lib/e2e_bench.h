#pragma once
// End-to-end tokens/s measurement (llama-bench style), shared by `tritbench e2e` and experiments.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/lib/roofline.h"
#include "kernels/api.h"
#include "models/output.h"
#include "models/weights.h"

namespace tritbench::e2e {

// "synthetic:PRESET" (seed from `seed`), a GGUF file (GgufSource) or a Hugging Face checkpoint
// folder (HfSource). Throws naming what was wrong (std::invalid_argument for a missing path or an
// unknown preset, the loaders' errors for bad files).
std::unique_ptr<models::WeightSource> open_model(const std::string& spec, std::uint64_t seed);

struct Options {
  std::vector<const KernelInfo*> kernels;
  std::vector<std::int64_t> prompts = {512}, gens = {128}, batches = {0};
  std::vector<std::int64_t> threads = {1, 2};
  int repetitions = 5;
  models::OutputType output = models::OutputType::kAsStored;
  // This machine's measured ceilings (harness/lib/roofline.h); when set, every row says how close
  // it came: generation against read bandwidth / bytes per token, prompt processing against the
  // int8 peak of the kernel's ISA / ops per token.
  const roofline::Roofline* roofline = nullptr;
  // Bytes a model may take besides its output matrix (TransformerOptions::memory_limit; -1: what
  // the machine has free).
  std::int64_t memory_limit = -1;
};

// Progress messages; `finished_test` is true for the line that reports a finished test.
using Progress = std::function<void(const std::string& message, bool finished_test)>;

// Runs every (kernel, threads, test) and returns one JSON row each: model, source, arch,
// size_bytes, params, output type, kernel (requested and actually run), threads, test, n_prompt,
// n_gen, batch, samples_tps, mean_tps, stddev_tps, pack_seconds, packed_bytes, kv_bytes, rss_bytes
// (resident set after packing), bytes_per_token and ops_per_token (what one token reads /
// computes), and with a roofline: roofline_tps, roofline_fraction, roofline_bound ("read" or the
// int8 peak name); fits_llc (packed weights + output matrix <= the last-level cache: a "read" bound
// then does not bind, and tables mark the fraction with '*'). Stops between tests when *stop
// becomes true (rows finished so far are returned). A kernel that cannot run (its ISA is missing,
// or the model does not fit in memory with it) is skipped with a progress message and, when
// `skipped` is given, a row there: model, kernel, reason.
std::vector<nlohmann::json> run(const models::WeightSource& src, const Options& opts,
                                const Progress& progress, const std::atomic<bool>* stop = nullptr,
                                std::vector<nlohmann::json>* skipped = nullptr);

// A row's "% roof" cell for tables: "-" without a roofline, else e.g. "88 read", with '*' when the
// row's bound is "read" but its weights fit in the last-level cache (fits_llc); kFitsLlcNote
// explains the mark under a table that has one.
std::string roof_cell(const nlohmann::json& row);
bool roof_marked(const nlohmann::json& row);
inline constexpr const char* kFitsLlcNote =
    "*: the model's weights fit in the last-level cache, so tokens after the first can read them from "
    "cache and the DRAM read roofline does not bind (a fraction above 100% is possible).";

// Model size as a bitnet.cpp GGUF would store it (I2_S + F16 embedding/output + F32 norms).
std::int64_t model_bytes(const models::ModelConfig& c);

}  // namespace tritbench::e2e
