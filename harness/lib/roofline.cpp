#include "harness/lib/roofline.h"

#include <emmintrin.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <stdexcept>

#include "harness/lib/build_info.h"
#include "harness/lib/env.h"
#include "harness/lib/io.h"
#include "harness/lib/roofline_kernels.h"
#include "kernels/runtime/thread_pool.h"

namespace tritbench::roofline {

namespace {
// S sequential streams, the S equal parts of [p, p + bytes), 4 / S words of each per iteration.
template <int S>
std::uint64_t read_streams_scalar(const void* p, std::uint64_t bytes) {
  const auto* v = static_cast<const std::uint64_t*>(p);
  const std::uint64_t words = bytes / 8 / S;  // per stream
  std::uint64_t s[4] = {0, 0, 0, 0};
  for (std::uint64_t i = 0; i < words; i += 4 / S)
    for (int j = 0; j < 4; ++j) s[j] += v[(j % S) * words + i + j / S];
  return s[0] + s[1] + s[2] + s[3];
}
}  // namespace

std::uint64_t read_scalar(const void* p, std::uint64_t bytes) { return read_streams_scalar<1>(p, bytes); }
std::uint64_t read2_scalar(const void* p, std::uint64_t bytes) { return read_streams_scalar<2>(p, bytes); }
std::uint64_t read4_scalar(const void* p, std::uint64_t bytes) {
  return read_streams_scalar<4>(p, bytes);
}

// Baseline x86-64 code (the scalar rows) is auto-vectorized with SSE2 at best: pmaddwd + paddd on
// xmm, 8 int16 products per pair (two-operand SSE forms: the product register is then added).
// One asm block per iteration: 12 independent chains (enough to cover the multiply's latency), the
// operands loaded from L1 as a kernel loads its activations, xmm/ymm/zmm15 as the product register.
// Written in asm because GCC 12 spills some of the 12 accumulators of the intrinsic version to
// the stack every iteration, which would measure the store port instead of the multiplier.
std::int64_t peak_scalar(std::int64_t iters) {
  alignas(64) std::int16_t q[12][8];
  for (int j = 0; j < 12; ++j)
    for (int i = 0; i < 8; ++i) q[j][i] = static_cast<std::int16_t>(i * 7 + j - 50);
  __m128i a = _mm_set1_epi16(3);
  __m128i c0 = _mm_setzero_si128(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0,
          c9 = c0, c10 = c0, c11 = c0;
  for (std::int64_t i = 0; i < iters; ++i)
    asm volatile(
        "movdqa %[a], %%xmm15\n\t"
        "pmaddwd 0(%[q]), %%xmm15\n\t"
        "paddd %%xmm15, %[c0]\n\t"
        "movdqa %[a], %%xmm15\n\t"
        "pmaddwd 16(%[q]), %%xmm15\n\t"
        "paddd %%xmm15, %[c1]\n\t"
        "movdqa %[a], %%xmm15\n\t"
        "pmaddwd 32(%[q]), %%xmm15\n\t"
        "paddd %%xmm15, %[c2]\n\t"
        "movdqa %[a], %%xmm15\n\t"
        "pmaddwd 48(%[q]), %%xmm15\n\t"
        "paddd %%xmm15, %[c3]\n\t"
        "movdqa %[a], %%xmm15\n\t"
        "pmaddwd 64(%[q]), %%xmm15\n\t"
        "paddd %%xmm15, %[c4]\n\t"
        "movdqa %[a], %%xmm15\n\t"
        "pmaddwd 80(%[q]), %%xmm15\n\t"
        "paddd %%xmm15, %[c5]\n\t"
        "movdqa %[a], %%xmm15\n\t"
        "pmaddwd 96(%[q]), %%xmm15\n\t"
        "paddd %%xmm15, %[c6]\n\t"
        "movdqa %[a], %%xmm15\n\t"
        "pmaddwd 112(%[q]), %%xmm15\n\t"
        "paddd %%xmm15, %[c7]\n\t"
        "movdqa %[a], %%xmm15\n\t"
        "pmaddwd 128(%[q]), %%xmm15\n\t"
        "paddd %%xmm15, %[c8]\n\t"
        "movdqa %[a], %%xmm15\n\t"
        "pmaddwd 144(%[q]), %%xmm15\n\t"
        "paddd %%xmm15, %[c9]\n\t"
        "movdqa %[a], %%xmm15\n\t"
        "pmaddwd 160(%[q]), %%xmm15\n\t"
        "paddd %%xmm15, %[c10]\n\t"
        "movdqa %[a], %%xmm15\n\t"
        "pmaddwd 176(%[q]), %%xmm15\n\t"
        "paddd %%xmm15, %[c11]\n\t"
        : [c0] "+x"(c0), [c1] "+x"(c1), [c2] "+x"(c2), [c3] "+x"(c3), [c4] "+x"(c4), [c5] "+x"(c5),
          [c6] "+x"(c6), [c7] "+x"(c7), [c8] "+x"(c8), [c9] "+x"(c9), [c10] "+x"(c10), [c11] "+x"(c11)
        : [a] "x"(a), [q] "r"(&q[0][0])
        : "xmm15", "memory");
  c0 = _mm_add_epi32(_mm_add_epi32(_mm_add_epi32(c0, c1), _mm_add_epi32(c2, c3)), _mm_add_epi32(_mm_add_epi32(c4, c5), _mm_add_epi32(c6, c7)));
  c0 = _mm_add_epi32(c0, _mm_add_epi32(_mm_add_epi32(c8, c9), _mm_add_epi32(c10, c11)));
  alignas(16) std::int32_t out[4];
  _mm_store_si128(reinterpret_cast<__m128i*>(out), c0);
  return static_cast<std::int64_t>(out[0]) + out[1] + out[2] + out[3];
}

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

bool has_avx512bw() {
  return static_cast<int>(cpu_info().hardware_level) >= static_cast<int>(Isa::kAvx512);
}
bool has_avx2() {
  return static_cast<int>(cpu_info().hardware_level) >= static_cast<int>(Isa::kAvx2);
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Anonymous memory, huge pages where the kernel grants them (fewer TLB misses: the figure is the
// memory system's, not the page walker's).
struct BigBuffer {
  void* p = nullptr;
  std::size_t n = 0;
  explicit BigBuffer(std::size_t bytes) : n(bytes) {
    p = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
      throw std::runtime_error("roofline: cannot map " + std::to_string(n >> 20) +
                               " MiB for the bandwidth arrays: " + std::strerror(errno));
    madvise(p, n, MADV_HUGEPAGE);
  }
  ~BigBuffer() { munmap(p, n); }
  BigBuffer(const BigBuffer&) = delete;
  BigBuffer& operator=(const BigBuffer&) = delete;
  std::uint8_t* bytes() const { return static_cast<std::uint8_t*>(p); }
};

// Part t of T of a range of n bytes, in whole 4 KiB units (keeps every part 64-byte aligned and a
// multiple of the kernels' unroll).
std::pair<std::uint64_t, std::uint64_t> part(std::uint64_t n, int t, int T) {
  const std::uint64_t units = n / 4096;
  return {units * t / T * 4096, units * (t + 1) / T * 4096};
}

template <class F>
double wall(ThreadPool& pool, F&& f) {
  const auto t0 = Clock::now();
  pool.run(f);
  return seconds_since(t0);
}

using ReadFn = std::uint64_t (*)(const void*, std::uint64_t);
// The read patterns every read ceiling takes the best of: streams per thread (roofline.h).
constexpr int kReadStreams[] = {1, 2, 4};
// The widest load loop, reading each thread's part as one stream, two (its halves) or four.
ReadFn widest_read(int streams) {
  if (streams == 4) return has_avx512bw() ? read4_avx512 : has_avx2() ? read4_avx2 : read4_scalar;
  if (streams == 2) return has_avx512bw() ? read2_avx512 : has_avx2() ? read2_avx2 : read2_scalar;
  return has_avx512bw() ? read_avx512 : has_avx2() ? read_avx2 : read_scalar;
}

// Seconds for pool.size() threads to read [base, base + bytes), thread i its part i.
double timed_read(ThreadPool& pool, ReadFn read, const std::uint8_t* base, std::uint64_t bytes,
                  std::atomic<std::uint64_t>& sink) {
  const int T = pool.size();
  return wall(pool, [&](int i) {
    const auto [b, e] = part(bytes, i, T);
    sink += read(base + b, e - b);
  });
}

// Maps `bytes` and touches every page from all threads (nonzero, so no page maps the shared zero
// page), as the measurement's threads will read it.
void first_touch(std::uint8_t* base, std::uint64_t bytes, int threads) {
  ThreadPool all(threads);
  all.run([&](int i) {
    const auto [b, e] = part(bytes, i, threads);
    std::memset(base + b, 1, e - b);
  });
}

struct Peak {
  const char* name;
  const char* what;
  std::int64_t (*fn)(std::int64_t);
  double ops_per_iter;
  bool available;
};

}  // namespace

Machine this_machine() { return {hostname(), cpu_info().model, cpu_info().logical_cpus}; }

std::string machine_slug(const Machine& m) {
  std::string s;
  auto add = [&](const std::string& part) {
    bool dash = !s.empty();
    for (char ch : part) {
      const unsigned char c = static_cast<unsigned char>(ch);
      if (std::isalnum(c)) {
        if (dash && !s.empty() && s.back() != '-') s += '-';
        dash = false;
        s += static_cast<char>(std::tolower(c));
      } else {
        dash = true;
      }
    }
  };
  add(m.host.empty() ? "host" : m.host);
  add(m.cpu_model.empty() ? "cpu" : m.cpu_model);
  return s;
}

const Ceilings& Roofline::at(int threads) const {
  if (by_threads.empty()) throw std::logic_error("roofline: no measurements");
  for (const auto& c : by_threads)
    if (c.threads == threads) return c;
  return by_threads.back();
}

std::string Roofline::peak_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512bw";
    case Isa::kAvx512Vnni:
    case Isa::kAvx512Vbmi: return "avx512vnni";
  }
  return "scalar";
}

double Roofline::int8_peak_gops(Isa isa, int threads) const {
  const auto& m = at(threads).int8_gops;
  const auto it = m.find(peak_name(isa));
  return it == m.end() ? 0 : it->second;
}

nlohmann::json Roofline::to_json() const {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& c : by_threads)
    rows.push_back({{"threads", c.threads},
                    {"read_gbps", c.read_gbps},
                    {"read_one_stream_gbps", c.read_one_stream_gbps},
                    {"read_two_streams_gbps", c.read_two_streams_gbps},
                    {"read_four_streams_gbps", c.read_four_streams_gbps},
                    {"copy_gbps", c.copy_gbps},
                    {"triad_gbps", c.triad_gbps},
                    {"int8_peak_gops", c.int8_gops}});
  return {{"schema", kSchema},
          {"machine", {{"host", machine.host}, {"cpu_model", machine.cpu_model}, {"logical_cpus", machine.logical_cpus}}},
          {"measured_at", measured_at},
          {"git_commit", git_commit},
          {"array_bytes", array_bytes},
          {"read_kernel", read_kernel},
          {"passes", passes},
          {"seconds", seconds},
          {"conventions",
           "GB/s = 1e9 bytes/s, best of `passes`; copy counts read+write bytes, triad 3 arrays; "
           "int8 peaks count 2 ops per u8 x s8 product"},
          {"int8_peak_instructions",
           {{"scalar", "pmaddwd+paddd xmm (SSE2: what baseline x86-64 code vectorizes to)"},
            {"avx2", "vpmaddubsw+vpaddw ymm"},
            {"avxvnni", "vpdpbusd ymm (VEX)"},
            {"avx512bw", "vpmaddubsw+vpaddw zmm"},
            {"avx512vnni", "vpdpbusd zmm"}}},
          {"ceilings", rows}};
}

