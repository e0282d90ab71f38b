#pragma once
// The run's environment, recorded in every result: machine, CPU, caches, build, commit.

#include <nlohmann/json.hpp>
#include <string>

namespace tritbench {

nlohmann::json environment_json();
std::string hostname();
std::int64_t total_memory_bytes();

}  // namespace tritbench
