// The sweep machinery: roofline measurement and its cache, tuning files, benchmark results, and
// the CLI round trip `tune` -> tuning file -> `kernels` using it. Nothing here asserts a speed.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "harness/lib/args.h"
#include "harness/lib/bench.h"
#include "harness/lib/io.h"
#include "harness/lib/roofline.h"
#include "harness/lib/roofline_kernels.h"
#include "harness/lib/sweep.h"
#include "harness/lib/tuning_io.h"
#include "kernels/registry.h"
#include "kernels/runtime/gemm.h"
#include "kernels/runtime/thread_pool.h"
#include "models/config.h"
#include "tests/test_util.h"

namespace tritbench {
namespace {

using test::TempDir;
using test::run_cli;

namespace fs = std::filesystem;

roofline::MeasureOptions tiny() {
  roofline::MeasureOptions o;
  o.max_threads = 2;
  o.array_bytes = 3 * 4096 * 64 * 8;  // 6 MiB
  o.passes = 1;
  o.peak_seconds = 0.0005;
  return o;
}

// Two quick repetitions, silent, rotating copies over 1 MiB: the benchmark tests' options.
bench::Options quick_bench() {
  bench::Options o;
  o.repetitions = 2;
  o.min_time = 0.001;
  o.progress = false;
  o.rotate_bytes = 1 << 20;
  return o;
}

// The first 64-byte boundary in v (the read loops need aligned buffers).
std::uint64_t* aligned64(std::vector<std::uint64_t>& v) {
  auto p = reinterpret_cast<std::uintptr_t>(v.data());
  return reinterpret_cast<std::uint64_t*>((p + 63) / 64 * 64);
}

roofline::Roofline synthetic_roofline() {
  roofline::Roofline r;
  r.machine = roofline::this_machine();
  r.measured_at = "synthetic";
  r.passes = 1;
  for (int t = 1; t <= 2; ++t) {
    roofline::Ceilings c;
    c.threads = t;
    c.read_one_stream_gbps = 9.0 * t;
    c.read_two_streams_gbps = 9.5 * t;
    c.read_four_streams_gbps = 10.0 * t;
    c.read_gbps = 10.0 * t;
    c.copy_gbps = 9.0 * t;
    c.triad_gbps = 8.0 * t;
    c.int8_gops = {{"scalar", 50.0 * t}, {"avx2", 200.0 * t}, {"avx512bw", 400.0 * t}, {"avx512vnni", 800.0 * t}};
    r.by_threads.push_back(c);
  }
  return r;
}

TEST(Roofline, MeasuresEveryCeilingAndRoundTrips) {
  const roofline::Roofline r = roofline::measure(tiny(), nullptr);
  ASSERT_EQ(r.by_threads.size(), 2u);
  for (const auto& c : r.by_threads) {
    EXPECT_GT(c.read_one_stream_gbps, 0) << c.threads;
    EXPECT_GT(c.read_two_streams_gbps, 0) << c.threads;
    EXPECT_GT(c.read_four_streams_gbps, 0) << c.threads;
    EXPECT_EQ(c.read_gbps,
              std::max({c.read_one_stream_gbps, c.read_two_streams_gbps, c.read_four_streams_gbps}))
        << c.threads;
    EXPECT_GT(c.int8_gops.at("scalar"), 0) << c.threads;
    if (isa_runnable(Isa::kAvx2)) {
      EXPECT_GT(c.copy_gbps, 0);
      EXPECT_GT(c.triad_gbps, 0);
      EXPECT_GT(c.int8_gops.at("avx2"), 0);
    }
    if (isa_runnable(Isa::kAvx512Vnni)) {
      EXPECT_GT(c.int8_gops.at("avx512vnni"), 0);
    }
  }
  EXPECT_EQ(r.machine, roofline::this_machine());
  const auto back = roofline::Roofline::from_json(r.to_json(), "test");
  EXPECT_EQ(back.to_json(), r.to_json());
  EXPECT_EQ(&r.at(7), &r.by_threads.back()) << "more threads than measured: the largest entry";
  EXPECT_EQ(roofline::Roofline::peak_name(Isa::kAvx512Vbmi), "avx512vnni");
}

// Every read loop, one stream, two or four, adds every 64-bit word of its range exactly once (a
// loop that skipped or repeated part of a stream would measure the wrong number of bytes).
TEST(Roofline, ReadLoopsSumEveryWordOnce) {
  constexpr std::size_t kWords = 6 * 1024 / 8;  // 6 KiB: a multiple of 2048 bytes, as read4 needs
  alignas(64) static std::uint64_t buf[kWords];
  std::uint64_t expect = 0;
  for (std::size_t i = 0; i < kWords; ++i) expect += buf[i] = (i + 1) * 0x9E3779B97F4A7C15ull;
  const std::uint64_t bytes = sizeof(buf);
  EXPECT_EQ(roofline::read_scalar(buf, bytes), expect);
  EXPECT_EQ(roofline::read2_scalar(buf, bytes), expect);
  EXPECT_EQ(roofline::read4_scalar(buf, bytes), expect);
  if (isa_runnable(Isa::kAvx2)) {
    EXPECT_EQ(roofline::read_avx2(buf, bytes), expect);
    EXPECT_EQ(roofline::read2_avx2(buf, bytes), expect);
    EXPECT_EQ(roofline::read4_avx2(buf, bytes), expect);
  }
  if (isa_runnable(Isa::kAvx512)) {
    EXPECT_EQ(roofline::read_avx512(buf, bytes), expect);
    EXPECT_EQ(roofline::read2_avx512(buf, bytes), expect);
    EXPECT_EQ(roofline::read4_avx512(buf, bytes), expect);
  }
}

// The read of a kernel's calls reads every buffer's per-thread parts (whole 4 KiB units) once, with
// one, two and four streams per thread, and nothing past them.
TEST(Roofline, ReadCallsReadsEachBuffersPartsOnce) {
  constexpr std::size_t kBytes = 5 * 4096 + 704;  // 5 units and a tail that is not read
  constexpr std::size_t kWords = kBytes / 8;
  std::vector<std::uint64_t> a(kWords + 8), b(kWords + 8);  // + 64 bytes: room to align
  std::uint64_t* pa = aligned64(a);
  std::uint64_t* pb = aligned64(b);
  for (int threads : {1, 2, 3}) {
    std::uint64_t expect = 0;
    for (std::size_t i = 0; i < kWords; ++i) {
      pa[i] = (i + 1) * 0x9E3779B97F4A7C15ull;
      pb[i] = (i + 7) * 0xC2B2AE3D27D4EB4Full;
      if (i < 5 * 4096 / 8) expect += pa[i] + pb[i];
    }
    ThreadPool pool(threads);
    std::uint64_t sum = 0;
    EXPECT_GT(roofline::read_calls_gbps(pool, {pa, pb}, kBytes, 2, &sum), 0);
    EXPECT_EQ(sum, 3 * expect) << threads << " threads: each word once per pattern";
  }
  ThreadPool pool(2);
  EXPECT_EQ(roofline::read_calls_gbps(pool, {pa}, 4095, 1), 0) << "under one 4 KiB unit: nothing to read";
  EXPECT_EQ(roofline::read_calls_gbps(pool, {}, kBytes, 1), 0);
}

// A call over several buffers: the threads split the buffers' whole 4 KiB units as one sequence,
// and every counted word is read once per pattern.
TEST(Roofline, ReadCallsOverSeveralBuffersReadEachUnitOnce) {
  constexpr std::size_t kA = 2 * 4096, kB = 3 * 4096 + 960;  // 2 + 3 units; b's tail is not read
  std::vector<std::uint64_t> a(kA / 8 + 8), b(kB / 8 + 8);
  std::uint64_t* pa = aligned64(a);
  std::uint64_t* pb = aligned64(b);
  std::uint64_t expect = 0;
  for (std::size_t i = 0; i < kA / 8; ++i) expect += pa[i] = (i + 3) * 0x9E3779B97F4A7C15ull;
  for (std::size_t i = 0; i < kB / 8; ++i) {
    pb[i] = (i + 5) * 0xC2B2AE3D27D4EB4Full;
    if (i < 3 * 4096 / 8) expect += pb[i];
  }
  for (int threads : {1, 2, 3, 4}) {
    ThreadPool pool(threads);
    std::uint64_t sum = 0;
    const std::vector<std::vector<roofline::ReadSpan>> calls = {{{pa, kA}, {pb, kB}},
                                                                {{pb, kB}, {pa, kA}}};
    EXPECT_GT(roofline::read_calls_gbps(pool, calls, 1, &sum), 0);
    EXPECT_EQ(sum, 3 * 2 * expect) << threads << " threads: each unit once per call and pattern";
  }
}

// --shapes: presets (each matrix shape once), presets' calls (q/k/v and gate/up as one call), MxK
// and M1+M2+...xK; bad items are usage errors naming the item.
TEST(Sweep, ShapesOfMatricesAndOfCalls) {
  const auto m = sweep::parse_shapes("2b4t");
  ASSERT_EQ(m.size(), 4u);
  for (const auto& s : m) EXPECT_TRUE(s.parts.empty()) << s.label;
  const auto c = sweep::parse_shapes("2b4t:calls");
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[0].label, "2b4t:calls.attn_qkv");
  EXPECT_EQ(c[0].parts, (std::vector<std::int64_t>{2560, 640, 640}));
  EXPECT_EQ(c[0].M, 3840);
  EXPECT_EQ(c[0].K, 2560);
  EXPECT_EQ(c[1].label, "2b4t:calls.attn_output");
  EXPECT_TRUE(c[1].parts.empty());
  EXPECT_EQ(c[1].M, 2560);
  EXPECT_EQ(c[2].parts, (std::vector<std::int64_t>{6912, 6912}));
  EXPECT_EQ(c[2].M, 13824);
  EXPECT_EQ(c[3].M, 2560);
  EXPECT_EQ(c[3].K, 6912);
  const auto e = sweep::parse_shapes("640+640x2560,100x300");
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].parts, (std::vector<std::int64_t>{640, 640}));
  EXPECT_EQ(e[0].M, 1280);
  EXPECT_EQ(e[0].label, "640+640x2560");
  EXPECT_TRUE(e[1].parts.empty());
  EXPECT_EQ(e[1].M, 100);
  for (const auto& [bad, expect] : std::vector<std::pair<std::string, std::string>>{
           {"nope:calls", "'nope' is not a model preset"},
           {"640+x2560", "'640+x2560'"},
           {"1+1+1+1+1+1+1+1+1x64", "9 matrices in one call (at most 8)"},
           {"64x", "'64x'"}}) {
    try {
      sweep::parse_shapes(bad);
      ADD_FAILURE() << bad << " accepted";
    } catch (const UsageError& err) {
      EXPECT_NE(std::string(err.what()).find(expect), std::string::npos)
          << bad << ": " << err.what();
    }
  }
}

