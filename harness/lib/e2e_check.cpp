#include "harness/lib/e2e_check.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include "kernels/registry.h"
#include "models/transformer.h"
#include "reference/forward.h"
#include "reference/rng.h"

namespace tritbench::check {

namespace {
template <class T>
std::int32_t argmax(const std::vector<T>& v) {
  return static_cast<std::int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}
}  // namespace

std::vector<std::int32_t> default_prompt(std::int64_t vocab, std::int64_t length) {
  Rng rng(20261123);
  std::vector<std::int32_t> p(static_cast<std::size_t>(length));
  for (auto& t : p) t = static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(vocab)));
  return p;
}

E2eReport check_e2e(const models::WeightSource& src, const std::vector<std::int32_t>& prompt,
                    std::int64_t steps, const std::vector<const KernelInfo*>& kernels,
                    const std::vector<int>& threads) {
  E2eReport rep;
  rep.model = src.describe();
  rep.prompt = prompt;
  rep.steps = steps;
  // Reference: greedy, recomputing the whole sequence at every step.
  reference::ReferenceModel ref(src);
  std::vector<std::vector<double>> ref_logits;
  std::vector<std::int32_t> seq = prompt;
  std::uint64_t digest = 0xcbf29ce484222325ull;
  for (std::int64_t s = 0; s < steps; ++s) {
    ref_logits.push_back(ref.logits(seq));
    const auto& l = ref_logits.back();
    rep.reference_tokens.push_back(argmax(l));
    seq.push_back(rep.reference_tokens.back());
    std::vector<std::int32_t> idx(l.size());
    for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<std::int32_t>(i);
    std::partial_sort(idx.begin(), idx.begin() + std::min<std::size_t>(5, idx.size()), idx.end(),
                      [&](std::int32_t a, std::int32_t b) { return l[a] > l[b]; });
    std::vector<std::pair<std::int32_t, double>> top;
    for (std::size_t i = 0; i < std::min<std::size_t>(5, idx.size()); ++i) top.emplace_back(idx[i], l[idx[i]]);
    rep.reference_top.push_back(top);
    char buf[32];
    for (double v : l) {
      std::snprintf(buf, sizeof buf, "%.6e", v);
      for (const char* p = buf; *p; ++p) digest = (digest ^ static_cast<unsigned char>(*p)) * 0x100000001b3ull;
    }
  }
  char hexd[17];
  std::snprintf(hexd, sizeof hexd, "%016llx", static_cast<unsigned long long>(digest));
  rep.reference_digest = hexd;
  const std::int64_t ctx = static_cast<std::int64_t>(prompt.size()) + steps;
  std::vector<std::vector<float>> baseline_logits;
  bool all_ok = true;
  for (const KernelInfo* k : kernels) {
    if (!runnable(*k)) continue;
    for (int t : threads) {
      E2eRun run;
      run.kernel = std::string(k->name);
      run.threads = t;
      run.exact = k->exact();
      try {
        ThreadPool pool(t);
        models::Transformer tf(src, *k, pool,
                               {.context = ctx, .output = models::OutputType::kAsStored});
        std::vector<std::vector<float>> logits;
        std::vector<float> l(static_cast<std::size_t>(src.config().vocab));
        tf.prefill(prompt, 0, l.data());
        for (std::int64_t s = 0; s < steps; ++s) {
          logits.push_back(l);
          run.tokens.push_back(argmax(l));
          if (s + 1 < steps) tf.decode(run.tokens.back(), l.data());
        }
        std::uint64_t h = 0xcbf29ce484222325ull;
        for (const auto& step : logits)
          for (std::size_t i = 0; i < step.size() * 4; ++i)
            h = (h ^ reinterpret_cast<const unsigned char*>(step.data())[i]) * 0x100000001b3ull;
        char hex[17];
        std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
        run.logits_digest = hex;
        // Bit-identity among exact runs: the first exact run is the baseline.
        if (run.exact) {
          if (baseline_logits.empty()) {
            baseline_logits = logits;
            rep.baseline = run.kernel + " t=" + std::to_string(t);
          } else {
            for (std::int64_t s = 0; s < steps && run.identical_to_baseline; ++s)
              if (std::memcmp(logits[s].data(), baseline_logits[s].data(), logits[s].size() * 4) != 0) {
                run.identical_to_baseline = false;
                std::size_t i = 0;
                while (logits[s][i] == baseline_logits[s][i]) ++i;
                run.first_difference = "step " + std::to_string(s) + ", logit " + std::to_string(i) + ": " +
                                       std::to_string(logits[s][i]) + " vs " + std::to_string(baseline_logits[s][i]);
              }
          }
        }
        // Agreement with the reference.
        run.tokens_match_reference = run.tokens == rep.reference_tokens;
        for (std::int64_t s = 0; s < steps; ++s) {
          double err2 = 0, ref2 = 0, maxd = 0, maxr = 0;
          for (std::size_t i = 0; i < logits[s].size(); ++i) {
            const double d = logits[s][i] - ref_logits[s][i];
            err2 += d * d;
            ref2 += ref_logits[s][i] * ref_logits[s][i];
            maxd = std::max(maxd, std::fabs(d));
            maxr = std::max(maxr, std::fabs(ref_logits[s][i]));
          }
          run.worst_nmse = std::max(run.worst_nmse, err2 / ref2);
          run.worst_max_abs_rel = std::max(run.worst_max_abs_rel, maxd / maxr);
          if (run.tokens[s] != rep.reference_tokens[s]) {
            run.reference_divergence_step = s;
            break;  // later steps continue different sequences
          }
        }
        run.pass = run.exact ? run.identical_to_baseline && run.tokens_match_reference &&
                                   run.worst_nmse <= kE2eNmseBound && run.worst_max_abs_rel <= kE2eMaxAbsBound
                             : true;
      } catch (const std::exception& e) {
        run.error = e.what();
        run.pass = false;
      }
      all_ok &= run.pass;
      rep.runs.push_back(std::move(run));
    }
  }
  rep.pass = all_ok && !baseline_logits.empty();
  return rep;
}

