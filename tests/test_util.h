#pragma once
// Helpers the test files share: a temporary directory per test and running the tritbench CLI.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace tritbench::test {

// A fresh directory per test (named after it, so a failed run's leftovers say whose they are),
// removed with its contents afterwards.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    const std::string who = info ? std::string(info->test_suite_name()) + "_" + info->name() : "outside_a_test";
    root_ = std::filesystem::path(::testing::TempDir()) /
            ("tritbench_" + std::to_string(::getpid()) + "_" + std::to_string(serial()++) + "_" + who);
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& root() const { return root_; }
  // The path of `name` inside (the directory itself for ""), not created.
  std::string path(const std::string& name = "") const { return name.empty() ? root_.string() : (root_ / name).string(); }
  // A subdirectory, created.
  std::string dir(const std::string& name) const {
    std::filesystem::create_directories(root_ / name);
    return (root_ / name).string();
  }
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(root_)) out.push_back(e.path().filename().string());
    return out;
  }

 private:
  static int& serial() {
    static int n = 0;
    return n;
  }
  std::filesystem::path root_;
};

// Runs a shell command line with stdout and stderr captured into *out; returns the exit status,
// or -1 if it could not be started or did not exit normally.
inline int run_command(const std::string& cmd, std::string* out = nullptr) {
  FILE* f = popen((cmd + " 2>&1").c_str(), "r");
  if (!f) return -1;
  std::string text;
  char buf[4096];
  while (std::size_t n = fread(buf, 1, sizeof buf, f)) text.append(buf, n);
  const int status = pclose(f);
  if (out) *out = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// `env tritbench args` (env: VAR=value assignments, or empty).
inline int run_cli(const std::string& args, std::string* out = nullptr, const std::string& env = "") {
  return run_command(env + " " + std::string(TRITBENCH_CLI) + " " + args, out);
}

}  // namespace tritbench::test