// Every preset's calls cover exactly its matrices: as many of each shape per layer as
// linear_shapes counts.
TEST(Sweep, ModelCallsCoverEachMatrixOnce) {
  for (const char* name : {"2b4t", "large", "3b", "8b", "falcon3-7b", "100b"}) {
    const auto* cfg = models::find_preset(name);
    ASSERT_NE(cfg, nullptr) << name;
    std::map<std::pair<std::int64_t, std::int64_t>, int> from_calls, from_shapes;
    for (const auto& c : models::linear_calls(*cfg))
      for (std::int64_t m : c.parts) ++from_calls[{m, c.K}];
    for (const auto& s : models::linear_shapes(*cfg)) from_shapes[{s.M, s.K}] += s.per_layer;
    EXPECT_EQ(from_calls, from_shapes) << name;
  }
}

// A call over several matrices runs them through gemm_f32_multi: its bytes are all parts' bytes,
// its GOP/s count all rows, it rotates whole calls, and a plain read of the same calls is taken.
TEST(Bench, CallsOverSeveralMatricesRunAsOneCall) {
  const KernelInfo* k = find_kernel("naive__scalar");
  bench::Spec one{k, "one", 64, 256, 1, 2, false, {}, "default"};
  bench::Spec call{k, "call", 64 + 128, 256, 1, 2, false, {}, "default", {64, 128}};
  bench::Spec bad{k, "bad", 100, 256, 1, 2, false, {}, "default", {64, 128}};
  bench::Options o = quick_bench();
  o.read_calls = true;
  const auto rs = bench::run({one, call, bad}, o);
  ASSERT_EQ(rs.size(), 3u);
  ASSERT_EQ(rs[0].error, "");
  ASSERT_EQ(rs[1].error, "");
  EXPECT_EQ(rs[1].kernel_ran, "naive__scalar");
  EXPECT_EQ(rs[1].spec.mxk(), "64+128x256");
  EXPECT_EQ(rs[0].spec.mxk(), "64x256");
  EXPECT_EQ(rs[1].packed_bytes, 3 * rs[0].packed_bytes) << "naive packs a byte per weight";
  EXPECT_EQ(rs[1].weight_copies, (std::int64_t{1} << 20) / rs[1].packed_bytes + 1);
  EXPECT_DOUBLE_EQ(rs[1].gops, 2.0 * 192 * 256 / rs[1].gemm.median * 1e-9);
  EXPECT_GT(rs[1].read_calls_gbps, 0);
  const nlohmann::json j = rs[1].to_json();
  EXPECT_EQ(j["parts"], nlohmann::json({64, 128}));
  EXPECT_TRUE(rs[0].to_json()["parts"].is_null());
  EXPECT_NE(rs[2].error.find("add up to 192, not M = 100"), std::string::npos) << rs[2].error;
}

