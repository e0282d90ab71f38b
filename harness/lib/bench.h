#pragma once
// Kernel timing with Google Benchmark: one registered benchmark per (kernel, shape, batch, threads).
//
// The timed call is what a BitLinear layer costs per forward: quantize the float activations,
// prepare them for the kernel, GEMM, epilogue. Packing happens once, outside, and is timed apart.
// Unless `hot`, each iteration uses the next of several copies of the packed weights, enough copies
// to span more than twice the last-level cache, so a GEMV reads its weights from DRAM as it does in
// real generation; `hot` reuses one copy (the in-cache figure, as bitnet.cpp's microbenchmarks).

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernels/api.h"

namespace tritbench::bench {

struct Spec {
  const KernelInfo* kernel = nullptr;
  std::string shape;  // a label such as "2b4t.attn_qkvo"; may be empty
  std::int64_t M = 0, K = 0, N = 1;
  int threads = 1;
  bool hot = false;
};

struct Options {
  int repetitions = 5;
  double min_time = 0.1;  // seconds per repetition
  bool progress = true;  // a line per finished benchmark on stderr
};

struct Result {
  Spec spec;
  std::string kernel_ran;  // the registry row that actually executed (from the call counters)
  std::string isa;
  std::int64_t weight_copies = 1;
  std::int64_t packed_bytes = 0;  // one copy
  double pack_seconds = 0;
  std::vector<double> samples;  // seconds per call, one per repetition
  double median = 0, mean = 0, stddev = 0, min = 0;
  double gops = 0;  // 2*M*K*N / median
  double weight_gbps = 0;  // packed bytes / median
  std::string error;
  nlohmann::json to_json() const;
};

std::vector<Result> run(const std::vector<Spec>& specs, const Options& opts);

}  // namespace tritbench::bench