Roofline Roofline::from_json(const nlohmann::json& j, const std::string& what) {
  auto need = [&](const nlohmann::json& o, const char* key, const std::string& where) -> const nlohmann::json& {
    if (!o.is_object() || !o.contains(key))
      throw std::invalid_argument(what + ": missing field '" + where + key + "'");
    return o[key];
  };
  auto number = [&](const nlohmann::json& o, const char* key, const std::string& where) {
    const auto& v = need(o, key, where);
    if (!v.is_number() || v.get<double>() < 0)
      throw std::invalid_argument(what + ": field '" + where + key + "' must be a non-negative number");
    return v.get<double>();
  };
  try {
    Roofline r;
    if (need(j, "schema", "") != kSchema)
      throw std::invalid_argument(what + ": field 'schema' must be \"" + kSchema + "\"");
    const auto& m = need(j, "machine", "");
    r.machine.host = need(m, "host", "machine.").get<std::string>();
    r.machine.cpu_model = need(m, "cpu_model", "machine.").get<std::string>();
    r.machine.logical_cpus = need(m, "logical_cpus", "machine.").get<int>();
    r.measured_at = j.value("measured_at", "");
    r.git_commit = j.value("git_commit", "");
    r.array_bytes = j.value("array_bytes", std::int64_t{0});
    r.read_kernel = j.value("read_kernel", "");
    r.passes = j.value("passes", 0);
    r.seconds = j.value("seconds", 0.0);
    const auto& rows = need(j, "ceilings", "");
    if (!rows.is_array() || rows.empty())
      throw std::invalid_argument(what + ": field 'ceilings' must be a non-empty array");
    int expect = 1;
    for (const auto& row : rows) {
      Ceilings c;
      const std::string where = "ceilings[" + std::to_string(expect - 1) + "].";
      c.threads = static_cast<int>(number(row, "threads", where));
      if (c.threads != expect)
        throw std::invalid_argument(what + ": field '" + where + "threads' is " +
                                    std::to_string(c.threads) + ", expected " + std::to_string(expect));
      c.read_gbps = number(row, "read_gbps", where);
      c.read_one_stream_gbps = number(row, "read_one_stream_gbps", where);
      c.read_two_streams_gbps = number(row, "read_two_streams_gbps", where);
      c.read_four_streams_gbps = number(row, "read_four_streams_gbps", where);
      c.copy_gbps = number(row, "copy_gbps", where);
      c.triad_gbps = number(row, "triad_gbps", where);
      const auto& peaks = need(row, "int8_peak_gops", where);
      if (!peaks.is_object())
        throw std::invalid_argument(what + ": field '" + where + "int8_peak_gops' must be an object");
      for (auto it = peaks.begin(); it != peaks.end(); ++it)
        c.int8_gops[it.key()] = number(peaks, it.key().c_str(), where + "int8_peak_gops.");
      r.by_threads.push_back(std::move(c));
      ++expect;
    }
    return r;
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(what + ": malformed roofline file: " + e.what());
  }
}

