#pragma once
// Exactness checking of registry kernels against the naive oracle: used by `tritbench check` and by
// the test suite, so that both judge kernels by one definition.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernels/api.h"
#include "kernels/runtime/thread_pool.h"

namespace tritbench::check {

enum class WeightData { kRandom, kZero, kPlusOne, kMinusOne, kAlternating };
enum class ActData { kGaussian, kUniform, kAllMax, kAllMin, kAlternating };
const char* name(WeightData d);
const char* name(ActData d);

struct Case {
  std::int64_t M, K, N;
  WeightData weights = WeightData::kRandom;
  ActData acts = ActData::kGaussian;
  std::uint64_t seed = 1;
  std::string label() const;  // "M=7 K=129 N=3 w=random a=gaussian seed=1"
};

// Shapes derived from the registry's tiles (K below, at, above and multiples of every row's
// k_multiple; M around every row_multiple), batch 1..9 and 128, the 2B-4T shapes, K = 45568,
// and the adversarial data kinds. `quick` keeps the list small enough for an interactive check.
std::vector<Case> cases(bool quick);

// The data of a case: weights, the float activations (gaussian kinds) and their quantized batch.
struct CaseData {
  TernaryMatrix w;
  std::vector<float> x;
  QuantizedBatch a;
};
void make_data(const Case& c, CaseData& d);

// The oracle's integer result (naive kernel) for the case data, [N x M].
std::vector<std::int32_t> oracle(const CaseData& d);

struct Result {
  std::string kernel;
  Case c;
  int threads = 1;
  bool skipped = false;
  std::string skip_reason;
  bool pass = false;
  bool exact = true;
  // exact rows: how many elements differ, and the first (n, m) that does
  std::int64_t mismatches = 0;
  std::int64_t bad_n = -1, bad_m = -1;
  std::int64_t got = 0, expected = 0;
  // approximate rows: error of y against the exact float output; bound_ratio = the worst
  // |err| / allowed over the outputs (<= 1 passes, see ErrorBound)
  double max_abs = 0, bound_ratio = 0, nmse = 0;
  bool nmse_applies = false;  // the case has enough outputs (>= 64) for the NMSE bound
  std::string error;  // an exception the kernel threw
  std::string describe() const;  // one line for humans
};

// Runs kernel k on the case data with `pool` (its size is the thread count) and compares. `tile`:
// pack with this tile instead of the row's own (a tile of the row's TileSpace).
Result run(const KernelInfo& k, const Case& c, const CaseData& d, const std::vector<std::int32_t>& expected,
           ThreadPool& pool, const TileConfig* tile = nullptr);

// Every kernel x case x thread count; one summary per kernel.
struct Summary {
  const KernelInfo* kernel = nullptr;
  int pass = 0, fail = 0, skip = 0;
  std::string first_failure, skip_reason;
  double worst_nmse = 0, worst_bound_ratio = 0;  // approximate rows
  bool ok() const { return fail == 0; }
  std::string verdict() const;
  nlohmann::json to_json() const;
};
// on_result (may be null) sees every individual result, e.g. for verbose output.
std::vector<Summary> run_all(const std::vector<const KernelInfo*>& kernels, const std::vector<int>& threads,
                             bool quick, const std::function<void(const Result&)>& on_result = nullptr);

}  // namespace tritbench::check
