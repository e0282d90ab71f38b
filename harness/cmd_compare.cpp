// tritbench compare A.json B.json: per-row ratios with noise-aware verdicts; a gate for CI.
#include <fstream>
#include <iostream>

#include "harness/commands.h"
#include "harness/lib/args.h"
#include "harness/lib/compare.h"
#include "harness/lib/table.h"

namespace tritbench::cli {

namespace {
nlohmann::json load(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw UsageError(path + ": cannot open");
  try {
    return nlohmann::json::parse(f);
  } catch (const nlohmann::json::parse_error& e) {
    throw UsageError(path + ": not valid JSON: " + e.what());
  }
}
}  // namespace

int cmd_compare(int argc, char** argv) {
  Args args(argc, argv, 2, {"--threshold"}, {"--help", "--json"});
  if (args.has("--help") || args.positional().size() != 2) {
    (args.has("--help") ? std::cout : std::cerr) << R"(usage: tritbench compare A.json B.json [--threshold PCT] [--json]

Matches the rows of two result files (tritbench run, kernels -o json, e2e -o json) and prints, per
row, B's speed relative to A with a verdict from the samples (Welch's t-test, 95%): faster, slower,
or within noise. Correctness differences are listed too: a check that passed in A and fails in B, an
exact kernel whose end-to-end logits digest changed. Exit status 1 if B regresses: any correctness
difference, or a significant slowdown by more than --threshold percent (default 5).

examples:
  tritbench compare results/kernels-2b4t/old.json results/kernels-2b4t/new.json
  tritbench compare base.json head.json --threshold 10 || echo "regression"
)";
    return args.has("--help") ? 0 : 2;
  }
  const double threshold = args.number("--threshold", 5, 0, 1000) / 100.0;
  const auto rep = compare::compare(load(args.positional()[0]), load(args.positional()[1]), threshold);
  if (args.has("--json")) {
    nlohmann::json rows = nlohmann::json::array(), corr = nlohmann::json::array();
    for (const auto& r : rep.rows)
      rows.push_back({{"key", r.key}, {"metric", r.metric}, {"a", r.a}, {"b", r.b}, {"speedup", r.speedup},
                      {"verdict", r.verdict}, {"regression", r.regression}});
    for (const auto& c : rep.correctness) corr.push_back({{"key", c.key}, {"what", c.what}});
    std::cout << nlohmann::json{{"rows", rows}, {"correctness", corr}, {"regression", rep.regression()}}.dump(2) << "\n";
    return rep.regression() ? 1 : 0;
  }
  Table t({"row", "A", "B", "B vs A", "verdict"});
  int faster = 0, slower = 0, same = 0;
  for (const auto& r : rep.rows) {
    auto show = [&](double v) {
      if (v <= 0) return std::string("-");
      return r.metric == "t/s" ? fmt(v, 2) + " t/s" : fmt(v * 1e6, 1) + " us";
    };
    t.add({r.key, show(r.a), show(r.b), r.speedup > 0 ? fmt(r.speedup, 3) + "x" : "-",
           r.verdict + (r.regression ? " (REGRESSION)" : "")});
    faster += r.verdict == "faster";
    slower += r.verdict == "slower";
    same += r.verdict == "within noise";
  }
  std::cout << t.console();
  for (const auto& c : rep.correctness) std::cout << "CORRECTNESS: " << c.key << ": " << c.what << "\n";
  std::cout << "\n" << faster << " faster, " << slower << " slower, " << same << " within noise; "
            << rep.correctness.size() << " correctness differences\n"
            << (rep.regression() ? "REGRESSION\n" : "no regression\n");
  return rep.regression() ? 1 : 0;
}

}  // namespace tritbench::cli