Roofline measure(const MeasureOptions& opts, std::ostream* progress) {
  const auto t_start = Clock::now();
  Roofline r;
  r.machine = this_machine();
  r.measured_at = utc_now();
  r.git_commit = build_info().git_commit;
  r.passes = std::max(1, opts.passes);
  const int T = opts.max_threads > 0 ? opts.max_threads : std::max(1, cpu_info().logical_cpus);
  std::int64_t bytes = opts.array_bytes;
  if (bytes <= 0)
    bytes = std::clamp<std::int64_t>(4 * cpu_info().last_level_cache_bytes(), 1ll << 30, 2ll << 30);
  bytes = std::max<std::int64_t>(bytes / (3 * 4096 * 64) * (3 * 4096 * 64), 3 * 4096 * 64);
  r.array_bytes = bytes;

  const bool w512 = has_avx512bw(), w256 = has_avx2();
  r.read_kernel = w512 ? "avx512" : w256 ? "avx2" : "scalar";
  const std::vector<Peak> peaks = {
      {"scalar", "pmaddwd+paddd xmm (SSE2, baseline x86-64)", peak_scalar, kOpsScalar, true},
      {"avx2", "vpmaddubsw+vpaddw ymm", peak_avx2, kOpsAvx2, w256},
      {"avxvnni", "vpdpbusd ymm (AVX-VNNI)", peak_avxvnni, kOpsAvxVnni, cpu_has("avx_vnni")},
      {"avx512bw", "vpmaddubsw+vpaddw zmm", peak_avx512bw, kOpsAvx512bw, w512},
      {"avx512vnni", "vpdpbusd zmm", peak_avx512vnni, kOpsAvx512Vnni,
       w512 && cpu_has("avx512vnni")},
  };

  BigBuffer buf(static_cast<std::size_t>(bytes));
  std::uint8_t* base = buf.bytes();
  const auto ubytes = static_cast<std::uint64_t>(bytes);
  std::atomic<std::uint64_t> sink{0};
  first_touch(base, ubytes, T);
  // Iteration counts for ~peak_seconds per peak run on one thread.
  std::vector<std::int64_t> iters(peaks.size(), 0);
  for (std::size_t k = 0; k < peaks.size(); ++k) {
    if (!peaks[k].available) continue;
    std::int64_t n = 1 << 10;
    for (;;) {
      const auto t0 = Clock::now();
      sink += static_cast<std::uint64_t>(peaks[k].fn(n));
      const double s = seconds_since(t0);
      if (s >= opts.peak_seconds / 4 || n > (1ll << 40)) {
        iters[k] = std::max<std::int64_t>(1, static_cast<std::int64_t>(n * opts.peak_seconds / std::max(s, 1e-9)));
        break;
      }
      n *= 4;
    }
  }
  // The machine may be shared: each round runs every measurement once, and the best of the rounds
  // is kept, so a busy spell costs one round of each figure rather than all of one figure.
  const std::uint64_t half = ubytes / 2;
  const std::uint64_t third = ubytes / 3 / 4;  // floats per triad array
  auto* f = reinterpret_cast<float*>(base);
  const ReadFn read1 = widest_read(1), read2 = widest_read(2), read4 = widest_read(4);
  auto copy = w512 ? copy_avx512 : copy_avx2;
  auto triad = w512 ? triad_avx512 : triad_avx2;
  for (int t = 1; t <= T; ++t) {
    ThreadPool pool(t);
    double rd1 = 1e30, rd2 = 1e30, rd4 = 1e30, cp = 1e30, tr = 1e30;
    std::vector<double> pk(peaks.size(), 1e30);
    for (int round = 0; round < r.passes; ++round) {
      rd1 = std::min(rd1, timed_read(pool, read1, base, ubytes, sink));
      rd2 = std::min(rd2, timed_read(pool, read2, base, ubytes, sink));
      rd4 = std::min(rd4, timed_read(pool, read4, base, ubytes, sink));
      if (w256) {
        // copy: first half -> second half; triad over thirds.
        cp = std::min(cp, wall(pool, [&](int i) {
          const auto [b, e] = part(half, i, t);
          copy(base + half + b, base + b, e - b);
        }));
        tr = std::min(tr, wall(pool, [&](int i) {
          const auto [b, e] = part(third * 4, i, t);
          triad(f + b / 4, f + third + b / 4, f + 2 * third + b / 4, 0.5f, (e - b) / 4);
        }));
      }
      for (std::size_t k = 0; k < peaks.size(); ++k)
        if (peaks[k].available)
          for (int rep = 0; rep < 3; ++rep)
            pk[k] = std::min(pk[k], wall(pool, [&](int) { sink += static_cast<std::uint64_t>(peaks[k].fn(iters[k])); }));
    }
    Ceilings c;
    c.threads = t;
    c.read_one_stream_gbps = static_cast<double>(ubytes) / rd1 * 1e-9;
    c.read_two_streams_gbps = static_cast<double>(ubytes) / rd2 * 1e-9;
    c.read_four_streams_gbps = static_cast<double>(ubytes) / rd4 * 1e-9;
    c.read_gbps =
        std::max({c.read_one_stream_gbps, c.read_two_streams_gbps, c.read_four_streams_gbps});
    if (w256) {
      c.copy_gbps = 2.0 * static_cast<double>(half) / cp * 1e-9;
      c.triad_gbps = 3.0 * static_cast<double>(third * 4) / tr * 1e-9;
    }
    for (std::size_t k = 0; k < peaks.size(); ++k)
      if (peaks[k].available)
        c.int8_gops[peaks[k].name] = peaks[k].ops_per_iter * static_cast<double>(iters[k]) * t / pk[k] * 1e-9;
    if (progress) {
      *progress << "  " << t << " thread" << (t > 1 ? "s" : " ") << ": read " << c.read_gbps
                << " GB/s (1 / 2 / 4 streams " << c.read_one_stream_gbps << " / "
                << c.read_two_streams_gbps << " / " << c.read_four_streams_gbps << "), copy "
                << c.copy_gbps << ", triad " << c.triad_gbps << "; int8 GOP/s";
      for (const auto& [k, v] : c.int8_gops) *progress << " " << k << " " << v;
      *progress << "\n";
    }
    r.by_threads.push_back(std::move(c));
  }
  r.seconds = seconds_since(t_start);
  return r;
}

