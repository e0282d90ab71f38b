#include "harness/lib/external.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace tritbench::external {

namespace {
std::string join(const std::vector<std::int64_t>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(v[i]);
  }
  return s;
}
}  // namespace

std::vector<std::string> llama_bench_args(const LlamaBenchRequest& r) {
  std::vector<std::int64_t> batches;
  const std::int64_t max_prompt = r.prompts.empty() ? 512 : *std::max_element(r.prompts.begin(), r.prompts.end());
  for (auto b : r.batches) batches.push_back(b > 0 ? b : std::max<std::int64_t>(max_prompt, 1));
  return {"-m", r.model, "-p", join(r.prompts), "-n", join(r.gens), "-b", join(batches), "-t", join(r.threads),
          "-r", std::to_string(r.repetitions), "-ngl", "0", "-o", "json"};
}

std::vector<nlohmann::json> parse_llama_bench_json(const std::string& text, const std::string& what) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw std::runtime_error(what + ": output is not JSON (expected llama-bench -o json): " + e.what());
  }
  if (!j.is_array()) throw std::runtime_error(what + ": expected a JSON array of test results");
  std::vector<nlohmann::json> rows;
  for (const auto& t : j) {
    for (const char* f : {"n_prompt", "n_gen", "n_threads", "avg_ts"})
      if (!t.contains(f) || !t[f].is_number())
        throw std::runtime_error(what + ": a result lacks the numeric field '" + std::string(f) + "'");
    const std::int64_t p = t["n_prompt"], n = t["n_gen"];
    nlohmann::json row = {{"kind", "e2e_external"},
                          {"tool", "llama-bench"},
                          {"test", p > 0 ? "pp" + std::to_string(p) : "tg" + std::to_string(n)},
                          {"n_prompt", p},
                          {"n_gen", n},
                          {"batch", p > 0 ? std::min<std::int64_t>(t.value("n_batch", p), p) : 1},
                          {"threads", t["n_threads"]},
                          {"mean_tps", t["avg_ts"]},
                          {"stddev_tps", t.value("stddev_ts", 0.0)},
                          {"model_type", t.value("model_type", std::string())},
                          {"build_commit", t.value("build_commit", std::string())}};
    if (t.contains("samples_ts")) row["samples_tps"] = t["samples_ts"];
    rows.push_back(row);
  }
  return rows;
}

std::vector<nlohmann::json> run_llama_bench(const LlamaBenchRequest& r) {
  const auto args = llama_bench_args(r);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(r.binary.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int out[2];
  if (pipe(out) != 0) throw std::runtime_error("pipe: " + std::string(std::strerror(errno)));
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    execv(r.binary.c_str(), argv.data());
    _exit(127);
  }
  close(out[1]);
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = read(out[0], buf, sizeof buf);
    if (n > 0) {
      text.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error(r.binary + ": " +
                             (WIFEXITED(status) && WEXITSTATUS(status) == 127 ? std::string("could not be executed")
                                                                              : "exited with status " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1)));
  return parse_llama_bench_json(text, r.binary);
}

}  // namespace tritbench::external
