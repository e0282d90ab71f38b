// Experiments, `tritbench run` and `tritbench compare`, through the CLI binary where it matters.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "harness/lib/compare.h"
#include "harness/lib/experiment.h"
#include "tests/test_util.h"

namespace tritbench {
namespace {

using test::TempDir;
using test::run_cli;

namespace fs = std::filesystem;
using nlohmann::json;

void write(const fs::path& p, const std::string& s) { std::ofstream(p) << s; }

TEST(Experiment, ParsesAndRefusesBadFieldsByPath) {
  const auto e = experiment::parse(json::parse(R"({"sweeps": [{"kernels": ["i2s", "naive"], "batch": [1, 8]}],
                                                   "e2e": [{"model": "synthetic:tiny", "gen": 4}]})"),
                                   "experiments/x.json");
  EXPECT_EQ(e.name, "x");
  EXPECT_EQ(e.sweeps[0].kernels, "i2s,naive");
  EXPECT_FALSE(e.sweeps[0].read_now);
  EXPECT_FALSE(e.sweeps[0].read_calls);
  EXPECT_FALSE(e.sweeps[0].anatomy);
  EXPECT_EQ(e.e2e[0].gen, std::vector<std::int64_t>{4});
  EXPECT_TRUE(experiment::parse(json::parse(R"({"sweeps": [{"read_now": true}]})"), "y.json").sweeps[0].read_now);
  EXPECT_TRUE(experiment::parse(json::parse(R"({"sweeps": [{"read_calls": true}]})"), "y.json").sweeps[0].read_calls);
  EXPECT_TRUE(experiment::parse(json::parse(R"({"sweeps": [{"anatomy": true}]})"), "y.json")
                  .sweeps[0]
                  .anatomy);
  auto err = [](const char* text) {
    try {
      experiment::parse(json::parse(text), "e.json");
    } catch (const std::invalid_argument& ex) {
      return std::string(ex.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(err(R"({"sweeps": [{"batsh": [1]}]})").rfind("e.json: sweeps[0].batsh: unknown key", 0), 0u);
  EXPECT_NE(err(R"({"sweeps": [{"batch": [1, -3]}]})").find("sweeps[0].batch[1]: -3 is out of range"), std::string::npos);
  EXPECT_NE(err(R"({"e2e": [{"kernels": "i2s"}]})").find("e2e[0].model: missing"), std::string::npos);
  EXPECT_NE(err(R"({"name": "../up", "checks": {"kernels": true}})").find("name"), std::string::npos);
  EXPECT_NE(err(R"({})").find("does nothing"), std::string::npos);
  EXPECT_NE(err(R"({"checks": {"kernels": 1}})").find("checks.kernels: expected true or false"), std::string::npos);
  EXPECT_NE(err(R"({"sweeps": [{"read_now": "yes"}]})").find("sweeps[0].read_now: expected true or false"), std::string::npos);
  EXPECT_NE(err(R"({"sweeps": [{"read_calls": 1}]})").find("sweeps[0].read_calls: expected true or false"),
            std::string::npos);
  EXPECT_NE(
      err(R"({"sweeps": [{"anatomy": "on"}]})").find("sweeps[0].anatomy: expected true or false"),
      std::string::npos);
}

// Every experiment the project ships parses and plans (kernel globs, presets, models), so a typo in
// one fails here rather than at the start of an hour-long run.
TEST(Experiment, EveryShippedExperimentPlans) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(fs::path(TRITBENCH_SOURCE_DIR) / "experiments")) {
    if (e.path().extension() != ".json") continue;
    ++n;
    std::string out;
    EXPECT_EQ(run_cli("run " + e.path().string() + " --dry-run", &out), 0) << e.path() << ": " << out;
    EXPECT_NE(out.find("timed items"), std::string::npos) << e.path() << ": " << out;
  }
  EXPECT_GE(n, 6) << "experiments/ holds quickstart, kernels-2b4t, lut-vs-mad, threads, e2e-sizes, gemv-dram";
}

TEST(Compare, VerdictsUseTheSamples) {
  EXPECT_FALSE(compare::significantly_different({1.0, 1.1, 0.9}, {1.05, 0.95, 1.0}));
  EXPECT_TRUE(compare::significantly_different({1.0, 1.01, 0.99}, {2.0, 2.02, 1.98}));
  EXPECT_FALSE(compare::significantly_different({1.0}, {2.0}));  // one sample says nothing about noise
}

json small_results() {
  return json::parse(R"({
    "sweeps": [
      {"kind": "sweep", "kernel": "i2s__avx2", "M": 64, "K": 256, "batch": 1, "threads": 1, "hot": true,
       "samples_seconds": [1.0e-5, 1.02e-5, 0.99e-5, 1.01e-5]},
      {"kind": "sweep", "kernel": "i2s__scalar", "M": 64, "K": 256, "batch": 1, "threads": 1, "hot": true,
       "samples_seconds": [5.0e-5, 5.1e-5, 4.9e-5, 5.05e-5]}],
    "e2e": [{"kind": "e2e", "model": "tiny", "output_type": "F16", "kernel": "i2s__avx2", "threads": 1,
             "test": "tg8", "batch": 1, "samples_tps": [100, 101, 99, 100.5]}],
    "checks": [{"kind": "check", "kernel": "i2s__avx2", "ok": true},
               {"kind": "check_e2e", "model": "synthetic:tiny:seed=1", "kernel": "i2s__avx2", "threads": 1,
                "exact": true, "pass": true, "logits_digest": "00000000deadbeef"}]})");
}

TEST(Compare, SelfIsWithinNoiseAndDoctoredCopyIsARegression) {
  TempDir d;
  const json a = small_results();
  json b = a;
  for (auto& s : b["sweeps"][0]["samples_seconds"]) s = s.get<double>() * 2;  // a slower kernel
  b["checks"][1]["logits_digest"] = "00000000cafef00d";  // changed numbers
  b["checks"][0]["ok"] = false;
  b["checks"][0]["first_failure"] = "3 mismatches";
  write(d.root() / "a.json", a.dump());
  write(d.root() / "b.json", b.dump());
  std::string out;
  EXPECT_EQ(run_cli("compare " + (d.root() / "a.json").string() + " " + (d.root() / "a.json").string(), &out), 0) << out;
  EXPECT_NE(out.find("0 faster, 0 slower, 3 within noise; 0 correctness differences"), std::string::npos) << out;
  EXPECT_EQ(run_cli("compare " + (d.root() / "a.json").string() + " " + (d.root() / "b.json").string(), &out), 1) << out;
  EXPECT_NE(out.find("kernel i2s__avx2 64x256 N=1 t=1 hot"), std::string::npos) << out;
  EXPECT_NE(out.find("slower (REGRESSION)"), std::string::npos) << out;
  EXPECT_NE(out.find("logits digest changed 00000000deadbeef -> 00000000cafef00d"), std::string::npos) << out;
  EXPECT_NE(out.find("passed in A, fails in B: 3 mismatches"), std::string::npos) << out;
  // A 2x slower kernel within a 200% threshold is not a regression, but the correctness diffs are.
  const auto rep = compare::compare(a, b, 2.0);
  EXPECT_EQ(rep.correctness.size(), 2u);
}

TEST(Run, WritesResultsAndSummary) {
  TempDir d;
  write(d.root() / "mini.json", R"({"checks": {"e2e": {"model": "synthetic:tiny", "steps": 4}},
    "sweeps": [{"kernels": "i2s", "shapes": "64x256", "batch": [1, 3], "hot": true, "repetitions": 2, "min_time": 0.001},
               {"kernels": "naive", "shapes": "64x64,32+32x64", "threads": [2], "hot": true, "repetitions": 2, "min_time": 0.001,
                "anatomy": true}],
    "e2e": [{"model": "synthetic:tiny", "kernels": "i2s", "prompt": [8], "gen": [4], "threads": [1], "repetitions": 2}]})");
  std::string out;
  ASSERT_EQ(run_cli("run --no-roofline " + (d.root() / "mini.json").string() + " --results-dir " + (d.root() / "r").string(), &out), 0) << out;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(d.root() / "r" / "mini")) files.push_back(e.path());
  ASSERT_EQ(files.size(), 2u) << "a JSON and a Markdown file";
  fs::path jpath = files[0].extension() == ".json" ? files[0] : files[1];
  const json r = json::parse(std::ifstream(jpath));
  EXPECT_EQ(r["experiment"], "mini");
  EXPECT_FALSE(r["interrupted"].get<bool>());
  ASSERT_EQ(r["sweeps"].size(), 4u);
  EXPECT_EQ(r["e2e"].size(), 2u);  // pp8 and tg4
  EXPECT_EQ(r["sweeps"][3]["parts"], json({32, 32})) << "one call over two matrices";
  EXPECT_EQ(r["sweeps"][3]["M"], 64);
  EXPECT_TRUE(r["sweeps"][0]["anatomy"].is_null());
  EXPECT_EQ(r["sweeps"][2]["anatomy"]["task_median_seconds"].size(), 2u)
      << "anatomy: true, two threads";
  EXPECT_FALSE(r["checks"].empty());
  for (const auto& c : r["checks"]) {
    if (c["exact"].get<bool>()) {
      EXPECT_TRUE(c["pass"].get<bool>()) << c.dump();
    }
  }
  EXPECT_TRUE(r["environment"].contains("cpu"));
  for (const auto& s : r["sweeps"]) EXPECT_EQ(s["samples_seconds"].size(), 2u);
  // The summary says hot or cold per row; no row measured the read bandwidth, so no "% now" nor
  // "% calls"; one row has an anatomy, so "% tail".
  const fs::path mpath = files[0].extension() == ".md" ? files[0] : files[1];
  std::ifstream mf(mpath);
  const std::string md((std::istreambuf_iterator<char>(mf)), std::istreambuf_iterator<char>());
  EXPECT_NE(md.find("| weights |"), std::string::npos) << md;
  EXPECT_NE(md.find("| hot |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 32+32x64 | 32+32x64 |"), std::string::npos) << "label and MxK of the call: " << md;
  EXPECT_EQ(md.find("% now"), std::string::npos) << md;
  EXPECT_EQ(md.find("% calls"), std::string::npos) << md;
  EXPECT_NE(md.find("% tail"), std::string::npos) << md;
}