TEST(Roofline, SavedOnceThenReusedPerMachine) {
  TempDir dir;
  bool measured = false;
  const auto first = roofline::load_or_measure(dir.path(), false, tiny(), nullptr, &measured);
  EXPECT_TRUE(measured);
  const std::string path = roofline::file_path(dir.path(), roofline::this_machine());
  ASSERT_TRUE(fs::exists(path)) << path;
  const auto second = roofline::load_or_measure(dir.path(), false, tiny(), nullptr, &measured);
  EXPECT_FALSE(measured) << "the saved file is reused";
  EXPECT_EQ(second.to_json(), first.to_json());
  roofline::load_or_measure(dir.path(), true, tiny(), nullptr, &measured);
  EXPECT_TRUE(measured) << "--remeasure";

  // Another machine's file (same name: e.g. a copied results/ tree) is not used.
  nlohmann::json j = first.to_json();
  j["machine"]["logical_cpus"] = first.machine.logical_cpus + 1;
  write_file_atomic(path, j.dump());
  EXPECT_FALSE(roofline::load(path, roofline::this_machine()).has_value());
  roofline::load_or_measure(dir.path(), false, tiny(), nullptr, &measured);
  EXPECT_TRUE(measured);

  // A file of an older format (/1: one stream only; /2: no four-stream figure) is measured again,
  // and says why.
  for (const roofline::OldSchema& old : roofline::kOldSchemas) {
    j = first.to_json();
    j["schema"] = old.schema;
    for (auto& row : j["ceilings"]) {
      row.erase("read_four_streams_gbps");
      if (old.schema == std::string("tritbench.roofline/1")) {
        row.erase("read_one_stream_gbps");
        row.erase("read_two_streams_gbps");
      }
    }
    write_file_atomic(path, j.dump());
    std::string outdated;
    EXPECT_FALSE(roofline::load(path, roofline::this_machine(), &outdated).has_value())
        << old.schema;
    EXPECT_EQ(outdated, old.lacked);
    std::ostringstream log;
    const auto again = roofline::load_or_measure(dir.path(), false, tiny(), &log, &measured);
    EXPECT_TRUE(measured) << old.schema;
    EXPECT_NE(log.str().find(old.lacked), std::string::npos) << log.str();
    EXPECT_GT(again.at(1).read_four_streams_gbps, 0);
    std::ifstream saved(path);
    EXPECT_EQ(nlohmann::json::parse(saved)["schema"], roofline::kSchema);
  }
  std::string outdated = "unset";
  EXPECT_TRUE(roofline::load(path, roofline::this_machine(), &outdated).has_value());
  EXPECT_EQ(outdated, "") << "a current file is not outdated";
}

