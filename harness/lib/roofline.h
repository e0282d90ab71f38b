#pragma once
// The roofline of this machine: the ceilings every kernel result is reported against.
//
//   - memory: read bandwidth (the GEMV ceiling: decoding streams each weight once), copy and triad
//     bandwidth (STREAM's conventions: copy counts 2 arrays, triad 3; write-allocate traffic is not
//     counted), over arrays far larger than the last-level cache, at 1..T threads;
//   - compute: the int8 multiply-add peak of each ISA's instruction sequence at 1..T threads:
//     vpdpbusd zmm (AVX-512 VNNI), vpdpbusd ymm (AVX-VNNI), vpmaddubsw+vpaddw on zmm (AVX-512BW)
//     and ymm (AVX2): the least a maddubs kernel issues per product; pmaddwd+paddd on xmm for the
//     scalar rows (baseline x86-64 code is auto-vectorized with SSE2 at best). 2 ops per product.
//
// Every figure is the best of several passes (as STREAM reports): the ceiling is what the machine
// can do, not what it did on average while others were compiling. Measuring takes a few seconds,
// so the result is saved as JSON (results/roofline/<host>-<cpu>.json) and reused by later runs on
// the same machine, recognised by host name, CPU model and logical CPU count. A file whose machine
// differs is ignored and replaced; a malformed file is an error naming the file and field.

#include <cstdint>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernels/cpu/cpu.h"

namespace tritbench {
class ThreadPool;
}

namespace tritbench::roofline {

// The saved file's format. Files of an older format are measured again rather than used, and
// the note says why (what the old read ceiling lacked).
inline constexpr const char* kSchema = "tritbench.roofline/3";
struct OldSchema {
  const char* schema;
  const char* lacked;
};
inline constexpr OldSchema kOldSchemas[] = {
    {"tritbench.roofline/1", "read bandwidth with one stream per thread only"},
    {"tritbench.roofline/2", "read bandwidth with one and two streams per thread, not four"}};

struct Machine {
  std::string host;
  std::string cpu_model;
  int logical_cpus = 0;
  bool operator==(const Machine&) const = default;
};
Machine this_machine();
// File-name form of a machine: "<host>-<cpu model>", lower case, [a-z0-9-] only.
std::string machine_slug(const Machine& m);

// Ceilings at one thread count. The read bandwidth is measured three ways: each thread reading its
// part of the array as one sequential stream, as two (its two halves, read in alternation) and as
// four (its quarters). On the Zen 5 VM this was written on, two streams per core got 1.06-1.35x
// the DRAM bandwidth of one, depending on the hour; four got 1.04-1.24x of two in a standalone
// loop one night and 0.97-0.99x in this measurement in between (eight less than four, two a page
// apart less than one). Whichever pattern wins, a ceiling that omits it lets a kernel reading that
// way pass "100%": read_gbps, the figure every result is reported against, is the best of the
// three.
struct Ceilings {
  int threads = 1;
  double read_gbps = 0, copy_gbps = 0, triad_gbps = 0;
  double read_one_stream_gbps = 0, read_two_streams_gbps = 0, read_four_streams_gbps = 0;
  std::map<std::string, double> int8_gops;  // by peak name: scalar, avx2, avxvnni, avx512bw, avx512vnni
};

struct Roofline {
  Machine machine;
  std::string measured_at;  // UTC, ISO 8601
  std::string git_commit;  // of the tritbench that measured
  std::int64_t array_bytes = 0;  // memory footprint of the bandwidth arrays
  std::string read_kernel;  // which load width measured the bandwidth: avx512, avx2, scalar
  int passes = 0;
  double seconds = 0;  // how long the measurement took
  std::vector<Ceilings> by_threads;  // threads 1..T in order

  // The entry for `threads`, or the largest measured one when threads exceeds it.
  const Ceilings& at(int threads) const;
  double read_gbps(int threads) const { return at(threads).read_gbps; }
  // The int8 peak a kernel of this ISA level can use (0 when unknown): scalar -> scalar,
  // avx2 -> avx2, avx512 -> avx512bw, avx512vnni and avx512vbmi -> avx512vnni.
  double int8_peak_gops(Isa isa, int threads) const;
  static std::string peak_name(Isa isa);

