#pragma once
// Kernel timing with Google Benchmark: one benchmark per (kernel, shape, batch, threads, tile).
//
// What is timed, per call of a BitLinear, in three parts reported separately:
//   gemm      the kernel over all rows (split across the thread pool) plus the shared epilogue:
//             the Google Benchmark loop, repetitions with median / mean / stddev / min;
//   quantize  the shared activation quantizer (float rows -> int8 + scale + row sum);
//   prepare   the kernel's prepare step (reorder, pad, LUTs; nothing for I2_S);
// and packing, once per weight matrix. quantize and prepare are timed in blocks of calls (one
// sample per block, as many blocks as repetitions), outside Google Benchmark's loop.
//
// Unless `hot`, each GEMM call uses the next of several copies of the packed weights, enough
// copies to span 2.5x the last-level cache (capped at 2 GiB), so a GEMV reads its weights from
// DRAM as it does in real generation; `hot` reuses one copy (the in-cache figure, as bitnet.cpp's
// microbenchmarks). The copies are shared by consecutive benchmarks with the same packer, shape
// and tile, so a sweep packs each matrix once.
//
// With a roofline (harness/lib/roofline.h), every result is also a fraction of this machine's
// ceiling at its thread count: the int8 peak of the kernel's ISA and, for cold weights, the read
// bandwidth times the call's ops per weight byte; the lower of the two is the roofline.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernels/api.h"

namespace tritbench::roofline {
struct Roofline;
class ReadProbe;
}

namespace tritbench::bench {

struct Spec {
  const KernelInfo* kernel = nullptr;
  std::string shape;  // a label such as "2b4t.attn_qkvo"; may be empty
  std::int64_t M = 0, K = 0, N = 1;
  int threads = 1;
  bool hot = false;
  TileConfig tile;  // packed with (kernels/runtime/tuning.h choose_tile)
  std::string tile_source = "default";  // default | tuned | override
  // One call over several matrices of K columns (gemm_f32_multi, as the model runs q/k/v and
  // gate/up): their row counts, summing to M, each packed with `tile`. Empty: one matrix.
  std::vector<std::int64_t> parts = {};
  std::string mxk() const;  // mxk(M, K, parts)
};
// "2560x2560", or "2560+640+640x2560" for a call over matrices of those rows (parts).
std::string mxk(std::int64_t M, std::int64_t K, const std::vector<std::int64_t>& parts);

struct Options {
  int repetitions = 5;
  double min_time = 0.1;  // seconds per repetition
  bool progress = true;  // a line per finished benchmark on stderr
  const roofline::Roofline* roofline = nullptr;  // ceilings for the % of roofline, if known
  std::int64_t rotate_bytes = 0;  // span of the rotating copies; 0: 2.5x LLC, at most 2 GiB
  // Cold rows: also measure the read bandwidth with this probe right before and right after timing
  // each row (best of read_now_passes rounds of a one-, two- and four-stream read each time) and
  // report the row against it. The caller owns the probe (its array is allocated and touched
  // once), so a run of many calls shares one.
  roofline::ReadProbe* read_now = nullptr;
  int read_now_passes = 3;
  // Cold rows: also time a plain read of the row's own rotating copies, call by call with its
  // threads (roofline::read_calls_gbps, read_now_passes rounds), right before and right after
  // timing the row, and report the row against it: how close the kernel is to the read bandwidth
  // of calls of this size.
  bool read_calls = false;
  // Also time about min_time seconds of single calls with the pool's task stamps
  // (ThreadPool::record_tasks) after the row's repetitions: Result::anatomy.
  bool anatomy = false;
};

struct Stats {
  std::vector<double> samples;  // seconds per call
  double median = 0, mean = 0, stddev = 0, min = 0;
  static Stats of(std::vector<double> samples);
  nlohmann::json to_json() const;
};

// Where one call's time goes, from single calls timed one by one (Options::anatomy). Seconds.
struct Anatomy {
  std::int64_t calls = 0;
  double call_median = 0, call_mean = 0, call_p99 = 0;
  // (mean - median) / mean: the share of the mean time that slower-than-median calls add (a
  // shared machine's interruptions land here; the repetitions' figures are means).
  double tail_pct() const {
    return call_mean > 0 ? 100.0 * (call_mean - call_median) / call_mean : 0;
  }
  // With 2+ threads (else empty or 0): per call, the last task's start after the call began
  // (fork), each thread's task, and the call's return after the last task ended (join); medians
  // over the calls. Imbalance: (longest - shortest task) / longest. slowest_share[t]: the share
  // of calls in which thread t's task was the longest (0 is the calling thread).
  double fork_median = 0, join_median = 0, imbalance_median = 0;
  std::vector<double> task_median, task_p99, slowest_share;
  nlohmann::json to_json() const;
};

struct Result {
  Spec spec;
  std::string kernel_ran;  // the registry row that actually executed (from the call counters)
  std::string isa;
  TileConfig tile;  // as the kernel ran it (zero fields resolved), see TileSpace::effective
  std::int64_t weight_copies = 1;
  std::int64_t packed_bytes = 0;  // one copy (of all parts)
  double pack_seconds = 0;
  Stats gemm, quantize, prepare;
  // CPU time of the calling thread per GEMM call, per repetition, and its share of the real time.
  // Well below 1 with one thread means the thread was not running for part of the measurement
  // (a shared machine): the real-time figures then include that wait.
  std::vector<double> gemm_cpu_samples;
  double cpu_utilization = 0;
  double gops = 0;  // 2*M*K*N / gemm.median
  double weight_gbps = 0;  // packed bytes / gemm.median
  // Roofline (when Options::roofline was given): ceilings at this thread count, and fractions.
  bool has_roofline = false;
  double read_gbps_ceiling = 0, int8_peak_gops = 0;
  double pct_of_read_bw = 0;  // weight_gbps / read bandwidth
  double pct_of_int8_peak = 0;  // gops / int8 peak of the kernel's ISA
  std::string roofline_bound;  // "memory" or "compute": the lower ceiling for this call
  double roofline_pct = 0;  // percentage of that ceiling
  double roofline_pct_best = 0;  // the same from the fastest repetition (gemm.min)
  // With Options::read_now, cold rows: the higher of the read bandwidths measured right before and
  // right after the timing (0: not measured), and weight_gbps as a percentage of it.
  double read_gbps_now = 0, pct_of_read_now = 0;
  // With Options::read_calls, cold rows: the same for the read of the row's own calls.
  double read_calls_gbps = 0, pct_of_read_calls = 0;
  Anatomy anatomy;  // calls == 0: not measured
  std::string error;
  nlohmann::json to_json() const;
};

std::vector<Result> run(const std::vector<Spec>& specs, const Options& opts);

}  // namespace tritbench::bench