TEST(Roofline, MalformedFileNamesTheField) {
  nlohmann::json j = synthetic_roofline().to_json();
  j["ceilings"][1]["read_gbps"] = "fast";
  try {
    roofline::Roofline::from_json(j, "f.json");
    FAIL() << "accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("f.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("ceilings[1].read_gbps"), std::string::npos) << e.what();
  }
  j = synthetic_roofline().to_json();
  j["ceilings"][1]["threads"] = 3;
  EXPECT_THROW(roofline::Roofline::from_json(j, "f.json"), std::invalid_argument);
  j = synthetic_roofline().to_json();
  for (const char* field : {"read_two_streams_gbps", "read_four_streams_gbps"}) {
    j["ceilings"][0].erase(field);
    try {
      roofline::Roofline::from_json(j, "f.json");
      FAIL() << "accepted without " << field;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("ceilings[0].") + field), std::string::npos)
          << e.what();
    }
    j = synthetic_roofline().to_json();
  }
  j = synthetic_roofline().to_json();
  j.erase("machine");
  EXPECT_THROW(roofline::Roofline::from_json(j, "f.json"), std::invalid_argument);
}

TEST(TuningFile, RoundTripAndValidation) {
  // An I2_S row: the entry's tile (rb, cb, br) is one of its tiles.
  const KernelInfo* k = find_kernel("i2s__avx512vnni");
  ASSERT_NE(k, nullptr);
  TuningTable t;
  TuningEntry e;
  e.kernel = std::string(k->name);
  e.shape_class = "m4096.k4096";
  e.batch_class = 128;
  e.threads = 2;
  e.tile = {2, 2, 0, 0, 16};
  e.M = e.K = 2560;
  e.N = 128;
  e.seconds = 1e-3;
  e.default_seconds = 2e-3;
  t.put(e);
  TuningEntry other = e;
  other.kernel = "some_future_row__avx512vnni";  // unknown here: kept, never used
  t.put(other);
  const auto m = roofline::this_machine();
  roofline::Machine back_m;
  const TuningTable back = tuning_io::from_json(tuning_io::to_json(t, m), "t.json", &back_m);
  EXPECT_EQ(back_m, m);
  ASSERT_EQ(back.entries.size(), 2u);
  EXPECT_EQ(back.entries[0].tile, e.tile);
  EXPECT_EQ(back.entries[0].threads, 2);
  ASSERT_NE(back.find(k->name, 3000, 2100, 100, 2, false), nullptr);
  EXPECT_EQ(back.find(k->name, 3000, 2100, 100, 2, true), nullptr) << "tuned from DRAM, not in cache";
  TuningTable hot_t;
  TuningEntry he = e;
  he.hot = true;
  hot_t.put(he);
  const TuningTable hot_back = tuning_io::from_json(tuning_io::to_json(hot_t, m), "t.json", nullptr);
  ASSERT_EQ(hot_back.entries.size(), 1u);
  EXPECT_TRUE(hot_back.entries[0].hot);
  EXPECT_EQ(tuning_io::to_json(hot_t, m)["entries"][0]["weights"], "cache");

  // The message of the error from_json raises on a copy of t's JSON changed by edit.
  auto error_of = [&](auto edit) {
    nlohmann::json j = tuning_io::to_json(t, m);
    edit(j);
    try {
      tuning_io::from_json(j, "t.json", nullptr);
    } catch (const std::invalid_argument& ex) {
      return std::string(ex.what());
    }
    return std::string("accepted");
  };
  const std::string tile = error_of([](nlohmann::json& j) { j["entries"][0]["tile"] = "rb=7"; });
  EXPECT_NE(tile.find("entries[0] field 'tile'"), std::string::npos) << tile;
  const std::string threads = error_of([](nlohmann::json& j) { j["entries"][1].erase("threads"); });
  EXPECT_NE(threads.find("entries[1]"), std::string::npos) << threads;
  const std::string weights = error_of([](nlohmann::json& j) { j["entries"][0]["weights"] = "l2"; });
  EXPECT_NE(weights.find("entries[0] field 'weights'"), std::string::npos) << weights;
  EXPECT_NE(weights.find("\"dram\" or \"cache\""), std::string::npos) << weights;

  TempDir dir;
  const std::string path = tuning_io::file_path(dir.path(), m);
  tuning_io::save(path, t, m);
  EXPECT_TRUE(tuning_io::load(path, m).table.has_value());
  roofline::Machine elsewhere = m;
  elsewhere.host += "-other";
  const auto l = tuning_io::load(path, elsewhere);
  EXPECT_FALSE(l.table.has_value());
  EXPECT_NE(l.note.find("another machine"), std::string::npos) << l.note;
  EXPECT_TRUE(l.found);
  EXPECT_FALSE(tuning_io::load(dir.path("none.json"), m).found);

  // A file of the first schema (no weights field: a --hot tuning could not be told apart) is not
  // used, with a note saying so, and not an error: `tune` rewrites it.
  nlohmann::json v1 = tuning_io::to_json(t, m);
  v1["schema"] = "tritbench.tuning/1";
  for (auto& x : v1["entries"]) x.erase("weights");
  write_file_atomic(path, v1.dump());
  const auto old = tuning_io::load(path, m);
  EXPECT_FALSE(old.table.has_value());
  EXPECT_TRUE(old.found);
  EXPECT_NE(old.note.find("tritbench.tuning/1"), std::string::npos) << old.note;
  EXPECT_NE(old.note.find("tritbench tune"), std::string::npos) << old.note;
}

