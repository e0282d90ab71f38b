// scripts/plot.py on small result files: every plot kind is written from the file kinds that
// carry its rows, a plot without rows is skipped with a note, and a broken file exits 2 naming the
// field. Runs Debian's /usr/bin/python3 with python3-matplotlib (scripts/setup.sh installs it);
// without them these tests fail and say so, rather than pass having checked nothing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/test_util.h"

namespace tritbench {
namespace {

using test::TempDir;
using test::run_command;

namespace fs = std::filesystem;
using nlohmann::json;

const char* const kPython = "/usr/bin/python3";

// Empty if the plotting toolchain is there, else what is missing and how to get it.
std::string missing_python() {
  std::string out;
  if (run_command(std::string(kPython) + " -c 'import matplotlib'", &out) == 0) return "";
  return std::string(kPython) + " cannot import matplotlib (install python3-matplotlib, e.g. with "
         "scripts/setup.sh): " + out;
}

#define REQUIRE_PYTHON()                              \
  if (const std::string why = missing_python(); !why.empty()) \
  FAIL() << why

int plot(const fs::path& file, const fs::path& out_dir, std::string* out) {
  return run_command(std::string(kPython) + " " TRITBENCH_SOURCE_DIR "/scripts/plot.py " + file.string() + " --out " +
                 out_dir.string(),
             out);
}

void write(const fs::path& p, const std::string& s) { std::ofstream(p) << s; }

// A PNG written by matplotlib: the signature and more than a few bytes.
bool is_png(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  char sig[8] = {};
  f.read(sig, 8);
  return f && std::string(sig + 1, 3) == "PNG" && fs::file_size(p) > 1000;
}

json environment() {
  return {{"host", "testhost"},
          {"cpu", {{"model", "Test CPU"}, {"logical_cpus", 2}}},
          {"build", {{"git_commit", "0123456789ab"}, {"compiler", "GNU 12.2.0"}}}};
}

// Rows shaped as harness/lib/bench.cpp and harness/lib/e2e_bench.cpp write them (the fields the
// plots read, plus a few others).
json sweep_row(const std::string& kernel, const std::string& isa, int M, int K, int batch, int threads, bool hot,
               double seconds) {
  const double gops = 2.0 * M * K * batch / seconds * 1e-9;
  return {{"kernel", kernel}, {"kernel_ran", kernel}, {"isa", isa}, {"format", "I2_S"},
          {"shape", "tiny.ffn_down"}, {"M", M}, {"K", K}, {"batch", batch}, {"threads", threads},
          {"hot", hot}, {"packed_bytes", M * K / 4}, {"samples_seconds", {seconds, seconds * 1.02}},
          {"median_seconds", seconds}, {"mean_seconds", seconds * 1.01}, {"stddev_seconds", seconds * 0.01},
          {"min_seconds", seconds}, {"n", 2}, {"gops", gops}, {"weight_gbps", M * K / 4 / seconds * 1e-9},
          {"error", ""},
          {"roofline", {{"read_gbps", 40.0}, {"int8_peak_gops", isa == "scalar" ? 100.0 : 400.0},
                        {"int8_peak_name", isa == "scalar" ? "scalar" : "avx2"}}}};
}

json e2e_row(const std::string& model, std::int64_t params, const std::string& kernel, int threads,
             const std::string& test, int batch, double tps) {
  const bool pp = test.rfind("pp", 0) == 0;
  const int n = std::stoi(test.substr(2));
  return {{"kind", "e2e"}, {"model", model}, {"arch", "bitnet-b1.58"}, {"size_bytes", params / 3},
          {"params", params}, {"ternary_params", params / 2}, {"output_type", "F16"}, {"kernel", kernel},
          {"kernel_ran", kernel}, {"threads", threads}, {"test", test}, {"n_prompt", pp ? n : 0},
          {"n_gen", pp ? 0 : n}, {"batch", batch}, {"repetitions", 2}, {"samples_tps", {tps * 0.98, tps * 1.02}},
          {"mean_tps", tps}, {"stddev_tps", tps * 0.03}, {"packed_bytes", params / 4}};
}

// e2e rows over two models, two kernels, 1 and 2 threads, prompt (batched and -b 1) and generation.
json e2e_rows() {
  json rows = json::array();
  for (const auto& [model, params] : {std::pair<std::string, std::int64_t>{"tiny", 1900000}, {"small", 124000000}})
    for (const char* k : {"i2s__avx2", "naive__scalar"})
      for (int t : {1, 2}) {
        const double scale = 1e8 / static_cast<double>(params) * t * (k[0] == 'i' ? 4 : 1);
        rows.push_back(e2e_row(model, params, k, t, "pp16", 16, 300 * scale));
        rows.push_back(e2e_row(model, params, k, t, "tg8", 1, 40 * scale));
        if (model == "tiny") rows.push_back(e2e_row(model, params, k, t, "pp16", 1, 50 * scale));
      }
  return rows;
}

json sweep_rows() {
  json rows = json::array();
  for (const auto& [k, isa] : {std::pair<std::string, std::string>{"i2s__avx2", "avx2"}, {"naive__scalar", "scalar"}})
    for (int b : {1, 8})
      for (int t : {1, 2}) {
        rows.push_back(sweep_row(k, isa, 256, 640, b, t, true, (isa == "avx2" ? 2e-6 : 4e-5) * b / t));
        rows.push_back(sweep_row(k, isa, 640, 256, b, t, b == 1 ? false : true, (isa == "avx2" ? 3e-6 : 5e-5) * b / t));
      }
  return rows;
}

TEST(Plot, RunFileGivesAllFourPlots) {
  REQUIRE_PYTHON();
  TempDir d;
  const json run = {{"experiment", "fixture"}, {"started", "2025-01-01T00:00:00Z"}, {"environment", environment()},
                    {"checks", json::array({{{"kind", "check"}, {"kernel", "i2s__avx2"}, {"ok", true}}})},
                    {"sweeps", sweep_rows()}, {"e2e", e2e_rows()}};
  write(d.root() / "run.json", run.dump(2));
  std::string out;
  ASSERT_EQ(plot(d.root() / "run.json", d.root() / "png", &out), 0) << out;
  for (const char* kind : {"time", "roofline", "threads", "sizes"}) {
    const fs::path png = d.root() / "png" / (std::string("run-") + kind + ".png");
    EXPECT_TRUE(is_png(png)) << png << "\n" << out;
    EXPECT_NE(out.find(png.string()), std::string::npos) << "the PNG is named on stdout:\n" << out;
  }
  EXPECT_EQ(out.find("skipped"), std::string::npos) << out;
}

TEST(Plot, KernelsAndE2eFilesGiveTheirPlotsAndSkipTheOthers) {
  REQUIRE_PYTHON();
  TempDir d;
  // `tritbench kernels -o json`: the roofline file at the top level, the environment in each row.
  json rows = sweep_rows();
  for (auto& r : rows) r["environment"] = environment();
  const json ceilings = json::array(
      {{{"threads", 1}, {"read_gbps", 40.0}, {"int8_peak_gops", {{"scalar", 100.0}, {"avx2", 400.0}}}},
       {{"threads", 2}, {"read_gbps", 70.0}, {"int8_peak_gops", {{"scalar", 200.0}, {"avx2", 800.0}}}}});
  write(d.root() / "kernels.json",
        json{{"environment", environment()},
             {"roofline", {{"measured_at", "2025-01-01T00:00:00Z"}, {"ceilings", ceilings}}},
             {"tuning_file", nullptr},
             {"results", rows}}
            .dump(2));
  std::string out;
  ASSERT_EQ(plot(d.root() / "kernels.json", d.root(), &out), 0) << out;
  EXPECT_TRUE(is_png(d.root() / "kernels-time.png")) << out;
  EXPECT_TRUE(is_png(d.root() / "kernels-roofline.png")) << out;
  EXPECT_FALSE(fs::exists(d.root() / "kernels-threads.png")) << out;
  EXPECT_NE(out.find("skipped the threads plot: no e2e rows"), std::string::npos) << out;
  EXPECT_NE(out.find("skipped the sizes plot: no e2e rows"), std::string::npos) << out;

  // `tritbench e2e -o json` of one model: tokens/s against threads, no size trend.
  json one = json::array();
  for (const auto& r : e2e_rows())
    if (r["model"] == "tiny") one.push_back(r);
  write(d.root() / "e2e.json", json{{"environment", environment()}, {"results", one}}.dump(2));
  ASSERT_EQ(plot(d.root() / "e2e.json", d.root(), &out), 0) << out;
  EXPECT_TRUE(is_png(d.root() / "e2e-threads.png")) << out;
  EXPECT_FALSE(fs::exists(d.root() / "e2e-sizes.png")) << out;
  EXPECT_NE(out.find("skipped the sizes plot: e2e rows cover one model (tiny)"), std::string::npos) << out;
  EXPECT_NE(out.find("skipped the time plot: no kernel sweep rows"), std::string::npos) << out;

  // The same rows as `-o jsonl` (one row per line), over both models: sizes too.
  std::string lines;
  for (const auto& r : e2e_rows()) lines += r.dump() + "\n";
  write(d.root() / "e2e-both.jsonl", lines);
  ASSERT_EQ(plot(d.root() / "e2e-both.jsonl", d.root(), &out), 0) << out;
  EXPECT_TRUE(is_png(d.root() / "e2e-both-threads.png")) << out;
  EXPECT_TRUE(is_png(d.root() / "e2e-both-sizes.png")) << out;
}

TEST(Plot, BrokenFilesExit2NamingFileAndField) {
  REQUIRE_PYTHON();
  TempDir d;
  std::string out;
  json rows = e2e_rows();
  rows[3].erase("mean_tps");
  write(d.root() / "no-tps.json", json{{"e2e", rows}}.dump());
  EXPECT_EQ(plot(d.root() / "no-tps.json", d.root(), &out), 2) << out;
  EXPECT_NE(out.find("no-tps.json: e2e[3]: field 'mean_tps' missing"), std::string::npos) << out;

  rows = sweep_rows();
  rows[1]["M"] = "640";
  write(d.root() / "bad-m.json", json{{"results", rows}}.dump());
  EXPECT_EQ(plot(d.root() / "bad-m.json", d.root(), &out), 2) << out;
  EXPECT_NE(out.find("bad-m.json: results[1]: field 'M' must be an integer"), std::string::npos) << out;

  rows = sweep_rows();
  rows[1]["parts"] = json::array({1, 2});
  write(d.root() / "bad-parts.json", json{{"results", rows}}.dump());
  EXPECT_EQ(plot(d.root() / "bad-parts.json", d.root(), &out), 2) << out;
  EXPECT_NE(out.find("bad-parts.json: results[1]: field 'parts' must be null or positive row counts adding up to M"),
            std::string::npos)
      << out;

  write(d.root() / "truncated.json", "{\"sweeps\": [");
  EXPECT_EQ(plot(d.root() / "truncated.json", d.root(), &out), 2) << out;
  EXPECT_NE(out.find("truncated.json: not valid JSON"), std::string::npos) << out;

  write(d.root() / "other.json", "{\"name\": \"not a result\"}");
  EXPECT_EQ(plot(d.root() / "other.json", d.root(), &out), 2) << out;
  EXPECT_NE(out.find("other.json: no field 'sweeps', 'e2e' or 'results'"), std::string::npos) << out;
  for (const auto& e : fs::directory_iterator(d.root())) EXPECT_NE(e.path().extension(), ".png") << e.path();
}

// What `tritbench run` writes today, straight from the CLI: the plots keep up with its fields.
TEST(Plot, RealRunOutput) {
  REQUIRE_PYTHON();
  TempDir d;
  write(d.root() / "mini.json", R"({"sweeps": [{"kernels": "i2s", "shapes": "64x256,32+32x256", "batch": [1], "threads": [1, 2],
      "hot": true, "repetitions": 2, "min_time": 0.001}],
    "e2e": [{"model": "synthetic:tiny", "kernels": "i2s", "prompt": [8], "gen": [4], "threads": [1, 2], "repetitions": 2},
            {"model": "synthetic:tiny-silu", "kernels": "i2s", "prompt": [8], "gen": [4], "threads": [1, 2], "repetitions": 2}]})");
  std::string out;
  ASSERT_EQ(run_command(std::string(TRITBENCH_CLI) + " run --no-roofline " + (d.root() / "mini.json").string() + " --out " +
                    (d.root() / "r.json").string(),
                &out),
            0)
      << out;
  ASSERT_EQ(plot(d.root() / "r.json", d.root(), &out), 0) << out;
  for (const char* kind : {"time", "roofline", "threads", "sizes"})
    EXPECT_TRUE(is_png(d.root() / (std::string("r-") + kind + ".png"))) << kind << "\n" << out;
}

}  // namespace
}  // namespace tritbench