nlohmann::json golden_json(const E2eReport& rep, const std::string& model_spec, std::uint64_t seed) {
  nlohmann::json top = nlohmann::json::array();
  for (const auto& step : rep.reference_top) {
    nlohmann::json s = nlohmann::json::array();
    for (const auto& [id, v] : step) s.push_back({id, v});
    top.push_back(s);
  }
  return {{"model", model_spec}, {"seed", seed}, {"source", rep.model}, {"prompt", rep.prompt}, {"steps", rep.steps},
          {"reference_tokens", rep.reference_tokens}, {"reference_top5", top},
          {"reference_digest", rep.reference_digest}};
}

std::vector<std::string> check_golden(const E2eReport& rep, const nlohmann::json& g) {
  std::vector<std::string> problems;
  if (g["prompt"].get<std::vector<std::int32_t>>() != rep.prompt) problems.push_back("the prompt differs from the golden one");
  const auto tokens = g["reference_tokens"].get<std::vector<std::int32_t>>();
  if (tokens != rep.reference_tokens) problems.push_back("the reference's greedy tokens changed");
  if (g["reference_digest"] != rep.reference_digest)
    problems.push_back("the reference's logits digest changed " + g["reference_digest"].get<std::string>() + " -> " +
                       rep.reference_digest);
  const auto& gtop = g["reference_top5"];
  for (std::size_t s = 0; s < rep.reference_top.size() && s < gtop.size(); ++s)
    for (std::size_t i = 0; i < rep.reference_top[s].size() && i < gtop[s].size(); ++i) {
      const auto [id, v] = rep.reference_top[s][i];
      const double gv = gtop[s][i][1].get<double>();
      if (gtop[s][i][0].get<std::int32_t>() != id || std::fabs(v - gv) > 1e-6 * std::max(1.0, std::fabs(gv))) {
        problems.push_back("step " + std::to_string(s) + ": reference top-5 entry " + std::to_string(i) + " is (" +
                           std::to_string(id) + ", " + std::to_string(v) + "), golden (" +
                           std::to_string(gtop[s][i][0].get<std::int32_t>()) + ", " + std::to_string(gv) + ")");
        break;
      }
    }
  for (const auto& r : rep.runs) {
    if (!r.exact) continue;
    if (!r.error.empty()) {
      problems.push_back(r.kernel + ": " + r.error);
      continue;
    }
    if (r.tokens != tokens) problems.push_back(r.kernel + " t=" + std::to_string(r.threads) + ": greedy tokens differ from the golden ones");
  }
  return problems;
}

nlohmann::json E2eReport::to_json() const {
  nlohmann::json runs_j = nlohmann::json::array();
  for (const auto& r : runs)
    runs_j.push_back({{"kernel", r.kernel}, {"threads", r.threads}, {"exact", r.exact}, {"tokens", r.tokens}, {"logits_digest", r.logits_digest},
                      {"identical_to_baseline", r.identical_to_baseline}, {"first_difference", r.first_difference},
                      {"tokens_match_reference", r.tokens_match_reference},
                      {"reference_divergence_step", r.reference_divergence_step}, {"worst_nmse", r.worst_nmse},
                      {"worst_max_abs_rel", r.worst_max_abs_rel}, {"pass", r.pass}, {"error", r.error}});
  return {{"model", model}, {"prompt", prompt}, {"steps", steps}, {"reference_tokens", reference_tokens},
          {"baseline", baseline}, {"runs", runs_j}, {"pass", pass},
          {"bounds", {{"nmse", kE2eNmseBound}, {"max_abs_rel", kE2eMaxAbsBound}}}};
}

}  // namespace tritbench::check