TEST(Bench, ResultsCarryTimingsTileAndRoofline) {
  const KernelInfo* k = resolve_kernels("i2s").at(0);
  const KernelInfo* naive = find_kernel("naive__scalar");
  bench::Spec s1{k, "t", 64, 256, 3, 1, true, {}, "default"};
  if (k->tiles) s1 = {k, "t", 64, 256, 3, 1, true, {1, 2, 0, 1, 0}, "override"};
  bench::Spec s2{naive, "t", 64, 256, 1, 2, false, {}, "default"};
  const roofline::Roofline rf = synthetic_roofline();
  bench::Options o;
  o.repetitions = 3;
  o.min_time = 0.001;
  o.progress = false;
  o.roofline = &rf;
  o.rotate_bytes = 1 << 20;
  const auto rs = bench::run({s1, s2}, o);
  ASSERT_EQ(rs.size(), 2u);
  for (const auto& r : rs) {
    ASSERT_EQ(r.error, "") << r.spec.kernel->name;
    EXPECT_EQ(r.kernel_ran, r.spec.kernel->name);
    EXPECT_EQ(r.gemm.samples.size(), 3u);
    EXPECT_EQ(r.quantize.samples.size(), 3u);
    EXPECT_EQ(r.prepare.samples.size(), 3u);
    EXPECT_GT(r.gemm.median, 0);
    EXPECT_LE(r.gemm.min, r.gemm.median);
    EXPECT_GT(r.quantize.median, 0);
    EXPECT_GT(r.packed_bytes, 0);
    EXPECT_DOUBLE_EQ(r.gops, 2.0 * r.spec.M * r.spec.K * r.spec.N / r.gemm.median * 1e-9);
    ASSERT_TRUE(r.has_roofline);
    EXPECT_DOUBLE_EQ(r.read_gbps_ceiling, 10.0 * r.spec.threads);
    EXPECT_DOUBLE_EQ(r.pct_of_read_bw, 100.0 * r.weight_gbps / r.read_gbps_ceiling);
    EXPECT_DOUBLE_EQ(r.pct_of_int8_peak, 100.0 * r.gops / r.int8_peak_gops);
    EXPECT_GE(r.roofline_pct_best, r.roofline_pct) << "from the fastest repetition";
    EXPECT_EQ(r.gemm_cpu_samples.size(), 3u);
    EXPECT_GT(r.cpu_utilization, 0);
    const nlohmann::json j = r.to_json();
    for (const char* f : {"kernel", "kernel_ran", "isa", "shape", "M", "K", "batch", "threads", "tile",
                          "tile_source", "samples_seconds", "median_seconds", "mean_seconds", "stddev_seconds",
                          "min_seconds", "n", "quantize", "prepare", "pack_seconds", "gops", "weight_gbps",
                          "roofline"})
      EXPECT_TRUE(j.contains(f)) << f;
  }
  if (k->tiles) {
    EXPECT_EQ(rs[0].tile, (TileConfig{1, 2, 0, 1, 0}));
    EXPECT_EQ(rs[0].spec.tile_source, "override");
  }
  EXPECT_EQ(rs[0].roofline_bound, "compute") << "hot weights: no memory ceiling";
  EXPECT_DOUBLE_EQ(rs[0].roofline_pct, rs[0].pct_of_int8_peak);
  // Cold naive GEMV at 2 threads: 2 ops per int8 weight byte x 20 GB/s = 40 GOP/s < the 100 GOP/s
  // peak, so memory-bound, and the % of roofline is the % of read bandwidth.
  EXPECT_EQ(rs[1].roofline_bound, "memory");
  EXPECT_NEAR(rs[1].roofline_pct, rs[1].pct_of_read_bw, 1e-9 * rs[1].pct_of_read_bw);
  EXPECT_GT(rs[1].weight_copies, 1);
}

