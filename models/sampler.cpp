#include "models/sampler.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace tritbench::models {

Sampler::Sampler(SamplerOptions opt) : opt_(opt), rng_(opt.seed) {
  if (!std::isfinite(opt_.temp))
    throw std::invalid_argument("sampler: temperature " + std::to_string(opt_.temp) +
                                " is not finite (expected >= 0; 0 = greedy)");
  if (!(opt_.top_p > 0 && opt_.top_p <= 1))
    throw std::invalid_argument("sampler: top-p " + std::to_string(opt_.top_p) +
                                " is outside (0, 1]");
}

std::int32_t Sampler::sample(std::span<const float> logits) {
  const auto n = static_cast<std::int64_t>(logits.size());
  if (n == 0) throw std::invalid_argument("sampler: empty logits");
  for (std::int64_t i = 0; i < n; ++i)
    if (std::isnan(logits[i]))
      throw std::invalid_argument("sampler: logit " + std::to_string(i) +
                                  " is NaN (the model produced invalid numbers)");
  if (opt_.temp <= 0) {
    std::int64_t best = 0;
    for (std::int64_t i = 1; i < n; ++i)
      if (logits[i] > logits[best]) best = i;
    return static_cast<std::int32_t>(best);
  }

  // Candidates by logit (desc), id (asc): a strict total order, so the result is unique.
  const auto before = [](const std::pair<float, std::int32_t>& a,
                         const std::pair<float, std::int32_t>& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  std::int64_t k = n;
  cand_.clear();
  if (opt_.top_k > 0 && opt_.top_k < n) {
    // The k best in one pass: a heap whose front is the worst kept, so almost every logit costs
    // one comparison (a full sort of a 128k vocabulary per token costs more than a 2B decode
    // step's norms and attention together).
    k = opt_.top_k;
    for (std::int64_t i = 0; i < n; ++i) {
      const std::pair<float, std::int32_t> c{logits[i], static_cast<std::int32_t>(i)};
      if (static_cast<std::int64_t>(cand_.size()) < k) {
        cand_.push_back(c);
        std::push_heap(cand_.begin(), cand_.end(), before);
      } else if (before(c, cand_.front())) {
        std::pop_heap(cand_.begin(), cand_.end(), before);
        cand_.back() = c;
        std::push_heap(cand_.begin(), cand_.end(), before);
      }
    }
    std::sort_heap(cand_.begin(), cand_.end(), before);
  } else {
    cand_.resize(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) cand_[i] = {logits[i], static_cast<std::int32_t>(i)};
    std::sort(cand_.begin(), cand_.end(), before);
  }
  // Softmax at temperature T over the k candidates, in double, relative to the largest logit
  // (an infinite largest logit takes all the mass).
  prob_.resize(static_cast<std::size_t>(k));
  const double top = cand_[0].first;
  double total = 0;
  for (std::int64_t i = 0; i < k; ++i) {
    const double l = cand_[i].first;
    const double p = std::isinf(top) ? (l == top ? 1.0 : 0.0) : std::exp((l - top) / opt_.temp);
    prob_[i] = p;
    total += p;
  }
  // Nucleus: the shortest prefix whose mass reaches top_p (at least one token).
  if (opt_.top_p < 1) {
    double acc = 0;
    std::int64_t keep = 0;
    while (keep < k) {
      acc += prob_[keep++];
      if (acc >= opt_.top_p * total) break;
    }
    k = keep;
    total = acc;
  }
  const double u = rng_.uniform() * total;
  double acc = 0;
  for (std::int64_t i = 0; i < k; ++i) {
    acc += prob_[i];
    if (u < acc) return cand_[i].second;
  }
  return cand_[k - 1].second;  // u rounded up to the total
}

}  // namespace tritbench::models
