#pragma once
// Picking the next token from the logits: greedy, or temperature sampling restricted to the top-k
// most likely tokens and then to the smallest set whose probability reaches top-p (nucleus).
//
// Determinism: the same options (seed included) and the same logits give the same token on any
// machine and with any kernel or thread count. Every exact kernel gives bit-identical logits
// (kernels/api.h), candidates are ordered by (logit desc, id asc) so ties never depend on sort
// stability, probabilities are computed in double, and the draw comes from tritbench::Rng, whose
// stream is fully specified. So `generate --seed N` reproduces its text exactly.

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "reference/rng.h"

namespace tritbench::models {

struct SamplerOptions {
  double temp = 0.8;        // <= 0: greedy (argmax, lowest id on ties)
  std::int64_t top_k = 40;  // <= 0 or >= vocab: no top-k cut
  double top_p = 0.95;      // >= 1: no nucleus cut; must be > 0
  std::uint64_t seed = 1;
};

class Sampler {
 public:
  // Throws std::invalid_argument for a top_p outside (0, 1] or a non-finite temperature.
  explicit Sampler(SamplerOptions opt);
  // Throws std::invalid_argument if the logits are empty or hold a NaN (a broken model must not
  // turn into plausible-looking text).
  std::int32_t sample(std::span<const float> logits);
  const SamplerOptions& options() const { return opt_; }

 private:
  SamplerOptions opt_;
  Rng rng_;
  std::vector<std::pair<float, std::int32_t>> cand_;
  std::vector<double> prob_;
};

}  // namespace tritbench::models
