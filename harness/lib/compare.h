#pragma once
// Comparing two result files (from `run`, `kernels -o json` or `e2e -o json`): per matching row, the
// ratio with a noise-aware verdict from the samples, and any correctness difference.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tritbench::compare {

struct Row {
  std::string key;  // what identifies the row in both files
  std::string metric;  // "time" (lower is better) or "t/s" (higher is better)
  double a = 0, b = 0;  // medians
  double speedup = 0;  // > 1: B is faster than A
  std::string verdict;  // "faster", "slower", "within noise", "only in A", "only in B"
  bool regression = false;
};

struct Correctness {
  std::string key;
  std::string what;  // e.g. "was exact, now FAIL: ...", "logits digest changed 1234 -> abcd"
};

struct Report {
  std::vector<Row> rows;
  std::vector<Correctness> correctness;
  bool regression() const;
};

// `threshold`: a significant slowdown by more than this fraction (0.05 = 5%) is a regression.
Report compare(const nlohmann::json& a, const nlohmann::json& b, double threshold);

// Welch's t-test at 95% (two-sided): true if the means of x and y differ significantly.
bool significantly_different(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace tritbench::compare