struct ReadProbe::Impl {
  BigBuffer buf;
  std::atomic<std::uint64_t> sink{0};
  explicit Impl(std::size_t bytes) : buf(bytes) {}
};

ReadProbe::ReadProbe(std::int64_t bytes) {
  if (bytes <= 0) bytes = std::clamp<std::int64_t>(8 * cpu_info().last_level_cache_bytes(), 256ll << 20, 1ll << 30);
  bytes = std::max<std::int64_t>(bytes / (4096 * 64) * (4096 * 64), 4096 * 64);
  impl_ = std::make_unique<Impl>(static_cast<std::size_t>(bytes));
  first_touch(impl_->buf.bytes(), static_cast<std::uint64_t>(bytes), std::max(1, cpu_info().logical_cpus));
}

ReadProbe::~ReadProbe() = default;

std::int64_t ReadProbe::bytes() const { return static_cast<std::int64_t>(impl_->buf.n); }

double ReadProbe::read_gbps(ThreadPool& pool, int passes) {
  double best = 1e30;
  for (int p = 0; p < std::max(1, passes); ++p)
    for (int streams : kReadStreams)
      best = std::min(best,
                      timed_read(pool, widest_read(streams), impl_->buf.bytes(), impl_->buf.n, impl_->sink));
  return static_cast<double>(impl_->buf.n) / best * 1e-9;
}

