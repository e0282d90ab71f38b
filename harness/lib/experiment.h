#pragma once
// Experiments are data: experiments/NAME.json says which checks, kernel sweeps and end-to-end runs to
// make. `tritbench run` executes one and writes results/NAME/<date>_<host>_<commit>.json (atomically)
// plus a Markdown summary beside it.
//
//   {
//     "name": "quickstart",                      (optional; defaults to the file's stem)
//     "description": "...",
//     "checks": {"kernels": true, "e2e": {"model": "synthetic:tiny", "steps": 32}},
//     "sweeps": [{"kernels": "all", "shapes": "2b4t", "batch": [1, 128], "threads": [1, 2],
//                 "hot": false, "repetitions": 5, "min_time": 0.1}],
//     "e2e":    [{"model": "synthetic:small", "seed": 1, "kernels": "i2s", "prompt": [128],
//                 "gen": [32], "batch": [0], "threads": [1, 2], "repetitions": 3,
//                 "output_type": "auto"}]
//   }
//
// Unknown keys and wrong types are errors naming the file and the path of the offending field.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tritbench::experiment {

struct Sweep {
  std::string kernels = "all";
  std::string shapes = "2b4t";
  std::vector<std::int64_t> batch = {1};
  std::vector<std::int64_t> threads = {1};
  bool hot = false;
  int repetitions = 5;
  double min_time = 0.1;
  bool read_now = false;  // cold rows: the read bandwidth measured next to each (kernels --read-now)
  bool read_calls = false;  // cold rows: a plain read of each row's own calls (kernels --read-calls)
  bool anatomy = false;     // where a call's time goes: fork, tasks, join, tail (kernels --anatomy)
};

struct E2e {
  std::string model;  // "synthetic:PRESET" or a file
  std::uint64_t seed = 1;
  std::string kernels = "i2s";
  std::vector<std::int64_t> prompt = {512}, gen = {128}, batch = {0}, threads = {1, 2};
  int repetitions = 5;
  std::string output_type = "auto";
};

struct Experiment {
  std::string name, description, path;
  bool check_kernels = false;
  bool check_e2e = false;
  std::string check_e2e_model = "synthetic:tiny";
  std::int64_t check_e2e_steps = 32;
  std::vector<Sweep> sweeps;
  std::vector<E2e> e2e;
};

// Throws std::invalid_argument "PATH: FIELD: problem (expected ...)".
Experiment parse(const nlohmann::json& j, const std::string& path);
Experiment load(const std::string& path);

}  // namespace tritbench::experiment
