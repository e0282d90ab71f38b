// The CLI as a user meets it: bad input gets a clear error and exit status 2, never a crash.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/test_util.h"

namespace tritbench {
namespace {

using test::TempDir;
using test::run_cli;

TEST(Cli, HelpAndList) {
  std::string out;
  EXPECT_EQ(run_cli("--help", &out), 0);
  EXPECT_NE(out.find("check"), std::string::npos);
  for (const char* cmd : {"list", "check", "kernels", "e2e", "run", "compare", "sysinfo"}) {
    EXPECT_EQ(run_cli(std::string(cmd) + " --help", &out), 0) << cmd;
    EXPECT_NE(out.find("usage: tritbench " + std::string(cmd)), std::string::npos) << cmd;
  }
  EXPECT_EQ(run_cli("list", &out), 0);
  EXPECT_NE(out.find("i2s__scalar"), std::string::npos);
  EXPECT_EQ(run_cli("sysinfo --json", &out), 0);
  EXPECT_TRUE(nlohmann::json::parse(out).contains("cpu"));
}

TEST(Cli, BadValuesAreRefusedByName) {
  struct Case {
    const char* args;
    const char* expect;
  };
  const Case cases[] = {
      {"frobnicate", "unknown command 'frobnicate'"},
      {"check -k nope", "unknown kernel 'nope'"},
      {"check -t 0", "-t: 0 is out of range"},
      {"check -t -3", "-t: -3 is out of range"},
      {"check -t two", "-t: 'two' is not an integer"},
      {"check --bogus", "unknown option --bogus"},
      {"kernels -b 99999999999999999999", "-b: '99999999999999999999' is not an integer"},
      {"kernels -r 0", "-r: 0 is out of range"},
      {"kernels --min-time abc", "--min-time: 'abc' is not a number"},
      {"kernels --shapes 12y4", "neither a model preset"},
      {"kernels --shapes 2b4x:calls", "'2b4x' is not a model preset"},
      {"kernels -o xml", "-o: unknown format 'xml'"},
      {"e2e --synthetic nosuch", "unknown synthetic preset 'nosuch'"},
      {"e2e", "give exactly one of -m FILE or --synthetic PRESET"},
      {"e2e --synthetic tiny -p 70000 -n 1", "exceed the 65536 supported"},
      {"e2e --synthetic tiny --output-type f8", "output type 'f8'"},
      {"run /nonexistent/x.json", "cannot open the experiment file"},
      {"compare a.json", "usage: tritbench compare"},
      {"generate --synthetic tiny -p hi -n -1", "-n: -1 is out of range"},
      {"generate --synthetic tiny -p hi -n 99999999999", "-n: 99999999999 is out of range"},
      {"generate --synthetic tiny -p hi --temp nan", "--temp: 'nan' is not a number in"},
      {"generate --synthetic tiny -p hi --temp inf", "--temp: 'inf' is not a number in"},
      {"generate --synthetic tiny -p hi --top-p 2", "--top-p: '2' is not a number in"},
      {"generate --synthetic tiny -p hi -c 0", "-c: 0 is out of range"},
      {"generate --synthetic tiny -p hi -t 100000", "-t: 100000 is out of range"},
      {"generate --synthetic tiny -p hi --seed -5", "--seed: -5 is out of range"},
      {"e2e --synthetic tiny -r 99999999", "-r: 99999999 is out of range"},
      {"synth --preset tiny -t -1 -o x.gguf", "-t: -1 is out of range"},
  };
  for (const auto& c : cases) {
    std::string out;
    EXPECT_EQ(run_cli(c.args, &out), 2) << c.args << "\n" << out;
    EXPECT_NE(out.find(c.expect), std::string::npos) << c.args << "\n" << out;
  }
  std::string out;
  EXPECT_EQ(run_cli("list", &out, "TRITBENCH_ISA=sse9"), 2);
  EXPECT_NE(out.find("TRITBENCH_ISA: unknown ISA level 'sse9'"), std::string::npos) << out;
}

TEST(Cli, IsaCapSkipsRowsAndSaysSo) {
  std::string out;
  EXPECT_EQ(run_cli("check -k 'i2s*' -t 1", &out, "TRITBENCH_ISA=scalar"), 0) << out;
  EXPECT_NE(out.find("capped"), std::string::npos) << out;
  EXPECT_NE(out.find("ok   i2s__scalar"), std::string::npos) << out;
  EXPECT_NE(out.find("skip i2s__avx2: SKIPPED (needs avx2, capped to scalar by TRITBENCH_ISA=scalar)"), std::string::npos) << out;
}

// Determinism as the user sees it: `tritbench check --e2e` on 1 and 2 threads reports bit-identical
// logits (and says so), and running the same command again gives the same digests and tokens.
TEST(Cli, CheckSaysOneAndTwoThreadsAreBitIdenticalAndRepeats) {
  const std::string cmd =
      "check --e2e --synthetic tiny --seed 7 -k i2s__scalar,naive__scalar -t 1,2 --steps 6 "
      "--prompt-length 4";
  std::string text, j1, j2;
  ASSERT_EQ(run_cli(cmd, &text), 0) << text;
  EXPECT_NE(text.find("bit-identical"), std::string::npos) << text;
  EXPECT_NE(text.find("check --e2e passed"), std::string::npos) << text;
  ASSERT_EQ(run_cli(cmd + " --json", &j1), 0) << j1;
  ASSERT_EQ(run_cli(cmd + " --json", &j2), 0) << j2;
  const auto a = nlohmann::json::parse(j1.substr(j1.find('{'))),
             b = nlohmann::json::parse(j2.substr(j2.find('{')));
  ASSERT_TRUE(a["pass"].get<bool>()) << j1;
  std::set<int> threads;
  std::set<std::string> digests;
  ASSERT_EQ(a["runs"].size(), b["runs"].size());
  for (std::size_t i = 0; i < a["runs"].size(); ++i) {
    const auto& r = a["runs"][i];
    threads.insert(r["threads"].get<int>());
    EXPECT_TRUE(r["exact"].get<bool>() && r["identical_to_baseline"].get<bool>()) << r.dump();
    digests.insert(r["logits_digest"].get<std::string>());
    EXPECT_EQ(r["logits_digest"], b["runs"][i]["logits_digest"])
        << "same command, different numbers";
    EXPECT_EQ(r["tokens"], b["runs"][i]["tokens"]);
  }
  EXPECT_EQ(threads, (std::set<int>{1, 2}));
  EXPECT_EQ(digests.size(), 1u) << "every kernel and thread count: one digest of the logits";
}

TEST(Cli, UnwritableResultsDirectoryIsAClearError) {
  const TempDir tmp;
  const auto& dir = tmp.root();
  std::ofstream(dir / "e.json") << R"({"checks": {"e2e": {"model": "synthetic:tiny", "steps": 2}}})";
  std::ofstream(dir / "file") << "not a directory";
  std::string out;
  EXPECT_EQ(run_cli("run " + (dir / "e.json").string() + " --results-dir " + (dir / "file").string(), &out), 2) << out;
  EXPECT_NE(out.find("cannot create results folder"), std::string::npos) << out;
}

// Results are written to a temporary file and renamed: killing a run at any moment leaves the
// previous file intact or the new one complete, never a torn file.
TEST(Cli, KilledRunNeverLeavesATornResultFile) {
  const TempDir tmp;
  const auto& dir = tmp.root();
  std::ofstream(dir / "e.json") << R"({"sweeps": [{"kernels": "naive", "shapes": "64x64", "batch": [1,2,3,4,5,6,7,8,9,10,11,12],
    "hot": true, "repetitions": 2, "min_time": 0.02}]})";
  const auto out = dir / "out.json";
  std::ofstream(out) << R"({"previous": true})";
  for (int delay_ms : {30, 120, 250}) {
    const pid_t pid = fork();
    if (pid == 0) {
      const std::string e = (dir / "e.json").string(), o = out.string();
      execl(TRITBENCH_CLI, TRITBENCH_CLI, "run", e.c_str(), "--out", o.c_str(), "--no-roofline", static_cast<char*>(nullptr));
      _exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    const auto j = nlohmann::json::parse(std::ifstream(out));  // throws on a torn file
    EXPECT_TRUE(j.contains("previous") || j.contains("sweeps")) << "delay " << delay_ms;
  }
}

}  // namespace
}  // namespace tritbench
