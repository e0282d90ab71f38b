// A few seconds of mutation fuzzing per target inside the normal suite (the real campaign runs the
// libFuzzer binaries: -DTRITBENCH_FUZZ=ON with clang, see tests/fuzz/README.md). Every committed
// regression input (tests/fuzz/regressions/<target>/*) is replayed first.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "reference/rng.h"
#include "tests/fuzz/targets.h"

namespace tritbench {
namespace {

std::string mutate(std::string s, Rng& rng) {
  const int edits = 1 + static_cast<int>(rng.below(4));
  for (int e = 0; e < edits; ++e) {
    switch (rng.below(5)) {
      case 0:  // flip a bit
        if (!s.empty()) s[rng.below(s.size())] ^= static_cast<char>(1 << rng.below(8));
        break;
      case 1:  // truncate
        s.resize(rng.below(s.size() + 1));
        break;
      case 2:  // insert random bytes
        s.insert(rng.below(s.size() + 1), std::string(1 + rng.below(8), static_cast<char>(rng.below(256))));
        break;
      case 3:  // duplicate a slice
        if (!s.empty()) {
          const std::size_t a = rng.below(s.size()), len = 1 + rng.below(std::min<std::size_t>(32, s.size() - a));
          s.insert(rng.below(s.size() + 1), s.substr(a, len));
        }
        break;
      default:  // set an interesting byte
        if (!s.empty()) {
          const char vals[] = {0, 1, 0x7f, static_cast<char>(0x80), static_cast<char>(0xff), '"', '[', '{', '9', '-'};
          s[rng.below(s.size())] = vals[rng.below(sizeof vals)];
        }
    }
  }
  return s;
}

class FuzzSmoke : public ::testing::TestWithParam<std::size_t> {};

TEST_P(FuzzSmoke, SurvivesSeedsRegressionsAndMutations) {
  const fuzz::Target& t = fuzz::targets()[GetParam()];
  const auto run = [&](const std::string& in) {
    return t.fn(reinterpret_cast<const std::uint8_t*>(in.data()), in.size());
  };
  const std::filesystem::path reg = std::filesystem::path(TRITBENCH_SOURCE_DIR) / "tests/fuzz/regressions" / t.name;
  if (std::filesystem::exists(reg))
    for (const auto& e : std::filesystem::directory_iterator(reg)) {
      std::stringstream ss;
      ss << std::ifstream(e.path(), std::ios::binary).rdbuf();
      ASSERT_NO_THROW(run(ss.str())) << e.path();
    }
  const std::uint64_t seed = 0x5eed0000 + GetParam();
  Rng rng(seed);
  const auto seeds = t.seeds();
  std::vector<std::string> pool = seeds;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  std::size_t execs = 0;
  while (std::chrono::steady_clock::now() < until) {
    const std::string in = mutate(pool[rng.below(pool.size())], rng);
    ASSERT_NO_THROW(run(in)) << t.name << " seed " << seed << " exec " << execs;
    if (pool.size() < 256 && rng.below(8) == 0) pool.push_back(in);
    ++execs;
  }
  if (const char* dir = std::getenv("TRITBENCH_FUZZ_CORPUS_DIR")) {  // seed corpus for libFuzzer
    std::filesystem::create_directories(std::filesystem::path(dir) / t.name);
    for (std::size_t i = 0; i < seeds.size(); ++i)
      std::ofstream(std::filesystem::path(dir) / t.name / ("seed" + std::to_string(i)), std::ios::binary) << seeds[i];
  }
  RecordProperty("executions", static_cast<int>(execs));
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzSmoke, ::testing::Range<std::size_t>(0, fuzz::targets().size()),
                         [](const auto& param_info) { return std::string(fuzz::targets()[param_info.param].name); });

}  // namespace
}  // namespace tritbench