TEST(Roofline, ReadProbeMeasuresItsOwnArrayAtAnyThreadCount) {
  roofline::ReadProbe probe(3 << 20);  // rounded down to whole 256 KiB (64 pages per thread part)
  EXPECT_EQ(probe.bytes(), 3 << 20);
  roofline::ReadProbe tiny_probe(1000);
  EXPECT_EQ(tiny_probe.bytes(), 256 << 10) << "at least one unit";
  for (int t : {1, 2, 3}) {
    ThreadPool pool(t);
    const double gbps = probe.read_gbps(pool, 2);
    EXPECT_TRUE(std::isfinite(gbps)) << t;
    EXPECT_GT(gbps, 0) << t;
  }
}

// --read-now and --read-calls: cold rows carry the read bandwidth measured next to them (of a long
// stream per thread / of their own calls) and their share of it; hot rows (no memory ceiling) and
// runs without the options carry none.
TEST(Bench, ReadNowAndReadCallsAreMeasuredForColdRowsOnly) {
  const KernelInfo* naive = find_kernel("naive__scalar");
  const bench::Spec hot{naive, "t", 64, 256, 1, 1, true, {}, "default"};
  const bench::Spec cold{naive, "t", 256, 256, 1, 2, false, {}, "default"};  // 64 KiB: 16 units of 4 KiB
  bench::Options o = quick_bench();
  roofline::ReadProbe probe(8 << 20);
  o.read_now = &probe;
  o.read_now_passes = 1;
  o.read_calls = true;
  const auto rs = bench::run({hot, cold}, o);
  ASSERT_EQ(rs.size(), 2u);
  for (const auto& r : rs) ASSERT_EQ(r.error, "");
  struct Ceiling {
    const char* key;
    double bench::Result::*gbps;
    double bench::Result::*pct;
  };
  for (const Ceiling c : {Ceiling{"read_now", &bench::Result::read_gbps_now, &bench::Result::pct_of_read_now},
                          Ceiling{"read_calls", &bench::Result::read_calls_gbps, &bench::Result::pct_of_read_calls}}) {
    SCOPED_TRACE(c.key);
    EXPECT_EQ(rs[0].*c.gbps, 0);
    EXPECT_TRUE(rs[0].to_json()[c.key].is_null());
    EXPECT_GT(rs[1].*c.gbps, 0);
    EXPECT_DOUBLE_EQ(rs[1].*c.pct, 100.0 * rs[1].weight_gbps / (rs[1].*c.gbps));
    const nlohmann::json j = rs[1].to_json()[c.key];
    ASSERT_TRUE(j.is_object());
    EXPECT_DOUBLE_EQ(j["read_gbps"].get<double>(), rs[1].*c.gbps);
    EXPECT_DOUBLE_EQ(j["pct"].get<double>(), rs[1].*c.pct);
    EXPECT_GE(j["pct_best"].get<double>(), rs[1].*c.pct) << "from the fastest repetition";
  }
  o.read_now = nullptr;
  o.read_calls = false;
  const auto none = bench::run({cold}, o).at(0);
  EXPECT_EQ(none.read_gbps_now, 0);
  EXPECT_EQ(none.read_calls_gbps, 0);
}