double read_calls_gbps(ThreadPool& pool, const std::vector<const void*>& buffers, std::uint64_t bytes,
                       int passes, std::uint64_t* sum) {
  std::vector<std::vector<ReadSpan>> calls;
  calls.reserve(buffers.size());
  for (const void* b : buffers) calls.push_back({{b, bytes}});
  return read_calls_gbps(pool, calls, passes, sum);
}

double read_calls_gbps(ThreadPool& pool, const std::vector<std::vector<ReadSpan>>& calls,
                       int passes, std::uint64_t* sum) {
  const int T = pool.size();
  std::uint64_t read = 0;  // bytes read per round, all calls
  for (const auto& c : calls)
    for (const ReadSpan& s : c) read += s.bytes / 4096 * 4096;
  if (read == 0) return 0;
  std::atomic<std::uint64_t> sink{0};
  double best = 1e30;
  const int rounds = std::max(1, passes);
  for (int p = 0; p < rounds; ++p) {
    if (p == rounds - 1) sink = 0;  // *sum: what the last round read, with every pattern
    for (int streams : kReadStreams) {
      const ReadFn fn = widest_read(streams);
      double seconds = 0;
      for (const auto& c : calls) {
        if (c.size() == 1) {
          seconds +=
              timed_read(pool, fn, static_cast<const std::uint8_t*>(c[0].p), c[0].bytes, sink);
          continue;
        }
        std::uint64_t units = 0;
        for (const ReadSpan& s : c) units += s.bytes / 4096;
        seconds += wall(pool, [&](int i) {
          // Thread i's units [u0, u1) of the call's sequence, read buffer by buffer.
          const std::uint64_t u0 = units * static_cast<std::uint64_t>(i) /
                                   static_cast<std::uint64_t>(T),
                              u1 = units * static_cast<std::uint64_t>(i + 1) /
                                   static_cast<std::uint64_t>(T);
          std::uint64_t first = 0, s = 0;
          for (const ReadSpan& b : c) {
            const std::uint64_t n = b.bytes / 4096, lo = std::max(u0, first),
                                hi = std::min(u1, first + n);
            if (lo < hi)
              s +=
                  fn(static_cast<const std::uint8_t*>(b.p) + (lo - first) * 4096, (hi - lo) * 4096);
            first += n;
          }
          sink += s;
        });
      }
      best = std::min(best, seconds);
    }
  }
  if (sum) *sum = sink;
  return static_cast<double>(read) / best * 1e-9;
}

