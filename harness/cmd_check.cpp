// tritbench check: every runnable kernel against the naive oracle.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>

#include "harness/commands.h"
#include "harness/lib/args.h"
#include "harness/lib/check.h"
#include "harness/lib/e2e_check.h"
#include "harness/lib/io.h"
#include "harness/lib/table.h"
#include "models/config.h"
#include "harness/lib/env.h"
#include "kernels/registry.h"

namespace tritbench::cli {

namespace {

int check_e2e_cmd(const Args& args) {
  const std::string preset = args.get("--synthetic", "tiny");
  const models::ModelConfig* cfg = models::find_preset(preset);
  if (!cfg) throw UsageError("--synthetic: unknown preset '" + preset + "' (known: " + models::preset_names() + ")");
  const auto seed = static_cast<std::uint64_t>(args.integer("--seed", 1, 0, std::numeric_limits<std::int64_t>::max()));
  models::SyntheticSource src(*cfg, seed);
  const auto kernels = resolve_kernel_list(args.get("-k", "all"));
  std::vector<int> threads;
  for (auto t : args.ints("-t", "1,2", 1, 1024)) threads.push_back(static_cast<int>(t));
  const std::int64_t steps = args.integer("--steps", 32, 1, 4096);
  const auto prompt = check::default_prompt(cfg->vocab, args.integer("--prompt-length", 8, 1, 4096));
  const check::E2eReport rep = check::check_e2e(src, prompt, steps, kernels, threads);
  if (args.has("--write-golden")) {
    write_file_atomic(args.get("--write-golden"), check::golden_json(rep, "synthetic:" + cfg->name, seed).dump(1) + "\n");
    std::cerr << "wrote " << args.get("--write-golden") << "\n";
  }
  bool golden_ok = true;
  if (args.has("--golden")) {
    std::ifstream f(args.get("--golden"));
    if (!f) throw UsageError("--golden: cannot open " + args.get("--golden"));
    const auto problems = check::check_golden(rep, nlohmann::json::parse(f));
    for (const auto& p : problems) std::cout << "GOLDEN MISMATCH: " << p << "\n";
    if (problems.empty()) std::cout << "golden outputs " << args.get("--golden") << ": match\n";
    golden_ok = problems.empty();
  }
  if (args.has("--json")) {
    nlohmann::json j = rep.to_json();
    j["environment"] = environment_json();
    std::cout << j.dump(2) << "\n";
    return rep.pass && golden_ok ? 0 : 1;
  }
  std::cout << "tritbench check --e2e: " << rep.model << ", prompt of " << rep.prompt.size() << " tokens, "
            << steps << " greedy steps\nreference (double, no KV cache) tokens:";
  for (auto t : rep.reference_tokens) std::cout << ' ' << t;
  std::cout << "\nbaseline for bit-identity: " << rep.baseline << "\n\n";
  Table t({"kernel", "t", "logits vs baseline", "tokens vs reference", "worst NMSE", "worst max|d|/max|ref|", "verdict"});
  for (const auto& r : rep.runs) {
    std::string ident = !r.exact ? "(approximate)" : r.identical_to_baseline ? "bit-identical" : "DIFFER: " + r.first_difference;
    std::string toks = r.tokens_match_reference ? "identical"
                                                : "diverge at step " + std::to_string(r.reference_divergence_step);
    char nmse[32], mx[32];
    std::snprintf(nmse, sizeof nmse, "%.2e", r.worst_nmse);
    std::snprintf(mx, sizeof mx, "%.2e", r.worst_max_abs_rel);
    t.add({r.kernel, std::to_string(r.threads), r.error.empty() ? ident : "ERROR " + r.error, toks, nmse, mx,
           r.pass ? (r.exact ? "ok" : "reported") : "FAIL"});
  }
  std::cout << t.console() << "\nbounds vs reference: NMSE <= " << check::kE2eNmseBound << ", max|d|/max|ref| <= "
            << check::kE2eMaxAbsBound << "\n"
            << (rep.pass ? "check --e2e passed: every exact kernel gives bit-identical logits and the reference's tokens\n"
                         : "check --e2e FAILED\n");
  return rep.pass && golden_ok ? 0 : 1;
}

}  // namespace

int cmd_check(int argc, char** argv) {
  Args args(argc, argv, 2, {"-k", "-t", "--synthetic", "--seed", "--steps", "--prompt-length", "--golden", "--write-golden"},
            {"--json", "--full", "--help", "-v", "--e2e"});
  if (args.has("--help")) {
    std::cout << R"(usage: tritbench check [-k KERNELS] [-t THREADS] [--full] [--json] [-v]

Runs every selected kernel on shapes derived from the registry's tiles (K below, at and above each
block, M around each row tile, batch 1..9 and 128, the 2B-4T shapes, K = 45568) with random and
adversarial data (all +127, all -128, alternating, all +-1 weights), at each thread count, and
compares the int32 results with the naive oracle bit for bit. Approximate rows are checked against
their stated error bound. Exit status 1 on any mismatch; the first bad element is printed.

  -k KERNELS   row names, families or globs, comma-separated (default: all)
  -t THREADS   thread counts (default: 1,2)
  --full       the test suite's larger case list
  --json       machine-readable results
  -v           one line per case

end to end (--e2e): on a synthetic model and a fixed prompt, every exact kernel at every thread
count must give bit-identical logits at every step, and the same greedy tokens as the independent
reference forward pass (double precision, no KV cache), with logits within a stated bound.
  --e2e                 run the end-to-end check instead
  --synthetic PRESET    model preset (default: tiny)      --seed N        weights seed (default 1)
  --steps N             greedy steps (default 32)         --prompt-length prompt tokens (default 8)
  --golden FILE         also compare with golden outputs (results/golden/*.json)
  --write-golden FILE   write the reference's outputs as a golden file

examples:
  tritbench check
  tritbench check -k 'i2s*' -t 1-4
  tritbench check --e2e --synthetic tiny-silu
  TRITBENCH_ISA=avx2 tritbench check
)";
    return 0;
  }
  if (args.has("--e2e")) return check_e2e_cmd(args);
  const auto kernels = resolve_kernel_list(args.get("-k", "all"));
  const auto threads = args.ints("-t", "1,2", 1, 1024);
  const bool json = args.has("--json"), verbose = args.has("-v");
  const std::size_t n_cases = check::cases(!args.has("--full")).size();
  const CpuInfo& cpu = cpu_info();

  if (!json) {
    std::cout << "tritbench check: " << kernels.size() << " kernels x " << n_cases << " cases x "
              << threads.size() << " thread counts; CPU ISA level " << isa_name(cpu.level);
    if (cpu.capped)
      std::cout << " (capped from " << isa_name(cpu.hardware_level) << " by TRITBENCH_ISA=" << cpu.cap_source
                << ": rows above " << isa_name(cpu.level) << " are skipped)";
    std::cout << "\n";
  }
  std::vector<int> tv;
  for (auto t : threads) tv.push_back(static_cast<int>(t));
  nlohmann::json jresults = nlohmann::json::array();
  const auto sums = check::run_all(kernels, tv, !args.has("--full"), [&](const check::Result& r) {
    if (verbose && !json) std::cout << "  " << r.describe() << "\n";
    if (json)
      jresults.push_back({{"kernel", r.kernel}, {"case", r.c.label()}, {"threads", r.threads},
                          {"skipped", r.skipped}, {"skip_reason", r.skip_reason}, {"pass", r.pass},
                          {"exact", r.exact}, {"mismatches", r.mismatches},
                          {"first_bad", r.mismatches ? nlohmann::json{{"n", r.bad_n}, {"m", r.bad_m}, {"got", r.got}, {"expected", r.expected}} : nlohmann::json(nullptr)},
                          {"max_abs", r.max_abs}, {"bound_ratio", r.bound_ratio}, {"nmse", r.nmse},
                          {"error", r.error}});
  });
  int failed = 0;
  nlohmann::json jsum = nlohmann::json::array();
  for (const auto& s : sums) {
    failed += !s.ok();
    if (!json) std::cout << (s.fail ? "FAIL " : s.pass ? "ok   " : "skip ") << s.kernel->name << ": " << s.verdict() << "\n";
    jsum.push_back(s.to_json());
  }
  if (json) {
    std::cout << nlohmann::json{{"ok", failed == 0}, {"summary", jsum}, {"results", jresults},
                                {"environment", environment_json()}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << (failed ? "check FAILED: " + std::to_string(failed) + " kernel(s) differ from the oracle\n"
                         : "check passed: every runnable exact kernel matches the oracle bit for bit\n");
  }
  return failed ? 1 : 0;
}

}  // namespace tritbench::cli