// --anatomy: single calls timed one by one. With two threads each call's tasks are stamped; the
// medians obey what holds call by call (a call lasts at least its longest task, so the median call
// is at least every thread's median task). One thread: call times only (the runtime skips the
// pool).
TEST(Bench, AnatomyTimesSingleCallsAndTheirTasks) {
  const KernelInfo* naive = find_kernel("naive__scalar");
  bench::Options o = quick_bench();
  o.anatomy = true;
  const auto rs = bench::run({{naive, "t", 256, 256, 1, 2, false, {}, "default"},
                              {naive, "t", 256, 256, 1, 1, false, {}, "default"}},
                             o);
  ASSERT_EQ(rs.size(), 2u);
  for (const auto& r : rs) {
    ASSERT_EQ(r.error, "");
    const bench::Anatomy& a = r.anatomy;
    EXPECT_GE(a.calls, 100);
    EXPECT_GT(a.call_median, 0);
    EXPECT_GE(a.call_p99, a.call_median);
    EXPECT_DOUBLE_EQ(a.tail_pct(), 100 * (a.call_mean - a.call_median) / a.call_mean);
    const nlohmann::json j = r.to_json()["anatomy"];
    ASSERT_TRUE(j.is_object());
    for (const char* f :
         {"calls", "call_median_seconds", "call_mean_seconds", "call_p99_seconds", "tail_pct",
          "fork_median_seconds", "join_median_seconds", "imbalance_median", "task_median_seconds",
          "task_p99_seconds", "slowest_share"})
      EXPECT_TRUE(j.contains(f)) << f;
    EXPECT_EQ(j["calls"].get<std::int64_t>(), a.calls);
  }
  const bench::Anatomy& two = rs[0].anatomy;
  ASSERT_EQ(two.task_median.size(), 2u);
  ASSERT_EQ(two.task_p99.size(), 2u);
  ASSERT_EQ(two.slowest_share.size(), 2u);
  EXPECT_DOUBLE_EQ(two.slowest_share[0] + two.slowest_share[1], 1.0);
  for (int t = 0; t < 2; ++t) {
    EXPECT_GT(two.task_median[t], 0);
    EXPECT_GE(two.task_p99[t], two.task_median[t]);
    EXPECT_GE(two.call_median, two.task_median[t]);
  }
  EXPECT_GE(two.fork_median, 0);
  EXPECT_GE(two.join_median, 0);
  EXPECT_GE(two.imbalance_median, 0);
  EXPECT_LT(two.imbalance_median, 1);
  EXPECT_TRUE(rs[1].anatomy.task_median.empty()) << "one thread: no pool, no tasks";
  o.anatomy = false;
  const auto none = bench::run({{naive, "t", 256, 256, 1, 2, false, {}, "default"}}, o).at(0);
  EXPECT_EQ(none.anatomy.calls, 0);
  EXPECT_TRUE(none.to_json()["anatomy"].is_null());
}

TEST(Bench, RefusedTileIsAnErrorNotAFallback) {
  const KernelInfo* k = resolve_kernels("i2s").at(0);
  if (!k->tiles) GTEST_SKIP() << k->name << " has no tiles";
  bench::Options o;
  o.repetitions = 1;
  o.min_time = 0.001;
  o.progress = false;
  const auto rs = bench::run({{k, "t", 64, 256, 3, 1, true, {7, 9, 0, 0, 0}, "override"}}, o);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_NE(rs[0].error.find("rb must"), std::string::npos) << rs[0].error;
  EXPECT_TRUE(rs[0].kernel_ran.empty());
}