  nlohmann::json to_json() const;
  // Throws std::invalid_argument naming `what` and the field on malformed input.
  static Roofline from_json(const nlohmann::json& j, const std::string& what);
};

struct MeasureOptions {
  int max_threads = 0;  // 0: the logical CPU count
  std::int64_t array_bytes = 0;  // 0: 4x the last-level cache, at least 1 GiB, at most 2 GiB
  int passes = 12;  // rounds per thread count (best is kept); a round reads, copies and runs
                   // the triad once and each peak 3 times
  double peak_seconds = 0.005;  // per peak run (short: a quiet moment is likelier)
};
Roofline measure(const MeasureOptions& opts, std::ostream* progress);

// The read bandwidth now, measured as measure() measures its read figure (the widest load loop,
// each thread reading a contiguous part of one array far larger than the LLC as one and as two
// streams, the best of both over the passes) over an array of its own. For a benchmark to take
// right next to a row: on a shared or virtual machine the DRAM bandwidth drifts by tens of
// percent within minutes, so a saved ceiling can be far from the one a row actually ran under.
class ReadProbe {
 public:
  explicit ReadProbe(std::int64_t bytes = 0);  // 0: 8x the last-level cache, 256 MiB..1 GiB
  ~ReadProbe();
  ReadProbe(const ReadProbe&) = delete;
  ReadProbe& operator=(const ReadProbe&) = delete;
  // GB/s with pool.size() threads, best of `passes` rounds of one read of the whole array with
  // each pattern (one, two and four streams per thread).
  double read_gbps(ThreadPool& pool, int passes);
  std::int64_t bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The read bandwidth of a streaming kernel's calls without its compute: reads `buffers` one after
// another (each `bytes` long, as a benchmark's rotating weight copies), every buffer split across
// pool.size() threads into contiguous parts as ReadProbe splits its array (whole 4 KiB units; a
// tail under 4 KiB per buffer is not read nor counted), each part as one, two and four streams;
// GB/s of the best pattern, best of `passes` rounds over all buffers. Against ReadProbe (long
// streams per thread) it shows what calls of this size cost by themselves: each starts and ends
// its threads' streams and waits for the slower thread. *sum (if given): the sum of the 64-bit
// words the last round read, the three patterns together (every counted word three times; for
// tests).
double read_calls_gbps(ThreadPool& pool, const std::vector<const void*>& buffers, std::uint64_t bytes,
                       int passes, std::uint64_t* sum = nullptr);
// The same for calls over several buffers each (a call over several matrices, as the model's q/k/v
// call): each call's buffers, each cut to whole 4 KiB units, are taken as one sequence of units
// that the threads split into contiguous parts, as the GEMM runtime splits the matrices' rows.
struct ReadSpan {
  const void* p;  // 64-byte aligned
  std::uint64_t bytes;
};
double read_calls_gbps(ThreadPool& pool, const std::vector<std::vector<ReadSpan>>& calls, int passes,
                       std::uint64_t* sum = nullptr);

// <results_dir>/roofline/<machine_slug>.json
std::string file_path(const std::string& results_dir, const Machine& m);
// The saved roofline at path if it exists and belongs to machine m; nullopt otherwise.
// A file of an older format (kOldSchemas) is not used either; *outdated is then what it lacked
// (else empty).
std::optional<Roofline> load(const std::string& path, const Machine& m,
                             std::string* outdated = nullptr);
// Loads this machine's roofline from results_dir, or measures it (and saves it atomically) when
// there is none or `remeasure`. *measured says which happened.
Roofline load_or_measure(const std::string& results_dir, bool remeasure, const MeasureOptions& opts,
                         std::ostream* progress, bool* measured = nullptr);

// Where result data lives: $TRITBENCH_RESULTS_DIR if set, else `fallback` (the CLI passes the
// source tree's results/).
std::string results_dir(const std::string& fallback);

}  // namespace tritbench::roofline