std::string file_path(const std::string& results_dir, const Machine& m) {
  return results_dir + "/roofline/" + machine_slug(m) + ".json";
}

std::optional<Roofline> load(const std::string& path, const Machine& m, std::string* outdated) {
  if (outdated) outdated->clear();
  std::ifstream f(path);
  if (!f) return std::nullopt;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(f);
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(path + ": not valid JSON: " + e.what());
  }
  if (j.is_object())
    for (const OldSchema& old : kOldSchemas)
      if (j.value("schema", "") == old.schema) {
        if (outdated) *outdated = old.lacked;
        return std::nullopt;
      }
  Roofline r = Roofline::from_json(j, path);
  if (!(r.machine == m)) return std::nullopt;
  return r;
}

Roofline load_or_measure(const std::string& results_dir, bool remeasure, const MeasureOptions& opts,
                         std::ostream* progress, bool* measured) {
  const Machine m = this_machine();
  const std::string path = file_path(results_dir, m);
  std::string outdated;
  if (!remeasure)
    if (auto r = load(path, m, &outdated)) {
      if (measured) *measured = false;
      return *r;
    }
  if (progress && !outdated.empty())
    *progress << path << " was measured by an older tritbench (" << outdated << ")\n";
  if (progress) *progress << "measuring the roofline of this machine (saved to " << path << ")\n";
  Roofline r = measure(opts, progress);
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  write_file_atomic(path, r.to_json().dump(2) + "\n");
  if (measured) *measured = true;
  return r;
}

std::string results_dir(const std::string& fallback) {
  if (const char* e = std::getenv("TRITBENCH_RESULTS_DIR"); e && *e) return e;
  return fallback;
}

}  // namespace tritbench::roofline