TEST(Cli, TuneWritesTheFileAndKernelsUseIt) {
  const KernelInfo* k = resolve_kernels("i2s").at(0);
  if (!k->tiles) GTEST_SKIP() << "the i2s row runnable here (" << k->name << ") has no tiles";
  TempDir dir;
  const std::string env = "TRITBENCH_RESULTS_DIR=" + dir.path();
  const auto m = roofline::this_machine();
  // A roofline file for this machine, so `kernels` reuses it instead of measuring.
  fs::create_directories(dir.path("roofline"));
  write_file_atomic(roofline::file_path(dir.path(), m), synthetic_roofline().to_json().dump());

  std::string text;
  ASSERT_EQ(run_cli("tune -k i2s --shapes 96x384 -b 4 -t 1 -r 1 --min-time 0.001 --hot", &text, env), 0)
      << text;
  const std::string tuning = tuning_io::file_path(dir.path(), m);
  ASSERT_TRUE(fs::exists(tuning)) << text;
  const auto loaded = tuning_io::load(tuning, m);
  ASSERT_TRUE(loaded.table.has_value());
  ASSERT_EQ(loaded.table->entries.size(), 1u);
  const TuningEntry e = loaded.table->entries[0];
  EXPECT_EQ(e.kernel, k->name);
  EXPECT_EQ(e.shape_class, "m128.k512");
  EXPECT_EQ(e.batch_class, 4);
  EXPECT_TRUE(e.hot) << "tuned with --hot";
  EXPECT_EQ(loaded.table->find(k->name, 96, 384, 4, 1, false), nullptr) << "not for weights from DRAM";
  EXPECT_GT(e.candidates, 1);
  EXPECT_GT(e.seconds, 0);
  EXPECT_LE(e.seconds, e.default_seconds) << "the default is a candidate";

  const std::string out = dir.path("k.json");
  ASSERT_EQ(run_cli("kernels -k i2s --shapes 96x384 -b 4,1 -t 1 -r 2 --min-time 0.001 --hot -o json --out " + out,
                    &text, env),
            0)
      << text;
  std::ifstream f(out);
  const nlohmann::json j = nlohmann::json::parse(f);
  ASSERT_EQ(j["results"].size(), 2u);
  const auto& tuned = j["results"][0];
  EXPECT_EQ(tuned["batch"], 4);
  EXPECT_EQ(tuned["tile_source"], "tuned");
  EXPECT_EQ(tuned["tile"], e.tile.str());
  EXPECT_EQ(j["results"][1]["tile_source"], "default") << "N = 1 is another batch class";
  EXPECT_EQ(j["tuning_file"], tuning);
  EXPECT_EQ(j["roofline"]["measured_at"], "synthetic");
  for (const auto& r : j["results"]) {
    EXPECT_EQ(r["kernel_ran"], k->name);
    EXPECT_EQ(r["samples_seconds"].size(), 2u);
    EXPECT_EQ(r["quantize"]["n"], 2);
    EXPECT_TRUE(r["roofline"].contains("pct"));
    EXPECT_EQ(r["environment"]["cpu"]["model"], m.cpu_model);
    EXPECT_TRUE(r["environment"]["build"].contains("git_commit"));
  }
  // --no-tuning: the registry tile again.
  ASSERT_EQ(run_cli("kernels -k i2s --shapes 96x384 -b 4 -r 1 --min-time 0.001 --hot --no-tuning -o jsonl", &text, env), 0)
      << text;
  EXPECT_NE(text.find("\"tile_source\":\"default\""), std::string::npos) << text;
  // A bad --tile is a usage error naming the key.
  EXPECT_EQ(run_cli("kernels -k i2s --tile zz=1 --no-roofline", &text, env), 2) << text;
  EXPECT_NE(text.find("zz"), std::string::npos) << "the error names the bad key: " << text;
}

// Each tunable row's tuner times every distinct tile once: a candidate spelling the row's default
// (I2_R16's "pf=0" is its default) is not a second candidate.
TEST(Cli, TuneTimesEachDistinctTileOnce) {
  TempDir dir;
  const std::string env = "TRITBENCH_RESULTS_DIR=" + dir.path();
  const auto m = roofline::this_machine();
  fs::create_directories(dir.path("roofline"));
  write_file_atomic(roofline::file_path(dir.path(), m), synthetic_roofline().to_json().dump());
  int tested = 0;
  for (const auto& k : registry()) {
    if (!k.tiles || !isa_runnable(k.isa)) continue;
    std::set<std::string> distinct = {k.tile.str()};
    for (const auto& c : k.tiles->candidates(128, 256, 1)) distinct.insert(c.str());
    if (distinct.size() < 2) continue;
    std::string text;
    ASSERT_EQ(run_cli("tune -k " + std::string(k.name) + " --shapes 128x256 -b 1 -t 1 -r 1 --min-time 0.0005 --hot",
                      &text, env),
              0)
        << text;
    EXPECT_NE(text.find(": " + std::to_string(distinct.size()) + " candidates"), std::string::npos)
        << k.name << ": expected " << distinct.size() << " distinct tiles\n" << text;
    ++tested;
  }
  if (tested == 0) GTEST_SKIP() << "no tunable row with two or more tiles runs here";
}

}  // namespace
}  // namespace tritbench