TEST(Run, CtrlCKeepsWhatFinished) {
  TempDir d;
  // Many short items, so the interrupt lands between two of them.
  write(d.root() / "long.json", R"({"sweeps": [{"kernels": "naive", "shapes": "64x64", "batch": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30],
    "hot": true, "repetitions": 3, "min_time": 0.05}]})");
  const fs::path out = d.root() / "out.json";
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string exp = (d.root() / "long.json").string(), o = out.string();
    execl(TRITBENCH_CLI, TRITBENCH_CLI, "run", exp.c_str(), "--out", o.c_str(), "--no-roofline", static_cast<char*>(nullptr));
    _exit(127);
  }
  // Wait until the first item has been saved, then interrupt.
  for (int i = 0; i < 600 && !fs::exists(out); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(fs::exists(out));
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  const json r = json::parse(std::ifstream(out));
  EXPECT_TRUE(r["interrupted"].get<bool>());
  EXPECT_GE(r["sweeps"].size(), 1u);
  EXPECT_LT(r["sweeps"].size(), 30u);
}

TEST(Run, BadExperimentFailsBeforeRunning) {
  TempDir d;
  write(d.root() / "bad.json", R"({"sweeps": [{"kernels": "no_such_kernel"}]})");
  std::string out;
  EXPECT_EQ(run_cli("run " + (d.root() / "bad.json").string() + " --results-dir " + (d.root() / "r").string(), &out), 2);
  EXPECT_NE(out.find("unknown kernel 'no_such_kernel'"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(d.root() / "r"));
}

}  // namespace
}  // namespace tritbench
