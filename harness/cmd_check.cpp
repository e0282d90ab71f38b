// tritbench check: every runnable kernel against the naive oracle.
#include <iostream>
#include <map>

#include "harness/commands.h"
#include "harness/lib/args.h"
#include "harness/lib/check.h"
#include "harness/lib/env.h"
#include "kernels/registry.h"

namespace tritbench::cli {

int cmd_check(int argc, char** argv) {
  Args args(argc, argv, 2, {"-k", "-t"}, {"--json", "--full", "--help", "-v"});
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

examples:
  tritbench check
  tritbench check -k 'i2s*' -t 1-4
  TRITBENCH_ISA=avx2 tritbench check
)";
    return 0;
  }
  const auto kernels = resolve_kernel_list(args.get("-k", "all"));
  const auto threads = args.ints("-t", "1,2", 1, 1024);
  const bool json = args.has("--json"), verbose = args.has("-v");
  const auto cases = check::cases(!args.has("--full"));
  const CpuInfo& cpu = cpu_info();

  if (!json) {
    std::cout << "tritbench check: " << kernels.size() << " kernels x " << cases.size() << " cases x "
              << threads.size() << " thread counts; CPU ISA level " << isa_name(cpu.level);
    if (cpu.capped)
      std::cout << " (capped from " << isa_name(cpu.hardware_level) << " by TRITBENCH_ISA=" << cpu.cap_source
                << ": rows above " << isa_name(cpu.level) << " are skipped)";
    std::cout << "\n";
  }
  std::map<int, std::unique_ptr<ThreadPool>> pools;
  for (auto t : threads) pools[static_cast<int>(t)] = std::make_unique<ThreadPool>(static_cast<int>(t));

  struct Summary {
    int pass = 0, fail = 0, skip = 0;
    std::string first_failure, skip_reason;
    double worst_nmse = 0, worst_rel = 0;
  };
  std::map<const KernelInfo*, Summary> sum;
  nlohmann::json jresults = nlohmann::json::array();
  check::CaseData data;
  for (const auto& c : cases) {
    check::make_data(c, data);
    const auto expected = check::oracle(data);
    for (const KernelInfo* k : kernels) {
      for (auto t : threads) {
        const auto r = check::run(*k, c, data, expected, *pools[static_cast<int>(t)]);
        Summary& s = sum[k];
        if (r.skipped) {
          ++s.skip;
          s.skip_reason = r.skip_reason;
        } else if (r.pass) {
          ++s.pass;
        } else {
          if (s.fail++ == 0) s.first_failure = r.describe();
        }
        if (!r.exact && !r.skipped) {
          if (r.nmse_applies) s.worst_nmse = std::max(s.worst_nmse, r.nmse);
          s.worst_rel = std::max(s.worst_rel, r.bound_ratio);
        }
        if (verbose && !json) std::cout << "  " << r.describe() << "\n";
        if (json)
          jresults.push_back({{"kernel", r.kernel}, {"case", c.label()}, {"threads", r.threads},
                              {"skipped", r.skipped}, {"skip_reason", r.skip_reason}, {"pass", r.pass},
                              {"exact", r.exact}, {"mismatches", r.mismatches},
                              {"first_bad", r.mismatches ? nlohmann::json{{"n", r.bad_n}, {"m", r.bad_m}, {"got", r.got}, {"expected", r.expected}} : nlohmann::json(nullptr)},
                              {"max_abs", r.max_abs}, {"bound_ratio", r.bound_ratio}, {"nmse", r.nmse},
                              {"error", r.error}});
      }
    }
  }
  int failed = 0;
  nlohmann::json jsum = nlohmann::json::array();
  for (const KernelInfo* k : kernels) {
    const Summary& s = sum[k];
    failed += s.fail > 0;
    std::string verdict;
    if (s.pass + s.fail == 0) {
      verdict = "SKIPPED (" + s.skip_reason + ")";
    } else if (s.fail) {
      verdict = "FAIL " + std::to_string(s.fail) + "/" + std::to_string(s.pass + s.fail) + ": " + s.first_failure;
    } else if (k->exact()) {
      verdict = "exact in " + std::to_string(s.pass) + "/" + std::to_string(s.pass) + " runs";
    } else {
      verdict = "approximate, within its bound in " + std::to_string(s.pass) + " runs (worst nmse " +
                std::to_string(s.worst_nmse) + " <= " + std::to_string(k->bound.nmse) + ", worst error " +
                std::to_string(s.worst_rel) + " of the allowed " + std::to_string(k->bound.step_units) +
                " step/weight)";
    }
    if (!json) std::cout << (s.fail ? "FAIL " : s.pass ? "ok   " : "skip ") << k->name << ": " << verdict << "\n";
    jsum.push_back({{"kernel", std::string(k->name)}, {"exact", k->exact()}, {"pass", s.pass}, {"fail", s.fail},
                    {"skipped", s.skip}, {"skip_reason", s.skip_reason}, {"first_failure", s.first_failure},
                    {"worst_nmse", s.worst_nmse}, {"worst_bound_ratio", s.worst_rel}});
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
