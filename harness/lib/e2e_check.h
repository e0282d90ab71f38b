#pragma once
// End-to-end losslessness: on one model and prompt, every exact kernel at every thread count must
// produce bit-identical logits at every step (and so identical greedy tokens), and the fast forward
// pass must agree with the independent reference forward pass: the same greedy tokens, and logits
// within the stated bound.
//
// Why a bound and not equality against the reference: the reference works in double and the fast
// path in float; a last-bit difference in an activation can move one quantized value across a
// rounding boundary, which changes that BitLinear's integer result by one weight. Measured on the
// tiny and tiny-silu presets (32 steps, 2026-11-23): NMSE 5e-14..8e-14, max|d|/max|ref| 3e-7, i.e.
// no quantization flip at all; a flip perturbs the logits by roughly 1e-6 NMSE. The bounds leave
// that room while still catching graph errors (tests/test_e2e.cpp: swapping SiLU and ReLU^2 in the
// reference gives NMSE far above 1e-2).

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernels/api.h"
#include "models/weights.h"

namespace tritbench::check {

inline constexpr double kE2eNmseBound = 1e-5;  // per step, fast vs reference logits
inline constexpr double kE2eMaxAbsBound = 0.02;  // per step, max |fast - reference| / max |reference|

struct E2eRun {
  std::string kernel;
  int threads = 1;
  bool exact = true;
  std::vector<std::int32_t> tokens;  // greedy continuation
  std::string logits_digest;  // FNV-1a of every step's logits bytes: equal digests = identical logits
  bool identical_to_baseline = true;  // logits bit-identical at every step (exact rows)
  std::string first_difference;  // where it first differed, if not identical
  bool tokens_match_reference = false;
  std::int64_t reference_divergence_step = -1;
  double worst_nmse = 0, worst_max_abs_rel = 0;  // vs reference, over the steps before divergence
  bool pass = false;
  std::string error;
};

struct E2eReport {
  std::string model;
  std::vector<std::int32_t> prompt;
  std::int64_t steps = 0;
  std::vector<std::int32_t> reference_tokens;
  // Per step, the reference's five largest logits (id, value), and a digest of all its logits
  // rounded to 7 significant digits (robust to last-bit libm differences, not to real changes).
  std::vector<std::vector<std::pair<std::int32_t, double>>> reference_top;
  std::string reference_digest;
  std::string baseline;  // the run every exact run is compared with
  std::vector<E2eRun> runs;
  bool pass = false;
  nlohmann::json to_json() const;
};

// Greedy-decodes `steps` tokens after `prompt` with the reference and with every kernel x thread
// count (exact kernels are checked for bit-identity, approximate ones only reported).
E2eReport check_e2e(const models::WeightSource& src, const std::vector<std::int32_t>& prompt,
                    std::int64_t steps, const std::vector<const KernelInfo*>& kernels,
                    const std::vector<int>& threads);

// The fixed prompt of `tritbench check --e2e`: deterministic token ids within the vocabulary.
std::vector<std::int32_t> default_prompt(std::int64_t vocab, std::int64_t length);

// Golden outputs (results/golden/*.json): what the reference path produced when the file was written.
// golden_json() makes one from a report; check_golden() compares a fresh report with it: the same
// prompt, the reference's tokens, top-5 logits (to 1e-6 relative) and digest unchanged, and every
// exact run's tokens equal to the golden tokens (each run's logits are bounded against the fresh
// reference by check_e2e, and the fresh reference equals the golden one). Returns the problems
// found (empty: pass).
nlohmann::json golden_json(const E2eReport& rep, const std::string& model_spec, std::uint64_t seed);
std::vector<std::string> check_golden(const E2eReport& rep, const nlohmann::json& golden);

}  // namespace tritbench::check
