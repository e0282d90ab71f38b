// The external llama-bench adapter, against stub executables written here (the project contains no
// code of that tool): flags passed through, JSON ingested, ratios printed, failures named.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "harness/lib/external.h"
#include "tests/test_util.h"

namespace tritbench {
namespace {

using test::TempDir;
using test::run_cli;

namespace fs = std::filesystem;

void write_script(const fs::path& p, const std::string& body) {
  std::ofstream(p) << "#!/bin/sh\n" << body;
  chmod(p.c_str(), 0755);
}

TEST(External, ArgumentsMatchTheRequest) {
  external::LlamaBenchRequest r{"lb", "m.gguf", {512}, {128}, {0, 1}, {1, 2}, 3};
  const auto a = external::llama_bench_args(r);
  const std::vector<std::string> expected = {"-m", "m.gguf", "-p", "512", "-n", "128", "-b", "512,1",
                                             "-t", "1,2", "-r", "3", "-ngl", "0", "-o", "json"};
  EXPECT_EQ(a, expected);
}

TEST(External, ParsesLlamaBenchJsonAndRefusesGarbage) {
  const auto rows = external::parse_llama_bench_json(
      R"([{"n_prompt": 16, "n_gen": 0, "n_batch": 16, "n_threads": 1, "avg_ts": 100.5, "stddev_ts": 2.0,
           "samples_ts": [99.0, 102.0]},
          {"n_prompt": 0, "n_gen": 8, "n_batch": 2048, "n_threads": 1, "avg_ts": 20.0, "stddev_ts": 0.5}])",
      "stub");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["test"], "pp16");
  EXPECT_EQ(rows[0]["batch"], 16);
  EXPECT_EQ(rows[1]["test"], "tg8");
  EXPECT_EQ(rows[1]["batch"], 1);
  EXPECT_THROW(external::parse_llama_bench_json("not json", "stub"), std::runtime_error);
  EXPECT_THROW(external::parse_llama_bench_json(R"({"a": 1})", "stub"), std::runtime_error);
  EXPECT_THROW(external::parse_llama_bench_json(R"([{"n_prompt": 1}])", "stub"), std::runtime_error);
}

TEST(External, SideBySideThroughTheCli) {
  const TempDir tmp;
  const fs::path& dir = tmp.root();
  const fs::path model = dir / "tiny.gguf", stub = dir / "llama-bench", args_seen = dir / "args";
  std::string out;
  ASSERT_EQ(run_cli("synth --preset tiny -q -o " + model.string(), &out), 0) << out;
  // The stub records its arguments and answers like llama-bench -o json would.
  write_script(stub, "echo \"$@\" > " + args_seen.string() + "\n" +
                         R"(echo '[{"n_prompt": 16, "n_gen": 0, "n_batch": 16, "n_threads": 1, "avg_ts": 50.0, "stddev_ts": 1.0},)"
                         R"( {"n_prompt": 0, "n_gen": 4, "n_batch": 16, "n_threads": 1, "avg_ts": 10.0, "stddev_ts": 0.1}]')"
                         "\n");
  ASSERT_EQ(run_cli("e2e -m " + model.string() + " -k i2s -p 16 -n 4 -t 1 -r 1 --external-llama-bench " + stub.string(), &out), 0)
      << out;
  EXPECT_NE(out.find("side by side with " + stub.string()), std::string::npos) << out;
  EXPECT_NE(out.find("| pp16 | 1 | 16 |"), std::string::npos) << out;
  EXPECT_NE(out.find("| tg4 | 1 | 1 |"), std::string::npos) << out;
  std::string seen;
  std::getline(std::ifstream(args_seen), seen);
  EXPECT_EQ(seen, "-m " + model.string() + " -p 16 -n 4 -b 16 -t 1 -r 1 -ngl 0 -o json");
  // A failing tool is named, not ignored.
  write_script(stub, "echo boom >&2\nexit 3\n");
  EXPECT_EQ(run_cli("e2e -m " + model.string() + " -k i2s -p 8 -n 0 -t 1 -r 1 --external-llama-bench " + stub.string(), &out), 2);
  EXPECT_NE(out.find("exited with status 3"), std::string::npos) << out;
  EXPECT_EQ(run_cli("e2e --synthetic tiny --external-llama-bench " + stub.string(), &out), 2);
  EXPECT_NE(out.find("needs -m FILE"), std::string::npos) << out;
}

}  // namespace
}  // namespace tritbench
