#pragma once
// Running a user-supplied llama-bench (e.g. bitnet.cpp's build) on the same GGUF with matching flags,
// and reading its JSON output, so both tools' tokens/s stand in one table measured in one session.
// tritbench contains none of that tool's code; the path is the user's.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tritbench::external {

struct LlamaBenchRequest {
  std::string binary;  // path to llama-bench
  std::string model;  // GGUF path
  std::vector<std::int64_t> prompts, gens, batches, threads;
  int repetitions = 5;
};

// The argument vector (without the binary) for the request: -m -p -n -b -t -r -ngl 0 -o json.
// A batch of 0 ("the whole prompt") becomes the largest prompt length.
std::vector<std::string> llama_bench_args(const LlamaBenchRequest& r);

// Runs the binary (no shell), captures stdout, and converts llama-bench's JSON array into tritbench
// e2e rows (kind "e2e_external"): test, n_prompt, n_gen, batch, threads, mean_tps, stddev_tps,
// samples_tps when given. Throws std::runtime_error naming the binary on failure or bad output.
std::vector<nlohmann::json> run_llama_bench(const LlamaBenchRequest& r);

// Parses llama-bench JSON text (exposed for tests).
std::vector<nlohmann::json> parse_llama_bench_json(const std::string& text, const std::string& what);

}  // namespace tritbench::external
